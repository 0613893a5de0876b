"""Synthetic demo indicator table (long format) for the indicator targets of the plans.

No per-unit monitoring values are published in reach, so the embedded dataset carries a
generated table, ``provenance = "synthetic"`` on every row, one row per (year, unit,
indicator) for the years 2020, 2022 and 2024 and the unit level of each indicator in
:data:`layers.vocab.INDICATORS`. ``s`` is the county strength of
:data:`layers.build.facilities.COUNTY_STRENGTH`; ``k`` = 0, 1, 2 for 2020, 2022, 2024.

* `immunisation_rate` (township): N(0.935 + 0.025·s + 0.004·k, 0.028), clipped to
  [0.80, 0.995]; a few townships fall below 0.90.
* `women_share_village_committee` (village, 村委会 only): women / members of a 5–7 member
  committee, women ~ Binomial(members, 0.22 + 0.08·s + 0.03·k): around 25–35 % in 2024, many
  below the plan's 30 %.
* `women_share_community_committee` (village, 居委会 only): women / members of a 5–9 member
  committee, women = round(members × N(0.48 + 0.01·k, 0.09)): mostly 40–60 %.
* `civilised_family_rate` (township): N(0.78 + 0.08·s + 0.025·k, 0.04), clipped to [0.6, 0.98].
* `elderly_women_health_mgmt_rate` (county): N(0.66 + 0.10·s + 0.02·k, 0.015).
* `developmental_screening_share` (county): screening 乡 health centres / 乡 health centres
  of the county (one per 乡), screening ~ Binomial(n, 0.45 + 0.30·s + 0.07·k).
* `preschool_gross_enrolment` (county): N(0.950 + 0.030·s + 0.004·k, 0.006), at most 0.999.
* `child_social_workers` (township): Poisson(0.6 + 0.5·k·(0.5 + s)), a count of full- or
  part-time child social workers.

Every draw uses a generator seeded by (seed, unit code, indicator, year).
"""

from __future__ import annotations

import zlib

import numpy as np
import pandas as pd

from layers.build.facilities import COUNTY_STRENGTH, YEARS
from layers.vocab import INDICATORS

COLUMNS: tuple[str, ...] = ("year", "unit_level", "unit_code", "indicator", "value", "provenance")


def _rng(seed: int, code: str, indicator: str, year: int) -> np.random.Generator:
    return np.random.default_rng([seed, int(code), zlib.crc32(indicator.encode()), year])


def _value(indicator: str, rng: np.random.Generator, s: float, k: int, unit: dict) -> float:
    if indicator == "immunisation_rate":
        return float(np.clip(rng.normal(0.935 + 0.025 * s + 0.004 * k, 0.028), 0.80, 0.995))
    if indicator == "women_share_village_committee":
        members = int(rng.integers(5, 8))
        return rng.binomial(members, 0.22 + 0.08 * s + 0.03 * k) / members
    if indicator == "women_share_community_committee":
        members = int(rng.integers(5, 10))
        women = int(np.clip(round(members * rng.normal(0.48 + 0.01 * k, 0.09)), 0, members))
        return women / members
    if indicator == "civilised_family_rate":
        return float(np.clip(rng.normal(0.78 + 0.08 * s + 0.025 * k, 0.04), 0.6, 0.98))
    if indicator == "elderly_women_health_mgmt_rate":
        return float(rng.normal(0.66 + 0.10 * s + 0.02 * k, 0.015))
    if indicator == "developmental_screening_share":
        n = max(1, int(unit["n_xiang"]))
        return rng.binomial(n, min(0.98, 0.45 + 0.30 * s + 0.07 * k)) / n
    if indicator == "preschool_gross_enrolment":
        return float(min(0.999, rng.normal(0.950 + 0.030 * s + 0.004 * k, 0.006)))
    if indicator == "child_social_workers":
        return float(rng.poisson(0.6 + 0.5 * k * (0.5 + s)))
    raise ValueError(f"no rule for indicator {indicator!r}")


def build_indicators(counties: pd.DataFrame, townships: pd.DataFrame, villages: pd.DataFrame,
                     seed: int) -> pd.DataFrame:
    """The indicator table, sorted by year, indicator and unit code.

    Parameters
    ----------
    counties, townships, villages : DataFrame
        Unit tables (``code``, ``county_code``, ``township_type``, ``committee_type``).
    seed : int
        Build seed.

    Returns
    -------
    DataFrame
        Columns :data:`COLUMNS`; ``value`` a fraction (0–1) for shares and rates, a count for
        ``child_social_workers``; rounded to 4 decimals.
    """
    n_xiang = townships[townships["township_type"] == "乡"].groupby("county_code").size()
    units = {
        "county": [{"code": c, "county": c, "n_xiang": int(n_xiang.get(c, 0))} for c in counties["code"]],
        "township": [{"code": c, "county": c[:6]} for c in townships["code"]],
    }
    committee = dict(zip(villages["code"], villages["committee_type"]))
    rows = []
    for year in YEARS:
        k = YEARS.index(year)
        for indicator, level in INDICATORS.items():
            if level == "village":
                wanted = ("villagers_committee" if indicator == "women_share_village_committee"
                          else "residents_committee")
                unit_list = [{"code": c, "county": c[:6]} for c in sorted(committee)
                             if committee[c] == wanted]
            else:
                unit_list = units[level]
            for unit in unit_list:
                rng = _rng(seed, unit["code"], indicator, year)
                value = _value(indicator, rng, COUNTY_STRENGTH[unit["county"]], k, unit)
                rows.append((year, level, unit["code"], indicator, round(value, 4), "synthetic"))
    df = pd.DataFrame(rows, columns=list(COLUMNS))
    return df.sort_values(["year", "indicator", "unit_code"]).reset_index(drop=True)
