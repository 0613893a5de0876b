"""The in-memory dataset: every layer of one dataset folder, validated, in EPSG:4326.

:func:`layers.load.load_dataset` builds a :class:`Dataset`; scenarios edit a
:meth:`Dataset.copy`, never the base.
"""

from __future__ import annotations

import copy as _copy
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd

from layers.settings import CITY_CODE, CITY_NAME, WORKING_CRS

POPULATION_COLUMNS: tuple[str, ...] = (
    "pop_total",
    "pop_under3",
    "pop_under18",
    "pop_women",
    "pop_65plus",
)


@dataclass
class Dataset:
    """All layers of one dataset folder.

    Attributes
    ----------
    root : Path
        The dataset folder (holds ``manifest.toml``).
    name : str
        Dataset name from the manifest (``lishui`` for the embedded one).
    counties, townships : GeoDataFrame
        Polygons in EPSG:4326, one row per unit, ``code`` column (str).
    villages : GeoDataFrame
        Points in EPSG:4326, one row per village/community committee.
    facilities : GeoDataFrame
        Points in EPSG:4326, every inventory year stacked, with a ``year`` column.
    indicators : DataFrame
        Long table: year, unit_level, unit_code, indicator, value, provenance.
    layer_provenance : dict
        Layer name → ``real`` / ``derived`` / ``estimated`` / ``synthetic``.
    layer_info : dict
        Layer name → the manifest table of that layer (file, description, …).
    network_path : Path or None
        Walking network (OSM XML) shipped with the dataset, if any.
    """

    root: Path
    name: str
    counties: gpd.GeoDataFrame
    townships: gpd.GeoDataFrame
    villages: gpd.GeoDataFrame
    facilities: gpd.GeoDataFrame
    indicators: pd.DataFrame
    layer_provenance: dict[str, str] = field(default_factory=dict)
    layer_info: dict[str, dict[str, Any]] = field(default_factory=dict)
    network_path: Path | None = None
    title_zh: str = ""
    #: bumped by every in-place edit, so caches keyed on (id(ds), revision) stay correct
    revision: int = 0

    # ------------------------------------------------------------------ years
    @property
    def years(self) -> list[int]:
        """Inventory years present in the facility layer, sorted."""
        if self.facilities.empty:
            return []
        return sorted(int(y) for y in self.facilities["year"].unique())

    @property
    def latest_year(self) -> int | None:
        years = self.years
        return years[-1] if years else None

    def facilities_for(self, year: int | None = None) -> gpd.GeoDataFrame:
        """Facilities of one inventory year (the latest when ``year`` is None)."""
        if year is None:
            year = self.latest_year
        return self.facilities[self.facilities["year"] == year]

    # ------------------------------------------------------------------ units
    @property
    def city(self) -> dict[str, Any]:
        """The city as one unit: code, name and population totals summed from counties."""
        out: dict[str, Any] = {"code": CITY_CODE, "name": CITY_NAME, "level": "city"}
        for col in POPULATION_COLUMNS:
            if col in self.counties.columns:
                out[col] = int(self.counties[col].sum())
        return out

    def units(self, level: str) -> gpd.GeoDataFrame | pd.DataFrame:
        """Unit table of one level (``city`` returns a one-row DataFrame)."""
        if level == "county":
            return self.counties
        if level == "township":
            return self.townships
        if level == "village":
            return self.villages
        if level == "city":
            return pd.DataFrame([self.city])
        raise ValueError(f"unknown unit level {level!r}")

    # ------------------------------------------------------------------ helpers
    @staticmethod
    def to_working_crs(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
        """Project to EPSG:4549 (metres) for distances and areas."""
        return gdf.to_crs(WORKING_CRS)

    def copy(self) -> "Dataset":
        """Deep copy: edits to the copy never reach this dataset."""
        return Dataset(
            root=self.root,
            name=self.name,
            counties=self.counties.copy(),
            townships=self.townships.copy(),
            villages=self.villages.copy(),
            facilities=self.facilities.copy(),
            indicators=self.indicators.copy(),
            layer_provenance=dict(self.layer_provenance),
            layer_info=_copy.deepcopy(self.layer_info),
            network_path=self.network_path,
            title_zh=self.title_zh,
            revision=self.revision,
        )
