"""Pure builders of the workspace's components: legend, target summary card, named edits.

Every text from the data is a string child (a React text node), never HTML.
"""

from __future__ import annotations

from typing import Any

from dash import html

from dashapp.labels import STATUSES, format_number, t


def legend(entries: list[dict[str, Any]], lang: str) -> html.Div:
    """The legend, one section per layer group, keys drawn like the map's symbols."""
    rows: list[Any] = [html.B(t("legend", lang))]
    section = None
    for e in entries:
        if e["section"] != section:
            section = e["section"]
            rows.append(html.Div(section, className="cp-legend-sec"))
        kind = e["kind"]
        if kind in ("symbol", "added", "uncovered"):
            key = html.Span(html.Span(html.I(style={"background": e["color"]}),
                                      className=f"cp-shape cp-shape-{e['shape']}"),
                            className="cp-key" + (" cp-added" if kind == "added" else ""))
        elif kind == "count":
            key = html.Span(html.Span("3", className="cp-count"), className="cp-key")
        elif kind == "proposal":
            key = html.Span(html.Span(className="cp-ring"), className="cp-key")
        else:
            key = html.Span(className=f"cp-key cp-key-{kind}", style={"background": e["color"]})
        rows.append(html.Div([key, html.Span(e["label"])], className="cp-legend-row",
                             **{"data-legend": kind}))
    return html.Div(rows, className="cp-legend2")


def target_summary(summary: dict[str, Any], lang: str) -> list[Any]:
    """The details panel before any selection: the target, its KPIs and the criterion."""
    counts = summary["counts"]
    kpis = [html.Div([html.B(str(counts.get(s, 0))), t(s, lang)], className=f"cp-kpi cp-status-{s}")
            for s in STATUSES[:3]]
    out: list[Any] = [
        html.H3(summary["label"], **{"data-target": summary["target_id"]}),
        html.Div(f"{t('unit_level', lang)}: {t(summary['level'], lang)} · {summary['scope']} · {summary['year']}",
                 className="cp-note"),
        html.Div(kpis, className="cp-kpis"),
    ]
    if summary.get("shortfall"):
        out.append(html.Div(f"{t('total_shortfall', lang)}: {summary['shortfall']}"))
    # (the level note — nothing to draw below the city — is shown once, with the status counts)
    if summary.get("at_risk") is not None:
        out.append(html.Div(f"{t('units_at_risk', lang)}: {summary['at_risk']}"))
    out.append(html.Div(summary["clause"], className="cp-clause"))
    if summary.get("data_status"):
        out.append(html.Div(summary["data_status"], className="cp-note cp-data-status"))
    out.append(html.Details([html.Summary(t("trend_flag", lang)), html.Div(t("trend_criterion", lang),
                                                                           className="cp-clause")]))
    out.append(html.Div(t("click_township_hint", lang), className="cp-note"))
    return out


def edit_list(named: list[dict[str, str]], lang: str) -> html.Div:
    """Numbered edits, each naming its facility and township; border warnings below."""
    if not named:
        return html.Div(t("no_edits", lang), className="cp-note")
    items = []
    for e in named:
        parts: list[Any] = [html.Span(e["text"], **{"data-township": e.get("township", "")})]
        if e.get("warning"):
            parts.append(html.Div(e["warning"], className="cp-warn"))
        items.append(html.Li(parts))
    return html.Ol(items)


def with_trend(panel: list[Any], figure: dict[str, Any] | None) -> list[Any]:
    """The township panel with the chosen target's trend chart after its heading."""
    if figure is None:
        return panel
    from dash import dcc

    graph = dcc.Graph(figure=figure, config={"displayModeBar": False, "staticPlot": True},
                      className="cp-trend", style={"height": "190px"})
    return [*panel[:2], graph, *panel[2:]]


def kpi_cards(kpis: list[dict[str, Any]]) -> list[Any]:
    """The summary page's KPI cards (value large, label below)."""
    return [html.Div([html.B(str(k["value"])), k["label"]], className=f"cp-kpi cp-kpi-{k['key']}",
                     **{"data-kpi": k["key"], "data-value": str(k["value"])}) for k in kpis]


def number(value: Any) -> str:
    return format_number(value)
