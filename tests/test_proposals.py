"""Proposals for presence and facility-share gaps, on the hand-made mini dataset.

Distances are worked out by hand from the EPSG:4549 layout in tests/scenario_helpers.py:
township 331102001 has villages V1 (1, 5) km, V2 (4, 8) km, V3 (8, 5) km, so
d(V1, V2) = √18 = 4.243 km, d(V2, V3) = 5 km, d(V1, V3) = 7 km.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pytest

from coverage.siting import children_served, load_costs, propose_presence, weighted_median_sites
from coverage.siting import propose_facility_share
from coverage.targets import FacilitySelector
from scenarios.apply import apply_scenario
from scenarios.model import Scenario
from tests.scenario_helpers import make_mini_dataset


@dataclass(frozen=True)
class T:
    id: str
    kind: str
    facility: FacilitySelector
    numerator: str = ""
    population: str = "pop_total"


def _rows(tid, level, codes, shortfall=1.0, unit="facilities"):
    return pd.DataFrame({"target_id": tid, "unit_level": level, "unit_code": codes,
                         "status": "not_met", "shortfall": shortfall, "shortfall_unit": unit})


@pytest.fixture(scope="module")
def ds():
    return make_mini_dataset()


def test_weighted_median_by_hand():
    xy = np.array([[1000.0, 5000.0], [4000.0, 8000.0], [8000.0, 5000.0]])
    w = np.array([600.0, 200.0, 400.0])
    # Σ w·d: V1 = 200·4243 + 400·7000 = 3 648 528; V2 = 600·4243 + 400·5000 = 4 545 584;
    # V3 = 600·7000 + 200·5000 = 5 200 000 → V1
    assert weighted_median_sites(xy, w, 1) == [0]
    # with V1 already open the best addition is V3 (saves 400·7000) over V2 (saves 200·4243)
    assert weighted_median_sites(xy, w, 1, open_xy=xy[[0]]) == [2]
    # with heavy weight on V3, V3 wins: V1 = 200·4243 + 5000·7000 vs V3 = 600·7000 + 200·5000
    assert weighted_median_sites(xy, np.array([600.0, 200.0, 5000.0]), 1) == [2]


def test_children_served_own_village_then_nearest():
    vxy = np.array([[1000.0, 5000.0], [4000.0, 8000.0], [8000.0, 5000.0]])
    hxy = np.array([[1000.0, 5000.0], [8000.0, 5000.0]])
    served = children_served(hxy, ["V1", "V3"], vxy, ["V1", "V2", "V3"], np.array([600, 200, 400.0]))
    assert served.tolist() == [800.0, 400.0]  # V2 is 4.243 km from F001, 5 km from F002
    # a home standing in V2 takes V2 even though another is nearer to its point
    served = children_served(hxy, ["V1", "V2"], vxy, ["V1", "V2", "V3"], np.array([600, 200, 400.0]))
    # (V3 goes to the second home, which stands on V3's point)
    assert served.tolist() == [600.0, 200.0 + 400.0]


def test_presence_prefers_upgrade_over_new_build(ds):
    t = T("demo_child_home_per_township", "presence", FacilitySelector("child_home", "demonstration"))
    units = _rows(t.id, "township", ["331102001", "331121001"], unit="upgrades")
    ps = propose_presence(ds, t, units, 2024)
    acts = [(a["action"], a["facility_id"], a["people_covered"]) for a in ps.actions]
    # 331102001: F001 serves V1 (600) + V2 (200, nearer to F001) = 800 > F002's 400
    # 331121001: F004 is the only basic home; it serves V6 (500) and V7 (300)
    assert acts == [("upgrade", "F001", 800.0), ("upgrade", "F004", 800.0)]
    assert ps.edits() == [
        {"op": "upgrade_facility", "facility_id": "F001", "tier": "demonstration"},
        {"op": "upgrade_facility", "facility_id": "F004", "tier": "demonstration"},
    ]
    assert [a["action_id"] for a in ps.actions] == ["P001", "P002"]
    assert all(a["cost"] == load_costs()["upgrade"]["child_home"] for a in ps.actions)


def test_presence_new_build_at_central_village(ds):
    t = T("elderly_centre_every_township", "presence", FacilitySelector("elderly_care_centre"))
    units = _rows(t.id, "township", ["331102001", "331102002"])
    ps = propose_presence(ds, t, units, 2024)
    # weights pop_65plus: V1 600, V2 200, V3 400 → V1 (see test_weighted_median_by_hand);
    # 331102002: V4 300 at 12 km, V5 100 at 18 km → V4 (100·6000 < 300·6000)
    assert [(a["action"], a["village_code"]) for a in ps.actions] == [
        ("new_build", "331102001001"), ("new_build", "331102002001")]
    assert ps.actions[0]["edits"] == [
        {"op": "add_facility", "type": "elderly_care_centre", "village": "331102001001"}]
    c = load_costs()["new_build"]
    assert ps.actions[0]["cost"] == c["site"] + c["elderly_care_centre"]
    assert "3648.5 人·千米" in ps.actions[0]["reason"]  # 3 648 528 person·m


def test_presence_shortfall_two_uses_greedy_p_median(ds):
    t = T("x", "presence", FacilitySelector("disability_home"))
    ps = propose_presence(ds, t, _rows("x", "township", ["331102001"], shortfall=2.0), 2024)
    # pop_total 3000, 1000, 2000 → first V1 (1000·4243 + 2000·7000 = 18.2M person·m, the least);
    # then with V1 open: adding V3 leaves 1000·4243 = 4.2M, adding V2 leaves 2000·7000 = 14M → V3
    assert [a["village_code"] for a in ps.actions] == ["331102001001", "331102001003"]


def test_proposals_round_trip_through_scenario(ds):
    t = T("demo_child_home_per_township", "presence", FacilitySelector("child_home", "demonstration"))
    ps = propose_presence(ds, t, _rows(t.id, "township", ["331102001", "331121001"]), 2024)
    sc = Scenario.from_edits("proposals", ps.edits(), year=2024)
    ds2, _ = apply_scenario(sc, ds, [])
    f = ds2.facilities_for(2024)
    demo = f[(f["type"] == "child_home") & (f["tier"] == "demonstration")]
    assert sorted(demo["township_code"]) == ["331102001", "331102002", "331121001"]


def test_facility_share_upgrades_prefer_townships_without_demo(ds):
    t = T("demo_child_home_share_15", "facility_share", FacilitySelector("child_home"),
          numerator='tier == "demonstration"')
    units = pd.concat([_rows(t.id, "county", ["331102"], shortfall=1.0, unit="upgrades"),
                       _rows(t.id, "city", ["331100"], shortfall=2.0, unit="upgrades")])
    ps = propose_facility_share(ds, t, units, 2024)
    # county 331102: basic F001 (serves 800 within the county: V1, V2; V3 → F002 ...)
    # both F001 and F002 are in 331102001 (no demo) → F001 (more children);
    # city needs 2: F001 already chosen → one more, F004 (township 331121001 has no demo)
    assert [(a["facility_id"], a["units_fixed"]) for a in ps.actions] == [
        ("F001", ["county:331102"]), ("F004", ["city:331100"])]
    assert math.isclose(ps.total_cost, 2 * load_costs()["upgrade"]["child_home"])


# ---------------------------------------------------------------- capacity and access
@dataclass(frozen=True)
class CapT:
    id: str
    facility: FacilitySelector
    threshold: float
    per: float = 1000.0
    population: str = "pop_total"
    kind: str = "capacity_ratio"


def test_capacity_per_township_and_new_site(ds):
    from coverage.siting import propose_capacity

    # 10 slots per 1000: county 331102 (8000 people) needs 80, has 40 (F005) → 40 short.
    # township deficits: 331102001 6000 → 60 − 40 = 20; 331102002 2000 → 20 − 0 = 20
    t = CapT("slots", FacilitySelector("childcare"), 10.0)
    ps = propose_capacity(ds, t, _rows("slots", "county", ["331102"], shortfall=40.0, unit="slots"), 2024)
    got = [(a["action"], a["township_code"], a["facility_id"] or a["village_code"], a["capacity"])
           for a in ps.actions]
    # 331102002 has no site: new one at V4 (under-3 45 vs 15, 6 km apart → V4)
    assert got == [("add_capacity", "331102001", "F005", 20), ("new_build", "331102002", "331102002001", 20)]
    assert ps.actions[0]["edits"] == [{"op": "set_capacity", "facility_id": "F005", "capacity": 60}]
    c = load_costs()
    assert ps.total_cost == 20 * c["capacity"]["slot_cost"] + (
        c["new_build"]["site"] + c["new_build"]["childcare"] + 20 * c["capacity"]["slot_cost"])
    # the edits close the gap: 60 + 20 = 80 slots in the county
    ds2, _ = apply_scenario(Scenario.from_edits("cap", ps.edits(), year=2024), ds, [])
    f = ds2.facilities_for(2024)
    assert f.loc[(f["type"] == "childcare") & (f["county_code"] == "331102"), "capacity"].sum() == 80


def test_capacity_small_sites_are_capacitated(ds):
    from coverage.siting import propose_capacity

    costs = load_costs()
    costs = dict(costs, capacity=dict(costs["capacity"], max_added_per_site=5, max_site_slots=8))
    t = CapT("slots", FacilitySelector("childcare"), 10.0)
    ps = propose_capacity(ds, t, _rows("slots", "county", ["331102"], shortfall=40.0), 2024, costs)
    got = [(a["action"], a["facility_id"] or a["village_code"], a["capacity"]) for a in ps.actions]
    # 331102001 (20): F005 +5, then ceil(15/8) = 2 new sites of 8 and 7; with F005 open at
    # (1.2, 5) km, V3 saves 60·6800 > V2's 30·4104, then V2 (30·4104) beats V1 (90·200)
    # 331102002 (20): ceil(20/8) = 3 sites of 7, 7, 6 on its 2 villages: V4, V5, then V4 again
    assert got == [("add_capacity", "F005", 5), ("new_build", "331102001003", 8),
                   ("new_build", "331102001002", 7), ("new_build", "331102002001", 7),
                   ("new_build", "331102002002", 7), ("new_build", "331102002001", 6)]
    assert all(a["capacity"] <= 8 for a in ps.actions if a["action"] == "new_build")


@dataclass(frozen=True)
class AccT:
    id: str
    facility: FacilitySelector
    threshold: float
    access: object
    kind: str = "access"


def _acc_target(threshold=0.9):
    from coverage.targets import AccessSpec

    return AccT("fitness_10min_circle", FacilitySelector("fitness"), threshold,
                AccessSpec(distance_m=1000.0, demand="urban"))


def test_access_instance_straight_line(ds):
    from coverage.siting import access_instance

    inst = access_instance(ds, _acc_target(), 2024)
    # urban demand: V1 (3000), V4 (1500), V6 (2500); fitness F008 is 4.39 km from V1 → none covered
    assert inst["demand"]["code"].tolist() == ["331102001001", "331102002001", "331121001001"]
    assert inst["precovered"].tolist() == [False, False, False]
    assert inst["method"] == "straight_line_detour"
    # candidates within 1000 m straight-line of uncovered demand: the 3 urban villages and the
    # public place F007, 300 m from V4 (≤ 1000/1.3 = 769 m, so it covers V4)
    cand = inst["candidates"]
    assert sorted(cand["ref"]) == ["331102001001", "331102002001", "331121001001", "F007"]
    A = inst["A"].toarray()
    col = {r: A[:, k].tolist() for k, r in enumerate(cand["ref"])}
    assert col["F007"] == [False, True, False] and col["331102001001"] == [True, False, False]


def test_access_mclp_and_lscp(ds):
    from coverage.siting import propose_access

    one = propose_access(ds, _acc_target(), p=1, year=2024)
    assert [(a["village_code"], a["people_covered"]) for a in one.actions] == [("331102001001", 3000.0)]
    assert one.status == "optimal" and one.objective == pytest.approx(3000.0)
    two = propose_access(ds, _acc_target(), p=2, year=2024)
    assert sorted(a["village_code"] for a in two.actions) == ["331102001001", "331121001001"]
    # LSCP: 90% of 7000 = 6300 people needs all three demand places (any two reach ≤ 5500)
    lscp = propose_access(ds, _acc_target(0.9), year=2024)
    assert len(lscp.actions) == 3 and sum(a["people_covered"] for a in lscp.actions) == 7000.0
    assert {a["edits"][0]["op"] for a in lscp.actions} == {"add_facility"}
    # 60% = 4200: two sites suffice (3000 + 1500 or 3000 + 2500)
    assert len(propose_access(ds, _acc_target(), share=0.6, year=2024).actions) == 2
    # the greedy variant finds the same optimum here and reports a zero gap to the LP bound
    g = propose_access(ds, _acc_target(), p=2, year=2024, method="greedy")
    assert g.status == "greedy" and g.objective == pytest.approx(5500.0) and g.gap == pytest.approx(0.0)


# ---------------------------------------------------------------- joint model
def _joint_targets():
    from coverage.targets import target_from_dict

    src = {"plan": "p", "clause": "c", "lines": [721]}
    common = {"plan": "children", "chapter": "t", "source": src, "label_en": "x"}
    demo = target_from_dict({**common, "id": "demo_child_home_per_township", "kind": "presence",
                             "label_zh": "示范型", "unit_level": "township", "threshold": 1,
                             "facility": {"type": "child_home", "tier": "demonstration"}}, "<t1>")
    slots = target_from_dict({**common, "id": "childcare_slots_per_1000", "kind": "capacity_ratio",
                              "label_zh": "托位", "unit_level": "county", "threshold": 10.0,
                              "facility": {"type": "childcare"}, "population": "pop_total",
                              "per": 1000}, "<t2>")
    return [demo, slots]


def _joint_costs(**capacity):
    c = load_costs()
    return dict(c, upgrade=dict(c["upgrade"], child_home=50.0),
                new_build=dict(c["new_build"], site=20.0, child_home=10.0,
                               child_home_demonstration=15.0, childcare=40.0),
                capacity=dict(c["capacity"], slot_cost=1.5, max_site_slots=150, **capacity))


def test_joint_shares_sites_hand_worked(ds):
    from coverage.targets import evaluate
    from coverage.siting import propose_joint
    from scenarios.diff import run_scenario

    targets = _joint_targets()
    units = evaluate(ds, targets, year=2024).units
    # existing 托育 sites cannot grow (max_added_per_site = 0), upgrades cost 50.
    # 331102: 40 slots short → a new site: 20 + 40 + 40·1.5 = 120; its township 331102001 also
    #   lacks a 示范型: +15 at the same site (vs 50 upgrade or 20 + 15 separate) → 135
    # 331121: 30 slots short → 20 + 40 + 30·1.5 = 105; 331121001 lacks a 示范型 → +15 → 120
    # cheapest = 255, two sites each housing a 示范型 儿童之家 and a 托育 room
    ps = propose_joint(ds, targets, units, 2024, _joint_costs(max_added_per_site=0))
    assert ps.status == "optimal"
    assert ps.total_cost == pytest.approx(255.0) and ps.objective == pytest.approx(255.0)
    assert [a["action"] for a in ps.actions] == ["new_build", "new_build"]
    by_tw = {a["township_code"]: a for a in ps.actions}
    assert set(by_tw) == {"331102001", "331121001"}
    assert by_tw["331102001"]["capacity"] == 40 and by_tw["331121001"]["capacity"] == 30
    for a in ps.actions:
        assert sorted(a["target_ids"]) == ["childcare_slots_per_1000", "demo_child_home_per_township"]
        assert sorted(e["type"] for e in a["edits"]) == ["child_home", "childcare"]
    # the proposals, run as a scenario, flip every targeted unit to met
    sc = Scenario.from_edits("joint", ps.edits(), year=2024)
    diff = run_scenario(sc, ds, targets)
    after = diff.changes.set_index(["target_id", "unit_code"])["status_after"]
    assert (after == "met").all()


def test_joint_prefers_expansion_and_upgrade_when_cheaper(ds):
    from coverage.targets import evaluate
    from coverage.siting import propose_joint

    targets = _joint_targets()
    units = evaluate(ds, targets, year=2024).units
    costs = _joint_costs(max_added_per_site=60)
    costs["upgrade"]["child_home"] = 10.0
    # now: F005 +40 (60), F006 +30 (45), upgrades of F001 (serves ≥ F002, either is 10) and F004
    ps = propose_joint(ds, targets, units, 2024, costs)
    assert ps.total_cost == pytest.approx(60 + 45 + 10 + 10)
    kinds = sorted((a["action"], a["capacity"] or 0) for a in ps.actions)
    assert kinds == [("add_capacity", 30), ("add_capacity", 40), ("upgrade", 0), ("upgrade", 0)]


def _line_network(x0: float, y0: float):
    import scipy.sparse as sp
    from shapely.geometry import LineString

    from coverage.access import WalkNetwork

    xy = np.array([[x0 + k * 400.0, y0] for k in range(4)])
    u, v = np.array([0, 1, 2]), np.array([1, 2, 3])
    w = np.full(3, 400.0)
    g = sp.csr_matrix((np.r_[w, w], (np.r_[u, v], np.r_[v, u])), shape=(4, 4))
    return WalkNetwork(crs="EPSG:4549", source="hand", provenance="synthetic",
                       node_osmid=np.arange(4), node_xy=xy, edge_u=u, edge_v=v, edge_length_m=w,
                       edge_geometry=np.array([LineString([xy[a], xy[b]]) for a, b in zip(u, v)]),
                       graph=g)


def test_node_candidates_thinned_and_placed(ds):
    from coverage.siting import node_candidates

    # nodes at x = 0, 400, 800, 1200 m (+480 km), y = 5 km: inside township 331102001
    net = _line_network(480_000.0, 3_145_000.0)
    demand = np.array([[480_000.0, 3_145_000.0]])
    c = node_candidates(ds, net, demand, 1000.0, spacing_m=500.0)
    # within 1000 m: nodes 0, 1, 2; cells of 500 m: {0, 1} → node 1 (150 m from the cell
    # centre at 250 m, node 0 is 250 m away), {2} → node 2
    assert c["ref"].tolist() == ["node:1", "node:2"]
    assert set(c["township_code"]) == {"331102001"} and set(c["kind"]) == {"node"}


def test_network_coverage_by_hand():
    """A 4-node line network 0–400–800–1200 m; snapping legs are added to the route."""
    from coverage.siting import network_coverage

    x0, y0 = 480_000.0, 3_140_000.0
    net = _line_network(x0, y0)
    demand = np.array([[x0, y0 + 30], [x0 + 1200, y0], [x0 + 800, y0 + 600]])  # last: 600 m off
    cand = np.array([[x0 + 400, y0 + 40], [x0 + 800, y0]])
    # routes: d0→c0 30+400+40 = 470, d0→c1 30+800 = 830, d1→c0 800+40 = 840, d1→c1 400
    A = network_coverage(net, demand, cand, 1000.0, max_snap_m=500.0).toarray()
    assert A.tolist() == [[True, True], [True, True], [False, False]]
    A = network_coverage(net, demand, cand, 800.0, max_snap_m=500.0).toarray()
    assert A.tolist() == [[True, False], [False, True], [False, False]]
    A = network_coverage(net, demand, cand, 469.0, max_snap_m=500.0).toarray()
    assert A.tolist() == [[False, False], [False, True], [False, False]]


def test_unit_share_new_builds_in_unserved_members(ds):
    from coverage.siting import propose_unit_share

    @dataclass(frozen=True)
    class U:
        id: str
        facility: FacilitySelector
        member_level: str = "village"
        kind: str = "unit_share"

    t = U("urban_community_childcare_50", FacilitySelector("childcare"))
    # county 331102 needs 1 more served urban community; the unserved ones (village rows
    # not_met) are V4 (under-3 45) and, say, V2 (30) → V4; the city row's need of 1 is
    # met by the county's pick; 331121 needs 2 but has only V7 (45) unserved → 1 + a note
    units = pd.concat([
        _rows(t.id, "county", ["331102"], 1.0), _rows(t.id, "county", ["331121"], 2.0),
        _rows(t.id, "city", ["331100"], 1.0),
        _rows(t.id, "village", ["331102002001", "331102001002", "331121001002"], 0.0)])
    ps = propose_unit_share(ds, t, units, 2024)
    assert [(a["village_code"], a["units_fixed"][0]) for a in ps.actions] == [
        ("331102002001", "county:331102"), ("331121001002", "county:331121")]
    assert ps.actions[0]["edits"] == [{"op": "add_facility", "type": "childcare", "village": "331102002001",
                                       "capacity": load_costs()["capacity"]["new_site_slots"]}]
    assert ps.notes == ["urban_community_childcare_50 county 331121: needs 2, only 1 unserved units"]


def test_joint_reports_units_and_writes_csv(ds, tmp_path):
    from coverage.targets import evaluate
    from coverage.siting import propose_joint

    targets = _joint_targets()
    ps = propose_joint(ds, targets, evaluate(ds, targets, year=2024).units, 2024,
                       _joint_costs(max_added_per_site=0))
    by_tw = {a["township_code"]: a for a in ps.actions}
    assert sorted(by_tw["331121001"]["units_fixed"]) == ["county:331121", "township:331121001"]
    out = ps.write_csv(tmp_path / "joint.csv")
    t = pd.read_csv(out, encoding="utf-8-sig", dtype=str)
    assert set(t["建议措施类型"]) == {"新建"} and set(t["设施类型"]) == {"儿童之家、托育机构"}
    assert t["数据来源性质"].str.contains("costs=estimated").all()
    assert t["数据来源性质"].str.contains("facilities=synthetic").all()
    assert t["估算费用（万元）"].astype(float).sum() == pytest.approx(255.0)


def test_unit_share_county_members_build_at_central_village(ds):
    from coverage.siting import propose_unit_share

    @dataclass(frozen=True)
    class U:
        id: str
        facility: FacilitySelector
        member_level: str = "county"
        kind: str = "unit_share"

    t = U("women_children_centre_counties_70", FacilitySelector("women_children_centre", None, "same"))
    units = pd.concat([_rows(t.id, "county", ["331102", "331121"]), _rows(t.id, "city", ["331100"], 1.0)])
    ps = propose_unit_share(ds, t, units, 2024)
    # county 331102 has more women (4000 vs 2000); its most central village by women
    # (1500, 500, 1000, 750, 250 at x = 1, 4, 8, 12, 18 km): Σ w·d = V1 21.6k, V2 21.4k,
    # V3 18.5k, V4 26.3k person·km → V3
    assert [(a["village_code"], a["units_fixed"]) for a in ps.actions] == [
        ("331102001003", ["city:331100", "county:331102"])]
    assert ps.actions[0]["edits"][0]["level"] == "county"


def test_mother_baby_room_in_qualifying_public_place(ds):
    from coverage.siting import propose_facility_share
    from coverage.targets import parse_condition

    t = T("mother_baby_room_public_places", "facility_share", FacilitySelector("public_place"),
          numerator="has_mother_baby_room")
    t = type("MB", (), {"id": t.id, "kind": t.kind, "facility": t.facility, "numerator": t.numerator,
                        "facility_condition": parse_condition("building_area_m2 > 10000")})()
    ps = propose_facility_share(ds, t, _rows(t.id, "township", ["331102002"], 1.0), 2024)
    # F007 (20 000 m², in 331102002) qualifies and has no room → a room serving it, at its point
    assert [(a["facility_id"], a["facility_type"]) for a in ps.actions] == [("F007", "mother_baby_room")]
    e = ps.actions[0]["edits"][0]
    assert (e["serves_place_id"], e["village"], e["crs"]) == ("F007", "331102002001", "wgs84")
    ds2, _ = apply_scenario(Scenario.from_edits("mb", ps.edits(), year=2024), ds, [])
    f = ds2.facilities_for(2024)
    room = f[f["type"] == "mother_baby_room"].iloc[0]
    assert room["serves_place_id"] == "F007" and room["township_code"] == "331102002"


def test_presence_unit_without_villages_gets_the_seat():
    ds = make_mini_dataset()
    ds.villages = ds.villages[ds.villages["township_code"] != "331121001"].reset_index(drop=True)
    tw = ds.townships
    tw.loc[tw["code"] == "331121001", ["seat_lon", "seat_lat"]] = [120.1, 28.40]
    t = T("elderly_centre_every_township", "presence", FacilitySelector("elderly_care_centre"))
    ps = propose_presence(ds, t, _rows(t.id, "township", ["331121001", "331102002"]), 2024)
    by_tw = {a["township_code"]: a for a in ps.actions}
    assert by_tw["331121001"]["edits"] == [{"op": "add_facility", "type": "elderly_care_centre",
                                            "lon": 120.1, "lat": 28.4, "crs": "wgs84"}]
    assert by_tw["331102002"]["village_code"] == "331102002001"
    # the seat edit applies: the township comes from the polygon the seat lies in
    ds2, _ = apply_scenario(Scenario.from_edits("seat", ps.edits(), year=2024), ds, [])
    f = ds2.facilities_for(2024)
    assert f.loc[f["type"] == "elderly_care_centre", "township_code"].tolist() == ["331102002", "331121001"]
    ds.townships.loc[tw["code"] == "331121001", ["seat_lon", "seat_lat"]] = [None, None]
    ps = propose_presence(ds, t, _rows(t.id, "township", ["331121001"]), 2024)
    assert ps.actions == [] and "no village or seat" in ps.notes[0]


def test_joint_mother_baby_room_is_a_fit_out_only(ds):
    from coverage.siting import propose_joint
    from coverage.targets import parse_condition

    t = type("MB", (), {"id": "mother_baby_room_public_places", "kind": "facility_share",
                        "facility": FacilitySelector("public_place"), "threshold": 1.0,
                        "numerator": "has_mother_baby_room",
                        "facility_condition": parse_condition("building_area_m2 > 10000")})()
    ps = propose_joint(ds, [t], _rows(t.id, "county", ["331102"], 1.0), 2024)
    assert [(a["facility_id"], a["units_fixed"]) for a in ps.actions] == [("F007", ["county:331102"])]
    assert ps.total_cost == load_costs()["new_build"]["mother_baby_room"]
    assert ps.actions[0]["edits"][0]["serves_place_id"] == "F007"


def test_joint_access_and_presence_share_new_sites(ds):
    from coverage.targets import evaluate
    from coverage.siting import propose_joint
    from coverage.targets import target_from_dict

    src = {"plan": "p", "clause": "c", "lines": [64]}
    common = {"plan": "women", "chapter": "t", "source": src, "label_en": "x"}
    every = target_from_dict({**common, "id": "fitness_every_village", "kind": "presence", "label_zh": "村",
                              "unit_level": "village", "threshold": 1, "facility": {"type": "fitness"}}, "<a>")
    circle = target_from_dict({**common, "id": "fitness_10min_circle", "kind": "access", "label_zh": "圈",
                               "unit_level": "township", "threshold": 0.9, "facility": {"type": "fitness"},
                               "access": {"distance_m": 1000, "demand": "urban"}}, "<b>")
    costs = load_costs()
    site = costs["new_build"]["site"] + costs["new_build"]["fitness"]
    # access alone: each township's only urban point (V1, V4, V6) must be reached; only a
    # site at that village does it (the public place F007 is not a joint candidate) → 3 sites
    units = evaluate(ds, [circle], year=2024).units
    ps = propose_joint(ds, [circle], units, 2024, costs)
    assert sorted(a["village_code"] for a in ps.actions) == ["331102001001", "331102002001", "331121001001"]
    assert ps.total_cost == pytest.approx(3 * site)
    # with 'a fitness facility in every village' (6 villages lack one; V2 has F008) the
    # same 6 sites close both targets: 6 sites, not 6 + 3
    both = [every, circle]
    ps = propose_joint(ds, both, evaluate(ds, both, year=2024).units, 2024, costs)
    assert ps.total_cost == pytest.approx(6 * site) and len(ps.actions) == 6
    shared = [a for a in ps.actions if a["village_code"] in {"331102001001", "331102002001", "331121001001"}]
    assert all(sorted(a["target_ids"]) == ["fitness_10min_circle", "fitness_every_village"] for a in shared)
    from scenarios.diff import run_scenario

    diff = run_scenario(Scenario.from_edits("j", ps.edits(), year=2024), ds, both)
    assert (diff.changes["status_after"] == "met").all()
    assert diff.people_newly_covered == {"fitness_10min_circle": 7000.0}
