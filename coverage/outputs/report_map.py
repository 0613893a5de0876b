"""The HTML report's map: every target at its own level, as the app draws it.

One folium (Leaflet) document, Leaflet inlined (:func:`coverage.outputs.offline.inline_leaflet`),
no tiles. Each target is one radio-button layer, drawn from
:func:`coverage.outputs.levels.map_view` (the app's map reads the same view):

* a township target colours the townships by their own status;
* a county target colours the counties (townships stay outlines);
* a village target draws the villages as points coloured by status over the townships
  coloured by their share of met villages (met when every evaluated village is);
* a city target (nothing evaluated below the city) has no layer: it is a card beside the map
  (:func:`city_cards`) with its rule, value and verdict.

The unit polygons and village points are written once; each layer reads its status and
tooltip from the features' properties (``s``/``t`` keyed per layer), so thirty targets do
not repeat the geometry. Colours are :data:`coverage.outputs.formatting.STATUS_COLOURS`
(the app's). Every name is escaped (tooltips are HTML).
"""

from __future__ import annotations

import html
from types import SimpleNamespace
from typing import Any

import geopandas as gpd
import pandas as pd

from coverage.outputs.formatting import STATUS_COLOURS, action_text, format_value
from coverage.outputs.gaps import _year_units, result_units
from coverage.outputs.levels import map_view
from coverage.outputs.model import township_gaps
from coverage.outputs.offline import inline_leaflet, metric_scale
from layers.glossary import label
from layers.settings import STORAGE_CRS, WORKING_CRS

__all__ = ["city_cards", "gap_map_html", "level_targets"]

_SIMPLIFY_M = 60.0  # map geometry simplification tolerance, metres (EPSG:4549)


def _e(value: Any) -> str:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return ""
    return html.escape(str(value))


def level_targets(result: Any, targets: Any, target_ids: list[str], year: int | None) -> dict[str, Any]:
    """Target id → an object :func:`map_view` can read (``id``, ``plan_levels``, labels).

    PlanTargets are used as they are; a stand-in without ``plan_levels`` (a result built by
    hand) takes the levels of its plan-level rows.
    """
    source = targets if targets is not None else getattr(result, "targets", None)
    if isinstance(source, dict):
        source = source.values()
    info = {str(getattr(t, "id", "")): t for t in (source or ()) if getattr(t, "id", None)}
    units = _year_units(result_units(result), year)
    out = {}
    for tid in target_ids:
        tg = info.get(tid)
        if tg is not None and getattr(tg, "plan_levels", None):
            out[tid] = tg
            continue
        rows = units[units["target_id"] == tid]
        plan = rows["is_plan_level"].fillna(True).astype(bool) if "is_plan_level" in rows else True
        levels = tuple(pd.unique(rows.loc[plan, "unit_level"].astype(str))) if len(rows) else ()
        out[tid] = SimpleNamespace(
            id=tid, plan_levels=levels, label_zh=getattr(tg, "label_zh", tid), label_en=getattr(tg, "label_en", tid),
            member_level=getattr(tg, "member_level", None), facility=getattr(tg, "facility", None))
    return out


def _map_geoms(gdf: gpd.GeoDataFrame) -> gpd.GeoSeries:
    """Polygons simplified by ~60 m (in EPSG:4549), back in EPSG:4326, rounded to 1e-5°."""
    if gdf.empty:
        return gdf.geometry
    simple = gdf.geometry.to_crs(WORKING_CRS).simplify(_SIMPLIFY_M, preserve_topology=True)
    return simple.to_crs(STORAGE_CRS).set_precision(1e-5)


def _folium_classes():
    """The shared features (written once) and one status layer per target."""
    import folium
    from branca.element import MacroElement
    from folium.template import Template

    class SharedUnits(MacroElement):
        _template = Template(
            "{% macro script(this, kwargs) %}"
            "var {{ this.get_name() }} = {{ this.data|tojson }};"
            "{% endmacro %}"
        )

        def __init__(self, data: dict) -> None:
            super().__init__()
            self._name = "CovplanUnits"
            self.data = data

    class StatusLayer(folium.map.Layer):
        _template = Template(
            """{% macro script(this, kwargs) %}
var {{ this.get_name() }} = (function () {
  var key = {{ this.key|tojson }}, colours = {{ this.colours|tojson }};
  var has = function (f) { return f.properties.s[key] !== undefined; };
  var tip = function (f, layer) { layer.bindTooltip(f.properties.t[key], {sticky: true}); };
  var parts = [L.geoJson({{ this.units.get_name() }}, {
    filter: has, onEachFeature: tip,
    style: function (f) {
      return {fillColor: colours[f.properties.s[key]] || "#ffffff", color: "#555555", weight: 0.8,
              fillOpacity: {{ this.fill_opacity }}};
    }
  })];
  {% if this.points %}
  parts.push(L.geoJson({{ this.points.get_name() }}, {
    filter: has, onEachFeature: tip,
    pointToLayer: function (f, ll) {
      return L.circleMarker(ll, {radius: 4, weight: 0.6, color: "#333333", fillOpacity: 0.95,
                                 fillColor: colours[f.properties.s[key]] || "#ffffff",
                                 className: "cp-village cp-status-" + f.properties.s[key]});
    }
  }));
  {% endif %}
  return L.featureGroup(parts);
})();
{% endmacro %}"""
        )

        def __init__(self, name: str, units: SharedUnits, key: str, show: bool,
                     points: SharedUnits | None = None) -> None:
            super().__init__(name=name, overlay=False, control=True, show=show)
            self._name = "CovplanStatusLayer"
            self.units, self.points, self.key, self.colours = units, points, key, STATUS_COLOURS
            self.fill_opacity = 0.45 if points is not None else 0.65

    return SharedUnits, StatusLayer


def _html_lines(text: str) -> str:
    """A plain-text tooltip (lines) as escaped HTML."""
    lines = [_e(x) for x in str(text or "").split("\n") if x]
    return ("<b>" + lines[0] + "</b><br>" + "<br>".join(lines[1:])) if lines else ""


def _gap_lines(gap: Any, lang: str) -> str:
    """The action of a unit's own gap row (escaped HTML; the tooltip has its shortfall)."""
    if gap is None:
        return ""
    colon = "：" if lang == "zh" else ": "
    action = action_text(gap._asdict(), lang, facility_type=gap.facility_type or None,
                         rule_action=gap.action if lang == "zh" else "")
    return f"<br>{_e(label('action', lang))}{colon}{_e(action)}" if action else ""


def _collection(codes, geoms, kind: str) -> dict:
    return {"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": g.__geo_interface__, "properties": {"code": str(c), "s": {}, "t": {}}}
        for c, g in zip(codes, geoms) if g is not None and not g.is_empty
    ], "kind": kind}


def gap_map_html(dataset: Any, result: Any, target_ids: list[str], labels: dict[str, str],
                 county: tuple[str, str] | None, lang: str, year: int | None,
                 targets: Any = None) -> str:
    """The folium map document: one switchable layer per target, each at its own level."""
    import folium

    shared_units, status_layer = _folium_classes()
    counties = dataset.counties
    if county is not None:
        counties = counties[counties["code"].astype(str) == county[0]]
    minx, miny, maxx, maxy = counties.to_crs(STORAGE_CRS).total_bounds
    fmap = folium.Map(location=[(miny + maxy) / 2, (minx + maxx) / 2], zoom_start=9,
                      tiles=None, control_scale=False)
    inline_leaflet(fmap)  # offline: Leaflet inlined, no basemap tiles
    fmap.fit_bounds([[miny, minx], [maxy, maxx]])
    code = county[0] if county else None
    gaps = township_gaps(result, dataset, county=code, target=target_ids, year=year)
    detail = {(r.unit_code, r.target_id): r for r in gaps.itertuples(index=False)}
    towns = dataset.townships
    if code is not None:
        towns = towns[towns["county_code"].astype(str) == code]
    town_names = dict(zip(towns["code"].astype(str), towns["name"].astype(str)))
    towns_fc = _collection(towns["code"], _map_geoms(towns), "townships")
    county_fc = _collection(counties["code"], _map_geoms(counties), "counties")
    town_idx = {f["properties"]["code"]: f["properties"] for f in towns_fc["features"]}
    county_idx = {f["properties"]["code"]: f["properties"] for f in county_fc["features"]}
    village_xy = {}
    if len(dataset.villages) and "code" in dataset.villages.columns:
        v = dataset.villages
        village_xy = {str(c): g for c, g in zip(v["code"], v.geometry) if g is not None and not g.is_empty}
    points: dict[str, dict] = {}  # village code → feature (only villages a village target draws)

    objs = level_targets(result, targets, target_ids, year)
    layers: list[tuple[str, str, str]] = []  # (target id, key, collection)
    for i, tid in enumerate(target_ids):
        key = f"k{i}"
        mv = map_view(result, dataset, objs[tid], code, lang=lang, year=year)
        if mv.level == "township":
            for r in mv.units.itertuples(index=False):
                if r.unit_code in town_idx and r.status != "not_applicable":
                    town_idx[r.unit_code]["s"][key] = r.status
                    town_idx[r.unit_code]["t"][key] = _html_lines(r.tooltip) + _gap_lines(
                        detail.get((r.unit_code, tid)), lang)
            layers.append((tid, key, "towns"))
        elif mv.level == "county":
            for r in mv.units.itertuples(index=False):
                if r.unit_code in county_idx:
                    county_idx[r.unit_code]["s"][key] = r.status
                    county_idx[r.unit_code]["t"][key] = _html_lines(r.tooltip) + _gap_lines(
                        detail.get((r.unit_code, tid)), lang)
            layers.append((tid, key, "counties"))
        elif mv.level == "village":
            for r in mv.township_share.itertuples(index=False):
                if r.township_code in town_idx:
                    town_idx[r.township_code]["s"][key] = r.status
                    town_idx[r.township_code]["t"][key] = _e(label("villages_met_share", lang).format(
                        name=town_names.get(r.township_code, r.township_code), met=int(r.n_met),
                        n=int(r.n_villages), share=format_value(r.share_met, "percent", lang)))
            for r in mv.units.itertuples(index=False):
                geom = village_xy.get(r.unit_code)
                if geom is None or r.status == "not_applicable":
                    continue
                feat = points.setdefault(r.unit_code, {
                    "type": "Feature", "geometry": {"type": "Point", "coordinates": [round(geom.x, 5), round(geom.y, 5)]},
                    "properties": {"code": r.unit_code, "s": {}, "t": {}}})
                feat["properties"]["s"][key] = r.status
                feat["properties"]["t"][key] = _html_lines(r.tooltip)
            layers.append((tid, key, "villages"))
        # a city-level target has no layer: it is a card (city_cards)
    shared = {"towns": shared_units(towns_fc), "counties": shared_units(county_fc),
              "points": shared_units({"type": "FeatureCollection", "features": list(points.values())})}
    for element in shared.values():
        element.add_to(fmap)
    for n, (tid, key, which) in enumerate(layers):
        units = shared["counties"] if which == "counties" else shared["towns"]
        status_layer(_e(labels.get(tid, tid)), units, key, show=(n == 0),
                     points=shared["points"] if which == "villages" else None).add_to(fmap)
    folium.LayerControl(collapsed=False).add_to(fmap)
    metric_scale(fmap)  # km/m, no miles
    return fmap.get_root().render()


def city_cards(dataset: Any, result: Any, target_ids: list[str], labels: dict[str, str], lang: str,
               year: int | None, targets: Any = None) -> str:
    """One card per target drawn at city level: its rule (clause), value, verdict and why
    nothing is drawn below the city (the app's city card, the same texts)."""
    objs = level_targets(result, targets, target_ids, year)
    cards = []
    colon = "：" if lang == "zh" else ": "
    for tid in target_ids:
        mv = map_view(result, dataset, objs[tid], None, lang=lang, year=year)
        if mv.level != "city":
            continue
        c = mv.city
        status = c.get("status", "no_data")
        colour = STATUS_COLOURS.get(status, "#9e9e9e")
        text = "#ffffff" if status in ("met", "not_met") else "#222222"  # light fills take dark text
        values = []
        if c.get("actual_text"):
            req = (f" / {_e(label('required', lang))}{colon}{_e(c['required_text'])}"
                   if c.get("required_text") else "")
            values.append(f"{_e(label('actual', lang))}{colon}{_e(c['actual_text'])}{req}")
        if c.get("shortfall_text"):
            values.append(f"{_e(label('shortfall', lang))}{colon}{_e(c['shortfall_text'])}")
        if c.get("action_text"):
            values.append(f"{_e(label('action', lang))}{colon}{_e(c['action_text'])}")
        cards.append(
            f'<div class="card" data-target="{_e(tid)}" data-status="{_e(status)}">'
            f'<div class="card-head"><b>{_e(labels.get(tid, tid))}</b>'
            f'<span class="verdict" style="background:{colour};color:{text}">{_e(label(status, lang))}</span></div>'
            f'<div class="card-clause">{_e(label("clause", lang))}{colon}{_e(c.get("clause", ""))}</div>'
            + "".join(f"<div>{v}</div>" for v in values)
            + f'<div class="card-note">{_e(mv.note)}</div></div>')
    if not cards:
        return ""
    return f"<h2>{_e(label('report_city_cards', lang))}</h2><div class=\"cards\">{''.join(cards)}</div>"
