"""Standalone HTML maps that open offline: Leaflet inlined from the vendored copy.

``coverage/outputs/vendor/leaflet/`` holds Leaflet 1.9.4 (BSD-2, ``LICENSE`` there). Both
the CLI report (:mod:`coverage.outputs.report`) and the app's static map download
(``dashapp/exports.py``) call :func:`inline_leaflet` on their folium map, so neither loads
a script, stylesheet or tile from the network; folium's other defaults (jQuery, Bootstrap,
Font Awesome) are dropped, the maps use none of them.
"""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

__all__ = ["VENDOR", "data_url", "inline_leaflet", "metric_scale"]

VENDOR: Path = Path(__file__).resolve().parent / "vendor" / "leaflet"


def data_url(name: str, mime: str) -> str:
    """A vendored file as a ``data:`` URL (base64), to inline it in a standalone page."""
    data = (VENDOR / name).read_bytes()
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


def inline_leaflet(fmap: Any) -> Any:
    """Make a ``folium.Map`` load only the inlined Leaflet (no CDN); returns the map."""
    fmap.default_js = [("leaflet", data_url("leaflet.js", "text/javascript"))]
    fmap.default_css = [("leaflet_css", data_url("leaflet.css", "text/css"))]
    return fmap


def metric_scale(fmap: Any, max_width: int = 160) -> Any:
    """Add a metric-only scale bar (km/m, no miles) to a ``folium.Map``; returns the map.

    A child of the map, so its script runs after the map exists (a script added to the
    page's root would run first and abort the whole map script).
    """
    from branca.element import MacroElement
    from folium.template import Template

    class MetricScale(MacroElement):
        _template = Template(
            "{% macro script(this, kwargs) %}"
            "L.control.scale({metric: true, imperial: false, maxWidth: {{ this.max_width }}})"
            ".addTo({{ this._parent.get_name() }});"
            "{% endmacro %}"
        )

        def __init__(self) -> None:
            super().__init__()
            self._name = "MetricScale"
            self.max_width = int(max_width)

    MetricScale().add_to(fmap)
    return fmap
