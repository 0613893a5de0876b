"""Scenario files and edits: parsing, every bad edit, effects on a copy of the data."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pytest

from layers.crs import wgs84_to_gcj02
from scenarios._errors import ScenarioError
from scenarios.apply import apportion, apply_scenario, new_facility_id
from scenarios.model import Scenario, load_scenario
from tests.scenario_helpers import X0, Y0, make_mini_dataset


@pytest.fixture()
def ds():
    return make_mini_dataset()


@dataclass(frozen=True)
class FakeTarget:
    """Stands in for coverage.targets.PlanTarget: an id and with_overrides(threshold=…)."""

    id: str
    threshold: float

    def with_overrides(self, **kw):
        if set(kw) - {"threshold"}:
            raise TypeError(f"unknown override {sorted(set(kw) - {'threshold'})}")
        return replace(self, **kw)


def _sc(*edits, year=2024, name="t"):
    return Scenario.from_edits(name, list(edits), year=year)


# ---------------------------------------------------------------- parsing
def test_load_toml_file(tmp_path: Path):
    p = tmp_path / "s.toml"
    p.write_text(
        'name = "升级"\nyear = 2024\n[[edits]]\nop = "upgrade_facility"\nfacility_id = "F001"\n'
        '[[edits]]\nop = "add_facility"\ntype = "child_home"\nvillage = 331102001002\n',
        encoding="utf-8",
    )
    sc = load_scenario(p)
    assert sc.name == "升级" and sc.year == 2024 and sc.source == str(p)
    assert [e.op for e in sc.edits] == ["upgrade_facility", "add_facility"]
    assert sc.edits[1].get("village") == "331102001002"  # integer code normalised to text


def test_load_yaml_file(tmp_path: Path):
    p = tmp_path / "s.yaml"
    p.write_text("name: y\nedits:\n  - op: close_facility\n    facility_id: F002\n", encoding="utf-8")
    assert load_scenario(p).edits[0].to_dict() == {"op": "close_facility", "facility_id": "F002"}


def test_static_problems_are_collected_with_file_and_edit(tmp_path: Path):
    p = tmp_path / "bad.toml"
    p.write_text(
        'name = "b"\ncolour = "red"\n'
        '[[edits]]\nop = "demolish"\n'
        '[[edits]]\nop = "add_facility"\ntype = "spaceport"\nvillage = "1"\n'
        '[[edits]]\nop = "add_facility"\ntype = "child_home"\ntier = "gold"\nlon = 120.0\n'
        '[[edits]]\nop = "set_capacity"\nfacility_id = "F005"\ncapacity = -3\n'
        '[[edits]]\nop = "scale_population"\ncounty = "331102"\nfactor = 0\n'
        '[[edits]]\nop = "override_target"\ntarget = "x"\n'
        '[[edits]]\nop = "add_facility"\ntype = "childcare"\nvillage = "331102001001"\nwhat = 1\n',
        encoding="utf-8",
    )
    with pytest.raises(ScenarioError) as info:
        load_scenario(p)
    msg = str(info.value)
    assert msg.startswith(str(p))
    for part in [
        "unknown key 'colour'",
        "edit #1 (op='demolish'): unknown op",
        "edit #2 (add_facility): unknown facility type 'spaceport'",
        "edit #2 (add_facility): village must be a 12-digit code",
        "edit #3 (add_facility): unknown tier 'gold'",
        "edit #3 (add_facility): give both lon and lat",
        "edit #4 (set_capacity): capacity must be a whole number ≥ 0",
        "edit #5 (scale_population): factor must be a number > 0",
        "edit #6 (override_target): give exactly one of threshold or band",
        "edit #7 (add_facility): unknown key 'what'",
        "edit #7 (add_facility): a childcare needs a capacity",
    ]:
        assert part in msg, part


def test_file_errors(tmp_path: Path):
    with pytest.raises(ScenarioError, match="not found"):
        load_scenario(tmp_path / "none.toml")
    p = tmp_path / "x.toml"
    p.write_text("name = [", encoding="utf-8")
    with pytest.raises(ScenarioError, match="not valid TOML"):
        load_scenario(p)
    q = tmp_path / "x.json"
    q.write_text("{}", encoding="utf-8")
    with pytest.raises(ScenarioError, match=r"must end in \.toml"):
        load_scenario(q)


# ---------------------------------------------------------------- reference checks
def test_bad_references_are_collected(ds):
    sc = _sc(
        {"op": "close_facility", "facility_id": "NOPE"},
        {"op": "upgrade_facility", "facility_id": "F005"},
        {"op": "upgrade_facility", "facility_id": "F003"},
        {"op": "set_capacity", "facility_id": "F001", "capacity": 5},
        {"op": "add_facility", "type": "child_home", "village": "331102009999"},
        {"op": "scale_population", "county": "331199", "factor": 1.1},
        {"op": "override_target", "target": "no_such_target", "threshold": 2},
        {"op": "close_facility", "facility_id": "F002"},
        {"op": "set_capacity", "facility_id": "F002", "capacity": 1},
        {"op": "add_facility", "type": "fitness", "facility_id": "F001", "village": "331102001001"},
        {"op": "add_facility", "type": "fitness", "lon": 121.5, "lat": 28.0},
        {"op": "add_facility", "type": "mother_baby_room", "village": "331102001001",
         "serves_place_id": "F001"},
        {"op": "override_target", "target": "t1", "band": [0.4, 0.6]},
    )
    with pytest.raises(ScenarioError) as info:
        apply_scenario(sc, ds, [FakeTarget("t1", 4.5)])
    msg = str(info.value)
    assert "12 bad edit(s)" in msg  # edit #8 is valid
    for part in [
        "edit #1 (close_facility): unknown facility_id 'NOPE' in the 2024 inventory",
        "edit #2 (upgrade_facility): facility 'F005' is a childcare, only a child_home has a tier",
        "edit #3 (upgrade_facility): facility 'F003' is already demonstration",
        "edit #4 (set_capacity): facility 'F001' is a child_home, which has no capacity",
        "edit #5 (add_facility): unknown village '331102009999'",
        "edit #6 (scale_population): unknown county '331199'",
        "edit #7 (override_target): unknown target 'no_such_target'",
        "edit #9 (set_capacity): facility 'F002' was closed by edit #8",
        "edit #10 (add_facility): facility_id 'F001' already exists",
        "edit #11 (add_facility): point (121.500000, 28.000000) lies outside Lishui",
        "edit #12 (add_facility): serves_place_id 'F001' is not a public_place",
        "edit #13 (override_target): target 't1' does not accept",
    ]:
        assert part in msg, part


def test_unknown_year(ds):
    with pytest.raises(ScenarioError, match="year 2022 is not an inventory year"):
        apply_scenario(_sc({"op": "close_facility", "facility_id": "F001"}, year=2022), ds, [])


# ---------------------------------------------------------------- effects
def _snapshot(ds):
    return {k: getattr(ds, k).copy() for k in ("counties", "townships", "villages", "facilities")}


def test_edits_change_only_the_copy(ds):
    before = _snapshot(ds)
    sc = _sc(
        {"op": "upgrade_facility", "facility_id": "F001"},
        {"op": "close_facility", "facility_id": "F004"},
        {"op": "set_capacity", "facility_id": "F005", "capacity": 65},
        {"op": "add_facility", "type": "child_home", "tier": "demonstration",
         "village": "331121001001", "name": "新示范"},
        {"op": "scale_population", "county": "331102", "factor": 1.1, "projection_year": 2025},
        {"op": "override_target", "target": "t1", "threshold": 5.5},
    )
    targets = [FakeTarget("t1", 4.5), FakeTarget("t2", 1)]
    ds2, t2 = apply_scenario(sc, ds, targets)
    for key, frame in before.items():  # base untouched
        assert getattr(ds, key).equals(frame), key
    assert targets == [FakeTarget("t1", 4.5), FakeTarget("t2", 1)]
    assert t2 == [FakeTarget("t1", 5.5), FakeTarget("t2", 1)]

    f24 = ds2.facilities_for(2024).set_index("facility_id")
    f20 = ds2.facilities_for(2020).set_index("facility_id")
    assert "F004" not in f24.index and "F004" in f20.index  # closed in the scenario year only
    assert f24.at["F001", "tier"] == "demonstration" and f20.at["F001", "tier"] == "basic"
    assert f24.at["F001", "scenario"] == "t" and f24.at["F001", "provenance"] == "synthetic"
    assert f24.at["F002", "scenario"] == ""
    assert f24.at["F005", "capacity"] == 65
    new_id = new_facility_id("t", 3)
    assert new_id == new_facility_id("t", 3) != new_facility_id("u", 3)
    new = f24.loc[new_id]
    assert (new["type"], new["tier"], new["name"]) == ("child_home", "demonstration", "新示范")
    assert (new["village_code"], new["township_code"], new["county_code"]) == (
        "331121001001", "331121001", "331121")
    assert new["provenance"] == "synthetic" and new["scenario"] == "t"
    vpt = ds.villages.set_index("code").geometry["331121001001"]
    assert new.geometry.equals_exact(vpt, 1e-12)
    assert len(f24) == len(ds.facilities_for(2024))  # one closed, one added

    # population ×1.1, hand-worked: county 331102 totals 8000 → 8800; under-3 240 → 264
    c = ds2.counties.set_index("code")
    assert c.at["331102", "pop_total"] == 8800 and c.at["331102", "pop_under3"] == 264
    assert c.at["331121", "pop_total"] == 4000 and c.at["331102", "pop_provenance"] == "estimated"
    t = ds2.townships.set_index("code")
    assert t.at["331102001", "pop_total"] == 6600 and t.at["331102002", "pop_total"] == 2200
    v = ds2.villages.set_index("code")
    # 331102002: under-3 45, 15 → ×1.1 = 49.5, 16.5 → township total 66 → 50 + 16 (largest remainder, tie to first)
    assert (v.at["331102002001", "pop_under3"], v.at["331102002002", "pop_under3"]) == (50, 16)
    for col in ("pop_total", "pop_under3", "pop_under18"):
        assert t.loc[t["county_code"] == "331102", col].sum() == c.at["331102", col]
        for tw in ("331102001", "331102002"):
            assert v.loc[v["township_code"] == tw, col].sum() == t.at[tw, col]
    assert v.at["331102001001", "pop_projection_year"] == 2025
    assert ds2.revision == ds.revision + 1


def test_edits_refer_to_facilities_added_earlier(ds):
    sc = _sc(
        {"op": "add_facility", "type": "childcare", "capacity": 20, "village": "331102002002",
         "facility_id": "NEW1", "is_inclusive": True},
        {"op": "set_capacity", "facility_id": "NEW1", "capacity": 30},
        {"op": "add_facility", "type": "child_home", "village": "331102002002"},
        {"op": "upgrade_facility", "facility_id": new_facility_id("t", 2), "tier": "featured"},
        {"op": "add_facility", "type": "fitness", "village": "331102002002"},
        {"op": "close_facility", "facility_id": new_facility_id("t", 4)},
    )
    ds2, _ = apply_scenario(sc, ds, [])
    f = ds2.facilities_for(2024).set_index("facility_id")
    assert f.at["NEW1", "capacity"] == 30 and bool(f.at["NEW1", "is_inclusive"]) is True
    assert f.at[new_facility_id("t", 2), "tier"] == "featured"
    assert new_facility_id("t", 4) not in f.index
    assert len(f) == len(ds.facilities_for(2024)) + 2


def test_add_by_coordinates_in_gcj02(ds):
    # a WGS84 point inside township 331102002 (x = 15 km), stated in GCJ-02
    import geopandas as gpd
    from shapely.geometry import Point

    wgs = gpd.GeoSeries([Point(X0 + 15_000, Y0 + 3_000)], crs="EPSG:4549").to_crs("EPSG:4326")[0]
    glon, glat = wgs84_to_gcj02(wgs.x, wgs.y)
    sc = _sc({"op": "add_facility", "type": "fitness", "lon": float(glon), "lat": float(glat),
              "crs": "gcj02", "facility_id": "G1"})
    ds2, _ = apply_scenario(sc, ds, [])
    row = ds2.facilities_for(2024).set_index("facility_id").loc["G1"]
    assert abs(row.geometry.x - wgs.x) < 1e-8 and abs(row.geometry.y - wgs.y) < 1e-8
    assert (row["township_code"], row["county_code"], row["village_code"]) == ("331102002", "331102", "")
    assert row["location_precision"] == "exact" and row["level"] == "township"


def test_apportion_keeps_totals():
    assert apportion(10, [1, 1, 1]).tolist() == [4, 3, 3]
    assert apportion(7, [0, 0]).tolist() == [4, 3]
    rng = np.random.default_rng(1)
    for _ in range(50):
        w = rng.integers(0, 1000, size=rng.integers(1, 30))
        total = int(rng.integers(0, 100_000))
        parts = apportion(total, w)
        assert parts.sum() == total and (parts >= 0).all()
        if w.sum() > 0:  # each part within 1 of its exact share
            assert np.all(np.abs(parts - total * w / w.sum()) < 1)


def test_json_nulls_are_absent_keys():
    sc = Scenario.from_edits("app", [{"op": "add_facility", "type": "fitness", "tier": None,
                                      "village": "331102001001", "lon": None, "lat": None}])
    assert sc.edits[0].to_dict() == {"op": "add_facility", "type": "fitness", "village": "331102001001"}


def test_to_dict_round_trip():
    sc = _sc({"op": "override_target", "target": "x", "band": [0.4, 0.6]},
             {"op": "scale_population", "county": 331102, "factor": 2})
    d = sc.to_dict()
    assert d["edits"] == [
        {"op": "override_target", "target": "x", "band": [0.4, 0.6]},
        {"op": "scale_population", "county": "331102", "factor": 2.0},
    ]
    assert Scenario.from_dict(d).to_dict() == d


# ---------------------------------------------------------------- run_scenario (real evaluation)
def _targets():
    from coverage.targets import target_from_dict

    src = {"plan": "丽水市儿童发展“十四五”规划", "clause": "测试条款", "lines": [721]}
    common = {"plan": "children", "chapter": "test", "source": src}
    return [
        target_from_dict({**common, "id": "demo_child_home_per_township", "kind": "presence",
                          "label_zh": "示范型", "label_en": "demo", "unit_level": "township",
                          "threshold": 1, "facility": {"type": "child_home", "tier": "demonstration"}}, "<t1>"),
        target_from_dict({**common, "id": "childcare_slots_per_1000", "kind": "capacity_ratio",
                          "label_zh": "托位", "label_en": "slots", "unit_level": "county", "threshold": 4.5,
                          "facility": {"type": "childcare"}, "population": "pop_total", "per": 1000}, "<t2>"),
        target_from_dict({**common, "id": "fitness_10min_circle", "kind": "access", "label_zh": "健身圈",
                          "label_en": "fitness", "unit_level": "township", "threshold": 0.9,
                          "facility": {"type": "fitness"}, "access": {"distance_m": 1000, "demand": "urban"}},
                         "<t3>"),
    ]


def test_run_scenario_hand_worked(ds, tmp_path: Path):
    import openpyxl
    import pandas as pd

    from scenarios.diff import run_scenario

    targets = _targets()
    sc = _sc(
        {"op": "upgrade_facility", "facility_id": "F001"},              # 331102001 gets a 示范型
        {"op": "override_target", "target": "childcare_slots_per_1000", "threshold": 5.5},
        {"op": "add_facility", "type": "fitness", "village": "331121001001"},  # urban V6, 2500 people
        name="手算情景",
    )
    before = _snapshot(ds)
    diff = run_scenario(sc, ds, targets)
    for key, frame in before.items():
        assert getattr(ds, key).equals(frame), key
    ch = diff.changes.set_index(["target_id", "unit_code"])
    # presence: 331102001 not_met → met (shortfall 1 → 0); 331121001 stays not_met
    assert ch.loc[("demo_child_home_per_township", "331102001"), "change"] == "not_met→met"
    assert ch.loc[("demo_child_home_per_township", "331121001"), "change"] == ""
    # 托位 4.5 → 5.5 per 1000: 331102 has 40 slots for 8000 people (5.0): met → not_met,
    # shortfall 0 → 44 − 40 = 4; 331121 has 10 for 4000: shortfall 18 − 10 = 8 → 22 − 10 = 12
    r = ch.loc[("childcare_slots_per_1000", "331102")]
    assert (r["change"], r["shortfall_before"], r["shortfall_after"]) == ("met→not_met", 0.0, 4.0)
    r = ch.loc[("childcare_slots_per_1000", "331121")]
    assert (r["shortfall_before"], r["shortfall_after"], r["shortfall_delta"]) == (8.0, 12.0, 4.0)
    # access: V6's 2500 urban residents come within 1000 m; township 331121001 (demand 2500)
    # goes from shortfall 0.9·2500 = 2250 to 0 and flips to met
    r = ch.loc[("fitness_10min_circle", "331121001")]
    assert (r["change"], r["shortfall_before"], r["shortfall_after"]) == ("not_met→met", 2250.0, 0.0)
    assert diff.people_newly_covered == {"fitness_10min_circle": 2500.0}
    assert list(diff.flips["change"]) == ["not_met→met", "not_met→met", "met→not_met"]
    s = diff.summary.set_index("target_id")
    assert s.loc["childcare_slots_per_1000", "newly_not_met"] == 1
    assert s.loc["demo_child_home_per_township", "shortfall_delta"] == -1.0

    xlsx = diff.write(tmp_path / "d.xlsx")
    wb = openpyxl.load_workbook(xlsx)
    assert wb.sheetnames == ["汇总", "状态变化", "缺口变化"]
    meta = {row[0]: row[1] for row in wb["汇总"].iter_rows(min_row=2, max_row=8, values_only=True)}
    assert meta["情景名称"] == "手算情景" and "synthetic" in meta["数据来源性质"]
    assert meta["新增覆盖人口（fitness_10min_circle）"] == 2500
    header = [c.value for c in wb["状态变化"][1]]
    assert header[:4] == ["目标编号", "层级", "统计代码", "单位名称"] and "基准状态" in header
    flips = list(wb["状态变化"].iter_rows(min_row=2, values_only=True))
    assert len(flips) == 3 and flips[0][header.index("状态变化")] == "转为达标"
    csv = diff.write(tmp_path / "d.csv")
    assert csv.read_bytes().startswith(b"\xef\xbb\xbf")
    table = pd.read_csv(csv, encoding="utf-8-sig", dtype=str)
    assert len(table) == len(diff.changed) == 4  # 3 flips + the 331121 shortfall change
    assert table["数据来源性质"].str.contains("synthetic").all()
    with pytest.raises(ScenarioError, match=r"\.xlsx or \.csv"):
        diff.write(tmp_path / "d.json")
