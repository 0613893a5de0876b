"""Synthetic demo facility inventory: framework (records, places, years, output layers).

There is no real inventory of these facilities in reach (SOURCES.md), so the embedded dataset
carries a *generated* one, marked ``provenance = "synthetic"`` on every record. The rules per
facility type are in :mod:`layers.build.facility_rules`; this module holds what they share:

* :class:`Fac` — one facility over all inventory years: where it is, the first year it appears
  (``opened``), an optional ``closed`` year, base attributes and dated attribute changes
  (a 儿童之家 upgraded 基础型 → 示范型 in 2022, a 托育 institution's 托位 grown in 2024).
  Its ``facility_id`` is fixed, so the same facility has the same id in every year.
* :class:`Context` — the unit tables, the county "strength" profile that makes gaps differ
  between counties, and placement helpers (points near a village or a township seat, always
  inside the township polygon, jitter computed in EPSG:4549).
* :func:`facilities_for_year` — the layer of one inventory year (2020, 2022, 2024).

Randomness: every draw comes from ``numpy.random.default_rng([seed, unit code, stream])``, so
a facility depends only on the seed and its own unit, never on generation order.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely.geometry import Point

from layers.build.tiling import TO_STORE, TO_WORK
from layers.settings import STORAGE_CRS
from layers.vocab import FACILITY_COLUMNS, FACILITY_TYPES

#: inventory years of the embedded dataset (2020 = plan baseline, 2024 = latest)
YEARS: tuple[int, ...] = (2020, 2022, 2024)

#: how well each county is provided (0–1); drives coverage, tiers and ratios so that gaps
#: differ between counties (莲都区 strongest, 景宁/庆元 weakest). Synthetic, documented.
COUNTY_STRENGTH: dict[str, float] = {
    "331102": 0.95,  # 莲都区
    "331121": 0.70,  # 青田县
    "331122": 0.75,  # 缙云县
    "331123": 0.70,  # 遂昌县
    "331124": 0.65,  # 松阳县
    "331125": 0.85,  # 云和县
    "331126": 0.50,  # 庆元县
    "331127": 0.45,  # 景宁畲族自治县
    "331181": 0.75,  # 龙泉市
}

#: attribute columns that may change between years
ATTRIBUTES: tuple[str, ...] = (
    "tier", "level", "capacity", "is_inclusive", "has_reading_area", "place_kind",
    "building_area_m2", "daily_visitors", "serves_place_id",
)

#: suffixes stripped from committee names to get the short village name
_NAME_SUFFIXES = ("社区居民委员会", "村民委员会", "居民委员会", "村委会", "居委会", "委员会")


@dataclass
class Fac:
    """One facility across all inventory years.

    ``opened`` is the first inventory year listing it; ``closed`` the first year no longer
    listing it (None = still open in 2024). ``changes`` are ``(year, {attr: value})`` applied
    from that year on.
    """

    facility_id: str
    type: str
    name: str
    county_code: str
    township_code: str
    village_code: str
    lon: float
    lat: float
    location_precision: str
    address: str
    opened: int = 2020
    closed: int | None = None
    base: dict[str, Any] = field(default_factory=dict)
    changes: list[tuple[int, dict[str, Any]]] = field(default_factory=list)

    def exists_in(self, year: int) -> bool:
        return self.opened <= year and (self.closed is None or year < self.closed)

    def attributes(self, year: int) -> dict[str, Any]:
        out = {a: None for a in ATTRIBUTES}
        out.update(self.base)
        for since, attrs in sorted(self.changes, key=lambda c: c[0]):
            if since <= year:
                out.update(attrs)
        return out


def short_village_name(name: str, committee_type: str) -> str:
    """'大桥村委会' → '大桥村'; '永晖社区居委会' → '永晖社区' (display name of the place)."""
    for suffix in _NAME_SUFFIXES:
        if name.endswith(suffix):
            name = name[: -len(suffix)]
            break
    if committee_type == "residents_committee":
        return name if name.endswith(("社区", "小区")) else name + "社区"
    return name if name.endswith("村") else name + "村"


def draw_year(rng: np.random.Generator, share_2020: float, share_2022: float) -> int:
    """First inventory year of a facility present in 2024.

    ``share_2020`` / ``share_2022`` are the fractions of the 2024 stock already present in
    2020 / 2022 (``share_2020 <= share_2022 <= 1``).
    """
    u = rng.random()
    return 2020 if u < share_2020 else 2022 if u < share_2022 else 2024


class Context:
    """Unit tables, per-unit generators and placement helpers shared by the facility rules.

    Parameters
    ----------
    counties, townships, villages : GeoDataFrame
        The built unit layers (EPSG:4326) with population columns.
    county_seats : DataFrame
        ``code``, ``lon_wgs84``, ``lat_wgs84`` of each county seat (Amap centre).
    seed : int
        Build seed.
    """

    def __init__(self, counties: gpd.GeoDataFrame, townships: gpd.GeoDataFrame,
                 villages: gpd.GeoDataFrame, county_seats: pd.DataFrame, seed: int) -> None:
        self.seed = int(seed)
        self.counties = counties.sort_values("code").reset_index(drop=True)
        self.townships = townships.sort_values("code").reset_index(drop=True)
        self.villages = villages.sort_values("code").reset_index(drop=True)
        # plain dicts: pandas lookups in the per-facility loops would dominate the build time
        self.tname = dict(zip(self.townships["code"], self.townships["name"]))
        self.seat = {c: (float(x), float(y)) for c, x, y in zip(
            self.townships["code"], self.townships["seat_lon"], self.townships["seat_lat"])}
        self.poly = dict(zip(self.townships["code"], self.townships.geometry))
        for geom in self.poly.values():
            shapely.prepare(geom)
        self.vpoint = {c: (round(g.x, 6), round(g.y, 6))
                       for c, g in zip(self.villages["code"], self.villages.geometry)}
        self.villages_of: dict[str, pd.DataFrame] = {
            t: sub.sort_values("code") for t, sub in self.villages.groupby("township_code", sort=True)}
        self.county_name = dict(zip(self.counties["code"], self.counties["name"]))
        self.short = {c: short_village_name(n, t) for c, n, t in zip(
            self.villages["code"], self.villages["name"], self.villages["committee_type"])}
        self.seat_township: dict[str, str] = {}
        for row in county_seats.itertuples():
            pt = Point(float(row.lon_wgs84), float(row.lat_wgs84))
            inside = self.townships[self.townships.contains(pt)]
            if inside.empty:  # nearest township seat of the county
                sub = self.townships[self.townships["county_code"] == row.code]
                d = (sub["seat_lon"] - pt.x) ** 2 + (sub["seat_lat"] - pt.y) ** 2
                self.seat_township[row.code] = str(sub.loc[d.idxmin(), "code"])
            else:
                self.seat_township[row.code] = str(inside["code"].iloc[0])
        self.facilities: list[Fac] = []
        self._ids: set[str] = set()

    # ------------------------------------------------------------------ randomness
    def rng(self, unit_code: str, stream: str) -> np.random.Generator:
        """Generator for one unit and one rule (``stream`` names the rule)."""
        key = zlib.crc32(stream.encode("utf-8"))
        return np.random.default_rng([self.seed, int(unit_code), key])

    def strength(self, county_code: str) -> float:
        return COUNTY_STRENGTH[county_code]

    # ------------------------------------------------------------------ places
    def township_name(self, code: str) -> str:
        return str(self.tname[code])

    def township_short(self, code: str) -> str:
        name = self.township_name(code)
        for suffix in ("街道", "畲族镇", "畲族乡", "镇", "乡"):
            if name.endswith(suffix) and len(name) > len(suffix) + 1:
                return name[: -len(suffix)]
        return name

    def address(self, township: str, village: str = "") -> str:
        county = self.county_name[township[:6]]
        text = f"浙江省丽水市{county}{self.township_name(township)}"
        return text + (self.short[village] if village else "")

    def jitter(self, lon: float, lat: float, township: str, rng: np.random.Generator,
               radius_m: float) -> tuple[float, float]:
        """A point within ``radius_m`` (EPSG:4549 metres) of lon/lat, inside the township."""
        poly = self.poly[township]
        cx, cy = TO_WORK.transform(lon, lat)
        for _ in range(30):
            r = radius_m * np.sqrt(rng.random())
            a = rng.uniform(0.0, 2 * np.pi)
            px, py = TO_STORE.transform(cx + r * np.cos(a), cy + r * np.sin(a))
            plon, plat = round(px, 6), round(py, 6)
            if shapely.contains_xy(poly, plon, plat):
                return plon, plat
        if shapely.contains_xy(poly, round(lon, 6), round(lat, 6)):
            return round(lon, 6), round(lat, 6)
        rp = poly.representative_point()
        return round(rp.x, 6), round(rp.y, 6)

    def village_point(self, village: str) -> tuple[float, float]:
        return self.vpoint[village]

    def seat_point(self, township: str) -> tuple[float, float]:
        return self.seat[township]

    # ------------------------------------------------------------------ records
    def new_id(self, prefix: str, unit_code: str) -> str:
        n = 1
        while f"{prefix}-{unit_code}-{n:02d}" in self._ids:
            n += 1
        fid = f"{prefix}-{unit_code}-{n:02d}"
        self._ids.add(fid)
        return fid

    def add(self, prefix: str, unit_code: str, ftype: str, name: str, township: str,
            village: str, point: tuple[float, float], precision: str, **kwargs: Any) -> Fac:
        """Create and register a facility (id = ``prefix-unitcode-NN``)."""
        if ftype not in FACILITY_TYPES:
            raise ValueError(f"unknown facility type {ftype!r}")
        fac = Fac(
            facility_id=self.new_id(prefix, unit_code), type=ftype, name=name,
            county_code=township[:6], township_code=township, village_code=village,
            lon=point[0], lat=point[1], location_precision=precision,
            address=self.address(township, village), **kwargs,
        )
        self.facilities.append(fac)
        return fac


def facilities_for_year(facs: list[Fac], year: int) -> gpd.GeoDataFrame:
    """The facility layer of one inventory year, contract columns, sorted by ``facility_id``.

    Parameters
    ----------
    facs : list of Fac
    year : int

    Returns
    -------
    GeoDataFrame
        Columns of :data:`layers.vocab.FACILITY_COLUMNS`, Point geometry, EPSG:4326.
    """
    rows = []
    for f in sorted((f for f in facs if f.exists_in(year)), key=lambda f: f.facility_id):
        row = {
            "facility_id": f.facility_id, "year": year, "type": f.type, "name": f.name,
            **f.attributes(year),
            "county_code": f.county_code, "township_code": f.township_code,
            "village_code": f.village_code, "address": f.address,
            "location_precision": f.location_precision, "provenance": "synthetic",
            "lon": f.lon, "lat": f.lat,
        }
        rows.append(row)
    df = pd.DataFrame(rows)
    for col in ("capacity", "building_area_m2", "daily_visitors"):
        df[col] = df[col].astype("Int64")
    gdf = gpd.GeoDataFrame(df[list(FACILITY_COLUMNS)],
                           geometry=gpd.points_from_xy(df["lon"], df["lat"]), crs=STORAGE_CRS)
    return gdf
