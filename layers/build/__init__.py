"""Build the embedded Lishui dataset (``data/``) from the public sources in ``../shared/data``.

``covplan data build`` and ``python -m layers.build`` call :func:`build_dataset`. The build is
deterministic: the same sources and seed give byte-identical files. Steps:

1. read and check the sources (:mod:`layers.build.sources`);
2. counties: coverage-simplified real outlines + 2020 census population (:mod:`.units`);
3. townships: seats for the 13 seatless ones, Voronoi tiling per county (:mod:`.tiling`);
4. villages: 92 real points kept, the rest placed (:mod:`.placement`); population split from
   the county census totals (:mod:`.population`);
5. synthetic facility inventory for 2020, 2022, 2024 (:mod:`.facilities`,
   :mod:`.facility_rules`, :mod:`.facility_capacity`) and indicator table (:mod:`.indicators`);
6. files, manifest and notes (:mod:`.io`, :mod:`.docs`), then the synthetic walking network
   (:mod:`layers.build.network`, which reads the written township and village layers).
"""

from __future__ import annotations

import importlib
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import pandas as pd

from layers.build import docs, io, population, tiling, units
from layers.build.io import Layers
from layers.build.facilities import YEARS, Context, facilities_for_year
from layers.build.facility_capacity import (add_childcare, add_institutions, add_kindergartens,
                                            add_public_places)
from layers.build.facility_rules import add_child_homes, add_fitness, add_libraries, add_township_services
from layers.build.indicators import build_indicators
from layers.build.placement import place_villages
from layers.build.sources import SourceDataError, read_sources
from layers.dataset import POPULATION_COLUMNS
from layers.settings import DEFAULT_DATA_DIR, SHARED_DATA_DIR, STORAGE_CRS
from layers.vocab import FACILITY_COLUMNS

__all__ = ["DEFAULT_SEED", "BuildReport", "SourceDataError", "build_dataset", "build_layers"]

DEFAULT_SEED = 20211231  # the plans' start: 2021

COUNTY_COLUMNS = ["code", "name", *units.COUNTY_POP_COLUMNS, "pop_provenance", "provenance"]
TOWNSHIP_COLUMNS = ["code", "name", "county_code", "county_name", "township_type", "seat_lon",
                    "seat_lat", "seat_provenance", "boundary_method", "is_urban",
                    *POPULATION_COLUMNS, "pop_provenance", "provenance"]
VILLAGE_COLUMNS = ["code", "name", "township_code", "county_code", "committee_type",
                   "urban_rural_code", "urban_rural_year", "is_urban", "is_urban_source",
                   *POPULATION_COLUMNS, "pop_provenance", "provenance", "location_method"]

#: output files, relative to the dataset folder
FILES = {
    "counties": "boundaries/counties.geojson",
    "townships": "boundaries/townships.geojson",
    "villages": "units/villages.geojson",
    "indicators": "indicators/indicators.csv",
    "network": "network/lishui_walk_synthetic.osm",
    **{f"facilities_{y}": f"facilities/facilities_{y}.geojson" for y in YEARS},
}


@dataclass
class BuildReport:
    """What a build wrote."""

    out_dir: Path
    seed: int
    files: list[Path] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    network_built: bool = False

    def summary(self) -> str:
        lines = [f"dataset written to {self.out_dir} (seed {self.seed})"]
        lines += [f"  {name}: {n}" for name, n in self.counts.items()]
        lines.append("  network: " + ("built" if self.network_built else "not built"))
        return "\n".join(lines)


def _boundary_method(row) -> str:
    return (f"Voronoi cells in EPSG:4549 of the township seat ({row.seat_method}) and of "
            f"{row.n_real} real village point(s), dissolved, clipped to the county outline; "
            "stray pieces given to the longest-border neighbour")


def build_layers(shared_dir: Path, seed: int = DEFAULT_SEED) -> Layers:
    """Build every layer in memory from the shared sources (no files written).

    Parameters
    ----------
    shared_dir : Path
        The public source folder (``../shared/data``).
    seed : int
        Seed of every random draw (placement, population variation, synthetic data).
    """
    src = read_sources(Path(shared_dir))
    outlines = tiling.simplify_counties(src.county_outlines)
    counties = units.county_table(src, outlines)

    v_table = units.village_table(src)
    t_table = tiling.place_missing_seats(src, units.township_table(src), v_table, outlines)
    polys = tiling.tile_townships(t_table, v_table, outlines)
    townships = gpd.GeoDataFrame(t_table.merge(polys, on="code", validate="one_to_one"),
                                 geometry="geometry", crs=STORAGE_CRS)
    n_real = v_table[v_table["real_lon"].notna()].groupby("township_code").size()
    townships["n_real"] = townships["code"].map(n_real).fillna(0).astype(int)
    townships["boundary_method"] = [_boundary_method(r) for r in townships.itertuples()]
    townships["provenance"] = "estimated"

    villages = place_villages(v_table, townships, seed)
    villages, townships = population.split_population(villages, townships, counties, seed)
    villages = gpd.GeoDataFrame(villages, geometry="geometry", crs=STORAGE_CRS)

    seat_pts = gpd.GeoSeries.from_xy(src.counties["lon_wgs84"].astype(float),
                                     src.counties["lat_wgs84"].astype(float), crs=STORAGE_CRS)
    seat_of = dict(zip(src.counties["code"], seat_pts))
    townships["is_urban"] = [
        t.township_type == "街道" or bool(t.geometry.contains(seat_of[t.county_code]))
        for t in townships.itertuples()
    ]

    ctx = Context(counties, townships, villages, src.counties, seed)
    for rule in (add_child_homes, add_fitness, add_township_services, add_libraries,
                 add_childcare, add_kindergartens, add_public_places, add_institutions):
        rule(ctx)
    facilities = {y: facilities_for_year(ctx.facilities, y) for y in YEARS}
    indicators = build_indicators(counties, townships, villages, seed)
    return Layers(
        counties=counties[[*COUNTY_COLUMNS, "geometry"]].sort_values("code").reset_index(drop=True),
        townships=townships[[*TOWNSHIP_COLUMNS, "geometry"]].sort_values("code").reset_index(drop=True),
        villages=villages[[*VILLAGE_COLUMNS, "geometry"]].sort_values("code").reset_index(drop=True),
        facilities=facilities,
        indicators=indicators,
    )


def write_layers(layers: Layers, out_dir: Path) -> list[Path]:
    """Write the layer files, the manifest and the notes into ``out_dir``."""
    out_dir = Path(out_dir)
    files = [
        io.write_geojson(layers.counties, out_dir / FILES["counties"], COUNTY_COLUMNS, "counties"),
        io.write_geojson(layers.townships, out_dir / FILES["townships"], TOWNSHIP_COLUMNS, "townships"),
        io.write_geojson(layers.villages, out_dir / FILES["villages"], VILLAGE_COLUMNS, "villages"),
    ]
    for year, gdf in layers.facilities.items():
        files.append(io.write_geojson(gdf, out_dir / FILES[f"facilities_{year}"],
                                      FACILITY_COLUMNS, f"facilities_{year}"))
    files.append(io.write_csv(layers.indicators, out_dir / FILES["indicators"]))
    files.append(io.write_manifest(out_dir / "manifest.toml", docs.MANIFEST_HEADER,
                                   docs.manifest_layers(FILES, YEARS)))
    files += docs.write_notes(out_dir, layers)
    return files


def _network_builder():
    """``layers.build.network.build_synthetic_network`` if that module exists, else None."""
    try:
        module = importlib.import_module("layers.build.network")
    except ModuleNotFoundError as exc:
        if exc.name == "layers.build.network":
            return None
        raise
    return getattr(module, "build_synthetic_network", None)


def build_dataset(shared_dir: Path | None = None, out_dir: Path | None = None,
                  seed: int = DEFAULT_SEED, network: bool = True) -> BuildReport:
    """Build the whole dataset folder: layers, manifest, notes and the walking network.

    Parameters
    ----------
    shared_dir : Path, optional
        Source folder; default :data:`layers.settings.SHARED_DATA_DIR`.
    out_dir : Path, optional
        Dataset folder to (over)write; default :data:`layers.settings.DEFAULT_DATA_DIR`.
        Files the build owns are replaced; ``targets/`` and other folders are left alone.
    seed : int
        Seed of every random draw.
    network : bool
        Also build the synthetic walking network (needs ``layers.build.network``).

    Returns
    -------
    BuildReport
    """
    shared_dir = Path(shared_dir) if shared_dir is not None else SHARED_DATA_DIR
    out_dir = Path(out_dir) if out_dir is not None else DEFAULT_DATA_DIR
    layers = build_layers(shared_dir, seed)
    out_dir.mkdir(parents=True, exist_ok=True)
    for folder in ("facilities",):  # stale years must not survive a rebuild
        if (out_dir / folder).is_dir():
            shutil.rmtree(out_dir / folder)
    report = BuildReport(out_dir=out_dir, seed=seed, files=write_layers(layers, out_dir))
    report.counts = {
        "counties": len(layers.counties), "townships": len(layers.townships),
        "villages": len(layers.villages),
        **{f"facilities_{y}": len(g) for y, g in layers.facilities.items()},
        "indicator rows": len(layers.indicators),
    }
    builder = _network_builder() if network else None
    if builder is not None:
        builder(out_dir, seed=seed)
        report.network_built = True
    return report
