"""Basemaps a planner can use: offline (none), 天地图 with a key, 高德, or a custom XYZ server.

The 天地图 key and a custom tile URL (many bureaus run an intranet tile server) are typed
in the app and kept in the browser (``localStorage`` persistence of the two inputs), never
on the server; ``TIANDITU_KEY`` in the environment still works as the default key. Both are
checked here before they reach a tile layer: a key is letters and digits only, a URL is
``http(s)://`` with ``{z}``, ``{x}`` and ``{y}`` and no quote, space or angle bracket.
Every tile layer reports failed tiles (``covplanMap.tileError``), so a blank map says why.
"""

from __future__ import annotations

import re
from typing import Any

from dashapp.labels import t

_KEY = re.compile(r"^[A-Za-z0-9]{8,64}$")
_URL = re.compile(r"^https?://[^\s\"'<>\\]{4,300}$")


def clean_key(key: Any) -> str:
    """A 天地图 key as typed, or "" when it is not letters and digits (8–64)."""
    text = str(key or "").strip()
    return text if _KEY.match(text) else ""


def clean_xyz(url: Any) -> str:
    """A custom tile URL template, or "" when it is not ``http(s)://…{z}…{x}…{y}…``."""
    text = str(url or "").strip()
    if not _URL.match(text) or not all(p in text for p in ("{z}", "{x}", "{y}")):
        return ""
    return text


def _events() -> dict[str, Any]:
    return {"tileerror": {"variable": "covplanMap.tileError"}, "tileload": {"variable": "covplanMap.tileLoad"}}


def tiles(basemap: str, key: Any = None, xyz: Any = None) -> list[Any]:
    """Tile layers of ``basemap`` with the browser's key / URL (none → no tile is fetched)."""
    import dash_leaflet as dl

    from dashapp import queries

    if basemap == "tianditu":
        k = clean_key(key) or queries.tianditu_key()
        if not k:
            return []
        return [
            dl.TileLayer(url=queries.TIANDITU_URL + k, subdomains="01234567", maxZoom=18,
                         attribution="天地图 © 国家地理信息公共服务平台", eventHandlers=_events()),
            dl.TileLayer(url=queries.TIANDITU_LABEL_URL + k, subdomains="01234567", maxZoom=18,
                         eventHandlers=_events()),
        ]
    if basemap == "amap":
        return [dl.TileLayer(url=queries.AMAP_URL, subdomains="1234", maxZoom=18, attribution="© 高德地图 (GCJ-02)",
                             eventHandlers=_events())]
    if basemap == "xyz":
        url = clean_xyz(xyz)
        return [dl.TileLayer(url=url, maxZoom=20, eventHandlers=_events())] if url else []
    return []


def note(basemap: str, key: Any, xyz: Any, lang: str) -> str:
    """What the planner needs to know about the chosen basemap (missing key, bad URL, datum)."""
    from dashapp import queries

    notes = []
    if basemap == "tianditu" and not (clean_key(key) or queries.tianditu_key()):
        notes.append(t("basemap_key_needed", lang))
    if basemap == "xyz" and not clean_xyz(xyz):
        notes.append(t("basemap_xyz_needed", lang))
    if basemap == "amap":
        notes.append(t("basemap_amap_note", lang))
    return ("；" if lang == "zh" else "; ").join(notes)


def options(lang: str) -> list[dict[str, Any]]:
    return [
        {"label": t("basemap_none", lang), "value": "none"},
        {"label": t("basemap_tianditu", lang), "value": "tianditu"},
        {"label": t("basemap_amap", lang), "value": "amap"},
        {"label": t("basemap_xyz", lang), "value": "xyz"},
    ]
