"""Queries of the workspace (one function per callback): URL view, labels, search, legend,
the target's summary card.

Pure functions of ids and parameters, like :mod:`dashapp.queries`; the caches here are
keyed by the dataset identity (``AppService._ds_key``) and never hold browser state.
"""

from __future__ import annotations

import threading
from typing import Any
from urllib.parse import urlencode

import shapely

from dashapp import maps
from dashapp.labels import normalise_lang, t
from dashapp.service import get_service
from layers._errors import CovplanError

#: zoom limits accepted from a URL
MIN_ZOOM, MAX_ZOOM = 5.0, 18.0

_LOCK = threading.Lock()
_CACHE: dict[tuple, Any] = {}


def _cached(key: tuple, compute: Any) -> Any:
    with _LOCK:
        if key in _CACHE:
            return _CACHE[key]
    value = compute()
    with _LOCK:
        if len(_CACHE) > 16:
            _CACHE.clear()
        _CACHE[key] = value
    return value


# --------------------------------------------------------------------------- URL view
def _float(value: Any) -> float | None:
    try:
        f = float(value)
    except (TypeError, ValueError):
        return None
    return f if f == f and abs(f) != float("inf") else None


def initial_viewport(zoom: Any, lat: Any, lon: Any) -> dict[str, Any]:
    """``{"zoom", "center"}`` from URL values, or ``{}`` when they are missing or off the city.

    The centre must lie within 1° of the city's bounds and the zoom in
    [:data:`MIN_ZOOM`, :data:`MAX_ZOOM`]; anything else falls back to the whole city.
    """
    z, la, lo = _float(zoom), _float(lat), _float(lon)
    if z is None or la is None or lo is None or not MIN_ZOOM <= z <= MAX_ZOOM:
        return {}
    from layers.settings import CITY_CODE

    (s, w), (n, e) = get_service().unit_bounds("county")[CITY_CODE]
    if not (s - 1 <= la <= n + 1 and w - 1 <= lo <= e + 1):
        return {}
    return {"zoom": round(z, 2), "center": [round(la, 5), round(lo, 5)]}


def view_query(lang: Any, target: Any, county: Any, year: Any, basemap: Any, zoom: Any = None,
               center: Any = None) -> str:
    """The URL query of a view (``?lang=zh&target=…&zoom=9.5&lat=…&lon=…``)."""
    params: dict[str, Any] = {"lang": normalise_lang(lang), "target": target, "county": county,
                              "year": year, "basemap": basemap}
    z = _float(zoom)
    if z is not None:
        params["zoom"] = f"{z:g}"
    if isinstance(center, dict):
        center = [center.get("lat"), center.get("lng")]
    if isinstance(center, (list, tuple)) and len(center) == 2:
        la, lo = _float(center[0]), _float(center[1])
        if la is not None and lo is not None:
            params["lat"], params["lon"] = f"{la:.5f}", f"{lo:.5f}"
    clean = {k: v for k, v in params.items() if v not in (None, "")}
    return "?" + urlencode(clean)


# --------------------------------------------------------------------------- labels
def township_label_points(basemap: str = "none") -> dict[str, Any]:
    """One point per township inside its *displayed* polygon, with ``code`` and ``name``.

    The point is the representative point of the simplified polygon the map draws, so it
    is always over that township's own pixels (the e2e test clicks there).
    """
    svc = get_service()

    def compute() -> dict[str, Any]:
        feats = []
        for f in svc.township_display(basemap)["features"]:
            geom = shapely.geometry.shape(f["geometry"])
            if geom.is_empty:
                continue
            # the largest part, so a label never sits on a sliver
            if geom.geom_type == "MultiPolygon":
                geom = max(geom.geoms, key=lambda g: g.area)
            pt = geom.representative_point()
            props = f["properties"]
            feats.append({"type": "Feature", "id": props["code"],
                          "properties": {"code": props["code"], "name": props.get("name", "")},
                          "geometry": {"type": "Point", "coordinates": [round(pt.x, 6), round(pt.y, 6)]}})
        return maps.feature_collection(feats)

    return _cached(("labels", svc._ds_key(), basemap), compute)


# --------------------------------------------------------------------------- search
def _index(year: Any) -> Any:
    from layers.search import PlaceIndex

    svc = get_service()
    year_i = svc.year(year)
    return _cached(("search", svc._ds_key(), year_i), lambda: PlaceIndex(svc.ds, year_i))


def search_options(query: Any, year: Any, lang: str, limit: int = 20) -> list[dict[str, str]]:
    """Dropdown options of the places matching ``query``: label = name · kind · context.

    The option value is ``kind|key`` (a township or village code, or a facility id).
    """
    lang = normalise_lang(lang)
    kinds = {"township": t("kind_township", lang), "village": t("kind_village", lang),
             "facility": t("kind_facility", lang)}
    out = []
    for p in _index(year).search(query, limit):
        out.append({"label": f"{p.name} · {kinds[p.kind]} · {p.context}".strip(),
                    "value": f"{p.kind}|{p.key}", "search": str(query or "")})
    return out


#: length of the flight to a search result, seconds (Leaflet's default of 1–3 s re-lays every
#: symbol each frame and kept the details panel waiting; bench/bench_browser.py "search")
FLY_S: float = 0.25


def search_pick(value: Any, year: Any) -> tuple[dict[str, Any], dict[str, Any]] | None:
    """``(viewport, selection)`` to fly to and select the chosen search result, or None.

    A township is framed by its bounds and selected; a village or facility is centred at
    zoom 14 and selects its township (a facility also itself).
    """
    if not isinstance(value, str) or "|" not in value:
        return None
    kind, key = value.split("|", 1)
    hit = next((p for p in _index(year).places if p.kind == kind and p.key == key), None)
    if hit is None:
        return None
    if kind == "township":
        d = hit.as_dict()
        viewport = {"bounds": d["bounds"], "transition": "flyToBounds",
                    "options": {"padding": [40, 40], "duration": FLY_S}}
        selection = {"township_code": hit.key}
    else:
        viewport = {"center": [hit.lat, hit.lon], "zoom": 14, "transition": "flyTo", "options": {"duration": FLY_S}}
        selection = {"township_code": hit.township_code}
        if kind == "facility":
            selection["facility_id"] = hit.key
    return viewport, selection


# --------------------------------------------------------------------------- legend
def legend(types: Any, target_id: Any, has_added: bool, has_proposals: bool, lang: str) -> list[dict[str, Any]]:
    """Legend entries of the shown layers (:func:`dashapp.symbols.legend_entries`)."""
    from dashapp.symbols import legend_entries

    try:
        access = get_service().target(target_id).kind == "access"
    except CovplanError:  # an unknown target has no access layers
        access = False
    return legend_entries(list(types or []), normalise_lang(lang), access=access, added=has_added,
                          proposals=has_proposals)


# --------------------------------------------------------------------------- target summary
def target_summary(target_id: Any, county: Any, year: Any, edits: Any, lang: str) -> dict[str, Any]:
    """The card shown before any selection: the target, its status counts (the units of the
    level the map draws, :func:`coverage.outputs.levels.map_view`), the shortfall of the scope
    (the county's or the city's own row, else the sum of additive unit shortfalls; rates never
    add), the units flagged 预计达标困难 and the clause.
    """
    from coverage.outputs.formatting import ADDITIVE_UNITS, shortfall_with_unit
    from coverage.outputs.levels import map_view
    from dashapp.labels import target_clause, target_label
    from dashapp.maps import status_counts

    svc = get_service()
    year_i = svc.year(year)
    ds, targets = svc.scenario_data(list(edits or []), year_i)
    tg = svc.target(target_id, targets)
    result = svc.evaluation(year_i, list(edits or []), tg.id)
    county = str(county) if county else ""
    mv = map_view(result, ds, tg, county or None, lang=lang)
    units = result.units[result.units["target_id"] == tg.id]
    own = units[units["unit_code"].astype(str) == (county or "331100")]
    shortfall = ""
    if len(own) and own["status"].iloc[0] == "not_met":
        shortfall = shortfall_with_unit(own["shortfall"].iloc[0], str(own["shortfall_unit"].iloc[0]), lang)
    elif own.empty:
        bad = mv.units[mv.units["status"] == "not_met"]
        unit = str(bad["shortfall_unit"].iloc[0]) if len(bad) else ""
        if unit in ADDITIVE_UNITS:
            shortfall = shortfall_with_unit(float(bad["shortfall"].astype(float).sum()), unit, lang)
    tr = svc.trend().units
    mine = tr[(tr["target_id"] == tg.id) & (tr["unit_level"] == mv.level)]
    if county:
        mine = mine[mine["unit_code"].astype(str).str.startswith(county)]
    scope = t("all_counties", lang)
    if county:
        names = dict(zip(ds.counties["code"].astype(str), ds.counties["name"].astype(str)))
        scope = names.get(county, county)
    return {
        "target_id": tg.id,
        "label": target_label(tg, lang),
        "level": mv.level,
        "scope": scope,
        "year": year_i,
        "counts": status_counts(mv.units[["status"]]),
        "note": mv.note,
        "shortfall": shortfall,
        "at_risk": int(mine["at_risk"].sum()) if len(mine) else 0,
        "clause": f"{t('clause', lang)}: {target_clause(tg)}",
        "data_status": scope_data_status(ds, year_i, county, lang),
    }


def scope_data_status(ds: Any, year: int, county: str, lang: str) -> str:
    """``设施数据来源: …`` of the scope: the county's status, or for the city the counties with
    real lists (each with its source) and the demo ones (:mod:`coverage.outputs.data_status`)."""
    from coverage.outputs.data_status import county_data_status, data_status_lines
    from coverage.outputs.formatting import data_status_text

    per = county_data_status(ds, year)
    if county:
        v = per.get(county, {"status": "synthetic", "sources": ""})
        return f"{t('data_status', lang)}: {data_status_text(v['status'], v['sources'], lang)}"
    lines = data_status_lines(ds, year, lang)
    return lines[0] if lines else f"{t('data_status', lang)}: {data_status_text('synthetic', '', lang)}"


# --------------------------------------------------------------------------- trend chart
def trend_figure(target_id: Any, township_code: str, lang: str) -> dict[str, Any] | None:
    """A small chart of one target for one township: the value in each inventory year, the
    requirement, and the least-squares projection to the plan horizon (the 预计达标困难 rule).

    Uses the township's own row; for a village target the township's villages met (count);
    for a county or city target the county's row. None when there is nothing to draw.
    """
    svc = get_service()
    tr = svc.trend()
    u = tr.units
    try:
        tg = svc.target(target_id)
    except CovplanError:
        return None
    rows = u[u["target_id"] == tg.id]
    code = str(township_code)
    own = rows[(rows["unit_level"] == "township") & (rows["unit_code"].astype(str) == code)]
    if own.empty:
        own = rows[(rows["unit_level"] == "county") & (rows["unit_code"].astype(str) == code[:6])]
    if own.empty:
        return None
    r = own.iloc[0]
    years = [int(y) for y in tr.years]
    values = [None if r[f"actual_{y}"] != r[f"actual_{y}"] else float(r[f"actual_{y}"]) for y in years]
    if all(v is None for v in values):
        return None
    required = float(r["required"]) if r["required"] == r["required"] else None
    horizon = int(r["horizon"]) if r["horizon"] == r["horizon"] else None
    data: list[dict[str, Any]] = [{"x": years, "y": values, "mode": "lines+markers", "name": t("actual", lang),
                                   "line": {"color": "#243b55"}}]
    last = next(((y, v) for y, v in zip(reversed(years), reversed(values)) if v is not None), None)
    if horizon and last and r["projected"] == r["projected"]:
        data.append({"x": [last[0], horizon], "y": [last[1], float(r["projected"])], "mode": "lines+markers",
                     "name": t("projection", lang), "line": {"dash": "dot", "color": "#d7191c" if bool(r["at_risk"])
                                                             else "#2c7bb6"}})
    shapes = []
    if required is not None:
        shapes.append({"type": "line", "xref": "paper", "x0": 0, "x1": 1, "y0": required, "y1": required,
                       "line": {"color": "#8a5a00", "dash": "dash", "width": 1}})
    title = f"{r['unit_name']} · {t('required', lang)} {required:g}" if required is not None else str(r["unit_name"])
    return {
        "data": data,
        "layout": {"height": 190, "margin": {"l": 36, "r": 8, "t": 26, "b": 24}, "title": {"text": title,
                   "font": {"size": 12}}, "showlegend": True, "legend": {"orientation": "h", "y": -0.25,
                   "font": {"size": 10}}, "shapes": shapes, "xaxis": {"dtick": 1}, "font": {"size": 10}},
    }


# --------------------------------------------------------------------------- summary page
def summary_kpis(year: Any, edits: Any, lang: str) -> list[dict[str, Any]]:
    """KPI cards of the summary page: plan targets met / not met at the city level, units
    not met (all targets, their counting level), units flagged 预计达标困难 (base trend)."""
    svc = get_service()
    year_i = svc.year(year)
    result = svc.evaluation(year_i, list(edits or []), None)
    city = result.rollup[result.rollup["level"] == "city"]
    plan = city["plan_status"].fillna("").astype(str)
    tr = svc.trend().units
    return [
        {"key": "targets", "label": t("plan_target", lang), "value": int(len(city))},
        {"key": "met", "label": t("met", lang), "value": int((plan == "met").sum())},
        {"key": "not_met", "label": t("not_met", lang), "value": int((plan == "not_met").sum())},
        {"key": "units_not_met", "label": t("units_not_met", lang), "value": int(city["not_met"].sum())},
        {"key": "at_risk", "label": t("units_at_risk", lang), "value": int(tr["at_risk"].sum())},
    ]


def map_link_from_summary(county_click: Any, row: Any, year: Any, lang: Any) -> str | None:
    """The map page URL a click on the summary page asks for: a county bar → that county,
    a table row → that target (``/?lang=…&year=…&county=…&target=…``); None for no click."""
    from dashapp.labels import normalise_lang

    svc = get_service()
    params: dict[str, Any] = {"lang": normalise_lang(lang), "year": svc.year(year)}
    if county_click:
        point = (county_click.get("points") or [{}])[0]
        names = dict(zip(svc.ds.counties["name"].astype(str), svc.ds.counties["code"].astype(str)))
        code = names.get(str(point.get("x", "")))
        if code is None:
            return None
        params["county"] = code
    if row:
        tid = str(row.get("target_id", ""))
        if tid not in {tg.id for tg in svc.targets}:
            return None
        params["target"] = tid
    if len(params) == 2:
        return None
    return "/?" + urlencode(params)
