"""evaluate(): result schema, years, roll-ups, summary, failures, caching, embedded data."""

from __future__ import annotations

import sys

import numpy as np
import pandas as pd
import pytest

from coverage._errors import EvaluationError
from coverage.targets import RESULT_COLUMNS
from coverage.targets import context_for, evaluate, evaluate_target
from coverage.targets import ROLLUP_COLUMNS, SUMMARY_COLUMNS
from coverage.targets import load_targets
from tests.test_rules import C1, C2, T1, T2, T4, V4, fac, make_target, toy_dataset, toy_facilities

CITY = "331100"


def _demo_per_township():
    return make_target("presence", id="demo", unit_level="township",
                       facility={"type": "child_home", "tier": "demonstration"}, threshold=1)


def _demo_share():
    return make_target("facility_share", id="share", unit_level=["county", "city"], facility={"type": "child_home"},
                       numerator="tier == 'demonstration'", threshold=0.15)


def test_result_schema_and_types():
    res = evaluate(toy_dataset(), [_demo_per_township(), _demo_share()])
    assert tuple(res.units.columns) == RESULT_COLUMNS
    assert res.units["year"].dtype == np.int64 and res.units["is_plan_level"].dtype == bool
    assert set(res.units["status"]) <= {"met", "not_met", "no_data", "not_applicable"}
    assert (res.units["shortfall"] >= 0).all()
    assert set(res.units["clause"]) == {"测试条款"} and set(res.units["source_lines"]) == {"1"}
    assert tuple(res.rollup.columns) == ROLLUP_COLUMNS
    assert tuple(res.summary().columns) == SUMMARY_COLUMNS


def test_years():
    ds = toy_dataset({2020: toy_facilities()[:2], 2024: toy_facilities()})
    t = _demo_per_township()
    assert set(evaluate(ds, t).units["year"]) == {2024}
    assert set(evaluate(ds, t, year="all").units["year"]) == {2020, 2024}
    assert set(evaluate(ds, t, year=[2020]).units["year"]) == {2020}
    with pytest.raises(EvaluationError, match="2019 is not an inventory year"):
        evaluate(ds, t, year=2019)
    with pytest.raises(EvaluationError, match="'all'"):
        evaluate(ds, t, year="latest")


def test_rollup_every_unit_target():
    res = evaluate(toy_dataset(), _demo_per_township())
    roll = res.rollup.set_index("unit_code")
    # townships: T1 met, T2 met, T3 not met (county 331102); T4 not met (county 331121)
    assert roll.loc[C1, ["n_units", "met", "not_met", "no_data", "not_applicable"]].tolist() == [3, 2, 1, 0, 0]
    assert roll.loc[C1, "plan_status"] == "not_met" and roll.loc[C1, "shortfall"] == 1
    assert roll.loc[C1, "shortfall_unit"] == "facilities" and roll.loc[C1, "count_level"] == "township"
    assert roll.loc[C2, "plan_status"] == "not_met"
    assert roll.loc[CITY, ["n_units", "met", "not_met"]].tolist() == [4, 2, 2]
    assert roll.loc[CITY, "shortfall"] == 2 and np.isnan(roll.loc[CITY, "actual"])
    assert roll.loc[C1, "unit_name"] == "莲都区" and roll.loc[CITY, "unit_name"] == "丽水市"


def test_rollup_share_target_uses_the_units_own_row():
    res = evaluate(toy_dataset(), _demo_share())
    roll = res.rollup.set_index("unit_code")
    # own rows: county 331102 2/20 = 0.10, county 331121 0/1, city 2/21 — all below 15%
    assert roll.loc[C1, "plan_status"] == "not_met" and roll.loc[C1, "actual"] == pytest.approx(0.1)
    assert roll.loc[C1, "shortfall"] == 1 and roll.loc[C1, "shortfall_unit"] == "upgrades"
    assert roll.loc[CITY, "shortfall"] == 2 and roll.loc[CITY, "n_units"] == 2
    summary = res.summary().iloc[0]
    assert summary["plan_status"] == "not_met" and summary["actual"] == pytest.approx(2 / 21)
    assert summary["count_level"] == "county" and summary["not_met"] == 2


def test_rollup_all_met_and_no_data_rules():
    t = make_target("indicator", id="imm", unit_level="township", indicator="immunisation_rate", threshold=0.8)
    roll = evaluate(toy_dataset(), t).rollup.set_index("unit_code")
    # county 331102: T1 0.95 and T2 0.85 met, T3 has no value → the county result cannot be confirmed
    assert roll.loc[C1, ["met", "no_data"]].tolist() == [2, 1] and roll.loc[C1, "plan_status"] == "no_data"
    assert roll.loc[C2, "plan_status"] == "met"  # T4 at 0.90
    assert roll.loc[CITY, "plan_status"] == "no_data"


def test_city_only_target_has_only_a_city_rollup_row():
    t = make_target("unit_share", id="wc", member_level="county", unit_level="city", parent_must_have=True,
                    facility={"type": "women_children_centre", "level": "same"}, threshold=0.7)
    roll = evaluate(toy_dataset(), t).rollup
    assert roll["level"].tolist() == ["city"]
    assert roll.iloc[0]["plan_status"] == "not_met" and roll.iloc[0]["shortfall"] == 2


def test_report_only_plan_status():
    t = make_target("unit_share", id="fsc", member_level="township", unit_level=["county", "city"],
                    report_only=True, facility={"type": "disability_home"})
    s = evaluate(toy_dataset(), t).summary().iloc[0]
    assert s["plan_status"] == "not_applicable" and s["report_only"] and s["actual"] == 0.5


def test_missing_linkage_module_is_recorded_as_no_data(monkeypatch):
    t = make_target("linkage", id="link", unit_level="township", facility={"type": "child_home"}, threshold=1.0)
    monkeypatch.setitem(sys.modules, "coverage.access.linkage", None)
    ds = toy_dataset()
    with pytest.raises(EvaluationError, match="needs coverage.access.linkage"):
        evaluate_target(t, context_for(ds))
    res = evaluate(ds, [t, _demo_per_township()])
    rows = res.for_target("link")
    assert set(rows["status"]) == {"no_data"} and len(rows) == 4
    assert rows["method"].str.startswith("未能评估").all()
    assert "coverage.access.linkage" in res.errors[("link", 2024)]
    assert res.summary().set_index("target_id").loc["link", "note"].startswith("link:")
    assert set(res.for_target("demo")["status"]) == {"met", "not_met"}  # the others still run


def test_rule_failure_is_recorded_not_fatal():
    t = make_target("capacity_change", id="kg", unit_level="city", facility={"type": "kindergarten"},
                    baseline_year=2020, threshold=100)
    res = evaluate(toy_dataset(), t)  # the toy inventory has no 2020
    assert res.units["status"].tolist() == ["no_data"]
    assert "baseline year 2020" in res.errors[("kg", 2024)]


def test_editing_a_copy_never_reaches_the_cached_base():
    ds = toy_dataset()
    t = _demo_per_township()
    before = evaluate(ds, t).units.set_index("unit_code")["status"].to_dict()
    ds2 = ds.copy()
    extra = pd.DataFrame([fac("NEW", "child_home", V4, tier="demonstration")])
    extra["year"] = 2024
    ds2.facilities = pd.concat([ds2.facilities, extra], ignore_index=True).pipe(
        lambda df: df.set_geometry("geometry", crs="EPSG:4326"))
    after = evaluate(ds2, t).units.set_index("unit_code")["status"].to_dict()
    assert before[T4] == "not_met" and after[T4] == "met"
    assert evaluate(ds, t).units.set_index("unit_code")["status"].to_dict() == before
    # an in-place edit that bumps the revision is seen too
    ds.facilities = ds2.facilities
    ds.revision += 1
    assert evaluate(ds, t).units.set_index("unit_code").loc[T4, "status"] == "met"


def test_overridden_threshold_is_a_new_evaluation():
    t = make_target("capacity_ratio", id="cc", unit_level="township", facility={"type": "childcare"}, threshold=4.5)
    ds = toy_dataset()
    r1 = evaluate(ds, t).units.set_index("unit_code")
    r2 = evaluate(ds, t.with_overrides(threshold=4.0)).units.set_index("unit_code")
    # T1 has 40 托位 for 10,000 people: 4.0 per 1,000
    assert r1.loc[T1, "status"] == "not_met" and r2.loc[T1, "status"] == "met"
    assert r1.loc[T2, "shortfall"] == 45 and r2.loc[T2, "shortfall"] == 40  # ceil(4.0 × 9.999) = 40


@pytest.fixture(scope="module")
def embedded():
    from layers.load import load_dataset

    ds = load_dataset()
    targets = [t for t in load_targets() if t.kind not in ("access", "linkage")]
    return ds, targets, evaluate(ds, targets)


def test_embedded_dataset_every_target_gives_results(embedded):
    ds, targets, res = embedded
    assert not res.errors
    s = res.summary().set_index("target_id")
    assert set(s.index) == {t.id for t in targets}
    for t in targets:
        rows = res.for_target(t.id)
        assert (rows["status"] != "no_data").any(), t.id
        assert rows["provenance"].str.len().gt(0).all(), t.id
    # the embedded facilities and indicators are synthetic and every row says so
    assert res.units["provenance"].str.contains("synthetic").all()
    slots = res.for_target("childcare_slots_per_1000").set_index("unit_level")
    assert set(slots.loc["township", "provenance"]) == {"facilities=synthetic;population=estimated"}
    assert set(slots.loc["county", "provenance"]) == {"facilities=synthetic;population=real"}
    assert not slots.loc["township", "is_plan_level"].any() and slots.loc["county", "is_plan_level"].all()
    # 173 townships, 2,008 villages, 9 counties
    assert s.loc["demo_child_home_per_township", "n_units"] == 173
    assert s.loc["child_home_every_village", "n_units"] == 2008
    assert s.loc["family_service_centre", "plan_status"] == "not_applicable"


def test_embedded_city_ratio_by_a_second_method(embedded):
    """The city 托位 ratio equals Σ capacity / Σ county population × 1000 computed directly."""
    ds, _, res = embedded
    fac24 = ds.facilities_for(2024)
    slots = fac24.loc[fac24["type"] == "childcare", "capacity"].fillna(0).sum()
    pop = ds.counties["pop_total"].sum()
    city = res.for_target("childcare_slots_per_1000").set_index("unit_code").loc[CITY]
    assert city["actual"] == pytest.approx(slots / pop * 1000)
    assert city["shortfall"] == max(0, int(np.ceil(4.5 * pop / 1000 - slots - 1e-9)))
    # 示范型 share per county, recomputed with a groupby on the raw layer
    homes = fac24[fac24["type"] == "child_home"]
    direct = (homes["tier"] == "demonstration").groupby(homes["county_code"]).mean()
    share = res.for_target("demo_child_home_share_15").set_index("unit_code")
    for code, value in direct.items():
        assert share.loc[code, "actual"] == pytest.approx(value)


def test_linkage_rows_from_the_other_module_are_dispatched_and_checked(monkeypatch):
    """A stand-in coverage.linkage: its rows join the result; rows lacking columns are an error."""
    import types

    t = make_target("linkage", id="link", unit_level="township", facility={"type": "child_home"}, threshold=1.0)
    seen = {}

    def evaluate_linkage_target(target, ctx):
        seen["args"] = (target.id, ctx.year, len(ctx.facilities), dict(target.linkage)["hub_tier"])
        units = ctx.units["township"]
        return pd.DataFrame({
            "target_id": target.id, "kind": target.kind, "unit_level": "township",
            "unit_code": units["unit_code"], "unit_name": units["unit_name"], "county_code": units["county_code"],
            "county_name": units["county_name"], "township_code": units["township_code"], "year": ctx.year,
            "status": ["met", "not_met", "not_applicable", "not_met"], "required": 1.0,
            "actual": [1.0, 0.5, np.nan, 0.0], "shortfall": [0.0, 1.0, 0.0, 1.0], "shortfall_unit": "facilities",
            "action": "", "is_plan_level": True, "clause": target.clause, "source_lines": target.source_lines,
            "provenance": "facilities=synthetic", "method": "stand-in",
        })

    fake = types.ModuleType("coverage.access.linkage")
    fake.evaluate_linkage_target = evaluate_linkage_target
    monkeypatch.setitem(sys.modules, "coverage.access.linkage", fake)
    ds = toy_dataset()
    res = evaluate(ds, t)
    # the context carries the 2024 inventory; the default hub tier is 示范型
    assert seen["args"] == ("link", 2024, len(toy_facilities()), "demonstration")
    assert res.units["status"].tolist() == ["met", "not_met", "not_applicable", "not_met"]
    roll = res.rollup.set_index("unit_code")
    assert roll.loc[C1, ["met", "not_met", "not_applicable"]].tolist() == [1, 1, 1]
    assert roll.loc[CITY, "shortfall"] == 2

    fake.evaluate_linkage_target = lambda target, ctx: evaluate_linkage_target(target, ctx).drop(columns="method")
    t2 = t.with_overrides(threshold=0.9)  # a new target key: not served from the result cache
    res2 = evaluate(ds, t2)
    assert "lack column(s) method" in res2.errors[("link", 2024)]
    assert set(res2.units["status"]) == {"no_data"}
