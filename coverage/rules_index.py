"""Per-dataset unit tables and per-year facility indexes, built once and cached.

Every rule asks the same questions ("how many 示范型 儿童之家 per township in 2024?",
"Σ 托位 per county?"). :class:`YearIndex` answers them with one ``groupby`` per
(selector, unit level) and memoises the answer, so evaluating every target reads each
facility table a handful of times. Indexes are cached per (dataset object, revision,
year); :class:`~layers.dataset.Dataset` bumps ``revision`` on in-place edits.

Facilities are assigned to units by their ``village_code`` / ``township_code`` /
``county_code`` attributes, never by geometry: a facility lying exactly on a township
boundary belongs to the township its record names.
"""

from __future__ import annotations

import weakref
from collections import OrderedDict
from typing import Any

import numpy as np
import pandas as pd

from coverage._errors import EvaluationError
from coverage.targets import SAME_LEVEL, FacilitySelector
from layers.dataset import POPULATION_COLUMNS, Dataset
from layers.settings import CITY_CODE, CITY_NAME

PROVENANCE_RANK: dict[str, int] = {"real": 0, "derived": 1, "estimated": 2, "synthetic": 3}
_RANK_NAME = {v: k for k, v in PROVENANCE_RANK.items()}

#: facility column holding the code of the unit of each level
UNIT_KEY: dict[str, str] = {"village": "village_code", "township": "township_code", "county": "county_code"}

_UNIT_ATTRS = (
    "township_type", "is_urban", "committee_type", "urban_rural_code", "pop_urban",
    *POPULATION_COLUMNS, "pop_provenance",
)
_TEXT_FACILITY_COLS = ("facility_id", "type", "tier", "level", "county_code", "township_code",
                       "village_code", "serves_place_id", "provenance", "place_kind")


def worst_provenance(values) -> str:
    """The least reliable of some provenance values (synthetic > estimated > derived > real)."""
    ranks = [PROVENANCE_RANK.get(str(v), 3) for v in values if isinstance(v, str) and v]
    return _RANK_NAME[max(ranks)] if ranks else ""


class UnitTables:
    """One DataFrame per unit level, indexed by unit code (str), with the standard columns.

    Columns: ``unit_code``, ``unit_name``, ``county_code``, ``county_name``,
    ``township_code`` (own code for townships, parent for villages, empty above) and the
    unit attributes conditions may read (population, ``is_urban``, ``committee_type`` …).
    """

    def __init__(self, ds: Dataset):
        county_names = dict(zip(ds.counties["code"].astype(str), ds.counties["name"].astype(str)))
        self.county_names = county_names
        self.tables: dict[str, pd.DataFrame] = {}
        self.population_provenance: dict[str, str] = {}
        for level, gdf in (("county", ds.counties), ("township", ds.townships), ("village", ds.villages)):
            df = pd.DataFrame({"unit_code": gdf["code"].astype(str).to_numpy()})
            df["unit_name"] = gdf["name"].astype(str).to_numpy()
            if level == "county":
                df["county_code"] = df["unit_code"]
            else:
                df["county_code"] = gdf["county_code"].astype(str).to_numpy()
            df["county_name"] = df["county_code"].map(county_names).fillna("")
            if level == "township":
                df["township_code"] = df["unit_code"]
            elif level == "village":
                df["township_code"] = gdf["township_code"].astype(str).to_numpy()
            else:
                df["township_code"] = ""
            for col in _UNIT_ATTRS:
                if col in gdf.columns:
                    df[col] = gdf[col].to_numpy()
            df.index = pd.Index(df["unit_code"].to_numpy(), name="code")
            self.tables[level] = df
            pp = gdf["pop_provenance"] if "pop_provenance" in gdf.columns else pd.Series(dtype=object)
            self.population_provenance[level] = worst_provenance(pp.unique()) or ds.layer_provenance.get(
                {"county": "counties", "township": "townships", "village": "villages"}[level], "")
        city = ds.city
        crow = {"unit_code": CITY_CODE, "unit_name": city.get("name", CITY_NAME), "county_code": "",
                "county_name": "", "township_code": ""}
        for col in POPULATION_COLUMNS:
            if col in ds.counties.columns:
                crow[col] = float(pd.to_numeric(ds.counties[col], errors="coerce").sum(min_count=1))
        self.tables["city"] = pd.DataFrame([crow], index=pd.Index([CITY_CODE], name="code"))
        self.population_provenance["city"] = self.population_provenance["county"]
        self._indicators_raw = ds.indicators
        self._indicators: dict[tuple[int, str, str], pd.DataFrame] | None = None

    def indicator_table(self, year: int, indicator: str, level: str) -> pd.DataFrame:
        """Indicator rows of (year, indicator, level) indexed by unit code: ``value``, ``provenance``.

        Duplicate rows for a unit: the last one wins (layer validation rejects duplicates).
        """
        if self._indicators is None:
            self._indicators = {}
            ind = self._indicators_raw
            if ind is not None and not ind.empty:
                df = pd.DataFrame({
                    "year": pd.to_numeric(ind["year"], errors="coerce").to_numpy(),
                    "indicator": ind["indicator"].astype(str).to_numpy(),
                    "unit_level": ind["unit_level"].astype(str).to_numpy(),
                    "unit_code": ind["unit_code"].astype(str).to_numpy(),
                    "value": pd.to_numeric(ind["value"], errors="coerce").to_numpy(dtype=float),
                    "provenance": (ind["provenance"].astype(str).to_numpy() if "provenance" in ind.columns
                                   else np.full(len(ind), "", dtype=object)),
                })
                for key, sub in df.groupby(["year", "indicator", "unit_level"], sort=False):
                    tab = sub.drop_duplicates("unit_code", keep="last").set_index("unit_code")
                    self._indicators[(int(key[0]), key[1], key[2])] = tab[["value", "provenance"]]
        empty = pd.DataFrame({"value": pd.Series(dtype=float), "provenance": pd.Series(dtype=object)})
        return self._indicators.get((int(year), indicator, level), empty)

    def __getitem__(self, level: str) -> pd.DataFrame:
        return self.tables[level]


class YearIndex:
    """Facilities of one inventory year with memoised counts and sums per unit.

    Parameters
    ----------
    ds : Dataset
    year : int
        An inventory year present in ``ds.facilities``.
    """

    def __init__(self, ds: Dataset, year: int):
        if year not in ds.years:
            raise EvaluationError(f"year {year} is not an inventory year of dataset {ds.name!r} ({ds.years})")
        self.year = int(year)
        raw = ds.facilities_for(year)
        fac = pd.DataFrame({c: _text_col(raw, c) for c in _TEXT_FACILITY_COLS})
        for col in ("capacity", "building_area_m2", "daily_visitors"):
            fac[col] = pd.to_numeric(raw[col], errors="coerce").to_numpy() if col in raw.columns else np.nan
        for col in ("has_reading_area", "is_inclusive"):
            fac[col] = raw[col].to_numpy() if col in raw.columns else None
        served = set(fac.loc[fac["type"] == "mother_baby_room", "serves_place_id"]) - {""}
        fac["has_mother_baby_room"] = (fac["type"] == "public_place") & fac["facility_id"].isin(served)
        fac["city_code"] = CITY_CODE
        fac["prov_rank"] = fac["provenance"].map(PROVENANCE_RANK).fillna(3).astype(int)
        self.facilities = fac
        self.layer_provenance = (
            ds.layer_provenance.get(f"facilities_{year}") or ds.layer_provenance.get("facilities")
            or worst_provenance(fac["provenance"].unique()) or "synthetic"
        )
        self._memo: dict[tuple, Any] = {}

    # -------------------------------------------------------------------- selection
    def select(self, sel: FacilitySelector, unit_level: str, condition=None) -> pd.DataFrame:
        """Facilities matching ``sel`` (``level = "same"`` → ``unit_level``) and ``condition``."""
        key = ("select", sel, unit_level, condition)
        if key not in self._memo:
            fac = self.facilities
            mask = (fac["type"] == sel.type).to_numpy().copy()
            if sel.tier is not None:
                mask &= (fac["tier"] == sel.tier).to_numpy()
            if sel.level is not None:
                mask &= (fac["level"] == (unit_level if sel.level == SAME_LEVEL else sel.level)).to_numpy()
            sub = fac[mask]
            if condition is not None:
                sub = sub[condition.mask(sub)]
            self._memo[key] = sub
        return self._memo[key]

    def _group(self, sub: pd.DataFrame, unit_level: str) -> pd.core.groupby.DataFrameGroupBy:
        return sub.groupby("city_code" if unit_level == "city" else UNIT_KEY[unit_level], sort=False)

    def count(self, sel: FacilitySelector, unit_level: str, condition=None, numerator=None) -> pd.Series:
        """Number of matching facilities per unit code (units without any are absent)."""
        key = ("count", sel, unit_level, condition, numerator)
        if key not in self._memo:
            sub = self.select(sel, unit_level, condition)
            if numerator is not None:
                sub = sub[numerator.mask(sub)]
            self._memo[key] = self._group(sub, unit_level).size()
        return self._memo[key]

    def total(self, sel: FacilitySelector, column: str, unit_level: str) -> pd.Series:
        """Σ ``column`` of matching facilities per unit code (missing values count as 0)."""
        key = ("total", sel, column, unit_level)
        if key not in self._memo:
            sub = self.select(sel, unit_level)
            self._memo[key] = self._group(sub, unit_level)[column].sum(min_count=0)
        return self._memo[key]

    def missing_count(self, sel: FacilitySelector, column: str, unit_level: str) -> pd.Series:
        """Number of matching facilities per unit whose ``column`` is missing."""
        key = ("missing", sel, column, unit_level)
        if key not in self._memo:
            sub = self.select(sel, unit_level)
            self._memo[key] = sub[column].isna().groupby(sub[self._key(unit_level)]).sum()
        return self._memo[key]

    def provenance(self, sel: FacilitySelector, unit_level: str, codes: pd.Index) -> np.ndarray:
        """Worst record provenance of the matching facilities of each unit in ``codes``.

        Units without a matching facility get the facility layer's provenance: the
        absence of a facility rests on the inventory.
        """
        key = ("prov", sel, unit_level)
        if key not in self._memo:
            sub = self.select(sel, unit_level)
            self._memo[key] = self._group(sub, unit_level)["prov_rank"].max()
        ranks = self._memo[key].reindex(codes)
        base = PROVENANCE_RANK.get(self.layer_provenance, 3)
        vals = np.maximum(ranks.fillna(base).to_numpy(dtype=int), 0)
        names = np.array([_RANK_NAME[i] for i in range(4)], dtype=object)
        return names[vals]

    @staticmethod
    def _key(unit_level: str) -> str:
        return "city_code" if unit_level == "city" else UNIT_KEY[unit_level]


def _text_col(df: pd.DataFrame, col: str) -> np.ndarray:
    if col not in df.columns:
        return np.full(len(df), "", dtype=object)
    return df[col].astype("string").fillna("").str.strip().to_numpy(dtype=object)


# ----------------------------------------------------------------------------- caches
_MAX_CACHED = 24
_UNITS: OrderedDict[tuple, tuple[weakref.ref, UnitTables]] = OrderedDict()
_YEARS: OrderedDict[tuple, tuple[weakref.ref, YearIndex]] = OrderedDict()


def _cached(cache: OrderedDict, key: tuple, ds: Dataset, build):
    hit = cache.get(key)
    if hit is not None and hit[0]() is ds:
        cache.move_to_end(key)
        return hit[1]
    value = build()
    cache[key] = (weakref.ref(ds), value)
    while len(cache) > _MAX_CACHED:
        cache.popitem(last=False)
    return value


def unit_tables(ds: Dataset) -> UnitTables:
    """Cached :class:`UnitTables` of ``ds`` (per dataset object and revision)."""
    return _cached(_UNITS, (id(ds), ds.revision), ds, lambda: UnitTables(ds))


def year_index(ds: Dataset, year: int) -> YearIndex:
    """Cached :class:`YearIndex` of ``ds`` for ``year`` (per dataset object, revision, year)."""
    return _cached(_YEARS, (id(ds), ds.revision, int(year)), ds, lambda: YearIndex(ds, int(year)))


def clear_caches() -> None:
    """Forget every cached index (benchmarks use this to time a cold run)."""
    _UNITS.clear()
    _YEARS.clear()
