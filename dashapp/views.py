"""Pure builders of Dash components from plain data (no callbacks, no data loading).

Every text taken from the data (unit and facility names, clauses, messages) is passed to
Dash as a string child, which React renders as a text node: it is never parsed as HTML.
No component here uses ``dangerously_allow_html`` or markdown.
"""

from __future__ import annotations

from typing import Any, Iterable
from urllib.parse import urlencode

from dash import dcc, html

from dashapp.ids import Id
from dashapp.labels import STATUSES, format_number, t


def query_string(**params: Any) -> str:
    """``?lang=en&target=…`` from the non-empty parameters (URL-encoded)."""
    clean = {k: v for k, v in params.items() if v not in (None, "")}
    return f"?{urlencode(clean)}" if clean else ""


def header(lang: str, path: str, query: dict[str, Any], provenance: dict[str, str],
           extra: Any = None) -> html.Div:
    """Title, page links, language links and the provenance banner (``extra``: more
    header content, e.g. the map page's search box)."""
    other = {k: v for k, v in query.items() if k != "lang"}
    return html.Div(
        [
            html.Div(
                [
                    html.H1(t("app_title", lang), id=Id.HEADER_TITLE),
                    html.Nav(
                        [
                            dcc.Link(t("nav_map", lang), id=Id.NAV_MAP, href="/" + query_string(lang=lang, **other),
                                     className="active" if path == "/" else ""),
                            dcc.Link(t("nav_summary", lang), id=Id.NAV_SUMMARY,
                                     href="/summary" + query_string(lang=lang, **other),
                                     className="active" if path == "/summary" else ""),
                        ]
                    ),
                    *([extra] if extra is not None else []),
                    html.Span(
                        [
                            t("language", lang) + ": ",
                            dcc.Link("中文", id=Id.LANG_LINK_ZH, href=path + query_string(lang="zh", **other)),
                            dcc.Link("English", id=Id.LANG_LINK_EN, href=path + query_string(lang="en", **other)),
                        ]
                    ),
                ],
                className="cp-header",
            ),
            provenance_banner(provenance, lang),
        ]
    )


def provenance_banner(provenance: dict[str, str], lang: str) -> html.Div:
    """Which layers are real, derived, estimated or synthetic, as coloured badges."""
    by_kind: dict[str, list[str]] = {}
    for layer, prov in sorted(provenance.items()):
        by_kind.setdefault(prov, []).append(layer_label(layer, lang))
    badges: list[Any] = [html.B(t("data_provenance", lang) + ": ")]
    for prov in ("real", "derived", "estimated", "synthetic"):
        if prov in by_kind:
            badges.append(
                html.Span(
                    f"{t(prov, lang)}: {', '.join(by_kind[prov])}",
                    className=f"cp-badge cp-badge-{prov}",
                    **{"data-provenance": prov},
                )
            )
    if "synthetic" in by_kind:
        badges.append(html.Span(t("synthetic_warning", lang), className="cp-note"))
    return html.Div(badges, id=Id.PROVENANCE_BANNER, className="cp-banner")


def layer_label(layer: str, lang: str) -> str:
    """Display name of a dataset layer (``facilities_2024`` → ``设施 2024``)."""
    singular = {"counties": "county", "townships": "township", "villages": "village",
                "indicators": "layer_indicators", "network": "layer_network"}
    if layer in singular:
        return t(singular[layer], lang)
    if layer.startswith("facilities_") and layer[11:].isdigit():
        return f"{t('layer_facilities', lang)} {layer[11:]}"
    return layer


def legend(items: Iterable[dict[str, str]], lang: str) -> html.Div:
    """Colour legend: statuses as squares, facility types as dots."""
    rows = [html.B(t("legend", lang))]
    for item in items:
        cls = "cp-swatch" + (" cp-dot" if item.get("kind") == "facility" else "")
        rows.append(
            html.Div([html.Span(className=cls, style={"background": item["color"]}), item["label"]])
        )
    return html.Div(rows, className="cp-legend")


def status_counts(counts: dict[str, int], lang: str, unit_level: str = "township") -> html.Div:
    """``达标 3 · 未达标 5 · …`` with one span per status (``data-status`` for tests)."""
    parts: list[Any] = [html.B(f"{t(unit_level, lang)}: ")]
    for s in STATUSES:
        parts.append(
            html.Span(
                f"{t(s, lang)} {counts.get(s, 0)}  ",
                className=f"cp-status-{s}",
                **{"data-status": s, "data-count": str(counts.get(s, 0))},
            )
        )
    return html.Div(parts, className="cp-counts")


def small_table(columns: list[tuple[str, str]], rows: list[dict[str, Any]], lang: str) -> html.Table:
    """A plain table: ``columns`` = [(key, glossary key of the header)]."""
    head = html.Tr([html.Th(t(label, lang)) for _, label in columns])
    body = []
    for row in rows:
        cells = []
        for key, _ in columns:
            value = row.get(key, "")
            if key == "status":
                cells.append(html.Td(t(str(value), lang), className=f"cp-status-{value}"))
            else:
                cells.append(html.Td(format_number(value) if isinstance(value, float) else str(value)))
        body.append(html.Tr(cells))
    return html.Table([html.Thead(head), html.Tbody(body)], className="cp-table-small")


def township_panel(detail: dict[str, Any], lang: str) -> list[Any]:
    """Side panel of one township: every target, its facilities, its trend."""
    out: list[Any] = [
        html.H3(f"{detail['name']}（{detail['code']}）", **{"data-township": detail["code"]}),
        html.Div(f"{t('county', lang)}: {detail.get('county_name', '')}"),
        html.H4(t("all_targets_here", lang)),
        small_table(
            [("target_label", "plan_target"), ("unit_name", "unit_name"), ("status", "status"),
             ("actual", "actual"), ("required", "required"), ("shortfall_text", "shortfall")],
            detail.get("targets", []),
            lang,
        ),
        html.H4(t("facilities_here", lang)),
        small_table(
            [("name", "name"), ("type_label", "facility_type"), ("tier_label", "tier")],
            detail.get("facilities", []),
            lang,
        ),
    ]
    trend = detail.get("trend", [])
    if trend:
        out.append(html.H4(t("trend", lang)))
        out.append(
            small_table(
                [("target_label", "plan_target"), *[(str(y), str(y)) for y in detail.get("years", [])],
                 ("flag", "trend_flag")],
                trend,
                lang,
            )
        )
    return out


def facility_panel(detail: dict[str, Any], lang: str) -> list[Any]:
    """Side panel of one facility (name shown as text)."""
    rows = [
        html.H3(detail["name"], **{"data-facility": detail["facility_id"]}),
        html.Div(f"{t('facility_id', lang)}: {detail['facility_id']}"),
        html.Div(f"{t('facility_type', lang)}: {t(detail['type'], lang)}"),
    ]
    for key in ("tier", "level"):
        if detail.get(key):
            rows.append(html.Div(f"{t(key, lang)}: {t(str(detail[key]), lang)}"))
    if detail.get("capacity") not in (None, ""):
        rows.append(html.Div(f"{t('capacity', lang)}: {format_number(detail['capacity'])}"))
    rows.append(html.Div(f"{t('township', lang)}: {detail.get('township_name', '')}"))
    rows.append(html.Div(f"{t('provenance', lang)}: {t(str(detail.get('provenance', '')), lang)}"))
    return rows


def edit_list(edits: list[dict[str, Any]], lang: str, describe: Any) -> html.Div:
    """Numbered list of the scenario edits (``describe(edit, lang)`` gives the text)."""
    if not edits:
        return html.Div(t("no_edits", lang), className="cp-note")
    return html.Ol([html.Li(describe(e, lang)) for e in edits])


def message(text: str, ok: bool = True) -> html.Div:
    return html.Div(text, className="cp-ok" if ok else "cp-error")


#: error class name → glossary key of its plain-language message (zh UI shows these)
_ERROR_KEYS: dict[str, str] = {
    "SelectionError": "error_selection", "LayerValidationError": "error_layer",
    "ImportInputError": "error_import", "TargetSpecError": "error_target_spec",
    "EvaluationError": "error_evaluation", "NetworkError": "error_network", "SitingError": "error_siting",
    "ScenarioError": "error_scenario", "ExportError": "error_export",
}


#: recurring phrases of error details → glossary key of their Chinese rendering
_ERROR_PHRASES: tuple[tuple[str, str], ...] = (
    ("not shared", "error_not_shared"), ("outside Lishui", "error_outside_city"), ("capacity", "error_capacity"),
    ("scenario name", "error_scenario_name"), (".xlsx or .csv", "error_upload_format"),
    ("only .toml", "error_upload_toml"),
    ("not found", "error_not_found"), ("no facility", "error_not_found"), ("unknown", "error_unknown_value"),
    ("too large", "error_too_large"), ("larger than", "error_too_large"), ("not a whole number", "error_capacity"),
)


def error_text(exc: BaseException, lang: str) -> str:
    """A project error for the UI: in zh a Chinese sentence by error family, the recurring
    phrases of its detail in Chinese and the values it quotes (ids, file names); in en the
    detailed message."""
    import re

    key = next((_ERROR_KEYS[c.__name__] for c in type(exc).__mro__ if c.__name__ in _ERROR_KEYS),
               "error_generic")
    detail = str(exc).strip()
    if lang != "zh":
        return f"{t('error', lang)}: {t(key, lang)} ({detail})"
    phrases = [t(k, lang) for p, k in _ERROR_PHRASES if p in detail][:1]  # the first, most specific
    quoted = list(dict.fromkeys(re.findall(r"'([^'\n]{1,60})'", detail)))
    # importer messages end in " / 中文说明" and start with the user's file name (#14)
    tail = re.search(r" / ([^/\n]*[\u4e00-\u9fff][^/\n]*)$", detail.splitlines()[0] if detail else "")
    if tail:
        phrases = [tail.group(1).strip()]
    fname = re.match(r"^([^:/\\\n]{1,80}\.(?:xlsx|xlsm|xls|csv|toml)):", detail)
    if fname:
        quoted = [fname.group(1), *[q for q in quoted if q != fname.group(1)]]
    text = f"{t('error', lang)}：{t(key, lang)}"
    if phrases:
        text += "：" + "；".join(phrases)
    if quoted:
        text += "（" + "、".join(quoted) + "）"
    return text


def level_summary(view: Any, lang: str) -> html.Div:
    """Status counts of the units the map colours, named by their level; for a target with
    nothing to draw below the city, the note with the city-level result."""
    counts = status_counts(view.counts, lang, view.level if view.level != "city" else "city")
    if not view.note:
        return counts
    return html.Div([counts, html.Div(view.note, className="cp-note cp-level-note",
                                      **{"data-level": view.level})])


def proposal_summary(out: dict[str, Any], lang: str) -> str:
    """``3项建议措施 · 最优解`` (the solver status through the glossary; the solver's notes,
    English text, only in the en UI)."""
    status = str(out.get("status") or "")
    key = f"solve_status_{status}"
    status_text = t(key, lang) if t(key, lang) != key else ""
    n = len(out.get("rows") or [])
    head = f"{n}{t('actions_count', lang)}" if lang == "zh" else f"{n} {t('actions_count', lang)}"
    parts = [head, status_text]
    if lang != "zh":
        parts += list(out.get("notes") or [])[:3]
    return " · ".join(p for p in parts if p)
