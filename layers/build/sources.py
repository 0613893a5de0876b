"""Read and check the public source files of ``../shared/data`` for the dataset build.

Every table is read with codes as strings; a missing file, a missing column or a count that
differs from the documented one raises :class:`SourceDataError` naming the file (and row and
field where there is one). Nothing here writes anything.

Coordinates: the ``*_wgs84`` columns and ``lishui_counties_wgs84.geojson`` are lon/lat
EPSG:4326 (converted from GCJ-02 upstream, see ``SOURCES.md``); the GCJ-02 columns are never
used by the build.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import pandas as pd

from layers._errors import CovplanError
from layers.settings import STORAGE_CRS

#: file names inside the shared data folder
COUNTY_OUTLINES = "lishui_counties_wgs84.geojson"
COUNTY_TABLE = "lishui_counties.csv"
CENSUS_TABLE = "lishui_census2020_county.csv"
TOWNSHIP_TABLE = "lishui_townships.csv"
VILLAGE_TABLE = "lishui_villages.csv"
ADCODE_2016 = "lishui_admin_2016_adcode.csv"

#: documented counts of the sources (SOURCES.md); the build refuses anything else
EXPECTED_COUNTS: dict[str, int] = {
    COUNTY_OUTLINES: 9,
    COUNTY_TABLE: 9,
    CENSUS_TABLE: 9,
    TOWNSHIP_TABLE: 173,
    VILLAGE_TABLE: 2008,
}

#: committee types of the source → contract vocabulary (layers.vocab.COMMITTEE_TYPES)
COMMITTEE_TYPE_MAP: dict[str, str] = {
    "village_committee": "villagers_committee",
    "villagers_committee": "villagers_committee",
    "residents_committee": "residents_committee",
}

_REQUIRED: dict[str, tuple[str, ...]] = {
    COUNTY_TABLE: ("code", "name", "lon_wgs84", "lat_wgs84"),
    CENSUS_TABLE: ("code", "name", "POPU", "POPU_WM", "POPU_URB", "AGES_0-14", "AGES_65P",
                   "AGES_0", "AGES_1-4", "AGES_15-19"),
    TOWNSHIP_TABLE: ("code", "name", "parent_code", "county_name", "township_type",
                     "seat_lon_wgs84", "seat_lat_wgs84"),
    VILLAGE_TABLE: ("code", "name", "parent_code", "county_code", "committee_type",
                    "urban_rural_code", "lon_wgs84", "lat_wgs84"),
    ADCODE_2016: ("code", "parent_code", "name", "level", "county_code", "lon_wgs84", "lat_wgs84"),
}

_CODE_COLUMNS = ("code", "parent_code", "county_code", "urban_rural_code", "code12")


class SourceDataError(CovplanError):
    """A source file of the dataset build is missing, malformed or has unexpected content."""


@dataclass(frozen=True)
class Sources:
    """The source tables, read and checked.

    Attributes
    ----------
    county_outlines : GeoDataFrame
        9 county polygons, EPSG:4326, columns ``code``, ``name``, ``geometry``.
    counties : DataFrame
        9 rows: ``code``, ``name``, county seat ``lon_wgs84``/``lat_wgs84`` (Amap centre).
    census : DataFrame
        9 rows of the 2020 census by county (shares as fractions, ``POPU`` a count).
    townships : DataFrame
        173 townships (2023 codes), seat lon/lat where known (160 of 173).
    villages : DataFrame
        2008 village/community committees (2023 codes), lon/lat for 92.
    adcode_2016 : DataFrame
        2016 NBS list with Amap points (used only to find predecessors of seatless townships).
    root : Path
        The shared data folder that was read.
    """

    county_outlines: gpd.GeoDataFrame
    counties: pd.DataFrame
    census: pd.DataFrame
    townships: pd.DataFrame
    villages: pd.DataFrame
    adcode_2016: pd.DataFrame
    root: Path


def _path(root: Path, name: str) -> Path:
    path = root / name
    if not path.is_file():
        msg = f"{path}: source file not found (run the build with --shared pointing at ../shared/data)"
        raise SourceDataError(msg)
    return path


def _read_csv(root: Path, name: str) -> pd.DataFrame:
    path = _path(root, name)
    dtypes = {col: str for col in _CODE_COLUMNS}
    df = pd.read_csv(path, dtype=dtypes, keep_default_na=False, na_values=[""])
    missing = [c for c in _REQUIRED.get(name, ()) if c not in df.columns]
    if missing:
        raise SourceDataError(f"{path}: missing column(s) {', '.join(missing)}")
    for col in ("code", "parent_code", "county_code", "urban_rural_code"):
        if col in df.columns:
            df[col] = df[col].fillna("").astype(str)
    return df


def _check_count(path_name: str, df: pd.DataFrame) -> None:
    expected = EXPECTED_COUNTS.get(path_name)
    if expected is not None and len(df) != expected:
        raise SourceDataError(f"{path_name}: expected {expected} rows, found {len(df)}")


def _check_unique(path_name: str, df: pd.DataFrame) -> None:
    dup = df["code"][df["code"].duplicated()]
    if not dup.empty:
        row = int(dup.index[0]) + 2  # header is line 1
        raise SourceDataError(f"{path_name}: row {row}, field code: duplicate code {dup.iloc[0]}")


def _check_coords(path_name: str, df: pd.DataFrame, lon: str, lat: str) -> None:
    both = df[lon].notna() == df[lat].notna()
    if not both.all():
        row = int(both[~both].index[0]) + 2
        raise SourceDataError(f"{path_name}: row {row}, field {lon}/{lat}: only one coordinate given")
    ok = df[lon].isna() | (df[lon].between(118.0, 121.0) & df[lat].between(27.0, 29.5))
    if not ok.all():
        row = int(ok[~ok].index[0]) + 2
        raise SourceDataError(f"{path_name}: row {row}, field {lon}/{lat}: point outside Lishui")


def read_sources(root: Path) -> Sources:
    """Read every source file the build needs and check codes, counts and coordinates.

    Parameters
    ----------
    root : Path
        The shared data folder (``../shared/data``).

    Returns
    -------
    Sources
        The checked tables; coordinates in EPSG:4326.

    Raises
    ------
    SourceDataError
        A file is missing, a column is missing, a count differs from ``EXPECTED_COUNTS``,
        a code is duplicated, a code does not match its parent, or a point lies outside Lishui.
    """
    root = Path(root)
    outlines = gpd.read_file(_path(root, COUNTY_OUTLINES))
    if outlines.crs is None:
        raise SourceDataError(f"{root / COUNTY_OUTLINES}: no CRS declared")
    outlines = outlines.to_crs(STORAGE_CRS)
    for col in ("code", "name"):
        if col not in outlines.columns:
            raise SourceDataError(f"{root / COUNTY_OUTLINES}: missing property {col}")
    outlines["code"] = outlines["code"].astype(str)
    outlines = outlines[["code", "name", "geometry"]].sort_values("code").reset_index(drop=True)
    _check_count(COUNTY_OUTLINES, outlines)

    counties = _read_csv(root, COUNTY_TABLE)
    census = _read_csv(root, CENSUS_TABLE)
    townships = _read_csv(root, TOWNSHIP_TABLE)
    villages = _read_csv(root, VILLAGE_TABLE)
    adcode = _read_csv(root, ADCODE_2016)
    for name, df in ((COUNTY_TABLE, counties), (CENSUS_TABLE, census),
                     (TOWNSHIP_TABLE, townships), (VILLAGE_TABLE, villages)):
        _check_count(name, df)
        _check_unique(name, df)
    _check_coords(TOWNSHIP_TABLE, townships, "seat_lon_wgs84", "seat_lat_wgs84")
    _check_coords(VILLAGE_TABLE, villages, "lon_wgs84", "lat_wgs84")

    county_codes = set(counties["code"])
    for name, df in ((COUNTY_OUTLINES, outlines), (CENSUS_TABLE, census)):
        if set(df["code"]) != county_codes:
            raise SourceDataError(f"{name}: county codes differ from {COUNTY_TABLE}")
    bad_t = townships[~townships["parent_code"].isin(county_codes)]
    if not bad_t.empty:
        raise SourceDataError(
            f"{TOWNSHIP_TABLE}: row {int(bad_t.index[0]) + 2}, field parent_code: "
            f"unknown county {bad_t['parent_code'].iloc[0]}"
        )
    township_codes = set(townships["code"])
    bad_v = villages[~villages["parent_code"].isin(township_codes)
                     | (villages["parent_code"].str[:6] != villages["county_code"])]
    if not bad_v.empty:
        raise SourceDataError(
            f"{VILLAGE_TABLE}: row {int(bad_v.index[0]) + 2}, field parent_code: "
            f"unknown township {bad_v['parent_code'].iloc[0]}"
        )
    unknown = sorted(set(villages["committee_type"]) - set(COMMITTEE_TYPE_MAP))
    if unknown:
        row = int(villages.index[villages["committee_type"] == unknown[0]][0]) + 2
        raise SourceDataError(f"{VILLAGE_TABLE}: row {row}, field committee_type: unknown {unknown[0]!r}")
    bad_types = townships[~townships["township_type"].isin(("街道", "镇", "乡"))]
    if not bad_types.empty:
        raise SourceDataError(
            f"{TOWNSHIP_TABLE}: row {int(bad_types.index[0]) + 2}, field township_type: "
            f"unknown {bad_types['township_type'].iloc[0]!r}"
        )
    return Sources(
        county_outlines=outlines,
        counties=counties.sort_values("code").reset_index(drop=True),
        census=census.sort_values("code").reset_index(drop=True),
        townships=townships.sort_values("code").reset_index(drop=True),
        villages=villages.sort_values("code").reset_index(drop=True),
        adcode_2016=adcode,
        root=root,
    )
