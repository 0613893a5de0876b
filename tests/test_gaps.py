"""The gap model (coverage/outputs/model.py) on a small hand-made case.

The case (built by :func:`make_dataset` and :func:`make_result`, reused by the export, report
and CLI tests) has two counties, three townships and a hand-written evaluation result; every
expected value below was counted by hand from the rows in :func:`make_result`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace

import geopandas as gpd
import pandas as pd
import pytest
from shapely.geometry import box

from coverage.outputs import county_totals, summary_table
from coverage.outputs import SelectionError, gaps_wide, resolve_county, target_labels, township_gaps
from layers._errors import CovplanError
from layers.dataset import Dataset

LIANDU, QINGTIAN = "331102", "331121"
T_ZIJIN, T_YANQUAN, T_HECHENG = "331102001", "331102002", "331121001"

LABELS = {
    "child_home_every_village": "儿童之家应建尽建",
    "demo_child_home_per_township": "每个乡镇（街道）1家以上示范型儿童之家",
    "women_village_committee_30": "村委员会成员中女性比例达到30%以上",
    "mch_institution_city_county": "市、县两级均应设置1所妇幼保健机构",
    "demo_child_home_share_15": "示范型儿童之家达到儿童之家总数的15%以上",
    "childcare_slots_per_1000": "每千人拥有3岁以下婴幼儿托位数达到4.5个",
}


def make_dataset(root: Path | None = None) -> Dataset:
    """Two square counties side by side; three townships (two in 莲都区, one in 青田县)."""
    counties = gpd.GeoDataFrame(
        {
            "code": [LIANDU, QINGTIAN],
            "name": ["莲都区", "青田县"],
            "pop_total": [500_000, 400_000],
            "provenance": ["real", "real"],
        },
        geometry=[box(119.8, 28.3, 120.0, 28.5), box(120.0, 28.3, 120.2, 28.5)],
        crs="EPSG:4326",
    )
    townships = gpd.GeoDataFrame(
        {
            "code": [T_ZIJIN, T_YANQUAN, T_HECHENG],
            "name": ["紫金街道", "岩泉街道", "鹤城街道"],
            "county_code": [LIANDU, LIANDU, QINGTIAN],
            "county_name": ["莲都区", "莲都区", "青田县"],
            "provenance": ["estimated"] * 3,
        },
        geometry=[
            box(119.8, 28.3, 119.9, 28.5),
            box(119.9, 28.3, 120.0, 28.5),
            box(120.0, 28.3, 120.2, 28.5),
        ],
        crs="EPSG:4326",
    )
    empty_points = gpd.GeoDataFrame({"code": []}, geometry=gpd.GeoSeries([], crs="EPSG:4326"))
    facilities = gpd.GeoDataFrame(
        {"facility_id": [], "year": []}, geometry=gpd.GeoSeries([], crs="EPSG:4326")
    )
    return Dataset(
        root=root or Path("."),
        name="tiny",
        counties=counties,
        townships=townships,
        villages=empty_points,
        facilities=facilities,
        indicators=pd.DataFrame(),
        layer_provenance={
            "counties": "real",
            "townships": "estimated",
            "villages": "real",
            "facilities_2024": "synthetic",
            "indicators": "synthetic",
        },
    )


def _row(tid, level, code, name, status, required, actual, shortfall, unit, *, county="",
         town="", plan=True, action="", prov="facilities=synthetic;population=estimated"):
    county_code = county or (code[:6] if level != "city" else "")
    return {
        "target_id": tid, "kind": "presence", "unit_level": level, "unit_code": code,
        "unit_name": name, "county_code": county_code,
        "county_name": {LIANDU: "莲都区", QINGTIAN: "青田县"}.get(county_code, ""),
        "township_code": town, "year": 2024, "status": status, "required": required,
        "actual": actual, "shortfall": shortfall, "shortfall_unit": unit, "action": action,
        "is_plan_level": plan, "clause": f"{tid} 条款原文", "source_lines": "C L721",
        "provenance": prov, "method": "hand-made",
    }


def make_units() -> pd.DataFrame:
    """The hand-made evaluation rows (year 2024)."""
    ch, dm, wv = "child_home_every_village", "demo_child_home_per_township", "women_village_committee_30"
    mch, share, slots = "mch_institution_city_county", "demo_child_home_share_15", "childcare_slots_per_1000"
    build = "新建1个儿童之家"
    rows = [
        # village level, additive: 紫金 2 of 3 unmet, 岩泉 none unmet (one no_data), 鹤城 1 of 1
        _row(ch, "village", "331102001001", "甲村", "met", 1, 1, 0, "facilities", town=T_ZIJIN),
        _row(ch, "village", "331102001002", "乙村", "not_met", 1, 0, 1, "facilities", town=T_ZIJIN, action=build),
        _row(ch, "village", "331102001003", "丙社区", "not_met", 1, 0, 1, "facilities", town=T_ZIJIN, action=build),
        _row(ch, "village", "331102002001", "丁村", "no_data", 1, None, None, "facilities", town=T_YANQUAN),
        _row(ch, "village", "331102002002", "戊村", "met", 1, 2, 0, "facilities", town=T_YANQUAN),
        _row(ch, "village", "331121001001", "己村", "not_met", 1, 0, 1, "facilities", town=T_HECHENG,
             action=build, prov="facilities=synthetic;population=estimated;location=real"),
        # township level
        _row(dm, "township", T_ZIJIN, "紫金街道", "met", 1, 1, 0, "upgrades"),
        _row(dm, "township", T_YANQUAN, "岩泉街道", "not_met", 1, 0, 1, "upgrades", action="升级1家为示范型"),
        _row(dm, "township", T_HECHENG, "鹤城街道", "not_met", 1, 0, 1, "upgrades", action="升级1家为示范型"),
        # village level, percentage points (not additive)
        _row(wv, "village", "331102001001", "甲村", "not_met", 0.3, 0.2, 10.0, "pp", town=T_ZIJIN,
             action="提高女性比例", prov="indicators=synthetic"),
        _row(wv, "village", "331102001002", "乙村", "not_met", 0.3, 0.25, 5.0, "pp", town=T_ZIJIN,
             action="提高女性比例", prov="indicators=synthetic"),
        _row(wv, "village", "331102001003", "丙社区", "met", 0.3, 0.4, 0.0, "pp", town=T_ZIJIN,
             prov="indicators=synthetic"),
        # county and city level
        _row(mch, "county", LIANDU, "莲都区", "met", 1, 1, 0, "facilities", county=LIANDU),
        _row(mch, "county", QINGTIAN, "青田县", "not_met", 1, 0, 1, "facilities", county=QINGTIAN,
             action="设置1所妇幼保健机构"),
        _row(mch, "city", "331100", "丽水市", "met", 1, 1, 0, "facilities"),
        _row(share, "county", LIANDU, "莲都区", "not_met", 0.15, 0.10, 5.0, "pp", county=LIANDU),
        _row(share, "county", QINGTIAN, "青田县", "met", 0.15, 0.2, 0.0, "pp", county=QINGTIAN),
        _row(share, "city", "331100", "丽水市", "not_met", 0.15, 0.12, 3.0, "pp"),
        # capacity: plan-level per county, per-township breakdown for siting only
        _row(slots, "county", LIANDU, "莲都区", "not_met", 2250, 2150, 100, "slots", county=LIANDU),
        _row(slots, "county", QINGTIAN, "青田县", "met", 1800, 1900, 0, "slots", county=QINGTIAN),
        _row(slots, "township", T_ZIJIN, "紫金街道", "not_met", 90, 50, 40, "slots", plan=False),
        _row(slots, "township", T_YANQUAN, "岩泉街道", "met", 90, 95, 0, "slots", plan=False),
    ]
    return pd.DataFrame(rows)


@dataclass
class FakeResult:
    """Stands in for coverage.evaluate.EvaluationResult (units, rollup, targets)."""

    units: pd.DataFrame
    rollup: pd.DataFrame = field(default_factory=pd.DataFrame)
    targets: list = field(default_factory=list)
    year: int = 2024


def make_result() -> FakeResult:
    # the evaluator's roll-up schema (coverage.rules_rollup.ROLLUP_COLUMNS), one target only
    rollup = pd.DataFrame([
        {"target_id": "demo_child_home_share_15", "year": 2024, "level": level, "unit_code": code,
         "count_level": "county", "met": met, "not_met": not_met, "no_data": 0, "not_applicable": 0,
         "plan_status": "not_met", "shortfall": short, "shortfall_unit": "pp"}
        for level, code, met, not_met, short in (("county", LIANDU, 0, 1, 5.0), ("city", "331100", 1, 1, 3.0))
    ])
    targets = [SimpleNamespace(id=k, label_zh=v, label_en=k.replace("_", " ")) for k, v in LABELS.items()]
    return FakeResult(units=make_units(), rollup=rollup, targets=targets)


# --------------------------------------------------------------------------- tests
def test_gap_rows_counted_by_hand():
    """Level-true: every unmet row stays at its own level, in its own section."""
    gaps = township_gaps(make_result(), make_dataset())
    assert gaps.crs.to_epsg() == 4326
    keys = list(zip(gaps["section"], gaps["unit_code"], gaps["target_id"]))
    assert keys == [
        ("county", QINGTIAN, "mch_institution_city_county"),
        ("county", "331100", "demo_child_home_share_15"),
        ("county", LIANDU, "demo_child_home_share_15"),
        ("county", LIANDU, "childcare_slots_per_1000"),
        ("township", T_YANQUAN, "demo_child_home_per_township"),
        ("township", T_HECHENG, "demo_child_home_per_township"),
        ("township", T_ZIJIN, "childcare_slots_per_1000"),
        ("village", "331102001002", "child_home_every_village"),
        ("village", "331102001003", "child_home_every_village"),
        ("village", "331121001001", "child_home_every_village"),
        ("village", "331102001001", "women_village_committee_30"),
        ("village", "331102001002", "women_village_committee_30"),
    ]
    assert (gaps["status"] == "not_met").all()
    assert set(gaps["year"]) == {2024}
    assert (gaps["row_kind"] == "unit").all()
    assert not gaps.duplicated(["section", "unit_code", "target_id"]).any()


def test_village_rows_stay_villages():
    gaps = township_gaps(make_result(), make_dataset()).set_index(["unit_code", "target_id"])
    r = gaps.loc[("331102001002", "child_home_every_village")]
    assert (r["unit_name"], r["unit_level"], r["section"]) == ("乙村", "village", "village")
    assert (r["township_code"], r["township_name"], r["county_name"]) == (T_ZIJIN, "紫金街道", "莲都区")
    assert (r["required"], r["actual"], r["shortfall"]) == (1.0, 0.0, 1.0)
    assert r["value_format"] == "count"
    assert r["action"] == "新建1个儿童之家"
    assert r["target_label"] == "儿童之家应建尽建"
    assert (r["clause"], r["source_lines"]) == ("child_home_every_village 条款原文", "C L721")
    # no township row repeats a village-level target
    assert (T_ZIJIN, "child_home_every_village") not in gaps.index
    h = gaps.loc[("331121001001", "child_home_every_village")]
    assert h["provenance"] == "facilities=synthetic;population=estimated;location=real"


def test_percentage_points_stay_per_village():
    gaps = township_gaps(make_result(), make_dataset()).set_index(["unit_code", "target_id"])
    a = gaps.loc[("331102001001", "women_village_committee_30")]
    b = gaps.loc[("331102001002", "women_village_committee_30")]
    assert (a["required"], a["actual"], a["shortfall"], a["value_format"]) == (0.3, 0.2, 10.0, "percent")
    assert (b["actual"], b["shortfall"]) == (0.25, 5.0)
    # the action is regenerated from the row's own number when the rule's text lacks it
    assert a["action"] == "需提高10.0个百分点"


def test_totals_equal_county_row_or_rollup():
    ds = make_dataset()
    ds.villages = gpd.GeoDataFrame(
        {"code": ["331102001001", "331102001002", "331102001003"], "pop_total": [100, 300, 600]},
        geometry=gpd.points_from_xy([119.85] * 3, [28.4] * 3), crs="EPSG:4326")
    res = make_result()
    gaps = township_gaps(res, ds)
    tot = county_totals(gaps, res, ds).set_index(["section", "target_id", "unit_code"])
    assert (tot["row_kind"] == "total").all()
    ch = tot.loc[("village", "child_home_every_village", LIANDU)]
    # 乙村 + 丙社区 (甲村, 戊村 met; 丁村 no data)
    assert (ch["shortfall"], ch["n_units_not_met"], ch["n_units_evaluated"]) == (2.0, 2, 4)
    assert tot.loc[("village", "child_home_every_village", QINGTIAN), "shortfall"] == 1.0
    wv = tot.loc[("village", "women_village_committee_30", LIANDU)]
    # points never add: 2 failing villages, (0.2·100 + 0.25·300 + 0.4·600) / 1000 = 0.335
    assert pd.isna(wv["shortfall"]) and wv["n_units_not_met"] == 2
    assert wv["actual"] == pytest.approx(0.335)
    # the slots breakdown: the total is the county's own plan-level row, not Σ townships
    sl = tot.loc[("township", "childcare_slots_per_1000", LIANDU)]
    assert (sl["required"], sl["actual"], sl["shortfall"], sl["status"]) == (2250, 2150, 100, "not_met")
    assert tot.loc[("township", "demo_child_home_per_township", QINGTIAN), "shortfall"] == 1.0


def test_breakdown_rows_flagged_not_plan_level():
    gaps = township_gaps(make_result(), make_dataset()).set_index(["unit_code", "target_id"])
    assert not gaps.loc[(T_ZIJIN, "childcare_slots_per_1000"), "is_plan_level"]
    assert gaps.loc[(LIANDU, "childcare_slots_per_1000"), "is_plan_level"]
    assert gaps.loc[(LIANDU, "childcare_slots_per_1000"), "shortfall"] == 100


def test_geometry_is_the_unit_polygon():
    ds = make_dataset()
    gaps = township_gaps(make_result(), ds)
    by_code = dict(zip(gaps["unit_code"], gaps.geometry))
    assert by_code[T_ZIJIN].equals(box(119.8, 28.3, 119.9, 28.5))
    assert by_code[QINGTIAN].equals(box(120.0, 28.3, 120.2, 28.5))
    # the city is the union of its counties
    assert by_code["331100"].area == pytest.approx(box(119.8, 28.3, 120.2, 28.5).area)


@pytest.mark.parametrize("county", ["莲都区", "331102", 331102, " 莲都区 "])
def test_county_filter_by_name_or_code(county):
    gaps = township_gaps(make_result(), make_dataset(), county=county)
    assert list(zip(gaps["unit_code"], gaps["target_id"])) == [
        (LIANDU, "demo_child_home_share_15"),
        (LIANDU, "childcare_slots_per_1000"),
        (T_YANQUAN, "demo_child_home_per_township"),
        (T_ZIJIN, "childcare_slots_per_1000"),
        ("331102001002", "child_home_every_village"),
        ("331102001003", "child_home_every_village"),
        ("331102001001", "women_village_committee_30"),
        ("331102001002", "women_village_committee_30"),
    ]
    assert gaps.attrs["county_name"] == "莲都区"


def test_target_filter():
    gaps = township_gaps(make_result(), make_dataset(), target="demo_child_home_per_township")
    assert list(gaps["unit_code"]) == [T_YANQUAN, T_HECHENG]
    both = township_gaps(make_result(), make_dataset(), county="青田县",
                         target=["child_home_every_village", "mch_institution_city_county"])
    assert list(zip(both["unit_code"], both["target_id"])) == [
        (QINGTIAN, "mch_institution_city_county"),
        ("331121001001", "child_home_every_village"),
    ]


def test_unknown_county_lists_valid_names():
    with pytest.raises(SelectionError, match=r"unknown county '松阳县'.*莲都区（331102）.*青田县") as exc:
        township_gaps(make_result(), make_dataset(), county="松阳县")
    assert isinstance(exc.value, CovplanError)


def test_unknown_target_lists_ids():
    with pytest.raises(SelectionError, match=r"unknown target id 'nope'.*child_home_every_village"):
        township_gaps(make_result(), make_dataset(), target="nope")


def test_no_gaps_gives_empty_frame_with_columns():
    gaps = township_gaps(make_result(), make_dataset(), county="青田县",
                         target="childcare_slots_per_1000")
    assert gaps.empty
    assert "target_label" in gaps.columns and gaps.crs.to_epsg() == 4326


def test_plain_dataframe_input_and_bad_input():
    gaps = township_gaps(make_units(), make_dataset())
    assert len(gaps) == 12
    # without PlanTargets the label falls back to the id
    assert target_labels(make_units())["mch_institution_city_county"] == "mch_institution_city_county"
    with pytest.raises(CovplanError, match="lacks the column"):
        township_gaps(make_units().drop(columns=["status"]), make_dataset())
    with pytest.raises(CovplanError, match="EvaluationResult"):
        township_gaps([1, 2], make_dataset())


def test_wide_status_view():
    wide = gaps_wide(make_result(), make_dataset())
    assert list(wide["unit_code"]) == [T_ZIJIN, T_YANQUAN, T_HECHENG]
    w = wide.set_index("unit_code")
    # county/city-level targets have no township column
    assert "mch_institution_city_county" not in w.columns
    assert "demo_child_home_share_15" not in w.columns
    assert w.loc[T_ZIJIN, "child_home_every_village"] == "not_met"
    assert w.loc[T_YANQUAN, "child_home_every_village"] == "no_data"  # 丁村 no data, 戊村 met
    assert w.loc[T_ZIJIN, "demo_child_home_per_township"] == "met"
    assert pd.isna(w.loc[T_HECHENG, "women_village_committee_30"])  # not evaluated there
    assert pd.isna(w.loc[T_HECHENG, "childcare_slots_per_1000"])
    assert w["n_not_met"].to_dict() == {T_ZIJIN: 3, T_YANQUAN: 1, T_HECHENG: 2}


def test_wide_shortfall_view_and_filter():
    w = gaps_wide(make_result(), make_dataset(), county="莲都区", value="shortfall").set_index("unit_code")
    assert list(w.index) == [T_ZIJIN, T_YANQUAN]
    assert w.loc[T_ZIJIN, "child_home_every_village"] == 2.0
    assert w.loc[T_YANQUAN, "child_home_every_village"] == 0.0
    assert w.loc[T_ZIJIN, "women_village_committee_30"] == 10.0
    assert w.loc[T_ZIJIN, "childcare_slots_per_1000"] == 40.0
    assert w.loc[T_YANQUAN, "demo_child_home_per_township"] == 1.0
    with pytest.raises(SelectionError, match="value must be"):
        gaps_wide(make_result(), make_dataset(), value="share")


def test_summary_counts():
    s = summary_table(make_result(), make_result().targets).set_index("target_id")
    ch = s.loc["child_home_every_village"]
    assert (ch["n_units"], ch["met"], ch["not_met"], ch["no_data"]) == (5, 2, 3, 1)
    assert ch["shortfall"] == 3.0
    # plan-level rows only: the per-township breakdown of the slots target is not counted
    sl = s.loc["childcare_slots_per_1000"]
    assert (sl["n_units"], sl["met"], sl["not_met"], sl["shortfall"]) == (2, 1, 1, 100.0)
    assert s.loc["demo_child_home_share_15", "plan_status"] == "not_met"
    assert s.loc["mch_institution_city_county", "plan_status"] == ""
    assert s.loc["mch_institution_city_county", "unit_level"] == "county/city"
    wv = s.loc["women_village_committee_30"]
    assert (wv["not_met"], wv["shortfall"], wv["shortfall_unit"], wv["shortfall_is_max"]) == (2, 10.0, "pp", True)
    assert not s.loc["child_home_every_village", "shortfall_is_max"]


def test_summary_for_one_county():
    s = summary_table(make_result(), county=resolve_county(make_dataset(), "青田县")).set_index("target_id")
    assert (s.loc["child_home_every_village", "n_units"], s.loc["child_home_every_village", "not_met"]) == (1, 1)
    assert (s.loc["mch_institution_city_county", "met"], s.loc["mch_institution_city_county", "not_met"]) == (0, 1)


def _two_years() -> FakeResult:
    """2022: every village of 紫金街道 had a 儿童之家 and 岩泉街道 its 示范型 home; 2024 as above."""
    old = make_units()
    old["year"] = 2022
    fix = (old["target_id"] == "child_home_every_village") & old["unit_code"].str.startswith(T_ZIJIN)
    old.loc[fix, ["status", "shortfall"]] = ["met", 0]
    fix = (old["target_id"] == "demo_child_home_per_township") & (old["unit_code"] == T_YANQUAN)
    old.loc[fix, ["status", "shortfall"]] = ["met", 0]
    res = make_result()
    res.units = pd.concat([old, make_units()], ignore_index=True)
    return res


def test_multi_year_result_lists_one_year():
    res, ds = _two_years(), make_dataset()
    latest = township_gaps(res, ds)
    assert len(latest) == 12 and latest.attrs["year"] == 2024
    old = township_gaps(res, ds, year=2022)
    assert old.attrs["year"] == 2022 and set(old["year"]) == {2022}
    # 2022 lacks the three gaps fixed above (two villages, one township): 12 - 3 rows
    assert len(old) == 9
    assert ("331102001002", "child_home_every_village") not in set(zip(old["unit_code"], old["target_id"]))
    w = gaps_wide(res, ds, year=2022).set_index("unit_code")
    assert w.loc[T_ZIJIN, "child_home_every_village"] == "met"
    assert summary_table(res, year=2022).set_index("target_id").loc["child_home_every_village", "not_met"] == 1
    with pytest.raises(SelectionError, match="no result for year 2023; years evaluated: 2022, 2024"):
        township_gaps(res, ds, year=2023)


def test_summary_reads_the_evaluator_rollup():
    """With a roll-up in the evaluator's schema its counts and plan-level result are used."""
    res = make_result()
    res.rollup = pd.DataFrame([
        # city row of the village-level target: villages are counted (5 evaluated + 1 no data)
        {"target_id": "child_home_every_village", "year": 2024, "level": "city", "unit_code": "331100",
         "count_level": "village", "met": 2, "not_met": 3, "no_data": 1, "not_applicable": 0,
         "plan_status": "not_met", "shortfall": 3.0, "shortfall_unit": "facilities"},
        # city row of a county/city target: only counties are counted
        {"target_id": "mch_institution_city_county", "year": 2024, "level": "city", "unit_code": "331100",
         "count_level": "county", "met": 1, "not_met": 1, "no_data": 0, "not_applicable": 0,
         "plan_status": "met", "shortfall": 0.0, "shortfall_unit": "facilities"},
        {"target_id": "mch_institution_city_county", "year": 2024, "level": "county", "unit_code": QINGTIAN,
         "count_level": "county", "met": 0, "not_met": 1, "no_data": 0, "not_applicable": 0,
         "plan_status": "not_met", "shortfall": 1.0, "shortfall_unit": "facilities"},
    ])
    s = summary_table(res).set_index("target_id")
    ch = s.loc["child_home_every_village"]
    assert (ch["unit_level"], ch["n_units"], ch["no_data"], ch["plan_status"], ch["shortfall"]) == (
        "village", 5, 1, "not_met", 3.0)
    mch = s.loc["mch_institution_city_county"]
    # counties only (the city's own row is not counted); the city-wide shortfall is the roll-up's
    assert (mch["unit_level"], mch["n_units"], mch["met"], mch["not_met"], mch["shortfall"]) == (
        "county", 2, 1, 1, 0.0)
    assert mch["plan_status"] == "met"
    # a target without roll-up rows falls back to counting plan-level rows
    assert s.loc["childcare_slots_per_1000", "n_units"] == 2
    q = summary_table(res, county=(QINGTIAN, "青田县")).set_index("target_id")
    assert (q.loc["mch_institution_city_county", "not_met"], q.loc["mch_institution_city_county", "plan_status"]) == (
        1, "not_met")


def test_county_summary_leaves_out_city_only_targets():
    res = make_result()
    city_only = _row("mental_health_welfare_city", "city", "331100", "丽水市", "met", 1, 1, 0, "facilities")
    res.units = pd.concat([res.units, pd.DataFrame([city_only])], ignore_index=True)
    assert "mental_health_welfare_city" in set(summary_table(res)["target_id"])
    s = summary_table(res, county=(LIANDU, "莲都区"))
    assert "mental_health_welfare_city" not in set(s["target_id"])
    assert len(s) == 6


def test_empty_evaluation():
    empty = make_units().iloc[0:0]
    ds = make_dataset()
    assert township_gaps(empty, ds).empty
    wide = gaps_wide(empty, ds)
    assert list(wide["unit_code"]) == [T_ZIJIN, T_YANQUAN, T_HECHENG] and (wide["n_not_met"] == 0).all()
    assert summary_table(empty).empty
