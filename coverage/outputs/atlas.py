"""Printable map pages and the county atlas: landscape A4/A3 HTML pages ready for PDF.

Each page is one target in one county: an SVG map of the county's townships coloured by
status (drawn in EPSG:4549, so the km scale bar and the 1:N scale are exact), township
names, the facilities the target counts, a north arrow, a legend, the title, the
mapping unit (制图单位) and date, the provenance note, and beside the map the county's gap
table for that target (from :func:`coverage.outputs.gaps.township_gaps`, the one gap
model). :func:`atlas_html` puts a cover page with one line per target first, then one page
per target with gaps in the county (or every target with ``all_targets``).

Printing to PDF is :mod:`coverage.outputs.pdf` (headless Chromium). Every text from the
data is ``html.escape``d; the pages fetch nothing (inline SVG and CSS only).
"""

from __future__ import annotations

import datetime as _dt
import html
from dataclasses import dataclass
from typing import Any, Iterable

import geopandas as gpd
import pandas as pd

from coverage.outputs.export import provenance_statement
from coverage.outputs.model import township_gaps
from layers.glossary import label
from layers.settings import WORKING_CRS

#: status fill colours, the same as the app's map (blue met, red not met)
STATUS_FILL: dict[str, str] = {"met": "#2c7bb6", "not_met": "#d7191c", "no_data": "#9e9e9e",
                               "not_applicable": "#f2f2f2"}
#: paper sizes, landscape (width, height) in mm
PAPERS: dict[str, tuple[int, int]] = {"A4": (297, 210), "A3": (420, 297)}
#: map display simplification (metres)
SIMPLIFY_M: float = 60.0


@dataclass(frozen=True)
class PageSpec:
    """What every page states besides the map: paper, mapping unit, date, language."""

    paper: str = "A4"
    author: str = ""
    date: str = ""
    lang: str = "zh"

    def checked(self) -> "PageSpec":
        from layers._errors import CovplanError

        if self.paper not in PAPERS:
            raise CovplanError(f"paper {self.paper!r}: choose one of {', '.join(PAPERS)}")
        return PageSpec(self.paper, str(self.author or "").strip()[:80],
                        str(self.date or _dt.date.today().isoformat()).strip()[:40], self.lang)


def _nice_km(target_km: float) -> float:
    steps = [0.5, 1, 2, 5, 10, 20, 25, 50, 100]
    return max([s for s in steps if s <= target_km] or [steps[0]])


def _path(geom: Any, tx: Any) -> str:
    polys = [geom] if geom.geom_type == "Polygon" else list(getattr(geom, "geoms", []))
    parts = []
    for poly in polys:
        for ring in [poly.exterior, *poly.interiors]:
            pts = [tx(x, y) for x, y in ring.coords]
            parts.append("M" + "L".join(f"{a:.2f},{b:.2f}" for a, b in pts) + "Z")
    return "".join(parts)


def map_svg(townships: gpd.GeoDataFrame, status: dict[str, str], facilities: gpd.GeoDataFrame | None,
            width_mm: float, height_mm: float, lang: str = "zh") -> tuple[str, dict[str, Any]]:
    """SVG of townships (any CRS) coloured by ``status[code]``, with names, facility dots,
    a north arrow and a km scale bar; returns ``(svg, {"scale": N, "bar_km": km})``."""
    tw = townships.to_crs(WORKING_CRS)
    geoms = tw.geometry.simplify(SIMPLIFY_M, preserve_topology=True)
    minx, miny, maxx, maxy = tw.total_bounds
    pad = 6.0
    s = min((width_mm - 2 * pad) / max(maxx - minx, 1.0), (height_mm - 2 * pad) / max(maxy - miny, 1.0))
    ox = pad + ((width_mm - 2 * pad) - (maxx - minx) * s) / 2
    oy = pad + ((height_mm - 2 * pad) - (maxy - miny) * s) / 2

    def tx(x: float, y: float) -> tuple[float, float]:
        return ox + (x - minx) * s, oy + (maxy - y) * s

    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width_mm}mm" height="{height_mm}mm" '
           f'viewBox="0 0 {width_mm} {height_mm}" class="map">']
    for code, geom in zip(tw["code"].astype(str), geoms):
        fill = STATUS_FILL.get(status.get(code, "no_data"), "#9e9e9e")
        out.append(f'<path d="{_path(geom, tx)}" fill="{fill}" fill-opacity="0.75" stroke="#fff" '
                   f'stroke-width="0.25" data-code="{html.escape(code)}"/>')
    outline = tw.geometry.union_all()
    out.append(f'<path d="{_path(outline, tx)}" fill="none" stroke="#303030" stroke-width="0.5"/>')
    if facilities is not None and len(facilities):
        fw = facilities.to_crs(WORKING_CRS)
        for g in fw.geometry:
            if g is None or g.is_empty:
                continue
            x, y = tx(g.x, g.y)
            out.append(f'<circle cx="{x:.2f}" cy="{y:.2f}" r="0.7" fill="#ffd600" stroke="#222" stroke-width="0.15"/>')
    for name, pt in zip(tw["name"].astype(str), tw.geometry.representative_point()):
        x, y = tx(pt.x, pt.y)
        out.append(f'<text x="{x:.2f}" y="{y:.2f}" class="lbl">{html.escape(name)}</text>')
    # north arrow (EPSG:4549 grid north; within 1.5° of true north across Lishui)
    nx, ny = width_mm - 12, 14
    out.append(f'<g class="north"><path d="M{nx},{ny - 9} L{nx + 3.5},{ny + 2} L{nx},{ny} L{nx - 3.5},{ny + 2} Z" '
               f'fill="#222"/><text x="{nx}" y="{ny + 7}" text-anchor="middle" class="n">N</text></g>')
    # scale bar: a round length near a fifth of the map width
    bar_km = _nice_km((width_mm / 5) / (s * 1000))
    bar_mm = bar_km * 1000 * s
    bx, by = pad + 2, height_mm - pad - 2
    out.append(f'<g class="scalebar"><rect x="{bx}" y="{by - 1.6}" width="{bar_mm / 2:.2f}" height="1.6" fill="#222"/>'
               f'<rect x="{bx + bar_mm / 2:.2f}" y="{by - 1.6}" width="{bar_mm / 2:.2f}" height="1.6" fill="#fff" '
               f'stroke="#222" stroke-width="0.2"/>'
               f'<text x="{bx}" y="{by - 2.6}" class="sb">0</text>'
               f'<text x="{bx + bar_mm:.2f}" y="{by - 2.6}" class="sb" text-anchor="end">{bar_km:g} km</text></g>')
    out.append("</svg>")
    scale = int(round(1000.0 / s, -3)) if s > 0 else 0
    return "".join(out), {"scale": scale, "bar_km": bar_km}


def _legend(lang: str, with_facilities: str | None) -> str:
    rows = [f'<div class="lg"><span class="sw" style="background:{STATUS_FILL[s]}"></span>{html.escape(label(s, lang))}</div>'
            for s in ("met", "not_met", "no_data", "not_applicable")]
    rows.append(f'<div class="lg"><span class="sw ol"></span>{html.escape(label("layer_counties", lang))}</div>')
    if with_facilities:
        rows.append(f'<div class="lg"><span class="dot"></span>{html.escape(with_facilities)}</div>')
    return f'<div class="legend"><b>{html.escape(label("legend", lang))}</b>{"".join(rows)}</div>'


_TABLE_COLS = ("unit_level", "unit_name", "township_name", "required", "actual", "shortfall", "action")
#: gap rows printed beside one map (more are counted in a note; the full list is `covplan gaps`)
MAX_ROWS: dict[str, int] = {"A4": 15, "A3": 28}


def _gap_table(rows: pd.DataFrame, lang: str, max_rows: int) -> str:
    """The gap rows as the gap model formats them (:func:`coverage.outputs.display.gap_display_frame`)."""
    from coverage.outputs.display import display_headers, gap_display_frame

    if rows.empty:
        return f'<p class="none">{html.escape(label("no_gaps", lang))}</p>'
    shown = gap_display_frame(rows.head(max_rows), lang=lang, numbers="text")
    heads = display_headers(lang)
    head = "".join(f"<th>{html.escape(heads.get(c, c))}</th>" for c in _TABLE_COLS)
    body = []
    for rec in shown.to_dict("records"):
        cells = []
        for c in _TABLE_COLS:
            v = rec.get(c, "")
            if c == "shortfall" and v not in ("", None):
                v = f"{v} {rec.get('shortfall_unit', '')}".strip()
            cells.append(f"<td>{html.escape('' if v is None else str(v))}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    more = ""
    if len(rows) > max_rows:
        more = f'<p class="more">{html.escape(label("atlas_more_rows", lang).format(n=len(rows) - max_rows))}</p>'
    return f'<table class="gaps"><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table>{more}'


def township_status(units: pd.DataFrame, target: Any, townships: pd.DataFrame) -> dict[str, str]:
    """Status per township code of one target as the map shows it: township rows as they
    are; villages combined (not met if any is, met if all evaluated are); a county or city
    row given to each of its townships."""
    level = target.unit_level
    rows = units[(units["target_id"] == target.id) & (units["unit_level"] == level)]
    if level == "township":
        return dict(zip(rows["unit_code"].astype(str), rows["status"].astype(str)))
    if level == "village":
        out: dict[str, str] = {}
        for code, grp in rows.groupby(rows["township_code"].astype(str)):
            st = set(grp["status"].astype(str))
            out[code] = next((s for s in ("not_met", "no_data", "met") if s in st), "not_applicable")
        return out
    by = dict(zip(rows["unit_code"].astype(str), rows["status"].astype(str)))
    codes = townships["code"].astype(str)
    if level == "county":
        return {c: by.get(cc, "no_data") for c, cc in zip(codes, townships["county_code"].astype(str))}
    city = next(iter(by.values()), "no_data")
    return {c: city for c in codes}


_CSS = """
@page { size: %(w)smm %(h)smm; margin: 0; }
* { box-sizing: border-box; }
body { margin: 0; font-family: "Noto Sans CJK SC", "Noto Sans SC", "Microsoft YaHei", sans-serif; color: #222; }
.page { width: %(w)smm; height: %(h)smm; padding: 8mm 10mm; page-break-after: always; position: relative; overflow: hidden; }
.page:last-child { page-break-after: auto; }
h1 { font-size: %(h1)spt; margin: 0 0 1mm; } .sub { font-size: 9pt; color: #555; margin-bottom: 2mm; }
.body { display: flex; gap: 5mm; }
.mapbox { position: relative; border: 0.3mm solid #888; }
.legend { position: absolute; right: 2mm; bottom: 2mm; background: rgba(255,255,255,.92); border: 0.2mm solid #999;
          padding: 1.5mm 2mm; font-size: 7.5pt; }
.lg { display: flex; align-items: center; gap: 1.5mm; margin-top: 0.6mm; }
.sw { width: 4mm; height: 3mm; display: inline-block; border: 0.2mm solid #777; }
.sw.ol { background: none; border: 0.5mm solid #303030; }
.dot { width: 2mm; height: 2mm; border-radius: 50%%; background: #ffd600; border: 0.2mm solid #222; display: inline-block; }
.side { flex: 1 1 auto; min-width: 0; font-size: 7pt; max-height: %(side)smm; overflow: hidden; }
.more { color: #8a5a00; }
table { border-collapse: collapse; width: 100%%; }
th, td { border-bottom: 0.2mm solid #ccc; padding: 0.6mm 1mm; text-align: left; vertical-align: top; }
th { background: #eef2f7; }
.lbl { font-size: 2.1px; text-anchor: middle; paint-order: stroke; stroke: #fff; stroke-width: 0.5px; fill: #111; }
.n { font-size: 4px; font-weight: bold; } .sb { font-size: 2.6px; }
.foot { position: absolute; left: 10mm; right: 10mm; bottom: 5mm; font-size: 7pt; color: #444; display: flex; gap: 6mm; }
.foot span { white-space: nowrap; } .foot .prov { flex: 1 1 auto; white-space: normal; }
.none { color: #1b5e20; }
"""


def _page(title: str, sub: str, svg: str, legend_html: str, side_html: str, foot: str) -> str:
    return (f'<section class="page"><h1>{html.escape(title)}</h1><div class="sub">{html.escape(sub)}</div>'
            f'<div class="body"><div class="mapbox">{svg}{legend_html}</div><div class="side">{side_html}</div></div>'
            f'<div class="foot">{foot}</div></section>')


def _foot(spec: PageSpec, dataset: Any, scale: int) -> str:
    lang = spec.lang
    author = spec.author or label("author_unset", lang)
    parts = [f'<span>{html.escape(label("mapping_unit", lang))}：{html.escape(author)}</span>',
             f'<span>{html.escape(label("map_date", lang))}：{html.escape(spec.date)}</span>',
             f'<span>1:{scale:,}</span>',
             f'<span class="prov">{html.escape(provenance_statement(dataset, lang))}</span>']
    return "".join(parts)


def map_page(dataset: Any, result: Any, target: Any, county_code: str, year: int, spec: PageSpec,
             gaps: pd.DataFrame | None = None) -> str:
    """One page (a ``<section>``): the county's townships for ``target`` and its gap table."""
    spec = spec.checked()
    lang = spec.lang
    w, h = PAPERS[spec.paper]
    tw = dataset.townships[dataset.townships["county_code"].astype(str) == str(county_code)]
    county_name = str(dataset.counties.set_index(dataset.counties["code"].astype(str)).loc[str(county_code), "name"])
    units = result.units if hasattr(result, "units") else result
    status = township_status(units, target, dataset.townships)
    fac = None
    sel = getattr(target, "facility", None)
    if sel is not None and getattr(sel, "type", None):
        f = dataset.facilities_for(year)
        mask = (f["type"] == sel.type) & (f["county_code"].astype(str) == str(county_code))
        if getattr(sel, "tier", None):
            mask &= f["tier"] == sel.tier
        fac = f[mask]
    map_w, map_h = w * 0.56, h - 52
    svg, info = map_svg(tw, status, fac, map_w, map_h, lang)
    fac_label = None
    if fac is not None:
        fac_label = label(sel.type, lang) + (f"（{label(sel.tier, lang)}）" if getattr(sel, "tier", None) else "")
    if gaps is None:
        gaps = township_gaps(result, dataset, county=county_code, target=target.id, targets=[target], year=year)
    mine = gaps[gaps["target_id"] == target.id] if len(gaps) else gaps
    counts = pd.Series(list(status.get(c, "no_data") for c in tw["code"].astype(str))).value_counts()
    sub = (f"{county_name} · {year} · {label('clause', lang)}：{getattr(target, 'clause', '')} · "
           + " ".join(f"{label(s, lang)} {int(counts.get(s, 0))}" for s in ("met", "not_met", "no_data")))
    title_text = getattr(target, "label_zh" if lang == "zh" else "label_en", "") or target.id
    side = f"<b>{html.escape(label('gap_table', lang))}</b>" + _gap_table(mine, lang, MAX_ROWS[spec.paper])
    return _page(f"{county_name} · {title_text}", sub, svg, _legend(lang, fac_label), side, _foot(spec, dataset, info["scale"]))


def atlas_html(dataset: Any, result: Any, targets: Iterable[Any], county: str, year: int, spec: PageSpec,
               all_targets: bool = False) -> tuple[str, list[str]]:
    """The county atlas as one HTML document; returns ``(html, target ids of the map pages)``.

    A cover page lists every target with the number of the county's units not met; then one
    map page per target with gaps in the county (every target with ``all_targets``).
    """
    from coverage.outputs.gaps import resolve_county

    spec = spec.checked()
    lang = spec.lang
    chosen = resolve_county(dataset, county)
    if chosen is None:
        from coverage.outputs.gaps import SelectionError

        raise SelectionError("atlas: give a county (name or code)")
    code, name = chosen
    targets = list(targets)
    gaps = township_gaps(result, dataset, county=code, targets=targets, year=year)
    with_gaps = set(gaps["target_id"].astype(str)) if len(gaps) else set()
    page_targets = [tg for tg in targets if all_targets or tg.id in with_gaps]
    w, h = PAPERS[spec.paper]
    rows = []
    for tg in targets:
        g = gaps[gaps["target_id"] == tg.id] if len(gaps) else gaps
        n = int(g["n_units_not_met"].fillna(1).sum()) if len(g) else 0
        rows.append(f"<tr><td>{html.escape(tg.label_zh if lang == 'zh' else (tg.label_en or tg.label_zh))}</td>"
                    f"<td>{n}</td></tr>")
    cover = (f'<section class="page"><h1>{html.escape(name)} · {html.escape(label("atlas_title", lang))}（{year}）</h1>'
             f'<div class="sub">{html.escape(label("atlas_cover_note", lang))}</div>'
             f'<table class="gaps"><thead><tr><th>{html.escape(label("plan_target", lang))}</th>'
             f'<th>{html.escape(label("units_not_met", lang))}</th></tr></thead><tbody>{"".join(rows)}</tbody></table>'
             f'<div class="foot">{_foot(spec, dataset, 0).replace("<span>1:0</span>", "")}</div></section>')
    pages = [map_page(dataset, result, tg, code, year, spec, gaps) for tg in page_targets]
    css = _CSS % {"w": w, "h": h, "h1": 15 if spec.paper == "A4" else 20, "side": h - 48}
    doc = (f'<!DOCTYPE html><html lang="{"zh-CN" if lang == "zh" else "en"}"><head><meta charset="utf-8">'
           f'<title>{html.escape(name)} {html.escape(label("atlas_title", lang))}</title><style>{css}</style></head>'
           f'<body>{cover}{"".join(pages)}</body></html>')
    return doc, [tg.id for tg in page_targets]


def single_page_html(dataset: Any, result: Any, target: Any, county: str, year: int, spec: PageSpec) -> str:
    """One printable page (the map in the app's view: one target, one county)."""
    from coverage.outputs.gaps import resolve_county

    spec = spec.checked()
    code, _ = resolve_county(dataset, county)
    w, h = PAPERS[spec.paper]
    css = _CSS % {"w": w, "h": h, "h1": 15 if spec.paper == "A4" else 20, "side": h - 48}
    page = map_page(dataset, result, target, code, year, spec)
    return f'<!DOCTYPE html><html><head><meta charset="utf-8"><style>{css}</style></head><body>{page}</body></html>'
