"""Downloads: the gap list (the same bytes as ``covplan gaps``) and a static folium map.

The gap list goes through exactly the functions the CLI uses —
:func:`coverage.outputs.gaps.township_gaps` on the full evaluation of the year, then
:func:`coverage.outputs.export.export_bytes` — so the .xlsx/.csv/.geojson a planner downloads is
the file ``covplan gaps --year Y [--county C] [--target T] -o FILE`` writes.

The static map is a standalone HTML file made with folium, with Leaflet inlined from
``coverage/outputs/vendor/leaflet`` (:func:`coverage.outputs.offline.inline_leaflet`; no
tiles, no CDN: it opens offline). It draws the target at its own level, as the app does
(:func:`dashapp.queries_gaps.level_layers`). Every name in it is escaped with
:func:`html.escape`, because folium tooltips are HTML.
"""

from __future__ import annotations

import html
from typing import Any, Sequence

from dashapp import maps
from dashapp.labels import t, target_clause, target_label
from dashapp.service import get_service

#: download formats offered by the app (``.gpkg`` stays a CLI format)
GAP_FORMATS: tuple[str, ...] = ("xlsx", "csv", "geojson")
_MIME = {"xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
         "csv": "text/csv", "geojson": "application/geo+json", "html": "text/html"}


def gap_file(fmt: str, year: Any, county: str | None, target_id: str | None,
             edits: Sequence[dict[str, Any]] = (), lang: str = "zh") -> tuple[bytes, str]:
    """``(bytes, file name)`` of the gap list; ``target_id=None`` exports every target.

    With scenario edits the list is that of the scenario (same format, the edited
    records marked synthetic by the scenario engine).
    """
    from coverage.outputs import export_bytes
    from coverage.outputs import township_gaps

    fmt = fmt.lower().lstrip(".")
    if fmt not in GAP_FORMATS:
        from layers._errors import CovplanError

        raise CovplanError(f"unknown export format {fmt!r}; use one of {', '.join(GAP_FORMATS)}")
    svc = get_service()
    year_i = svc.year(year)
    ds, targets = svc.scenario_data(edits, year_i)
    # as `covplan gaps [--target T]`: evaluate the selected targets, then list their gaps
    chosen = [svc.target(target_id, targets)] if target_id else list(targets)
    result = svc.evaluation(year_i, edits, target_id or None)
    gaps = township_gaps(result, ds, county=county or None, targets=chosen)
    data = export_bytes(gaps, fmt, dataset=ds, result=result, lang=lang, targets=chosen)
    parts = ["township_gaps", str(year_i)]
    if county:
        parts.append(str(county))
    if target_id:
        parts.append(str(target_id))
    if edits:
        parts.append("scenario")
    return data, "_".join(parts) + f".{fmt}"


def mime_type(fmt: str) -> str:
    return _MIME.get(fmt, "application/octet-stream")


def static_map_html(target_id: str | None, year: Any, county: str | None, edits: Sequence[dict[str, Any]],
                    bounds: Any, types: Sequence[str], lang: str = "zh") -> str:
    """A standalone HTML map of the current view (townships by status, facilities).

    Parameters
    ----------
    bounds : list or dict, optional
        The map's current bounds (``[[south, west], [north, east]]`` in degrees, or
        Leaflet's dict form); the file opens on that view.
    types : sequence of str
        Facility types drawn (as on the map).
    """
    import folium

    from coverage.outputs.export import provenance_lines
    from coverage.outputs.offline import inline_leaflet
    from dashapp.queries_gaps import level_layers

    svc = get_service()
    year_i = svc.year(year)
    ds, targets = svc.scenario_data(edits, year_i)
    tg = svc.target(target_id, targets)
    result = svc.evaluation(year_i, edits, tg.id)
    layers = level_layers(result, ds, tg, county, None, lang)

    fmap = folium.Map(location=[28.25, 119.6], zoom_start=8, tiles=None, control_scale=False)
    # Leaflet inlined from coverage/outputs/vendor (BSD-2): the file opens with no network at all
    inline_leaflet(fmap)
    colors = maps.STATUS_COLORS

    def polygons(gj: dict[str, Any], hide: dict[str, Any], name: str, filled: bool) -> None:
        for feat in gj["features"]:
            code = feat["properties"]["code"]
            status = hide["status"].get(code, "")
            feat["properties"] = {
                "code": code, "status": status,
                "tip": html.escape(hide["tip"].get(code) or str(feat["properties"].get("name", ""))),
            }
        folium.GeoJson(
            gj, name=name,
            style_function=lambda f: (
                {"fillColor": colors.get(f["properties"]["status"], "#9e9e9e"), "color": "#ffffff",
                 "weight": 0.8, "fillOpacity": 0.6} if filled and f["properties"]["status"] else
                {"color": "#303030" if not filled else "#bbbbbb", "weight": 2 if not filled else 0.6,
                 "fill": False}),
            tooltip=folium.GeoJsonTooltip(fields=["tip"], labels=False),
        ).add_to(fmap)

    level = layers["level"]
    polygons(maps.township_geojson(ds.townships), layers["township_hideout"], t("layer_townships", lang),
             level in ("township", "village"))
    polygons(maps.county_geojson(ds.counties), layers["county_hideout"], t("layer_counties", lang),
             level == "county")
    if level == "village":
        group = folium.FeatureGroup(name=t("village", lang))
        for feat in layers["village_points"]["features"]:
            x, y = feat["geometry"]["coordinates"]
            folium.CircleMarker(location=[y, x], radius=3, weight=0.5, color="#333333", fill=True,
                                fill_opacity=0.9, fill_color=feat["properties"]["color"],
                                tooltip=folium.Tooltip(html.escape(feat["properties"]["label"]))).add_to(group)
        group.add_to(fmap)
    fac = ds.facilities_for(year_i)
    fac = fac[fac["type"].isin(list(types))] if types else fac.iloc[0:0]
    group = folium.FeatureGroup(name=t("layer_facilities", lang))
    for row in fac.itertuples(index=False):
        geom = row.geometry
        if geom is None or geom.is_empty:
            continue
        folium.CircleMarker(
            location=[geom.y, geom.x], radius=5, weight=1, color="#ffffff", fill=True, fill_opacity=0.9,
            fill_color=maps.FACILITY_COLORS.get(str(row.type), "#333333"),
            tooltip=folium.Tooltip(html.escape(maps.facility_tooltip(row, lang))),
        ).add_to(group)
    group.add_to(fmap)
    folium.LayerControl(collapsed=False).add_to(fmap)
    box = _bounds_list(bounds) or (maps.unit_bounds(ds.counties, county) if county else None)
    if box:
        fmap.fit_bounds(box)
    prov = ("；" if lang == "zh" else "; ").join(provenance_lines(ds, lang))
    title = (f"{target_label(tg, lang)} — {year_i}" + (f" — {t('scenario', lang)}" if edits else ""))
    note = (f"<div style='position:fixed;top:8px;left:50px;z-index:9999;background:#fff;padding:6px 10px;"
            f"border:1px solid #999;font:13px sans-serif;max-width:60%'><b>{html.escape(title)}</b><br>"
            f"{html.escape(t('clause', lang))}: {html.escape(target_clause(tg))}<br>"
            f"{html.escape(t('data_provenance', lang))}: {html.escape(prov)}<br>"
            f"{html.escape(t('synthetic_warning', lang)) if 'synthetic' in ds.layer_provenance.values() else ''}"
            f"{'<br>' + html.escape(layers['note']) if layers['note'] else ''}"
            f"</div>")
    fmap.get_root().html.add_child(folium.Element(note))
    _decorate(fmap, title, list(types or []), lang)
    return fmap.get_root().render()


def _decorate(fmap: Any, title: str, types: list[str], lang: str) -> None:
    """Title, metric scale bar (km/m, no miles), legend and date of the static map."""
    import datetime as _dt

    import folium

    from dashapp.symbols import legend_entries

    root = fmap.get_root()
    root.header.add_child(folium.Element(f"<title>{html.escape(title)}</title>"))
    from coverage.outputs.offline import metric_scale

    metric_scale(fmap)  # a child of the map: a root script would run before the map exists
    rows = []
    for e in legend_entries(types, lang):
        radius = "50%" if e["kind"] == "symbol" else "0"
        border = "2px solid #303030" if e["kind"] == "outline" else "1px solid #777"
        fill = "transparent" if e["kind"] == "outline" else e["color"]
        if e["kind"] == "count":
            continue  # the static map draws every facility, no count badges
        rows.append(f"<div><span style='display:inline-block;width:12px;height:12px;margin-right:5px;"
                    f"vertical-align:middle;border-radius:{radius};border:{border};background:{fill}'></span>"
                    f"{html.escape(e['label'])}</div>")
    today = _dt.date.today().isoformat()
    legend = (f"<div class='cp-static-legend' style='position:fixed;bottom:24px;right:10px;z-index:9999;background:#fff;"
              f"padding:6px 10px;border:1px solid #999;font:12px sans-serif'><b>{html.escape(t('legend', lang))}</b>"
              f"{''.join(rows)}<div style='margin-top:4px;color:#555'>{html.escape(t('map_date', lang))}: {today}</div>"
              f"</div>")
    root.html.add_child(folium.Element(legend))


def _bounds_list(bounds: Any) -> list[list[float]] | None:
    """Leaflet bounds from the map's ``bounds`` prop (list or dict form), or None."""
    if isinstance(bounds, (list, tuple)) and len(bounds) == 2:
        try:
            (s, w), (n, e) = bounds
            return [[float(s), float(w)], [float(n), float(e)]]
        except (TypeError, ValueError):
            return None
    if isinstance(bounds, dict):
        sw = bounds.get("_southWest") or {}
        ne = bounds.get("_northEast") or {}
        try:
            return [[float(sw["lat"]), float(sw["lng"])], [float(ne["lat"]), float(ne["lng"])]]
        except (KeyError, TypeError, ValueError):
            return None
    return None
