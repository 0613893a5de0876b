"""City and county summary: targets met per county, the trend per year, the summary table.

Figures are plain Plotly figure dicts (rendered by ``dcc.Graph``, Plotly served locally).
The per-county status of a target is its plan-level result for the county
(``EvaluationResult.rollup``); where the plan states no result at county level, the
county counts as not met if any of its units is not met, met if all evaluated ones are.
"""

from __future__ import annotations

from typing import Any, Sequence

import pandas as pd

from coverage.outputs.formatting import format_shortfall
from dashapp.labels import t, target_label
from dashapp.maps import STATUS_COLORS
from dashapp.service import get_service

_STATUS_ORDER = ("met", "not_met", "no_data", "not_applicable")


def county_status(rollup: pd.DataFrame) -> pd.DataFrame:
    """One row per target × county with its status (plan-level result or unit counts)."""
    rows = rollup[rollup["level"] == "county"].copy()
    derived = rows.apply(
        lambda r: r["plan_status"] if r["plan_status"] else
        ("not_met" if r["not_met"] > 0 else "met" if r["met"] > 0 else
         "no_data" if r["no_data"] > 0 else "not_applicable"),
        axis=1,
    ) if not rows.empty else pd.Series(dtype=str)
    rows["status"] = derived
    return rows


def county_counts(rollup: pd.DataFrame) -> pd.DataFrame:
    """Targets per county and status: columns ``unit_code``, ``unit_name`` + one per status."""
    rows = county_status(rollup)
    if rows.empty:
        return pd.DataFrame(columns=["unit_code", "unit_name", *_STATUS_ORDER])
    table = rows.pivot_table(index=["unit_code", "unit_name"], columns="status", values="target_id",
                             aggfunc="count", fill_value=0)
    for s in _STATUS_ORDER:
        if s not in table.columns:
            table[s] = 0
    return table[list(_STATUS_ORDER)].reset_index().sort_values("unit_code", kind="stable")


def city_trend(rollup: pd.DataFrame) -> pd.DataFrame:
    """Targets per inventory year and city-wide plan-level status."""
    city = rollup[rollup["level"] == "city"]
    status = city["plan_status"].where(city["plan_status"] != "", "not_applicable")
    table = pd.crosstab(city["year"], status)
    for s in _STATUS_ORDER:
        if s not in table.columns:
            table[s] = 0
    return table[list(_STATUS_ORDER)].reset_index().sort_values("year")


def _bar_figure(x: list[Any], table: pd.DataFrame, title: str, lang: str, *, kind: str = "bar") -> dict[str, Any]:
    traces = []
    for s in ("met", "not_met", "no_data"):
        trace: dict[str, Any] = {"x": x, "y": [int(v) for v in table[s]], "name": t(s, lang),
                                 "marker": {"color": STATUS_COLORS[s]}}
        if kind == "bar":
            trace["type"] = "bar"
        else:
            trace.update(type="scatter", mode="lines+markers", line={"color": STATUS_COLORS[s]})
        traces.append(trace)
    return {
        "data": traces,
        "layout": {"title": {"text": title}, "barmode": "stack", "height": 380,
                   "xaxis": {"type": "category"},
                   "yaxis": {"title": {"text": t("plan_target", lang)}}, "legend": {"orientation": "h"},
                   "margin": {"l": 60, "r": 20, "t": 50, "b": 60}, "font": {"family": "sans-serif"}},
    }


def summary_view(year: Any, edits: Sequence[dict[str, Any]], lang: str) -> dict[str, Any]:
    """Figures and rows of the summary page for ``year`` (scenario edits applied).

    The trend uses the base data of every inventory year (a scenario edits one year).
    """
    svc = get_service()
    year_i = svc.year(year)
    result = svc.evaluation(year_i, edits, None)
    counts = county_counts(result.rollup)
    county_fig = _bar_figure(list(counts["unit_name"]), counts,
                             f"{t('targets_met_per_county', lang)}（{year_i}）", lang)
    trend_frames = [svc.evaluation(y, (), None).rollup for y in svc.ds.years]
    trend = city_trend(pd.concat(trend_frames, ignore_index=True))
    trend_fig = _bar_figure([str(y) for y in trend["year"]], trend, t("trend_per_year", lang), lang,
                            kind="line")
    _, targets = svc.scenario_data(edits, year_i)
    labels = {tg.id: target_label(tg, lang) for tg in targets}
    city = result.rollup[result.rollup["level"] == "city"]
    rows = [
        {
            "target_id": r.target_id,
            "target_label": labels.get(r.target_id, r.target_id),
            "count_level": t(str(r.count_level), lang),
            "n_units": int(r.n_units),
            "met": int(r.met),
            "not_met": int(r.not_met),
            "no_data": int(r.no_data),
            "plan_status": t(str(r.plan_status), lang) if r.plan_status else "—",
            # points never add up: a rate target's city row shows its failing units only
            "shortfall": "" if r.shortfall_unit == "pp" else format_shortfall(r.shortfall, str(r.shortfall_unit), lang),
            "shortfall_unit": t(str(r.shortfall_unit), lang) if r.shortfall_unit and r.shortfall_unit != "pp" else "",
        }
        for r in city.itertuples(index=False)
    ]
    return {"county_figure": county_fig, "trend_figure": trend_fig, "rows": rows,
            "county_counts": counts, "trend": trend}
