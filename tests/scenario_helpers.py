"""A tiny hand-made dataset for the scenario, store, proposal and siting-glue tests.

Coordinates are laid out in EPSG:4549 metres (round numbers, so weighted distances can be
worked out by hand) and stored in EPSG:4326 like every layer. Everything here is
synthetic test data.

Layout (x, y in km from (480, 3140) km in EPSG:4549)::

    county 331102 (x 0–20): township 331102001 (x 0–10), 331102002 (x 10–20)
    county 331121 (x 20–30): township 331121001
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pandas as pd
from shapely.geometry import Point, box

from layers.dataset import Dataset

X0, Y0 = 480_000.0, 3_140_000.0


def _pt(xkm: float, ykm: float) -> Point:
    return Point(X0 + xkm * 1000, Y0 + ykm * 1000)


def _box(x0: float, x1: float) -> object:
    return box(X0 + x0 * 1000, Y0, X0 + x1 * 1000, Y0 + 10_000)


def _gdf(rows: list[dict]) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(rows, geometry="geometry", crs="EPSG:4549").to_crs("EPSG:4326")


#: villages: code, township, (x km, y km), pop_total, pop_under18, pop_under3
VILLAGES = [
    ("331102001001", "331102001", (1, 5), 3000, 600, 90),
    ("331102001002", "331102001", (4, 8), 1000, 200, 30),
    ("331102001003", "331102001", (8, 5), 2000, 400, 60),
    ("331102002001", "331102002", (12, 5), 1500, 300, 45),
    ("331102002002", "331102002", (18, 5), 500, 100, 15),
    ("331121001001", "331121001", (22, 5), 2500, 500, 75),
    ("331121001002", "331121001", (28, 5), 1500, 300, 45),
]


def make_mini_dataset() -> Dataset:
    """A 2-county, 3-township, 7-village dataset with facilities for 2020 and 2024."""
    villages = []
    for code, tw, (x, y), pop, u18, u3 in VILLAGES:
        villages.append(
            dict(code=code, name=f"村{code[-3:]}", township_code=tw, county_code=tw[:6],
                 committee_type="villagers_committee", urban_rural_code="", urban_rural_year=None,
                 is_urban=code.endswith("001"), is_urban_source="estimated_from_committee_type",
                 pop_total=pop, pop_under3=u3, pop_under18=u18, pop_women=pop // 2,
                 pop_65plus=pop // 5, pop_provenance="estimated", provenance="synthetic",
                 location_method="test", geometry=_pt(x, y))
        )
    vdf = pd.DataFrame(villages)
    townships = []
    for code, (x0, x1) in {"331102001": (0, 10), "331102002": (10, 20), "331121001": (20, 30)}.items():
        sub = vdf[vdf["township_code"] == code]
        row = dict(code=code, name=f"镇{code[-3:]}", county_code=code[:6], county_name=code[:6],
                   township_type="镇", seat_lon=None, seat_lat=None, seat_provenance="estimated",
                   boundary_method="test", is_urban=False, pop_provenance="estimated",
                   provenance="estimated", geometry=_box(x0, x1))
        for col in ("pop_total", "pop_under3", "pop_under18", "pop_women", "pop_65plus"):
            row[col] = int(sub[col].sum())
        townships.append(row)
    tdf = pd.DataFrame(townships)
    counties = []
    for code, name, (x0, x1) in (("331102", "莲都区", (0, 20)), ("331121", "青田县", (20, 30))):
        sub = tdf[tdf["county_code"] == code]
        row = dict(code=code, name=name, pop_urban=0, pop_provenance="real", provenance="real",
                   geometry=_box(x0, x1))
        for col in ("pop_total", "pop_under3", "pop_under18", "pop_women", "pop_65plus"):
            row[col] = int(sub[col].sum())
        counties.append(row)
    facilities = []
    base = [
        # id, type, tier, capacity, village, (x, y)
        ("F001", "child_home", "basic", None, "331102001001", (1, 5)),
        ("F002", "child_home", "basic", None, "331102001003", (8, 5)),
        ("F003", "child_home", "demonstration", None, "331102002001", (12, 5)),
        ("F004", "child_home", "basic", None, "331121001002", (28, 5)),
        ("F005", "childcare", None, 40, "331102001001", (1.2, 5)),
        ("F006", "childcare", None, 10, "331121001001", (22.2, 5)),
        ("F007", "public_place", None, None, "331102002001", (12.3, 5)),
        ("F008", "fitness", None, None, "331102001002", (4, 8.2)),
    ]
    for year in (2020, 2024):
        for fid, ftype, tier, cap, vil, (x, y) in base:
            facilities.append(
                dict(facility_id=fid, year=year, type=ftype, name=f"设施{fid}", tier=tier,
                     level="village" if ftype == "fitness" else None, capacity=cap,
                     is_inclusive=False if ftype == "childcare" else None,
                     has_reading_area=None,
                     place_kind="commercial" if ftype == "public_place" else None,
                     building_area_m2=20000.0 if ftype == "public_place" else None,
                     daily_visitors=None, serves_place_id=None, county_code=vil[:6],
                     township_code=vil[:9], village_code=vil, address="",
                     location_precision="village", provenance="synthetic", geometry=_pt(x, y))
            )
    indicators = pd.DataFrame(columns=["year", "unit_level", "unit_code", "indicator", "value", "provenance"])
    return Dataset(
        root=Path("/nonexistent/mini"),
        name="mini",
        counties=_gdf(counties),
        townships=_gdf(townships),
        villages=_gdf(villages),
        facilities=_gdf(facilities),
        indicators=indicators,
        layer_provenance={"facilities_2024": "synthetic", "villages": "synthetic"},
    )
