"""Trend over the inventory years and the 预计达标困难 early warning, worked by hand."""

from __future__ import annotations

import numpy as np
import pytest

from coverage.targets import linear_projection, trend
from tests.test_rules import C1, C2, T1, T2, T3, T4, V1, V3, V4, fac, make_target, toy_dataset

CITY = "331100"


def _inventory() -> dict[int, list[dict]]:
    """托位 in T1 (V1) and T4 (V4), and 儿童之家 spreading over the villages, per year."""
    return {
        2020: [fac("CC1", "childcare", V1, capacity=30.0), fac("CC4", "childcare", V4, capacity=30.0),
               fac("H1", "child_home", V1, tier="basic")],
        2022: [fac("CC1", "childcare", V1, capacity=40.0), fac("CC4", "childcare", V4, capacity=50.0),
               fac("H1", "child_home", V1, tier="basic"), fac("H3", "child_home", V3, tier="basic")],
        2024: [fac("CC1", "childcare", V1, capacity=44.0), fac("CC4", "childcare", V4, capacity=70.0),
               fac("H1", "child_home", V1, tier="basic"), fac("H3", "child_home", V3, tier="basic"),
               fac("H4", "child_home", V4, tier="basic")],
    }


def test_linear_projection_by_hand():
    slope, proj = linear_projection([2020, 2022, 2024], np.array([[1.0, np.nan, 3.0], [np.nan, np.nan, 2.0],
                                                                   [3.0, 4.0, 4.4]]), 2025)
    # row 0: two points → slope 0.5/yr, 3.0 + 0.5 = 3.5
    assert slope[0] == pytest.approx(0.5) and proj[0] == pytest.approx(3.5)
    # row 1: one point → no line
    assert np.isnan(slope[1]) and np.isnan(proj[1])
    # row 2: x − 2022 = (−2, 0, 2), ȳ = 3.8, slope = (1.6 + 1.2)/8 = 0.35, 2025 → 3.8 + 3 × 0.35 = 4.85
    assert slope[2] == pytest.approx(0.35) and proj[2] == pytest.approx(4.85)


def test_capacity_trend_flags_units_that_will_miss_4_5_by_2025():
    t = make_target("capacity_ratio", id="slots", unit_level=["township", "county", "city"],
                    plan_levels=["county", "city"], facility={"type": "childcare"}, threshold=4.5)
    tr = trend(toy_dataset(_inventory()), t)
    assert tr.years == [2020, 2022, 2024]
    u = tr.units.set_index("unit_code")
    # T4: 30, 50, 70 托位 for 20,000 → 1.5, 2.5, 3.5; slope 0.5 → 4.0 in 2025 < 4.5
    assert u.loc[T4, ["actual_2020", "actual_2022", "actual_2024"]].tolist() == pytest.approx([1.5, 2.5, 3.5])
    assert u.loc[T4, "projected"] == pytest.approx(4.0) and u.loc[T4, "at_risk"]
    assert u.loc[T4, "risk_label"] == "预计达标困难"
    # T1: 3.0, 4.0, 4.4 → 4.85 in 2025: not met today, but on track
    assert u.loc[T1, "status_2024"] == "not_met" and u.loc[T1, "projected"] == pytest.approx(4.85)
    assert not u.loc[T1, "at_risk"] and u.loc[T1, "risk_label"] == "预计可达标"
    # T2: never any 托位 → flat at 0
    assert u.loc[T2, "slope_per_year"] == 0 and u.loc[T2, "at_risk"]
    # T3: no residents → not applicable, never flagged
    assert u.loc[T3, "latest_status"] == "not_applicable" and not u.loc[T3, "at_risk"]
    assert u.loc[T3, "risk_label"] == ""
    # county 331121 is T4; the city: 60, 90, 114 托位 for 39,999 people
    assert u.loc[C2, "projected"] == pytest.approx(4.0) and u.loc[C2, "at_risk"]
    city = np.array([60, 90, 114]) / 39999 * 1000
    assert u.loc[CITY, ["actual_2020", "actual_2022", "actual_2024"]].tolist() == pytest.approx(city)
    roll = tr.rollup.set_index(["level", "unit_code"])
    assert roll.loc[("city", CITY), "at_risk"] and roll.loc[("county", C2), "at_risk"]
    assert roll.loc[("county", C1), "at_risk"]  # 40/19,999 → 2.2 in 2024, far from 4.5


def test_every_unit_trend_rolls_up_as_share_met():
    t = make_target("presence", id="homes", unit_level="village", facility={"type": "child_home"}, threshold=1)
    tr = trend(toy_dataset(_inventory()), t)
    roll = tr.rollup.set_index(["level", "unit_code"])
    # villages with a home: 1, 2, 3 of 5 → 0.2, 0.4, 0.6; slope 0.1 → 0.7 in 2025 < 1
    city = roll.loc[("city", CITY)]
    assert [city["met_share_2020"], city["met_share_2022"], city["met_share_2024"]] == pytest.approx([0.2, 0.4, 0.6])
    assert city["projected_met_share"] == pytest.approx(0.7) and city["at_risk"]
    # county 331102 (V1, V2, V3): 1/3, 2/3, 2/3 → ȳ = 5/9, slope 1/12 → 5/9 + 3/12 ≈ 0.806 < 1
    assert roll.loc[("county", C1), "projected_met_share"] == pytest.approx(5 / 9 + 3 / 12)
    assert roll.loc[("county", C1), "at_risk"]
    u = tr.units.set_index("unit_code")
    # V4 got its home in 2024: 0, 0, 1 → slope 0.25, 2025 → 1/3 + 0.75 = 1.083 ≥ 1: met and on track
    assert u.loc[V4, "projected"] == pytest.approx(1 / 3 + 0.75) and not u.loc[V4, "at_risk"]


def test_single_year_gives_no_line():
    t = make_target("presence", id="homes", unit_level="village", facility={"type": "child_home"}, threshold=1)
    tr = trend(toy_dataset(), t)
    assert tr.years == [2024]
    assert tr.units["slope_per_year"].isna().all() and not tr.units["at_risk"].any()
    assert set(tr.units["risk_label"]) == {"数据不足"}


def test_band_target_projection_outside_the_band_is_at_risk():
    inds = []
    for year, v in ((2020, 0.50), (2022, 0.55), (2024, 0.58)):
        inds.append({"year": year, "unit_level": "village", "unit_code": V1,
                     "indicator": "women_share_community_committee", "value": v, "provenance": "synthetic"})
    inv = {y: [fac("H1", "child_home", V1)] for y in (2020, 2022, 2024)}
    t = make_target("indicator", id="band", unit_level="village", indicator="women_share_community_committee",
                    band=[0.4, 0.6], threshold=0.5, condition="committee_type == 'residents_committee'")
    u = trend(toy_dataset(inv, inds), t).units.set_index("unit_code")
    # 0.50, 0.55, 0.58: slope 0.02/yr, ȳ = 0.5433 at 2022 → 0.6033 in 2025 > 0.60
    assert u.loc[V1, "status_2024"] == "met"
    assert u.loc[V1, "projected"] == pytest.approx(0.5433333 + 0.06, abs=1e-6)
    assert u.loc[V1, "at_risk"]
