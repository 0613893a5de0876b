"""The map of the workspace: a full-height dash-leaflet map with every overlay.

Layout only (no callbacks, no data loading beyond the layer data a page sends once).
What the map shows at a glance is decided here and in ``assets/covplan_map.js``:

* facilities are never clustered; below zoom :data:`FACILITY_MIN_ZOOM` each township
  shows the *number* of facilities of the shown types (a badge that lets clicks through),
  from that zoom on each facility is a small symbol whose size grows with the zoom;
* symbols differ per type (colour) and per tier (shape: 示范型 a star, 基础型 a circle,
  特色型 a diamond); scenario additions carry a "+" badge, proposals a dashed ring;
* service areas and uncovered-people points never take clicks, so every township keeps a
  clickable pixel at every zoom (tested in ``tests/e2e``);
* the layer control starts collapsed and the first view fits the whole city.
"""

from __future__ import annotations

from typing import Any

import dash_leaflet as dl
from dash import dcc, html

from dashapp import queries, views_access, views_inventory
from dashapp.ids import Id
from dashapp.labels import t

#: zoom from which single facilities are drawn (below it: counts per township)
FACILITY_MIN_ZOOM: int = 11
#: zoom from which township names are drawn
LABEL_MIN_ZOOM: int = 10


def _overlay(component: Any, name: str) -> dl.Overlay:
    return dl.Overlay(component, name=name, checked=True)


def map_view(lang: str, view: dict[str, Any], hint_layers: dict[str, Any]) -> html.Div:
    """The map, its overlays and the loading indicator.

    Parameters
    ----------
    view : dict
        The initial view (``basemap``; ``zoom`` and ``center`` when the URL gives them).
    hint_layers : dict
        ``{"labels": FeatureCollection}``: township label points (sent once).
    """
    basemap = view["basemap"]
    city = queries.county_bounds(None)
    (s, w), (n, e) = city
    viewport_kw: dict[str, Any] = {"center": [(s + n) / 2, (w + e) / 2], "zoom": 8}
    if view.get("zoom") is not None and view.get("center") is not None:
        viewport_kw = {"center": view["center"], "zoom": view["zoom"]}
    # without a view in the URL, covplan_map.js fits the whole city (northern tip included)
    # once the township layer is drawn and the map has its final size
    overlays = [
        _overlay(
            dl.GeoJSON(
                id=Id.TOWNSHIPS_LAYER,
                data=queries.EMPTY_FC,  # from Id.PACK_TOWNSHIPS (geopack, clientside)
                style={"variable": "covplanMap.townshipStyle"},
                onEachFeature={"variable": "covplanMap.townshipEach"},
                hideout=queries.empty_hideout(),
                zoomToBoundsOnClick=False,
            ),
            t("layer_townships", lang),
        ),
        _overlay(
            dl.GeoJSON(
                id=Id.COUNTIES_LAYER,
                data=queries.EMPTY_FC,  # from Id.PACK_COUNTIES
                style={"variable": "covplanMap.countyStyle"},
                interactive=False,
                pane="shadowPane",
            ),
            t("layer_counties", lang),
        ),
        _overlay(
            dl.GeoJSON(
                id=Id.SERVICE_AREAS_LAYER,
                data=queries.EMPTY_FC,
                style={"variable": "covplanMap.serviceAreaStyle"},
                interactive=False,
            ),
            t("layer_service_areas", lang),
        ),
        _overlay(
            dl.GeoJSON(
                id=Id.UNCOVERED_LAYER,
                data=queries.EMPTY_FC,
                pointToLayer={"variable": "covplanMap.uncoveredPoint"},
                interactive=False,
            ),
            t("layer_uncovered", lang),
        ),
        _overlay(
            dl.GeoJSON(
                id=Id.LABELS_LAYER,
                data=hint_layers["labels"],
                pointToLayer={"variable": "covplanMap.labelPoint"},
                hideout={"counts": {}},
                interactive=False,
            ),
            t("layer_labels", lang),
        ),
        _overlay(
            dl.GeoJSON(
                id=Id.FACILITIES_LAYER,
                data=queries.EMPTY_FC,
                pointToLayer={"variable": "covplanMap.facilityPoint"},
                onEachFeature={"variable": "covplanMap.facilityEach"},
            ),
            t("layer_facilities", lang),
        ),
        _overlay(
            dl.GeoJSON(
                id=Id.EDITS_LAYER,
                data=queries.EMPTY_FC,
                pointToLayer={"variable": "covplanMap.addedPoint"},
                onEachFeature={"variable": "covplanMap.facilityEach"},
            ),
            t("layer_edits", lang),
        ),
        _overlay(
            dl.GeoJSON(
                id=Id.PROPOSALS_LAYER,
                data=queries.EMPTY_FC,
                pointToLayer={"variable": "covplanMap.proposalPoint"},
                onEachFeature={"variable": "covplanMap.labelEach"},
            ),
            t("layer_proposals", lang),
        ),
    ]
    leaflet = dl.MapContainer(
        id=Id.MAP,
        className="cp-map",
        zoomSnap=0.25,
        zoomDelta=0.5,
        eventHandlers={"zoomend": {"variable": "covplanMap.onZoom"},
                       "moveend": {"variable": "covplanMap.onZoom"}},
        children=[
            dl.LayerGroup(id=Id.BASE_LAYER, children=queries.basemap_tiles(basemap)),
            dl.LayersControl(id=Id.MAP_LAYERS, position="topright", collapsed=True, children=overlays),
            views_access.map_layer(),  # 2SFCA context layer, switched in the 目标 tab
            # the village picked in the village view (a ring over its point; takes no click)
            dl.GeoJSON(id=Id.VILLAGE_MARK_LAYER, data=queries.EMPTY_FC, interactive=False,
                       pointToLayer={"variable": "covplanMap.villageMark"}),
            views_inventory.marker_layer(),
            dl.ScaleControl(position="bottomleft", imperial=False),
        ],
        **viewport_kw,
    )
    return html.Div(
        [
            leaflet,
            html.Div(t("loading_year", lang), id=Id.MAP_BUSY, className="cp-busy"),
            html.Div(id=Id.TILE_MESSAGE, className="cp-tile-message", **{"data-msg": t("basemap_tile_failed", lang)}),
            dcc.Store(id=Id.STORE_VIEW, data={}),
            # layers cross the network packed (dashapp/geopack.py) and are unpacked in the browser
            dcc.Store(id=Id.PACK_TOWNSHIPS, data=queries.packed(queries.township_data(basemap))),
            dcc.Store(id=Id.PACK_COUNTIES, data=queries.packed(queries.county_data(basemap))),
            dcc.Store(id=Id.PACK_FACILITIES),
            dcc.Store(id=Id.PACK_AREAS),
            dcc.Store(id=Id.PACK_UNCOVERED),
        ],
        id=Id.MAP_WRAP,
        className="cp-mapwrap cp-mode-view",
    )
