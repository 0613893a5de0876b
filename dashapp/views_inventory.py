"""Layout of the inventory editor card and its rendered parts (history, messages, marker).

Every user string is a Dash component child (text, never HTML), so names stay text.
"""

from __future__ import annotations

import json
from typing import Any

import dash_leaflet as dl
from dash import dcc, html

from dashapp.ids_inventory import InvId
from dashapp.labels import t
from layers.vocab import CHILD_HOME_TIERS, FACILITY_TYPES

STATUSES = ("open", "closed", "planned")


def card(lang: str) -> html.Div:
    """The editor card (placed under the detail panel of the map page)."""
    opts_type = [{"label": t(k, lang), "value": k} for k in FACILITY_TYPES]
    opts_tier = [{"label": "—", "value": ""}] + [{"label": t(k, lang), "value": k} for k in CHILD_HOME_TIERS]
    opts_status = [{"label": t(f"inv_status_{k}", lang), "value": k} for k in STATUSES]
    return html.Div(
        [
            dcc.Store(id=InvId.RECORD, storage_type="memory", data={}),
            dcc.Store(id=InvId.REFRESH, storage_type="memory", data={"n": 0}),
            html.H4(t("inventory_editor", lang)),
            html.Div(t("inv_year_note", lang), className="cp-note"),
            html.Label(t("facility_id", lang), htmlFor=InvId.FACILITY_ID),
            html.Div([dcc.Input(id=InvId.FACILITY_ID, type="text", maxLength=80, value="", debounce=True),
                      html.Button(t("inv_open_facility", lang), id=InvId.OPEN)], className="cp-row"),
            html.Label(t("name", lang), htmlFor=InvId.NAME),
            dcc.Input(id=InvId.NAME, type="text", maxLength=100, value=""),
            html.Label(t("facility_type", lang), htmlFor=InvId.TYPE),
            dcc.Dropdown(id=InvId.TYPE, options=opts_type, value=None, clearable=False),
            html.Label(t("tier", lang), htmlFor=InvId.TIER),
            dcc.Dropdown(id=InvId.TIER, options=opts_tier, value="", clearable=False),
            html.Label(t("capacity", lang), htmlFor=InvId.CAPACITY),
            dcc.Input(id=InvId.CAPACITY, type="number", min=0, step=1, value=None),
            html.Label(t("inv_status", lang), htmlFor=InvId.STATUS),
            dcc.Dropdown(id=InvId.STATUS, options=opts_status, value="open", clearable=False),
            html.Label(t("lon", lang), htmlFor=InvId.LON),
            dcc.Input(id=InvId.LON, type="number", step="any", value=None),
            html.Label(t("lat", lang), htmlFor=InvId.LAT),
            dcc.Input(id=InvId.LAT, type="number", step="any", value=None),
            html.Div(t("inv_drag_hint", lang), className="cp-note"),
            html.Label(t("inv_reason", lang), htmlFor=InvId.REASON),
            dcc.Input(id=InvId.REASON, type="text", maxLength=300, value=""),
            html.Div([html.Button(t("inv_save", lang), id=InvId.SAVE),
                      html.Button(t("inv_delete", lang), id=InvId.DELETE),
                      html.Button(t("inv_add", lang), id=InvId.ADD)], className="cp-row"),
            submit_section(lang),
            html.Div([html.Button(t("accept_scenario", lang), id=InvId.ACCEPT)], className="cp-row"),
            dcc.ConfirmDialog(id=InvId.ACCEPT_CONFIRM, message=t("accept_scenario_confirm", lang)),
            html.Div(id=InvId.MESSAGE),
            html.Div(id=InvId.HISTORY),
            html.Div(id=InvId.PROVENANCE, className="cp-note"),
        ],
        id=InvId.CARD,
        className="cp-section cp-inventory",
    )


def marker_layer() -> dl.LayerGroup:
    """The map layer holding the draggable marker of the opened facility."""
    return dl.LayerGroup(id=InvId.MARKER_LAYER, children=[])


def marker(values: dict) -> list:
    if values.get("lat") is None or values.get("lon") is None:
        return []
    return [dl.Marker(id=InvId.MARKER, position=[values["lat"], values["lon"]], draggable=True,
                      children=dl.Tooltip(str(values.get("name") or "")))]


def _fmt(d: dict) -> str:
    return json.dumps(d, ensure_ascii=False, sort_keys=True) if d else ""


def history(entries: list[dict], lang: str) -> html.Div:
    if not entries:
        return html.Div([html.H5(t("inv_history", lang)), html.Div(t("inv_no_history", lang), className="cp-note")])
    rows = []
    for e in reversed(entries):
        action = t(f"inv_action_{e['action']}", lang)
        if e.get("outcome") not in (None, "ok"):
            action += f" ({e['outcome']})"
        changes = [f"{k}: {e['old_values'].get(k, '') if e['old_values'] else ''} → {v}"
                   for k, v in sorted((e["new_values"] or {}).items())]
        rows.append(html.Li([
            html.Span(f"{str(e['at'])[:19].replace('T', ' ')} UTC · {e['user_name']} · {action} · {e['year']}"),
            html.Div("; ".join(changes), className="cp-history-change"),
            html.Div(e.get("reason") or "", className="cp-history-reason"),
        ], className="cp-history-entry"))
    return html.Div([html.H5(t("inv_history", lang)), html.Ul(rows)], className="cp-history")


def message(outcome: str, text: str, details: dict, lang: str) -> html.Div:
    if outcome == "saved":
        return html.Div(t("inv_saved", lang), className="cp-ok")
    if outcome == "added":
        return html.Div(f"{t('inv_added', lang)}: {text}", className="cp-ok")
    if outcome == "deleted":
        return html.Div(t("inv_deleted", lang), className="cp-ok")
    if outcome == "conflict":
        other = (f"{details.get('user_name', '?')} · {str(details.get('at', ''))[:19]} · "
                 f"{_fmt(details.get('new_values') or {})} · {details.get('reason', '')}")
        return html.Div([html.Div(t("inv_conflict", lang)), html.Div(other)], className="cp-error")
    if outcome == "invalid":
        return html.Div([html.Div(t("inv_invalid", lang)),
                         html.Ul([html.Li(p) for p in details.get("problems", [])])], className="cp-error")
    if outcome == "forbidden":
        return html.Div(t("inv_forbidden", lang), className="cp-error")
    if outcome == "need_reason":
        return html.Div(t("inv_need_reason", lang), className="cp-error")
    if outcome == "not_found":
        return html.Div(t("inv_not_found", lang), className="cp-error")
    if outcome == "accepted":
        return html.Div(f"{t('accept_scenario_done', lang)}: {text}", className="cp-ok")
    if outcome == "off":
        return html.Div(t("inventory_editor_off", lang), className="cp-note")
    if outcome == "error":
        return html.Div(f"{t('error', lang)}: {text}", className="cp-error")
    return html.Div()


def provenance(pairs: list[tuple[str, str]], lang: str) -> Any:
    if not pairs:
        return ""
    return f"{t('inv_county_provenance', lang)}: " + "；".join(f"{n} {t(p, lang)}" for n, p in pairs)


def submit_section(lang: str) -> html.Div:
    """Upload a member unit's list, preview it, write it as a batch."""
    from store.sources import SOURCES

    from layers.glossary_inventory import SOURCE_IDS

    sources = [{"label": t(f"source_{SOURCE_IDS[k]}", lang) if k in SOURCE_IDS else k, "value": k} for k in SOURCES]
    return html.Div(
        [
            html.H5(t("inv_submit", lang)),
            dcc.Upload(html.Button(t("inv_submit_upload", lang)), id=InvId.SUBMIT_UPLOAD, accept=".xlsx,.csv",
                       max_size=-1, multiple=False),   # the server checks the size and names the file
            html.Label(t("inv_submit_source", lang), htmlFor=InvId.SUBMIT_SOURCE),
            dcc.Dropdown(id=InvId.SUBMIT_SOURCE, options=sources, value="民政", clearable=False),
            html.Label(t("inv_submit_county", lang), htmlFor=InvId.SUBMIT_COUNTY),
            dcc.Input(id=InvId.SUBMIT_COUNTY, type="text", maxLength=20, value=""),
            html.Label(t("inv_submit_crs", lang)),
            dcc.RadioItems(id=InvId.SUBMIT_CRS, inline=True, value="wgs84",
                           options=[{"label": t(f"crs_{c}", lang), "value": c} for c in ("wgs84", "gcj02", "bd09")]),
            dcc.Checklist(id=InvId.SUBMIT_CLOSE, options=[{"label": t("inv_submit_close", lang), "value": "close"}],
                          value=[]),
            dcc.Loading(html.Div(id=InvId.SUBMIT_PREVIEW), delay_show=300),
            html.Button(t("inv_submit_apply", lang), id=InvId.SUBMIT_APPLY),
            html.Div(id=InvId.SUBMIT_RESULT),
        ],
        className="cp-submit",
    )


def submission_preview(p: dict, lang: str) -> html.Div:
    """The preview: summary line, then changed / new / missing / rejected rows (text only)."""
    parts: list[Any] = [html.Div(p["summary"], className="cp-note")]

    def section(key: str, items: list[str]) -> None:
        if items:
            parts.append(html.Details([html.Summary(f"{t(key, lang)} ({len(items)})"),
                                       html.Ul([html.Li(x) for x in items])]))

    section("inv_changed", [f"行{c['row']} {c['facility_id']} {c['name']} [{c['match']} {c['score']:.2f}] "
                            f"{c['changes']}" for c in p["changed"]])
    section("inv_new", [f"行{n['row']} {n['name']} ({t(n['type'], lang)}, {n['township_code']})" for n in p["new"]])
    section("inv_missing", [f"{m['facility_id']} {m['name']} ({t(m['type'], lang)})" for m in p["missing"]])
    section("inv_rejected", [f"行{r['row']} {r['field']}: {r['reason']}" for r in p["rejected"]])
    return html.Div(parts)
