"""Named scenario edits: each edit says which facility and which township it concerns.

A facility added by a click is named with the township (and county) its point falls in,
as the scenario evaluation counts it; a click within :data:`BORDER_WARN_M` of a township
border adds a warning naming the neighbouring township, so a point 50 m over a border is
never counted in the neighbour without a word. Distances are measured in EPSG:4549.
"""

from __future__ import annotations

from typing import Any, Sequence

import geopandas as gpd
from shapely.geometry import Point

from dashapp.labels import t
from dashapp.service import get_service
from layers.settings import WORKING_CRS

#: a click closer than this to a township border gets a warning (metres)
BORDER_WARN_M: float = 200.0


def _township_names() -> dict[str, tuple[str, str]]:
    tw = get_service().township_table()
    return {code: (str(r["name"]), str(r.get("county_name", ""))) for code, r in tw.iterrows()}


def border_note(lon: float, lat: float, code: str, lang: str) -> str:
    """A warning when (lon, lat) lies within :data:`BORDER_WARN_M` of its township's border.

    Names the distance, the township that receives the point and the nearest neighbour.
    Returns "" when the point is well inside.
    """
    ds = get_service().ds
    tw = ds.townships
    pt = gpd.GeoSeries([Point(lon, lat)], crs="EPSG:4326").to_crs(WORKING_CRS).iloc[0]
    mine = tw[tw["code"].astype(str) == str(code)]
    if mine.empty:
        return ""
    poly = mine.geometry.to_crs(WORKING_CRS).iloc[0]
    dist = float(poly.boundary.distance(pt))
    if dist >= BORDER_WARN_M:
        return ""
    near = tw[tw["code"].astype(str) != str(code)]
    near_w = near.geometry.to_crs(WORKING_CRS)
    d = near_w.distance(pt)
    neighbour = str(near.loc[d.idxmin(), "name"]) if len(d) else ""
    name = str(mine["name"].iloc[0])
    if lang == "zh":
        return f"注意：该点距乡镇边界仅 {dist:.0f} 米，计入{name}（邻近{neighbour}）"
    return f"Note: {dist:.0f} m from the township border; counted in {name} (next to {neighbour})"


def describe_edits(edits: Sequence[dict[str, Any]], year: Any, lang: str) -> list[dict[str, str]]:
    """``[{"text", "township", "warning"}]`` for each edit, in order.

    ``text`` names the action, the facility (type, tier, name or id) and its township;
    ``township`` is the receiving township's name (empty when unknown); ``warning`` is the
    border note of an added point.
    """
    svc = get_service()
    year_i = svc.year(year)
    names = _township_names()
    ds, _ = svc.scenario_data(list(edits), year_i) if edits else (svc.ds, None)
    fac = ds.facilities_for(year_i).set_index("facility_id", drop=False)
    base = svc.ds.facilities_for(year_i).set_index("facility_id", drop=False)
    out = []
    for e in edits:
        op = str(e.get("op", ""))
        fid = str(e.get("facility_id", "") or "")
        row = fac.loc[fid] if fid in fac.index else (base.loc[fid] if fid in base.index else None)
        code = str(row["township_code"]) if row is not None else ""
        town, county = names.get(code, ("", ""))
        where = f"{town}（{county}）" if town else ""
        warning = ""
        if op == "add_facility":
            what = t(str(e.get("type")), lang) + (f"·{t(str(e['tier']), lang)}" if e.get("tier") else "")
            label = f"“{e['name']}”" if e.get("name") else fid
            text = f"{t('add_facility', lang)}: {what} {label} → {where or '?'}"
            if code and "lon" in e and "lat" in e and row is not None:
                geom = row.geometry
                warning = border_note(float(geom.x), float(geom.y), code, lang)
        elif op in ("close_facility", "upgrade_facility", "set_capacity"):
            fname = str(row["name"]) if row is not None else fid
            ftype = t(str(row["type"]), lang) if row is not None else ""
            extra = f" → {e.get('capacity')}" if op == "set_capacity" else ""
            text = f"{t(op, lang)}: {ftype} “{fname}”（{fid}）{extra} @ {where or '?'}"
        else:
            from dashapp.queries_scenario import describe_edit

            text = describe_edit(dict(e), lang)
        out.append({"text": text, "township": town, "warning": warning})
    return out
