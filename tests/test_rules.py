"""Each rule kind against hand-worked examples on a small Dataset built here.

The toy dataset (:func:`toy_dataset`) has two counties, four townships and five villages;
every expected value below is worked out by hand in the comment next to it.

Toy layout (populations are made up)::

    county 331102 (pop 19,999)                    county 331121 (pop 20,000)
      T1 331102001  pop 10,000  urban               T4 331121001  pop 20,000  urban
        V1 331102001001 community, urban 4,000        V4 331121001001 community, urban 12,000
        V2 331102001002 village,   urban 6,000        V5 331121001002 village,   rural  8,000
      T2 331102002  pop  9,999  rural
        V3 331102002001 village,   rural 9,999
      T3 331102003  pop      0  (no villages)
"""

from __future__ import annotations

import math
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import Point, box

from coverage.targets import context_for, evaluate, evaluate_target
from coverage.targets import ConditionSyntaxError, parse_condition
from coverage.targets import target_from_dict
from layers.dataset import Dataset

T1, T2, T3, T4 = "331102001", "331102002", "331102003", "331121001"
V1, V2, V3, V4, V5 = "331102001001", "331102001002", "331102002001", "331121001001", "331121001002"
C1, C2 = "331102", "331121"
_TOWNSHIP_BOX = {T1: box(119.0, 28.0, 119.1, 28.1), T2: box(119.1, 28.0, 119.2, 28.1),
                 T3: box(119.2, 28.0, 119.3, 28.1), T4: box(120.0, 28.0, 120.1, 28.1)}
_VILLAGE_AT = {V1: (119.02, 28.05), V2: (119.07, 28.05), V3: (119.15, 28.05),
               V4: (120.02, 28.05), V5: (120.07, 28.05)}


def fac(fid: str, ftype: str, village: str | None = None, township: str | None = None, **kw) -> dict:
    """One facility record; the township/county come from the village when given."""
    township = township or village[:9]
    row = {"facility_id": fid, "type": ftype, "name": fid, "tier": "", "level": "", "capacity": np.nan,
           "is_inclusive": None, "has_reading_area": None, "place_kind": "", "building_area_m2": np.nan,
           "daily_visitors": np.nan, "serves_place_id": "", "county_code": township[:6],
           "township_code": township, "village_code": village or "", "address": "",
           "location_precision": "exact", "provenance": "synthetic"}
    row.update(kw)
    if "geometry" not in row:
        x, y = _VILLAGE_AT.get(village, (_TOWNSHIP_BOX[township].centroid.x, _TOWNSHIP_BOX[township].centroid.y))
        row["geometry"] = Point(x, y)
    return row


def toy_facilities() -> list[dict]:
    """Facilities of the toy inventory of 2024 (see each test for the counts that matter)."""
    rows = []
    # 儿童之家: county 331102 has 2 示范型 + 18 基础型 = 20; county 331121 has 1 基础型
    rows += [fac("CH_D1", "child_home", V1, tier="demonstration"), fac("CH_D2", "child_home", V3, tier="demonstration")]
    rows += [fac(f"CH_B{i}", "child_home", V1, tier="basic") for i in range(5)]
    rows += [fac(f"CH_B{i}", "child_home", V3, tier="basic") for i in range(5, 18)]
    rows += [fac("CH_B18", "child_home", V4, tier="basic")]
    # 残疾人之家: one exactly on the T1|T2 boundary (lon 119.1) whose record says T2; one in T4
    rows += [fac("DH_EDGE", "disability_home", township=T2, geometry=Point(119.1, 28.05)),
             fac("DH_T4", "disability_home", V4)]
    # 托育机构: 40 托位 in V1 (T1), 90 托位 in V4 (T4)
    rows += [fac("CC1", "childcare", V1, capacity=40.0), fac("CC4", "childcare", V4, capacity=90.0)]
    # 公共场所: P1 qualifies by area, P2 does not (exactly 10,000 visitors), P3 by visitors
    rows += [fac("P1", "public_place", V1, building_area_m2=12000.0, daily_visitors=0.0),
             fac("P2", "public_place", V2, building_area_m2=5000.0, daily_visitors=10000.0),
             fac("P3", "public_place", V4, building_area_m2=0.0, daily_visitors=15000.0),
             fac("MB1", "mother_baby_room", V1, serves_place_id="P1")]
    # 妇幼保健机构: a city-run one and a county-run one, both in county 331102
    rows += [fac("MCH_CITY", "mch_institution", V1, level="city"), fac("MCH_C1", "mch_institution", V2, level="county")]
    # 儿童福利设施: three (the plan says 1–2)
    rows += [fac(f"CW{i}", "child_welfare_facility", V1) for i in range(3)]
    # 妇女儿童活动中心: county-run in 331102 only, no city-run one
    rows += [fac("WC1", "women_children_centre", V1, level="county")]
    # 社区图书馆: 3 in county 331102, 2 with a reading area
    rows += [fac("L1", "community_library", V1, has_reading_area=True),
             fac("L2", "community_library", V2, has_reading_area=True),
             fac("L3", "community_library", V3, has_reading_area=False)]
    # 幼儿园 (2024): 150 + 200 + 300 places
    rows += [fac("K1", "kindergarten", V1, capacity=150.0), fac("K2", "kindergarten", V4, capacity=200.0),
             fac("K3", "kindergarten", V3, capacity=300.0)]
    return rows


def toy_indicators() -> list[dict]:
    def ind(level, code, name, value, year=2024):
        return {"year": year, "unit_level": level, "unit_code": code, "indicator": name,
                "value": value, "provenance": "synthetic"}
    return [
        ind("township", T1, "immunisation_rate", 0.95), ind("township", T2, "immunisation_rate", 0.85),
        ind("township", T4, "immunisation_rate", 0.90),
        ind("village", V1, "women_share_community_committee", 0.65),
        ind("village", V4, "women_share_community_committee", 0.50),
        ind("township", T1, "child_social_workers", 0), ind("township", T2, "child_social_workers", 2),
    ]


def toy_dataset(facilities: dict[int, list[dict]] | None = None, indicators: list[dict] | None = None) -> Dataset:
    """The toy Dataset; ``facilities`` maps year → records (default: 2024 → toy_facilities())."""
    facilities = facilities if facilities is not None else {2024: toy_facilities()}
    counties = gpd.GeoDataFrame({
        "code": [C1, C2], "name": ["莲都区", "青田县"], "pop_total": [19999, 20000],
        "pop_provenance": ["real", "real"], "provenance": ["real", "real"],
    }, geometry=[box(119.0, 28.0, 119.3, 28.1), box(120.0, 28.0, 120.1, 28.1)], crs="EPSG:4326")
    townships = gpd.GeoDataFrame({
        "code": [T1, T2, T3, T4], "name": ["甲街道", "乙镇", "丙乡", "丁街道"],
        "county_code": [C1, C1, C1, C2], "county_name": ["莲都区", "莲都区", "莲都区", "青田县"],
        "township_type": ["街道", "镇", "乡", "街道"], "is_urban": [True, False, False, True],
        "pop_total": [10000, 9999, 0, 20000], "pop_provenance": ["estimated"] * 4,
        "provenance": ["estimated"] * 4,
    }, geometry=[_TOWNSHIP_BOX[t] for t in (T1, T2, T3, T4)], crs="EPSG:4326")
    vcodes = [V1, V2, V3, V4, V5]
    villages = gpd.GeoDataFrame({
        "code": vcodes, "name": ["一社区", "二村", "三村", "四社区", "五村"],
        "township_code": [v[:9] for v in vcodes], "county_code": [v[:6] for v in vcodes],
        "committee_type": ["residents_committee", "villagers_committee", "villagers_committee",
                           "residents_committee", "villagers_committee"],
        "is_urban": [True, True, False, True, False], "pop_total": [4000, 6000, 9999, 12000, 8000],
        "pop_provenance": ["estimated"] * 5, "provenance": ["synthetic"] * 5,
    }, geometry=[Point(*_VILLAGE_AT[v]) for v in vcodes], crs="EPSG:4326")
    frames = []
    for year, rows in sorted(facilities.items()):
        gdf = gpd.GeoDataFrame(rows, geometry="geometry", crs="EPSG:4326") if rows else None
        if gdf is not None:
            gdf["year"] = year
            frames.append(gdf)
    fac_all = gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), geometry="geometry", crs="EPSG:4326")
    prov = {"counties": "real", "townships": "estimated", "villages": "real", "indicators": "synthetic"}
    prov.update({f"facilities_{y}": "synthetic" for y in facilities})
    return Dataset(root=Path("."), name="toy", counties=counties, townships=townships, villages=villages,
                   facilities=fac_all, indicators=pd.DataFrame(indicators if indicators is not None else toy_indicators()),
                   layer_provenance=prov)


def make_target(kind: str, **keys) -> object:
    """A valid target of ``kind`` with test defaults, built as a loader would."""
    raw = {"id": f"t_{kind}", "kind": kind, "label_zh": "测试", "label_en": "test", "plan": "children",
           "chapter": "测试", "source": {"plan": "测试规划", "clause": "测试条款", "lines": [1]}}
    raw.update(keys)
    return target_from_dict(raw, where="test")


def rows_of(target, ds=None, year=None) -> pd.DataFrame:
    ds = ds or toy_dataset()
    return evaluate_target(target, context_for(ds, year)).set_index("unit_code")


# ----------------------------------------------------------------------------- presence
def test_presence_village_counts_and_shortfall():
    t = make_target("presence", unit_level="village", facility={"type": "child_home"}, threshold=1)
    r = rows_of(t)
    # V1: 1 示范型 + 5 基础型 = 6; V2: 0; V3: 1 + 13 = 14; V4: 1; V5: 0
    assert r["actual"].to_dict() == {V1: 6, V2: 0, V3: 14, V4: 1, V5: 0}
    assert r["status"].to_dict() == {V1: "met", V2: "not_met", V3: "met", V4: "met", V5: "not_met"}
    assert r.loc[V2, "shortfall"] == 1 and r.loc[V2, "shortfall_unit"] == "facilities"
    assert r.loc[V2, "action"] == "新建1个儿童之家"
    assert r.loc[V1, "action"] == ""
    assert r.loc[V2, "township_code"] == T1 and r.loc[V2, "county_name"] == "莲都区"


def test_presence_demonstration_action_offers_upgrade_only_where_basic_homes_exist():
    t = make_target("presence", unit_level="township", facility={"type": "child_home", "tier": "demonstration"},
                    threshold=1)
    r = rows_of(t)
    # T1 and T2 each have one 示范型; T3 has no home at all; T4 has one 基础型 only
    assert r["status"].to_dict() == {T1: "met", T2: "met", T3: "not_met", T4: "not_met"}
    assert r.loc[T3, "action"] == "新建1个示范型儿童之家"
    assert r.loc[T4, "action"] == "新建1个示范型儿童之家（或将1个基础型升级）"


@pytest.mark.parametrize("min_pop, expect_t2", [(10000, "not_applicable"), (9999, "met")])
def test_presence_condition_population_threshold_is_inclusive(min_pop, expect_t2):
    t = make_target("presence", unit_level="township", facility={"type": "disability_home"},
                    condition=f"pop_total >= {min_pop}", threshold=1)
    r = rows_of(t)
    # T1 has 10,000 residents (applicable both times) and no 残疾人之家
    assert r.loc[T1, "status"] == "not_met" and r.loc[T1, "shortfall"] == 1
    # T2 has 9,999: excluded at ≥ 10,000, included (and has the boundary home) at ≥ 9,999
    assert r.loc[T2, "status"] == expect_t2
    assert r.loc[T3, "status"] == "not_applicable"  # 0 residents
    assert r.loc[T4, "status"] == "met"
    assert r.loc[T1, "provenance"] == "facilities=synthetic;population=estimated"


def test_facility_on_a_boundary_belongs_to_the_township_its_record_names():
    """DH_EDGE lies exactly on the T1|T2 boundary (lon 119.1); its record says T2.

    Geometry cannot decide (the point touches both polygons); the evaluation uses the
    ``township_code`` attribute, so T2 counts it and T1 does not.
    """
    ds = toy_dataset()
    edge = ds.facilities.set_index("facility_id").loc["DH_EDGE", "geometry"]
    assert _TOWNSHIP_BOX[T1].touches(edge) and _TOWNSHIP_BOX[T2].touches(edge)
    t = make_target("presence", unit_level="township", facility={"type": "disability_home"}, threshold=1)
    r = rows_of(t, ds)
    assert r.loc[T1, "actual"] == 0 and r.loc[T2, "actual"] == 1


def test_presence_same_level_for_city_and_county():
    t = make_target("presence", unit_level=["city", "county"], facility={"type": "mch_institution", "level": "same"},
                    threshold=1)
    r = rows_of(t)
    # city: MCH_CITY (level city); county 331102: MCH_C1 only (the city-run one is not county-run)
    assert r.loc["331100", "actual"] == 1 and r.loc["331100", "status"] == "met"
    assert r.loc[C1, "actual"] == 1 and r.loc[C2, "actual"] == 0
    assert r.loc[C2, "action"] == "新建1个县级妇幼保健机构"


def test_presence_max_count():
    t = make_target("presence", unit_level="city", facility={"type": "child_welfare_facility"},
                    threshold=1, max_count=2)
    r = rows_of(t)
    assert r.loc["331100", "actual"] == 3
    assert r.loc["331100", "status"] == "not_met"
    assert r.loc["331100", "shortfall"] == 0 and "超过规划的1–2个" in r.loc["331100", "action"]


# ----------------------------------------------------------------------------- unit_share
def test_unit_share_urban_communities():
    t = make_target("unit_share", member_level="village", unit_level=["county", "city"], condition="is_urban",
                    facility={"type": "childcare"}, threshold=0.6)
    r = evaluate_target(t, context_for(toy_dataset()))
    members = r[r["unit_level"] == "village"].set_index("unit_code")
    # urban villages: V1 (has CC1), V2 (none), V4 (has CC4); V3, V5 are rural
    assert members["status"].to_dict() == {V1: "met", V2: "not_met", V3: "not_applicable",
                                           V4: "met", V5: "not_applicable"}
    assert not members["is_plan_level"].any()
    agg = r[r["unit_level"] != "village"].set_index("unit_code")
    # county 331102: 1 of 2 = 0.5 < 0.6 → ceil(0.6 × 2) − 1 = 1 more community
    assert agg.loc[C1, "actual"] == 0.5 and agg.loc[C1, "status"] == "not_met" and agg.loc[C1, "shortfall"] == 1
    # county 331121: 1 of 1; city: 2 of 3 = 0.667 ≥ 0.6
    assert agg.loc[C2, "status"] == "met" and agg.loc["331100", "actual"] == pytest.approx(2 / 3)
    assert agg.loc["331100", "status"] == "met" and agg["is_plan_level"].all()


def test_unit_share_exactly_at_threshold_is_met():
    t = make_target("unit_share", member_level="village", unit_level="county", condition="is_urban",
                    facility={"type": "childcare"}, threshold=0.5)
    agg = rows_of(t)
    assert agg.loc[C1, "actual"] == 0.5 and agg.loc[C1, "status"] == "met"


def test_unit_share_parent_must_have():
    t = make_target("unit_share", member_level="county", unit_level="city", parent_must_have=True,
                    facility={"type": "women_children_centre", "level": "same"}, threshold=0.7)
    r = rows_of(t)
    city = r.loc["331100"]
    # 1 of 2 counties (0.5 < 0.7): ceil(1.4) − 1 = 1 county; and no city-run centre: +1
    assert city["actual"] == 0.5 and city["status"] == "not_met" and city["shortfall"] == 2
    assert city["action"].startswith("新建1个市级妇女儿童活动中心")


def test_unit_share_report_only_never_fails():
    t = make_target("unit_share", member_level="township", unit_level=["county", "city"], report_only=True,
                    facility={"type": "disability_home"})
    r = rows_of(t)
    assert set(r["status"]) == {"not_applicable"}
    # townships with a 残疾人之家: T2 and T4 → county 331102 1/3, county 331121 1/1, city 2/4
    assert r.loc[C1, "actual"] == pytest.approx(1 / 3) and r.loc["331100", "actual"] == 0.5


# ----------------------------------------------------------------------------- facility_share
def test_demonstration_share_fifteen_percent_of_twenty_needs_three():
    t = make_target("facility_share", unit_level=["county", "city"], facility={"type": "child_home"},
                    numerator="tier == 'demonstration'", threshold=0.15)
    r = rows_of(t)
    # county 331102: 2 of 20; 15% of 20 = 3 → 1 upgrade, or ceil((3 − 2)/0.85) = 2 new 示范型
    assert r.loc[C1, "actual"] == pytest.approx(0.1)
    assert r.loc[C1, "shortfall"] == 1 and r.loc[C1, "shortfall_unit"] == "upgrades"
    assert r.loc[C1, "action"] == "将1个基础型儿童之家升级为示范型（或新建2个示范型儿童之家）"
    # county 331121: 0 of 1 → ceil(0.15) = 1 upgrade, or ceil(0.15/0.85) = 1 new
    assert r.loc[C2, "shortfall"] == 1
    # city: 2 of 21; ceil(3.15) = 4 → 2 upgrades, or ceil(1.15/0.85) = 2 new
    assert r.loc["331100", "shortfall"] == 2 and r.loc["331100", "required"] == 0.15


def test_mother_baby_rooms_in_qualifying_public_places():
    t = make_target("facility_share", unit_level=["township", "county", "city"], facility={"type": "public_place"},
                    facility_condition="building_area_m2 > 10000 or daily_visitors > 10000",
                    numerator="has_mother_baby_room", threshold=1.0, shortfall_unit="facilities")
    r = rows_of(t)
    # qualifying: P1 (12,000 m², served by MB1) and P3 (15,000 visitors, no room); P2 sits at 10,000 exactly
    assert r.loc[T1, "status"] == "met" and r.loc[T1, "actual"] == 1.0
    assert r.loc[T2, "status"] == "not_applicable" and math.isnan(r.loc[T2, "actual"])
    assert r.loc[T4, "status"] == "not_met" and r.loc[T4, "shortfall"] == 1
    assert r.loc["331100", "actual"] == 0.5 and r.loc["331100", "shortfall"] == 1


def test_library_reading_area_share():
    t = make_target("facility_share", unit_level="county", facility={"type": "community_library"},
                    numerator="has_reading_area", threshold=0.9)
    r = rows_of(t)
    # 2 of 3: ceil(0.9 × 3) = 3 → 1 library to equip; county 331121 has no library
    assert r.loc[C1, "actual"] == pytest.approx(2 / 3) and r.loc[C1, "shortfall"] == 1
    assert r.loc[C2, "status"] == "not_applicable"


# ----------------------------------------------------------------------------- capacity
def test_capacity_ratio_per_thousand():
    t = make_target("capacity_ratio", unit_level=["township", "county", "city"], plan_levels=["county", "city"],
                    facility={"type": "childcare"}, threshold=4.5)
    r = rows_of(t)
    # T1: 40 / 10,000 × 1000 = 4.0; need ceil(45 − 40) = 5
    assert r.loc[T1, "actual"] == pytest.approx(4.0) and r.loc[T1, "shortfall"] == 5
    # T2: 0 slots, 9,999 people: need ceil(44.9955) = 45
    assert r.loc[T2, "shortfall"] == 45 and r.loc[T2, "action"] == "新增45个托位"
    # T3: zero population → not applicable, no division
    assert r.loc[T3, "status"] == "not_applicable" and math.isnan(r.loc[T3, "actual"])
    # T4: 90 / 20,000 × 1000 = 4.5 exactly → met
    assert r.loc[T4, "status"] == "met" and r.loc[T4, "shortfall"] == 0
    # county 331102: 40 / 19,999: need ceil(89.9955 − 40) = 50; city: 130 / 39,999 → ceil(179.9955 − 130) = 50
    assert r.loc[C1, "shortfall"] == 50 and r.loc["331100", "shortfall"] == 50
    assert r.loc["331100", "actual"] == pytest.approx(130 / 39999 * 1000)
    assert not r.loc[T1, "is_plan_level"] and r.loc[C1, "is_plan_level"]
    assert r.loc[T1, "provenance"] == "facilities=synthetic;population=estimated"
    assert r.loc[C1, "provenance"] == "facilities=synthetic;population=real"


def test_capacity_ratio_missing_population_is_no_data():
    ds = toy_dataset()
    ds.townships.loc[ds.townships["code"] == T2, "pop_total"] = np.nan
    ds.revision += 1
    t = make_target("capacity_ratio", unit_level="township", facility={"type": "childcare"}, threshold=4.5)
    r = rows_of(t, ds)
    assert r.loc[T2, "status"] == "no_data" and r.loc[T2, "shortfall"] == 0


def test_capacity_change_since_baseline():
    y2020 = [fac("K1", "kindergarten", V1, capacity=100.0), fac("K2", "kindergarten", V4, capacity=200.0)]
    ds = toy_dataset({2020: y2020, 2024: toy_facilities()})
    t = make_target("capacity_change", unit_level=["county", "city"], plan_levels=["city"],
                    facility={"type": "kindergarten"}, baseline_year=2020, threshold=400)
    r = rows_of(t, ds)
    # 2024: 150 + 200 + 300 = 650; 2020: 100 + 200 = 300 → 350 added; 400 required → 50 short
    assert r.loc["331100", "actual"] == 350 and r.loc["331100", "shortfall"] == 50
    assert r.loc["331100", "status"] == "not_met" and r.loc["331100", "shortfall_unit"] == "places"
    # counties are breakdowns: 331102 added 150 + 300 − 100 = 350, 331121 added 0
    assert r.loc[C1, "actual"] == 350 and r.loc[C2, "actual"] == 0
    assert r.loc[C1, "status"] == "not_applicable"
    # in the baseline year itself nothing has been added yet
    r0 = rows_of(t, ds, 2020)
    assert r0.loc["331100", "actual"] == 0 and r0.loc["331100", "shortfall"] == 400


# ----------------------------------------------------------------------------- indicator
def test_indicator_threshold_and_missing_value():
    t = make_target("indicator", unit_level="township", indicator="immunisation_rate", threshold=0.9)
    r = rows_of(t)
    assert r.loc[T1, "status"] == "met"
    assert r.loc[T2, "status"] == "not_met" and r.loc[T2, "shortfall"] == pytest.approx(5.0)
    assert r.loc[T2, "shortfall_unit"] == "pp"
    assert r.loc[T3, "status"] == "no_data"
    assert r.loc[T4, "status"] == "met"  # exactly 0.90
    assert r.loc[T1, "provenance"] == "indicators=synthetic"


def test_indicator_band_and_condition():
    t = make_target("indicator", unit_level="village", indicator="women_share_community_committee",
                    band=[0.4, 0.6], threshold=0.5, condition="committee_type == 'residents_committee'")
    r = rows_of(t)
    # V1 at 65%: 5 points above the band; V4 at 50%: inside; V2, V3, V5 are villagers' committees
    assert r.loc[V1, "status"] == "not_met" and r.loc[V1, "shortfall"] == pytest.approx(5.0)
    assert "回落" in r.loc[V1, "action"]
    assert r.loc[V4, "status"] == "met"
    assert set(r.loc[[V2, V3, V5], "status"]) == {"not_applicable"}
    t2 = t.with_overrides(band=(0.4, 0.7))
    assert rows_of(t2).loc[V1, "status"] == "met"


def test_count_indicator_shortfall_in_people():
    t = make_target("indicator", unit_level="township", indicator="child_social_workers", threshold=1,
                    action_zh="配备{n}名专职或兼职儿童社会工作者")
    r = rows_of(t)
    assert r.loc[T1, "status"] == "not_met" and r.loc[T1, "shortfall"] == 1
    assert r.loc[T1, "shortfall_unit"] == "people" and r.loc[T1, "action"] == "配备1名专职或兼职儿童社会工作者"
    assert r.loc[T2, "status"] == "met"


# ----------------------------------------------------------------------------- edge cases
def test_township_without_villages_in_village_level_rollup():
    t = make_target("presence", unit_level="village", facility={"type": "child_home"}, threshold=1)
    res = evaluate(toy_dataset(), t)
    # T3 has no villages: no village rows, and the county roll-up counts only real villages
    assert not (res.units["township_code"] == T3).any()
    roll = res.rollup.set_index("unit_code")
    assert roll.loc[C1, "n_units"] == 3 and roll.loc[C1, "met"] == 2 and roll.loc[C1, "not_met"] == 1
    assert roll.loc["331100", "n_units"] == 5 and roll.loc["331100", "plan_status"] == "not_met"
    assert roll.loc["331100", "shortfall"] == 2


# ----------------------------------------------------------------------------- conditions
def test_condition_language():
    df = pd.DataFrame({"pop_total": [9999, 10000, np.nan], "is_urban": [True, False, True],
                       "committee_type": ["residents_committee", "villagers_committee", ""]})
    assert parse_condition("pop_total >= 10000").mask(df).tolist() == [False, True, False]
    assert parse_condition("not is_urban or pop_total < 10000").mask(df).tolist() == [True, True, False]
    c = parse_condition("(is_urban and committee_type == 'residents_committee') or pop_total == 10000")
    assert c.mask(df).tolist() == [True, True, False]
    assert c.fields == {"is_urban", "committee_type", "pop_total"}
    for bad in ("pop_total >=", "pop_total >= 'x' and", "__import__('os')", "pop_total > 'a'", ""):
        with pytest.raises(ConditionSyntaxError):
            parse_condition(bad, frozenset({"pop_total"}))
    with pytest.raises(ConditionSyntaxError, match="unknown field 'pop'"):
        parse_condition("pop >= 1", frozenset({"pop_total"}))


def test_indicator_with_no_rows_that_year_is_no_data():
    """A year without any value of the indicator at its level gives no_data, not an error."""
    t = make_target("indicator", unit_level="township", indicator="immunisation_rate", threshold=0.9)
    ds = toy_dataset()
    ds.indicators = ds.indicators[ds.indicators["indicator"] != "immunisation_rate"].copy()
    ds.revision += 1
    r = rows_of(t, ds)
    assert set(r["status"]) == {"no_data"}
    assert r["shortfall"].eq(0).all()
