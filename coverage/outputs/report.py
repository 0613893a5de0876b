"""Standalone HTML report of the gaps for the city or one county.

The page holds, in order: the data-provenance banner, the summary per plan target, a folium
map of the gaps (one switchable layer per target, each at its own level as the app draws it:
townships, counties, or villages as points over their townships' share of met villages;
:mod:`coverage.outputs.report_map`), a card per city-level target, the trend
over the inventory years (a table with an inline SVG sparkline per target) and, where the
trend flags them, the units expected to miss the target by 2025.

Everything is plain HTML/CSS/SVG with no external resource. The map is a folium (Leaflet)
document in an ``<iframe srcdoc>`` with Leaflet inlined from the vendored copy
(:func:`coverage.outputs.offline.inline_leaflet`, as the app's static map) and no tile layer,
so the report opens offline; status colours are the app's
(:data:`coverage.outputs.formatting.STATUS_COLOURS`). Every name or label that comes from data is escaped with
:func:`html.escape` (names are user data).
"""

from __future__ import annotations

import html
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd

from coverage.outputs.export import ExportError, _atomic_write, _number, provenance_lines
from coverage.outputs.gap_summary import summary_table
from coverage.outputs.gaps import _single_year, _year_units, resolve_county, result_units, target_labels
from coverage.outputs.formatting import STATUS_COLOURS as _STATUS_COLOURS
from coverage.outputs.formatting import shortfall_with_unit
from coverage.outputs.report_map import city_cards, gap_map_html
from layers.glossary import label
from layers.settings import CITY_NAME

__all__ = ["STATUS_COLOURS", "render_report", "trend_summary", "write_report"]

#: status → fill colour of the map layers (the app's colours, one definition)
STATUS_COLOURS: dict[str, str] = dict(_STATUS_COLOURS)

_CSS = """
body{font-family:"Noto Sans CJK SC","Microsoft YaHei",sans-serif;margin:1.5em;color:#222}
.banner{background:#fff2cc;border:2px solid #c00000;color:#c00000;padding:.6em 1em;
 font-weight:bold;margin-bottom:1em}
.banner li{margin:.2em 0}
table{border-collapse:collapse;margin:.5em 0 1.5em;font-size:13px}
th,td{border:1px solid #bbb;padding:3px 6px;vertical-align:top}
th{background:#ddebf7}
td.num{text-align:right}
td.lvl{white-space:nowrap}
.not_met{color:#b35806;font-weight:bold}
iframe{width:100%;height:760px;border:1px solid #999}
.cards{display:flex;flex-wrap:wrap;gap:.8em;margin:.5em 0 1.5em}
.card{border:1px solid #999;padding:.5em .8em;max-width:30em;font-size:13px}
.card-head{display:flex;justify-content:space-between;gap:1em;margin-bottom:.3em}
.verdict{padding:0 .5em;white-space:nowrap;border:1px solid #bbb}
.card-clause,.card-note{color:#555;margin:.2em 0}
footer{margin-top:2em;font-size:12px;color:#555}
"""


def _e(value: Any) -> str:
    """Escape one value for HTML text (None/NaN → empty)."""
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return ""
    return html.escape(str(value))


# --------------------------------------------------------------------------- trend
def _trend_sources(trend: Any) -> list[tuple[int, Any]]:
    """``(year, result)`` pairs of a trend, each result keeping its roll-up when it has one.

    ``trend`` is a :class:`coverage.targets.trends.TrendResult` (its ``evaluation``), a multi-year
    EvaluationResult, a ``{year: result}`` mapping or a long DataFrame with a ``year`` column.
    """
    if trend is None:
        return []
    if isinstance(trend, Mapping):
        return sorted((int(y), res) for y, res in trend.items())
    source = getattr(trend, "evaluation", None) or trend
    units = source if isinstance(source, pd.DataFrame) else getattr(source, "units", None)
    if not isinstance(units, pd.DataFrame) or "year" not in units.columns:
        if isinstance(trend, pd.DataFrame):  # a flags table without years: no trend table
            return []
        msg = f"trend must be a TrendResult, a {{year: result}} mapping or a DataFrame, not {type(trend).__name__}"
        raise ExportError(msg)
    years = sorted(int(y) for y in pd.to_numeric(units["year"], errors="coerce").dropna().unique())
    return [(y, source) for y in years]


def trend_summary(
    trend: Any, target_ids: Iterable[str], county: tuple[str, str] | None = None
) -> pd.DataFrame:
    """Units met / evaluated per target and inventory year (as :func:`summary_table` counts).

    Returns
    -------
    DataFrame
        ``target_id``, ``year``, ``n_units`` (met + not met), ``met``, ``met_share``
        (0–1, NaN when nothing was evaluated).
    """
    rows = []
    wanted = list(target_ids)
    for year, source in _trend_sources(trend):
        units = result_units(source)
        in_year = set(pd.unique(units.loc[pd.to_numeric(units["year"], errors="coerce") == year, "target_id"])) \
            if "year" in units.columns else set(pd.unique(units["target_id"]))
        present = [t for t in wanted if t in in_year]
        if not present:
            continue
        s = summary_table(source, target=present, county=county, year=year if "year" in units.columns else None)
        for r in s.itertuples(index=False):
            share = r.met / r.n_units if r.n_units else float("nan")
            rows.append((r.target_id, int(year), r.n_units, r.met, share))
    return pd.DataFrame(rows, columns=["target_id", "year", "n_units", "met", "met_share"])


def _sparkline(points: list[tuple[int, float]], width: int = 140, height: int = 30) -> str:
    """Inline SVG polyline of met shares (0–1) over the years; no script, no external file."""
    pts = [(y, v) for y, v in points if pd.notna(v)]
    if not pts:
        return ""
    years = [y for y, _ in pts]
    y0, y1 = min(years), max(years)
    span = (y1 - y0) or 1

    def xy(year: int, v: float) -> tuple[float, float]:
        x = 4 + (width - 8) * (year - y0) / span if y1 != y0 else width / 2
        return round(x, 1), round(height - 4 - (height - 8) * v, 1)

    coords = [xy(y, v) for y, v in pts]
    line = " ".join(f"{x},{y}" for x, y in coords)
    dots = "".join(f'<circle cx="{x}" cy="{y}" r="2" fill="#2b83ba"/>' for x, y in coords)
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'role="img"><rect width="{width}" height="{height}" fill="#f7f7f7"/>'
        f'<polyline points="{line}" fill="none" stroke="#2b83ba" stroke-width="1.5"/>{dots}</svg>'
    )


_MAX_NAMES = 30  # unit names listed per target before "… (N in all)"


def _at_risk_table(trend: Any, target_ids: list[str], county: tuple[str, str] | None,
                   labels: dict[str, str], lang: str) -> str:
    """Units the trend flags 预计达标困难 (``at_risk``), grouped per target and level.

    Reads ``trend.units`` of a TrendResult (or a DataFrame with an ``at_risk`` column); only
    plan-level rows (``is_plan_level``) count. County/city rows are listed by name; for
    townships and villages, the count and the first :data:`_MAX_NAMES` names (the count
    says how many there are in all).
    """
    frame = getattr(trend, "units", None) if not isinstance(trend, pd.DataFrame) else trend
    if not isinstance(frame, pd.DataFrame) or "at_risk" not in frame.columns or frame.empty:
        return ""
    rows = frame[frame["at_risk"].fillna(False).astype(bool) & frame["target_id"].isin(target_ids)]
    if "is_plan_level" in rows.columns:  # early warning is about plan targets, not breakdowns
        rows = rows[rows["is_plan_level"].fillna(False).astype(bool)]
    if county is not None:
        cc = _col_str(rows, "county_code")
        rows = rows[(cc == county[0]) | (_col_str(rows, "unit_code") == county[0])]
    if rows.empty:
        return ""
    order = {t: i for i, t in enumerate(target_ids)}
    levels = {lv: i for i, lv in enumerate(("city", "county", "township", "village"))}
    body = []
    groups = rows.groupby(["target_id", "unit_level"], sort=False)
    for (tid, level), grp in sorted(groups, key=lambda kv: (order.get(kv[0][0], 0), levels.get(kv[0][1], 9))):
        names = [str(n) for n in _col_str(grp, "unit_name")]
        shown = "、".join(names[:_MAX_NAMES]) + (f" …（{len(names)}）" if len(names) > _MAX_NAMES else "")
        body.append(f'<tr><td>{_e(labels.get(tid, tid))}</td><td class="lvl">{_e(label(str(level), lang))}</td>'
                    f'<td class="num">{len(grp)}</td><td>{_e(shown)}</td></tr>')
    head = "".join(f"<th>{_e(label(k, lang))}</th>" for k in ("target_label", "unit_level", "units_at_risk",
                                                             "unit_name"))
    return f"<h2>{_e(label('report_at_risk', lang))}</h2><table><tr>{head}</tr>{''.join(body)}</table>"


def _col_str(df: pd.DataFrame, name: str) -> pd.Series:
    if name not in df.columns:
        return pd.Series([""] * len(df), index=df.index, dtype=object)
    return df[name].astype(object).where(df[name].notna(), "").astype(str)


# --------------------------------------------------------------------------- map
def _amount(value: Any, unit: str | None, lang: str) -> str:
    """``5个设施`` / ``5 facilities`` (points with one decimal, others with separators)."""
    return shortfall_with_unit(value, unit or "", lang)


# --------------------------------------------------------------------------- page
def _table(df: pd.DataFrame, num_cols: Iterable[str] = ()) -> str:
    nums = set(num_cols)
    head = "".join(f"<th>{_e(c)}</th>" for c in df.columns)
    body = []
    for values in df.itertuples(index=False, name=None):
        cells = []
        for col, v in zip(df.columns, values):
            cls = ' class="num"' if col in nums else ""
            cells.append(f"<td{cls}>{_e(_number(v) if isinstance(v, float) else v)}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><tr>{head}</tr>{''.join(body)}</table>"


def render_report(dataset: Any, result: Any, trend: Any = None, county: str | None = None, *,
                  targets: Iterable[Any] | None = None, lang: str = "zh",
                  year: int | None = None) -> str:
    """The report as one HTML string, UTF-8 text (parameters as :func:`write_report`)."""
    chosen = resolve_county(dataset, county)
    labels = target_labels(result, targets, lang)
    units = _year_units(result_units(result), year)
    have = set(pd.unique(units["target_id"]))
    target_ids = [t for t in labels if t in have]
    scope = chosen[1] if chosen else CITY_NAME
    year = _single_year(units)
    if lang == "zh":
        title = f"{scope}{label('report_title', lang)}" + (f"（{year}年）" if year else "")
    else:
        title = f"{label('report_title', lang)}: {scope}" + (f" ({year})" if year else "")

    banner = "".join(f"<li>{_e(line)}</li>" for line in provenance_lines(dataset, lang, year))
    summary = summary_table(result, targets, target=target_ids, county=chosen, year=year)
    s = pd.DataFrame({
        label("target_label", lang): summary["target_id"].map(labels).fillna(summary["target_label"]),
        label("unit_level", lang): summary["unit_level"].map(
            lambda v: "/".join(label(p, lang) for p in str(v).split("/") if p)),
        label("units_evaluated", lang): summary["n_units"],
        label("units_met", lang): summary["met"],
        label("units_not_met", lang): summary["not_met"],
        label("units_no_data", lang): summary["no_data"],
        label("shortfall", lang): [
            (label("max_of_units", lang) if m else "") + _amount(v, u, lang) if n else ""
            for v, u, n, m in zip(summary["shortfall"], summary["shortfall_unit"], summary["not_met"],
                                  summary["shortfall_is_max"])
        ],
        label("plan_status", lang): summary["plan_status"].map(lambda v: label(v, lang) if v else "—"),
    })
    numeric = [label(k, lang) for k in ("units_evaluated", "units_met", "units_not_met", "units_no_data")]

    ts = trend_summary(trend, target_ids, chosen)
    trend_html = ""
    if not ts.empty:
        tyears = sorted(ts["year"].unique())
        head = "".join(f"<th>{int(y)}</th>" for y in tyears)
        rows = []
        for tid in target_ids:
            sub = ts[ts["target_id"] == tid].set_index("year")
            if sub.empty:
                continue
            cells = "".join(
                f"<td class=\"num\">{int(sub.loc[y, 'met'])}/{int(sub.loc[y, 'n_units'])}</td>"
                if y in sub.index else "<td></td>" for y in tyears
            )
            spark = _sparkline([(int(y), float(sub.loc[y, "met_share"])) for y in sub.index])
            rows.append(f"<tr><td>{_e(labels.get(tid, tid))}</td>{cells}<td>{spark}</td></tr>")
        trend_html = (f"<h2>{_e(label('report_trend', lang))}</h2><p>{_e(label('units_met', lang))} / "
                      f"{_e(label('units_evaluated', lang))}</p><table><tr><th>"
                      f"{_e(label('target_label', lang))}</th>{head}<th></th></tr>{''.join(rows)}</table>")
    at_risk = _at_risk_table(trend, target_ids, chosen, labels, lang)
    map_doc = gap_map_html(dataset, result, target_ids, labels, chosen, lang, year, targets)
    cards = city_cards(dataset, result, target_ids, labels, lang, year, targets)
    legend = " ".join(
        f'<span style="background:{c};padding:0 .8em;margin-left:.6em">&nbsp;</span> {_e(label(k, lang))}'
        for k, c in STATUS_COLOURS.items()
    )
    return (
        f'<!DOCTYPE html><html lang="{"zh-CN" if lang == "zh" else "en"}"><head><meta charset="utf-8">'
        f"<title>{_e(title)}</title><style>{_CSS}</style></head><body>"
        f"<h1>{_e(title)}</h1>"
        f'<div class="banner">{_e(label("provenance_statement", lang))}<ul>{banner}</ul></div>'
        f"<h2>{_e(label('report_summary', lang))}</h2>{_table(s, numeric)}"
        f"<h2>{_e(label('report_map', lang))}</h2><p>{legend}</p>"
        f'<iframe srcdoc="{html.escape(map_doc, quote=True)}" title="map"></iframe>{cards}'
        f"{trend_html}{at_risk}"
        f"<footer><p>{_e(label('report_footer_cdn', lang))}</p>"
        f"<p>{_e(label('generated_by', lang))}: covplan (coverage.outputs.report) · "
        f"{_e(getattr(dataset, 'name', ''))}</p></footer></body></html>"
    )


def write_report(path: str | os.PathLike, dataset: Any, result: Any, trend: Any = None,
                 county: str | None = None, *, targets: Iterable[Any] | None = None,
                 lang: str = "zh", year: int | None = None) -> Path:
    """Write the standalone HTML report for the city or one county.

    Parameters
    ----------
    path : path
        Output file; must end in ``.html`` (or ``.htm``).
    dataset : Dataset
        Names, polygons (EPSG:4326) and layer provenance.
    result : EvaluationResult or DataFrame
        Evaluation of the report year (summary, map).
    trend : mapping {year: EvaluationResult} or DataFrame, optional
        Results of several inventory years for the trend table; a DataFrame (or an object
        with ``flags``) holding a boolean ``at_risk`` column also lists the flagged units.
    county : str, optional
        County name or code; the whole city when None.
    year : int, optional
        Year of the summary and map when ``result`` holds several (default: the latest).

    Returns
    -------
    Path
        The file written (atomically).
    """
    path = Path(path)
    if path.suffix.lower() not in (".html", ".htm"):
        msg = f"cannot write the report to {path.name!r}: the file must end in .html"
        raise ExportError(msg)
    text = render_report(dataset, result, trend, county, targets=targets, lang=lang, year=year)
    _atomic_write(path, text.encode("utf-8"))
    return path
