"""Capacitated 托位 siting: a hand-worked case cross-checked by enumeration."""

from __future__ import annotations

import numpy as np
import pytest

from coverage._errors import SitingError
from coverage.siting import CapacitySite, capacity_siting

C, T1, T2 = "331102", "331102001", "331102002"
SITES = [
    CapacitySite("S1", T1, C, max_slots=30, cost_per_slot=2.0),                  # existing, expands
    CapacitySite("S2", T1, C, max_slots=50, cost_per_slot=1.0, fixed_cost=30.0),  # new site
    CapacitySite("S3", T2, C, max_slots=20, cost_per_slot=2.5),                  # existing
    CapacitySite("S4", T2, C, max_slots=60, cost_per_slot=1.0, fixed_cost=40.0),  # new site
]
SHORT = {T1: 40, T2: 10, C: 70}


def _enumerate() -> float:
    """Second method: every integer size at every site (2 M combinations, vectorised)."""
    s1, s2, s3, s4 = np.meshgrid(np.arange(31), np.arange(51), np.arange(21), np.arange(61), indexing="ij",
                                 sparse=True)
    cost = 2.0 * s1 + (s2 + 30.0 * (s2 > 0)) + 2.5 * s3 + (s4 + 40.0 * (s4 > 0))
    ok = (s1 + s2 >= 40) & (s3 + s4 >= 10) & (s1 + s2 + s3 + s4 >= 70)
    return float(np.where(ok, cost, np.inf).min())


def test_capacity_siting_hand_worked():
    # T1 needs 40 > S1's 30, so S2 opens (30) and fills at 1/slot: 50 slots = 80.
    # T2 needs 10: S3 at 2.5 = 25 (S4 would cost 40 + 10). County needs 70 = 50 + 10 + 10 more:
    # S1 at 2 beats S3 at 2.5 → S1 10 = 20. Total 80 + 25 + 20 = 125.
    plan = capacity_siting(SHORT, SITES, progress=False)
    assert plan.status == "optimal"
    assert plan.total_cost == pytest.approx(125.0) == pytest.approx(_enumerate())
    got = dict(zip(plan.sites["site_id"], plan.sites["slots_added"]))
    assert got == {"S1": 10, "S2": 50, "S3": 10}
    assert plan.sites.set_index("site_id").loc["S2", "opened"]
    assert not plan.sites.set_index("site_id").loc["S1", "opened"]
    assert plan.total_slots == 70
    by = plan.by_unit.set_index("unit_code")
    assert by.loc[T1, "added"] == 60 and by.loc[T2, "added"] == 10 and by.loc[C, "added"] == 70
    assert by.loc[C, "unit_level"] == "county" and by["met"].all()


def test_fractional_shortfall_rounds_up_in_slots():
    plan = capacity_siting({T2: 9.2}, SITES, progress=False)
    assert plan.total_slots == 10 and plan.total_cost == pytest.approx(25.0)


def test_unclosable_shortfall_is_named():
    with pytest.raises(SitingError, match="childcare_slots:331102003"):
        capacity_siting({"331102003": 5}, SITES, progress=False)
    with pytest.raises(SitingError, match="not a 6-digit county or 9-digit township"):
        capacity_siting({"3311": 5}, SITES, progress=False)
    with pytest.raises(SitingError, match="township_code '331121001' is not a 9-digit code in county 331102"):
        CapacitySite("bad", "331121001", C, max_slots=5, cost_per_slot=1.0)
