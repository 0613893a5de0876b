"""Estimated population of townships and villages, split from the 2020 census county totals.

No township or village population is published in reach (SOURCES.md), so each county's
census totals are split to its villages/communities, and a township is the sum of its
villages. The split, per county and per population column:

1. **Urban / rural pools.** The census urban population of the county (``pop_urban`` =
   ``POPU × POPU_URB``) goes to its urban units (``is_urban``), the rest to its rural units.
   If a county had no unit of one kind, its whole total goes to the other.
2. **Weights inside a pool** (:data:`CLASS_WEIGHT`): by 2016 urban-rural code — 111 主城区
   1.6, 112 城乡结合区 1.0, 121 镇中心区 1.2, 122 镇乡结合区 0.8, 210 乡中心区 1.3, 220 村庄 1.0 —
   or, without a code, 1.2 for a 居委会 (urban) and 1.4 for a 村委会 (most are villages merged
   after 2019, hence larger); rural units are then scaled by township type
   (:data:`TOWNSHIP_TYPE_WEIGHT`: 街道 1.15, 镇 1.0, 乡 0.85 — remote 乡 villages are smaller).
3. **Deterministic variation.** Each weight is multiplied by exp(0.25·z), z a standard normal
   drawn from a generator seeded by (seed, village code), so units of one class differ.
4. **Age structure.** For the age/sex columns the weight is further multiplied by
   :data:`AGE_FACTORS` (urban units have relatively more young children and fewer 65+); the
   county totals of every column still come out exact.
5. **Integer counts.** Largest-remainder rounding, first of the county total to the two
   pools, then of each pool to its units (ties broken by village code), so every sum is exact:
   Σ villages = township, Σ townships = census county, and the urban units of a county hold
   exactly its census urban population.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from layers.dataset import POPULATION_COLUMNS

#: weight of a village by its 2016 urban-rural code, or by committee type without a code
CLASS_WEIGHT: dict[str, float] = {
    "111": 1.6, "112": 1.0, "121": 1.2, "122": 0.8, "210": 1.3, "220": 1.0,
    "est_residents_committee": 1.2, "est_villagers_committee": 1.4,
}
#: extra factor on rural units by the type of their township
TOWNSHIP_TYPE_WEIGHT: dict[str, float] = {"街道": 1.15, "镇": 1.0, "乡": 0.85}
#: (urban factor, rural factor) per population column, relative to pop_total
AGE_FACTORS: dict[str, tuple[float, float]] = {
    "pop_total": (1.0, 1.0),
    "pop_under3": (1.12, 1.0),
    "pop_under18": (1.05, 1.0),
    "pop_women": (1.0, 1.0),
    "pop_65plus": (0.80, 1.0),
}
#: spread of the deterministic per-village variation (sigma of the log weight)
VARIATION_SIGMA: float = 0.25


def largest_remainder(total: int, weights: np.ndarray) -> np.ndarray:
    """Split an integer total proportionally to weights into integers summing exactly to it.

    Each share gets floor(quota); the units left over go one each to the largest fractional
    parts, earlier positions first on ties.

    Parameters
    ----------
    total : int
        Non-negative integer to split.
    weights : ndarray
        Non-negative weights, at least one positive.

    Returns
    -------
    ndarray of int64
        Same length as ``weights``, summing to ``total``.
    """
    weights = np.asarray(weights, dtype=float)
    if total < 0 or weights.size == 0 or (weights < 0).any() or weights.sum() <= 0:
        raise ValueError("largest_remainder needs total >= 0 and non-negative weights with a positive sum")
    quota = total * weights / weights.sum()
    base = np.floor(quota).astype(np.int64)
    left = int(total - base.sum())
    order = np.lexsort((np.arange(weights.size), -(quota - base)))
    base[order[:left]] += 1
    return base


def village_weights(villages: pd.DataFrame, township_types: pd.Series, seed: int) -> np.ndarray:
    """Base weight of every village (steps 2 and 3 of the module doc), in row order.

    Parameters
    ----------
    villages : DataFrame
        Village table (``code``, ``township_code``, ``committee_type``, ``urban_rural_code``,
        ``is_urban``).
    township_types : Series
        Township code → ``街道``/``镇``/``乡``.
    seed : int
        Build seed.
    """
    ur = villages["urban_rural_code"].fillna("").astype(str)
    key = ur.where(ur != "", "est_" + villages["committee_type"].astype(str))
    w = key.map(CLASS_WEIGHT).astype(float).to_numpy()
    ttype = villages["township_code"].map(township_types)
    rural_factor = ttype.map(TOWNSHIP_TYPE_WEIGHT).astype(float).to_numpy()
    w = np.where(villages["is_urban"].to_numpy(bool), w, w * rural_factor)
    z = np.array([np.random.default_rng([seed, int(code), 1]).standard_normal()
                  for code in villages["code"]])
    return w * np.exp(VARIATION_SIGMA * z)


def split_population(villages: pd.DataFrame, townships: pd.DataFrame,
                     counties: pd.DataFrame, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Population columns for villages and townships (method in the module docstring).

    Parameters
    ----------
    villages, townships : DataFrame
        Unit tables (``townships`` needs ``code`` and ``township_type``).
    counties : DataFrame
        ``code``, the five population columns and ``pop_urban`` (census, exact).
    seed : int
        Build seed.

    Returns
    -------
    (villages, townships)
        Copies with integer ``pop_*`` columns and ``pop_provenance = "estimated"``.
    """
    v = villages.copy().reset_index(drop=True)
    base = village_weights(v, townships.set_index("code")["township_type"], seed)
    urban = v["is_urban"].to_numpy(bool)
    for col in POPULATION_COLUMNS:
        v[col] = np.zeros(len(v), dtype=np.int64)
    for county in counties.itertuples():
        in_county = (v["county_code"] == county.code).to_numpy()
        urban_share = county.pop_urban / county.pop_total
        pools = [(urban & in_county, urban_share, 0), (~urban & in_county, 1.0 - urban_share, 1)]
        pools = [p for p in pools if p[0].any()]
        for col in POPULATION_COLUMNS:
            # stage 1: the county total to the urban and rural pools (integers)
            pool_weights = np.array([share * AGE_FACTORS[col][kind] for _, share, kind in pools])
            pool_totals = largest_remainder(int(getattr(county, col)), pool_weights)
            # stage 2: each pool total to its units by weight
            for (mask, _share, _kind), pool_total in zip(pools, pool_totals):
                idx = np.flatnonzero(mask)
                v.loc[idx, col] = largest_remainder(int(pool_total), base[idx])
    v["pop_provenance"] = "estimated"
    sums = v.groupby("township_code")[list(POPULATION_COLUMNS)].sum()
    t = townships.copy()
    for col in POPULATION_COLUMNS:
        t[col] = t["code"].map(sums[col]).fillna(0).astype("int64")
    t["pop_provenance"] = "estimated"
    _check_consistency(v, "village")
    _check_consistency(t, "township")
    return v, t


def _check_consistency(df: pd.DataFrame, level: str) -> None:
    bad = df[(df["pop_under3"] > df["pop_under18"])
             | (df["pop_women"] > df["pop_total"])
             | (df["pop_under18"] + df["pop_65plus"] > df["pop_total"])
             | (df["pop_total"] <= 0)]
    if not bad.empty:
        msg = f"population split gave inconsistent {level} {bad['code'].iloc[0]}"
        raise RuntimeError(msg)
