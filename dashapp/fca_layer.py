"""Map layer: capacity-aware walking access (enhanced 2SFCA) per township, as context.

:func:`fca_geojson` gives the township polygons with 托位 (or 学位) per 1,000 children
within walking reach (``coverage.access.fca``), a ``value`` for the choropleth and a
``label`` from the glossary; it is cached per (dataset, year, facility type) on the
:class:`dashapp.service.AppService`. The layer is context for the capacity targets, not a
target: the label says so. A dash-leaflet ``GeoJSON`` overlay shows it with
:data:`STYLE_BREAKS` (``value`` → fill colour).
"""

from __future__ import annotations

from typing import Any

import geopandas as gpd
import numpy as np

from dashapp import maps
from layers.glossary import label

#: (upper bound per 1,000, colour) of the choropleth; NaN (no network) is grey
STYLE_BREAKS: tuple[tuple[float, str], ...] = (
    (25.0, "#f1eef6"), (75.0, "#bdc9e1"), (150.0, "#74a9cf"), (300.0, "#2b8cbe"),
    (float("inf"), "#045a8d"),
)


NO_VALUE_COLOUR = "#cccccc"


def colour_for(value: float | None) -> str:
    """Fill colour of a township value (places per 1,000)."""
    if value is None or not np.isfinite(value):
        return NO_VALUE_COLOUR
    return next(c for bound, c in STYLE_BREAKS if value <= bound)


def fca_geojson(svc: Any, year: int | None = None, *, ftype: str = "childcare",
                population: str = "pop_under3", catchment_m: float = 1500.0,
                basemap: str = "none", lang: str = "zh") -> dict[str, Any]:
    """GeoJSON of township polygons with ``value`` (E2SFCA per 1,000), ``colour``, ``label``."""
    from coverage.access.fca import fca_for_dataset

    yr = svc.year(year)

    def compute() -> dict[str, Any]:
        ds = svc.ds
        _v, t, _fac, _net = fca_for_dataset(ds, ftype=ftype, population=population,
                                            catchment_m=catchment_m, year=yr,
                                            network=svc._network())
        g = ds.townships[["code", "name", "geometry"]].merge(
            t[["township_code", "fca_2sfca", "fca_e2sfca"]], left_on="code",
            right_on="township_code", how="left")
        g = gpd.GeoDataFrame(g, geometry="geometry", crs=ds.townships.crs)
        g = g[g.geometry.notna() & ~g.geometry.is_empty]  # one feature per row below
        gj = maps.polygon_geojson(g, (), tolerance_m=60.0)
        for feat, (_, r) in zip(gj["features"], g.iterrows()):
            e2 = r["fca_e2sfca"]
            val = None if e2 is None or not np.isfinite(e2) else round(float(e2), 1)
            txt = "—" if val is None else f"{val:.1f}"
            feat["properties"].update(
                value=val, colour=colour_for(val),
                label=f"{r['name']} · {label('fca_e2sfca', lang)} {txt} · "
                      f"{label(ftype, lang)} · {catchment_m:.0f} m")
        return gj

    key = ("fca_gj", svc._ds_key(), yr, ftype, population, catchment_m, lang)
    gj = svc._static.get_or_compute(key, compute)
    return maps.for_basemap(gj, basemap)
