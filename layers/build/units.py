"""Unit tables of the build: counties with census population, townships, villages.

Only attribute work happens here (geometry is in :mod:`layers.build.tiling` and
:mod:`layers.build.placement`). Every number is traceable to a source column:

County population from the 7th census (``lishui_census2020_county.csv``), with ``POPU`` the
resident population and the other columns fractions of it:

* ``pop_total``   = ``POPU``
* ``pop_under3``  = round(``POPU`` × (``AGES_0`` + 2/4 × ``AGES_1-4``)) — ages 0, 1 and 2; the
  1–4 band is split evenly over its four single years
* ``pop_under18`` = round(``POPU`` × (``AGES_0-14`` + 3/5 × ``AGES_15-19``)) — ages 15, 16, 17
  taken as 3 of the 5 single years of the 15–19 band
* ``pop_women``   = round(``POPU`` × 100 / (100 + ``POPU_WM``)) — ``POPU_WM`` is the sex ratio
  (men per 100 women)
* ``pop_65plus``  = round(``POPU`` × ``AGES_65P``)
* ``pop_urban``   = round(``POPU`` × ``POPU_URB``)
"""

from __future__ import annotations

import geopandas as gpd
import pandas as pd

from layers.build.sources import COMMITTEE_TYPE_MAP, Sources

#: year of the urban-rural codes (城乡分类代码) carried by the village table
URBAN_RURAL_YEAR = 2016

COUNTY_POP_COLUMNS: tuple[str, ...] = (
    "pop_total", "pop_under3", "pop_under18", "pop_women", "pop_65plus", "pop_urban",
)


def census_population(census: pd.DataFrame) -> pd.DataFrame:
    """County population columns from the 2020 census table (formulas in the module doc).

    Parameters
    ----------
    census : DataFrame
        ``lishui_census2020_county.csv`` (``code``, ``POPU``, shares as fractions).

    Returns
    -------
    DataFrame
        ``code`` plus the integer columns of :data:`COUNTY_POP_COLUMNS`, sorted by code.
    """
    popu = census["POPU"].astype(float)
    out = pd.DataFrame({"code": census["code"].astype(str)})
    out["pop_total"] = census["POPU"].astype("int64")
    out["pop_under3"] = (popu * (census["AGES_0"] + 0.5 * census["AGES_1-4"])).round()
    out["pop_under18"] = (popu * (census["AGES_0-14"] + 0.6 * census["AGES_15-19"])).round()
    out["pop_women"] = (popu * 100.0 / (100.0 + census["POPU_WM"])).round()
    out["pop_65plus"] = (popu * census["AGES_65P"]).round()
    out["pop_urban"] = (popu * census["POPU_URB"]).round()
    for col in COUNTY_POP_COLUMNS:
        out[col] = out[col].astype("int64")
    return out.sort_values("code").reset_index(drop=True)


def county_table(src: Sources, outlines: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Counties layer: code, name, census population, provenance, outline geometry.

    Parameters
    ----------
    src : Sources
        The checked source tables.
    outlines : GeoDataFrame
        The (simplified) county outlines in EPSG:4326 with a ``code`` column.

    Returns
    -------
    GeoDataFrame
        Contract columns of the ``counties`` layer, EPSG:4326, sorted by code.
    """
    pop = census_population(src.census)
    names = src.counties[["code", "name"]]
    df = names.merge(pop, on="code", how="left", validate="one_to_one")
    df["pop_provenance"] = "real"
    df["provenance"] = "real"
    geo = outlines[["code", "geometry"]].merge(df, on="code", validate="one_to_one")
    cols = ["code", "name", *COUNTY_POP_COLUMNS, "pop_provenance", "provenance", "geometry"]
    return gpd.GeoDataFrame(geo[cols], geometry="geometry", crs=outlines.crs).sort_values(
        "code").reset_index(drop=True)


def township_table(src: Sources) -> pd.DataFrame:
    """Township attributes (no geometry yet): code, name, county, type, known seat.

    Returns
    -------
    DataFrame
        ``code``, ``name``, ``county_code``, ``county_name``, ``township_type``,
        ``seat_lon``, ``seat_lat`` (NaN for the 13 townships without a seat point),
        ``seat_provenance`` (``real`` where the seat is known, else empty), sorted by code.
    """
    t = src.townships
    out = pd.DataFrame({
        "code": t["code"],
        "name": t["name"],
        "county_code": t["parent_code"],
        "county_name": t["county_name"],
        "township_type": t["township_type"],
        "seat_lon": t["seat_lon_wgs84"].astype(float),
        "seat_lat": t["seat_lat_wgs84"].astype(float),
    })
    out["seat_provenance"] = out["seat_lon"].notna().map({True: "real", False: ""})
    return out.sort_values("code").reset_index(drop=True)


def village_table(src: Sources) -> pd.DataFrame:
    """Village attributes (no geometry yet) with the urban/rural flag.

    ``is_urban`` comes from the 2016 urban-rural code where it is known (first digit ``1`` =
    urban: 111 主城区, 112 城乡结合区, 121 镇中心区, 122 镇乡结合区); for the villages without a
    code it is estimated from the committee type (居委会 → urban, 村委会 → rural), and
    ``is_urban_source`` says which.

    Returns
    -------
    DataFrame
        ``code``, ``name``, ``township_code``, ``county_code``, ``committee_type``,
        ``urban_rural_code``, ``urban_rural_year``, ``is_urban``, ``is_urban_source``,
        ``real_lon``, ``real_lat`` (NaN where no real point), sorted by code.
    """
    v = src.villages
    ur = v["urban_rural_code"].fillna("").astype(str)
    has_code = ur != ""
    committee = v["committee_type"].map(COMMITTEE_TYPE_MAP)
    out = pd.DataFrame({
        "code": v["code"],
        "name": v["name"],
        "township_code": v["parent_code"],
        "county_code": v["county_code"],
        "committee_type": committee,
        "urban_rural_code": ur,
        "urban_rural_year": has_code.map({True: str(URBAN_RURAL_YEAR), False: ""}),
    })
    out["is_urban"] = ur.str.startswith("1").where(has_code, committee == "residents_committee")
    out["is_urban"] = out["is_urban"].astype(bool)
    out["is_urban_source"] = has_code.map(
        {True: "ur_code_2016", False: "estimated_from_committee_type"})
    out["real_lon"] = v["lon_wgs84"].astype(float)
    out["real_lat"] = v["lat_wgs84"].astype(float)
    return out.sort_values("code").reset_index(drop=True)
