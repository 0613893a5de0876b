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

import threading
import weakref
from collections import OrderedDict
from typing import Any

import numpy as np
import pandas as pd

from coverage._errors import EvaluationError
from coverage.targets.spec import SAME_LEVEL, FacilitySelector
from layers.dataset import POPULATION_COLUMNS, Dataset
from layers.settings import CITY_CODE, CITY_NAME

PROVENANCE_RANK: dict[str, int] = {"real": 0, "derived": 1, "estimated": 2, "synthetic": 3}
_RANK_NAME = {v: k for k, v in PROVENANCE_RANK.items()}
PROVENANCE_NAMES = np.array([_RANK_NAME[i] for i in range(4)], dtype=object)

#: facility column holding the code of the unit of each level
UNIT_KEY: dict[str, str] = {"village": "village_code", "township": "township_code", "county": "county_code"}

_UNIT_ATTRS = (
    "township_type", "is_urban", "committee_type", "urban_rural_code", "pop_urban",
    *POPULATION_COLUMNS, "pop_provenance",
)
_ID_COLUMNS = ("unit_code", "unit_name", "county_code", "county_name", "township_code")
_TEXT_FACILITY_COLS = ("type", "tier", "level", "county_code", "township_code", "village_code",
                       "provenance", "place_kind")
_ID_FACILITY_COLS = ("facility_id", "serves_place_id")


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
        self._arrays: dict[str, dict[str, np.ndarray]] = {}
        self._parents: dict[tuple[str, str], np.ndarray] = {}
        self._conditions: dict[tuple, tuple[np.ndarray, np.ndarray]] = {}
        self._indicators_raw = ds.indicators
        self._indicators: dict[str, np.ndarray] | None = None
        self._indicator_tables: dict[tuple[int, str, str], pd.DataFrame] = {}

    def indicator_table(self, year: int, indicator: str, level: str) -> pd.DataFrame:
        """Indicator rows of (year, indicator, level) indexed by unit code (cached per key).

        Columns ``value``, ``provenance`` and ``prov_rank`` (−1 when not a known value).
        Duplicate rows for a unit: the last one wins (layer validation rejects duplicates).
        """
        if self._indicators is None:
            ind = self._indicators_raw
            if ind is None or ind.empty:
                self._indicators = {}
            else:
                self._indicators = {
                    "year": pd.to_numeric(ind["year"], errors="coerce").to_numpy(dtype=float),
                    "indicator": ind["indicator"].to_numpy(dtype=object),
                    "unit_level": ind["unit_level"].to_numpy(dtype=object),
                    "unit_code": ind["unit_code"].astype(str).to_numpy(dtype=object),
                    "value": pd.to_numeric(ind["value"], errors="coerce").to_numpy(dtype=float),
                    "provenance": (ind["provenance"].to_numpy(dtype=object, na_value="")
                                   if "provenance" in ind.columns else np.full(len(ind), "", dtype=object)),
                }
        key = (int(year), indicator, level)
        if key not in self._indicator_tables:
            raw = self._indicators
            if raw:
                m = (raw["year"] == key[0]) & (raw["indicator"] == indicator) & (raw["unit_level"] == level)
                idx = np.flatnonzero(m)
            else:
                idx = np.zeros(0, dtype=np.int64)
            codes = pd.Index(raw["unit_code"][idx] if raw else np.zeros(0, dtype=object), dtype=object)
            keep = ~codes.duplicated(keep="last")
            prov = raw["provenance"][idx][keep] if raw else np.zeros(0, dtype=object)
            self._indicator_tables[key] = pd.DataFrame({
                "value": raw["value"][idx][keep] if raw else np.zeros(0),
                "provenance": prov,
                "prov_rank": np.array([PROVENANCE_RANK.get(p, -1) for p in prov], dtype=np.int64),
            }, index=codes[keep])
        return self._indicator_tables[key]

    def __getitem__(self, level: str) -> pd.DataFrame:
        return self.tables[level]

    def parent_positions(self, member_level: str, parent_level: str) -> np.ndarray:
        """Row of the enclosing ``parent_level`` unit for each ``member_level`` unit (−1: none)."""
        key = (member_level, parent_level)
        if key not in self._parents:
            members = self.tables[member_level]
            if parent_level == "city":
                pos = np.zeros(len(members), dtype=np.int64)
            else:
                col = {"county": "county_code", "township": "township_code"}[parent_level]
                pos = self.tables[parent_level].index.get_indexer(pd.Index(members[col].to_numpy(dtype=object)))
            self._parents[key] = pos
        return self._parents[key]

    def condition_masks(self, condition, level: str) -> tuple[np.ndarray, np.ndarray]:
        """(applicable, no_data) masks of a unit condition over ``units[level]`` (cached).

        A unit whose condition fields are missing (NaN) is ``no_data``, not "not applicable".
        """
        key = (condition, level)
        if key not in self._conditions:
            units = self.tables[level]
            n = len(units)
            if condition is None:
                self._conditions[key] = (np.ones(n, dtype=bool), np.zeros(n, dtype=bool))
            else:
                applicable = condition.mask(units)
                nodata = units[sorted(condition.fields)].isna().any(axis=1).to_numpy()
                self._conditions[key] = (applicable & ~nodata, nodata)
        return self._conditions[key]

    def arrays(self, level: str) -> dict[str, np.ndarray]:
        """The id columns of a level as object arrays (cached: rows are built from them)."""
        if level not in self._arrays:
            df = self.tables[level]
            self._arrays[level] = {c: df[c].to_numpy(dtype=object) for c in _ID_COLUMNS}
        return self._arrays[level]


class YearIndex:
    """Facilities of one inventory year, with memoised per-unit counts and sums.

    Each facility's position in every unit table (by its code attributes) is computed
    once; counts, sums and worst provenance per unit are then ``numpy.bincount`` /
    ``maximum.at`` over those positions. Every per-unit method returns an array aligned
    with the rows of ``units[level]``.

    Parameters
    ----------
    ds : Dataset
    year : int
        An inventory year present in ``ds.facilities``.
    units : UnitTables
        The unit tables of ``ds`` (positions refer to their rows).
    """

    def __init__(self, ds: Dataset, year: int, units: UnitTables):
        if year not in ds.years:
            raise EvaluationError(f"year {year} is not an inventory year of dataset {ds.name!r} ({ds.years})")
        self.year = int(year)
        self.units = units
        raw = ds.facilities_for(year)
        n = len(raw)
        cols: dict[str, np.ndarray] = {}
        self._codes: dict[str, tuple[np.ndarray, dict[str, int]]] = {}
        for c in _TEXT_FACILITY_COLS:
            codes, values = _text_codes(raw, c)
            cols[c] = values[codes]
            # small integer codes: comparing ints is much cheaper than comparing text
            self._codes[c] = (codes, {u: i for i, u in enumerate(values)})
        for c in _ID_FACILITY_COLS:  # unique ids: no per-value cleaning (the loader normalises)
            cols[c] = (raw[c].to_numpy(dtype=object, na_value="") if c in raw.columns
                       else np.full(n, "", dtype=object))
        for c in ("capacity", "building_area_m2", "daily_visitors"):
            cols[c] = pd.to_numeric(raw[c], errors="coerce").to_numpy(dtype=float) if c in raw.columns else np.full(n, np.nan)
        for c in ("has_reading_area", "is_inclusive"):
            cols[c] = raw[c].to_numpy(dtype=object) if c in raw.columns else np.full(n, None, dtype=object)
        is_room = self._is("type", "mother_baby_room")
        served = pd.Index(cols["serves_place_id"][is_room]).difference(pd.Index([""]))
        cols["has_mother_baby_room"] = self._is("type", "public_place") & pd.Index(cols["facility_id"]).isin(served)
        pcodes, plookup = self._codes["provenance"]
        rank_of_code = np.array([PROVENANCE_RANK.get(u, 3) for u in sorted(plookup, key=plookup.get)],
                                dtype=np.int64)
        self._rank = rank_of_code[pcodes]
        self.columns = cols
        self.n = n
        self.positions: dict[str, np.ndarray] = {"city": np.zeros(n, dtype=np.int64)}
        for level, col in UNIT_KEY.items():
            self.positions[level] = units[level].index.get_indexer(pd.Index(cols[col]))
        self.layer_provenance = (
            ds.layer_provenance.get(f"facilities_{year}") or ds.layer_provenance.get("facilities")
            or worst_provenance(list(plookup)) or "synthetic"
        )
        self._memo: dict[tuple, Any] = {}
        self._frame: pd.DataFrame | None = None

    @property
    def facilities(self) -> pd.DataFrame:
        """This year's facilities as a plain DataFrame (no geometry; built on first use)."""
        if self._frame is None:
            self._frame = pd.DataFrame({**self.columns, "prov_rank": self._rank})
        return self._frame

    def _rows(self, idx: np.ndarray, fields) -> pd.DataFrame:
        """The columns a condition reads, for the facilities at positions ``idx``."""
        return pd.DataFrame({f: self.columns[f][idx] for f in fields if f in self.columns})

    @property
    def layer_rank(self) -> int:
        """Provenance rank of the facility layer of this year."""
        return PROVENANCE_RANK.get(self.layer_provenance, 3)

    # -------------------------------------------------------------------- selection
    def mask(self, sel: FacilitySelector, unit_level: str, condition=None, numerator=None) -> np.ndarray:
        """Boolean mask over this year's facilities: ``sel`` (``level = "same"`` → ``unit_level``),
        then ``condition`` and ``numerator`` (facility conditions)."""
        key = ("mask", sel, unit_level, condition, numerator)
        if key not in self._memo:
            if numerator is not None:
                m = self.mask(sel, unit_level, condition).copy()
                idx = np.flatnonzero(m)
                m[idx] = numerator.mask(self._rows(idx, numerator.fields))
            elif condition is not None:
                m = self.mask(sel, unit_level).copy()
                idx = np.flatnonzero(m)
                m[idx] = condition.mask(self._rows(idx, condition.fields))
            else:
                m = self._is("type", sel.type)
                if sel.tier is not None:
                    m &= self._is("tier", sel.tier)
                if sel.level is not None:
                    m &= self._is("level", unit_level if sel.level == SAME_LEVEL else sel.level)
            self._memo[key] = m
        return self._memo[key]

    def _is(self, col: str, value: str) -> np.ndarray:
        codes, lookup = self._codes[col]
        return codes == lookup.get(value, -2)

    def select(self, sel: FacilitySelector, unit_level: str, condition=None) -> pd.DataFrame:
        """The matching facilities (plain DataFrame, no geometry)."""
        return self.facilities[self.mask(sel, unit_level, condition)]

    def _pos(self, m: np.ndarray, unit_level: str) -> tuple[np.ndarray, np.ndarray]:
        pos = self.positions[unit_level][m]
        keep = pos >= 0
        return pos[keep], keep

    def count(self, sel: FacilitySelector, unit_level: str, condition=None, numerator=None) -> np.ndarray:
        """Number of matching facilities per unit (float array aligned with ``units[level]``)."""
        key = ("count", sel, unit_level, condition, numerator)
        if key not in self._memo:
            pos, _ = self._pos(self.mask(sel, unit_level, condition, numerator), unit_level)
            self._memo[key] = np.bincount(pos, minlength=len(self.units[unit_level])).astype(float)
        return self._memo[key]

    def total(self, sel: FacilitySelector, column: str, unit_level: str) -> np.ndarray:
        """Σ ``column`` of matching facilities per unit (missing values count as 0)."""
        key = ("total", sel, column, unit_level)
        if key not in self._memo:
            m = self.mask(sel, unit_level)
            pos, keep = self._pos(m, unit_level)
            w = np.nan_to_num(self.columns[column][m][keep].astype(float), nan=0.0)
            self._memo[key] = np.bincount(pos, weights=w, minlength=len(self.units[unit_level]))
        return self._memo[key]

    def missing_count(self, sel: FacilitySelector, column: str, unit_level: str) -> np.ndarray:
        """Number of matching facilities per unit whose ``column`` is missing."""
        key = ("missing", sel, column, unit_level)
        if key not in self._memo:
            m = self.mask(sel, unit_level)
            pos, keep = self._pos(m, unit_level)
            w = np.isnan(self.columns[column][m][keep].astype(float)).astype(float)
            self._memo[key] = np.bincount(pos, weights=w, minlength=len(self.units[unit_level])).astype(np.int64)
        return self._memo[key]

    def provenance_rank(self, sel: FacilitySelector, unit_level: str) -> np.ndarray:
        """Worst record provenance (rank 0 real … 3 synthetic) of each unit's matching facilities.

        Units without a matching facility get the facility layer's provenance: the
        absence of a facility rests on the inventory.
        """
        key = ("prov", sel, unit_level)
        if key not in self._memo:
            m = self.mask(sel, unit_level)
            pos, keep = self._pos(m, unit_level)
            out = np.full(len(self.units[unit_level]), -1, dtype=np.int64)
            np.maximum.at(out, pos, self._rank[m][keep])
            out[out < 0] = self.layer_rank
            self._memo[key] = out
        return self._memo[key]

    def provenance(self, sel: FacilitySelector, unit_level: str) -> np.ndarray:
        """As :meth:`provenance_rank`, as names (``real`` … ``synthetic``)."""
        return PROVENANCE_NAMES[self.provenance_rank(sel, unit_level)]


def _text_codes(df: pd.DataFrame, col: str) -> tuple[np.ndarray, np.ndarray]:
    """Integer codes and cleaned distinct values of a text column.

    ``values[codes]`` is the column with missing → "" and blanks stripped. Works on the
    distinct values, so a column of 200,000 repeated type names costs a handful of string
    operations.
    """
    if col not in df.columns:
        return np.zeros(len(df), dtype=np.int64), np.array([""], dtype=object)
    codes, uniques = pd.factorize(df[col].to_numpy(dtype=object, na_value=""), use_na_sentinel=True)
    clean = [v.strip() if isinstance(v, str) else ("" if v is None else str(v)) for v in uniques] + [""]
    first: dict[str, int] = {}  # values equal after cleaning share a code
    remap = np.array([first.setdefault(v, len(first)) for v in clean], dtype=np.int64)
    return remap[codes], np.array(list(first), dtype=object)  # code −1 (missing) → remap[−1] = ""


def _text_col(df: pd.DataFrame, col: str) -> np.ndarray:
    """A text column as an object array: missing → "", surrounding blanks stripped."""
    codes, values = _text_codes(df, col)
    return values[codes]


# ----------------------------------------------------------------------------- caches
_MAX_CACHED = 24
_UNITS: OrderedDict[tuple, tuple[weakref.ref, UnitTables]] = OrderedDict()
_YEARS: OrderedDict[tuple, tuple[weakref.ref, YearIndex]] = OrderedDict()


_LOCK = threading.RLock()


def drop_dead(cache: OrderedDict) -> int:
    """Remove the entries whose dataset is gone (caller holds the cache's lock); return how many.

    Entries hold their dataset weakly and their value strongly: without this, the values of
    datasets that no longer exist (older store revisions, scenario copies) would stay until
    the LRU pushes them out, and a long-running server would grow to the LRU's size.
    """
    dead = [k for k, (ref, _) in cache.items() if ref() is None]
    for k in dead:
        del cache[k]
    return len(dead)


def _cached(cache: OrderedDict, key: tuple, ds: Dataset, build):
    """LRU lookup keyed on (id(ds), revision, …); a weak reference guards against id reuse.

    Thread-safe (the Dash server evaluates from several threads). A miss first drops the
    entries of datasets that no longer exist.
    """
    with _LOCK:
        hit = cache.get(key)
        if hit is not None and hit[0]() is ds:
            cache.move_to_end(key)
            return hit[1]
    value = build()
    with _LOCK:
        drop_dead(cache)
        cache[key] = (weakref.ref(ds), value)
        while len(cache) > _MAX_CACHED:
            cache.popitem(last=False)
    return value


def unit_tables(ds: Dataset) -> UnitTables:
    """Cached :class:`UnitTables` of ``ds`` (per dataset object and revision)."""
    return _cached(_UNITS, (id(ds), ds.revision), ds, lambda: UnitTables(ds))


def year_index(ds: Dataset, year: int) -> YearIndex:
    """Cached :class:`YearIndex` of ``ds`` for ``year`` (per dataset object, revision, year)."""
    return _cached(_YEARS, (id(ds), ds.revision, int(year)), ds,
                   lambda: YearIndex(ds, int(year), unit_tables(ds)))


def clear_caches() -> None:
    """Forget every cached index (benchmarks use this to time a cold run)."""
    with _LOCK:
        _UNITS.clear()
        _YEARS.clear()
