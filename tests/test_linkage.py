"""The "1+N" linkage of 儿童之家 on the hand-made network, with hand-worked distances.

Hand network (metres, EPSG:4549; see tests/test_network.py)::

    A(0,0) --400-- B(400,0) --600-- C(1000,0) --600-- D(1600,0)
                     |                 |
                   E(400,300)        J(1000,-200)       H(3000,0)--I(3100,0) (apart)
"""

from __future__ import annotations

import math
from pathlib import Path
from types import SimpleNamespace

import geopandas as gpd
import pandas as pd
import pytest
import shapely

from coverage.access import osm as cn
from coverage._errors import NetworkError
from coverage.access import METHOD_NETWORK, METHOD_STRAIGHT
from coverage.access import evaluate_linkage_target, link_homes
from layers import settings
from layers.dataset import Dataset
from tests.test_network import HAND_NODES, HAND_WAYS, hand_network, lonlat, points, write_osm

T1, T2, T3 = "331102001", "331102002", "331102003"


@pytest.fixture(autouse=True)
def _private_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(settings, "CACHE_DIR", tmp_path_factory.getbasetemp() / "covplan_cache")
    cn.clear_cache()


def homes() -> gpd.GeoDataFrame:
    rows = [  # id, tier, township, (x, y)
        ("d1", "demonstration", T1, (0, 30)),       # 30 m off A
        ("d2", "demonstration", T1, (1000, -210)),  # 10 m off J
        ("b1", "basic", T1, (400, 310)),            # 10 m off E
        ("b2", "basic", T1, (1600, -20)),           # 20 m off D
        ("b3", "basic", T1, (1000, 700)),           # 700 m from C: off the network
        ("b4", "basic", T1, (3040, 5)),             # on the separate H–I footway
        ("b5", "basic", T2, (400, -5)),
        ("b6", "basic", T2, (0, 40)),               # beside d1, but in another township
        ("x1", "featured", T2, (0, 0)),             # 特色型: neither hub nor member
        ("d3", "demonstration", T3, (1600, 10)),
    ]
    return points([r[3] for r in rows], facility_id=[r[0] for r in rows],
                  name=[f"儿童之家{r[0]}" for r in rows], tier=[r[1] for r in rows],
                  township_code=[r[2] for r in rows], county_code="331102",
                  village_code="", type="child_home", year=2024, provenance="synthetic")


def test_link_homes_on_network(tmp_path: Path) -> None:
    links, hubs = link_homes(homes(), network=hand_network(tmp_path))
    lk = links.set_index("facility_id")
    # b1: 10 + E→B 300 + B→A 400 + 30 = 740 to d1 (to d2: 10+300+600+200+10 = 1120)
    assert lk.loc["b1", "demo_facility_id"] == "d1"
    assert lk.loc["b1", "distance_m"] == pytest.approx(740, abs=0.05)
    # b2: 20 + D→C 600 + C→J 200 + 10 = 830 to d2 (to d1: 20+1600+30 = 1650)
    assert lk.loc["b2", "demo_facility_id"] == "d2"
    assert lk.loc["b2", "distance_m"] == pytest.approx(830, abs=0.05)
    assert set(lk.loc[["b1", "b2"], "method"]) == {METHOD_NETWORK}
    # b3 is off the network: straight line to d2, 910 m × 1.3, flagged
    assert lk.loc["b3", "demo_facility_id"] == "d2"
    assert lk.loc["b3", "distance_m"] == pytest.approx(910 * 1.3, abs=0.05)
    assert lk.loc["b3", "method"] == METHOD_STRAIGHT
    # b4 is on a piece of network that no demonstration home can reach
    assert not lk.loc["b4", "linked"] and lk.loc["b4", "reason"] == "unreachable"
    # b5, b6: their township has no demonstration home (d1 next door does not count)
    assert list(lk.loc[["b5", "b6"], "reason"]) == ["no_demonstration_home"] * 2
    assert "x1" not in lk.index and "d1" not in lk.index
    n = hubs.set_index("facility_id")["n_linked"].to_dict()
    assert n == {"d1": 1, "d2": 2, "d3": 0}


def test_link_homes_options(tmp_path: Path) -> None:
    net = hand_network(tmp_path)
    links, _ = link_homes(homes(), network=net, max_distance_m=1000)
    lk = links.set_index("facility_id")
    assert lk.loc["b3", "reason"] == "too_far" and not lk.loc["b3", "linked"]
    assert lk.loc["b2", "linked"]
    # county scope: b6 links to d1 across the township line (40 + 30 = 70 m via A)
    links_c, hubs_c = link_homes(homes(), network=net, scope="county")
    lc = links_c.set_index("facility_id")
    assert lc.loc["b6", "demo_facility_id"] == "d1"
    assert lc.loc["b6", "distance_m"] == pytest.approx(70, abs=0.05)
    # b2 now links to d3 (10 m off D): 20 + 10 = 30
    assert lc.loc["b2", "demo_facility_id"] == "d3"
    assert lc.loc["b2", "distance_m"] == pytest.approx(30, abs=0.05)


def test_link_homes_straight_line_without_network() -> None:
    links, hubs = link_homes(homes(), network=None, detour_factor=1.3)
    lk = links.set_index("facility_id")
    assert set(lk.loc[lk["linked"], "method"]) == {METHOD_STRAIGHT}
    assert lk.loc["b1", "distance_m"] == pytest.approx(math.hypot(400, 280) * 1.3, abs=0.05)
    assert lk.loc["b2", "distance_m"] == pytest.approx(math.hypot(600, 190) * 1.3, abs=0.05)
    # without a network b4 links by straight line: to d2, hypot(2040, 215) × 1.3
    assert lk.loc["b4", "demo_facility_id"] == "d2"
    assert lk.loc["b4", "distance_m"] == pytest.approx(math.hypot(2040, 215) * 1.3, abs=0.05)
    assert hubs.set_index("facility_id")["n_linked"].to_dict() == {"d1": 1, "d2": 3, "d3": 0}


def test_link_homes_bad_crs() -> None:
    h = homes()
    h = h.set_geometry(h.geometry.to_crs("EPSG:4549").values).set_crs("EPSG:4326", allow_override=True)
    with pytest.raises(NetworkError, match=r"儿童之家 .*row 0: coordinates .* not lon/lat"):
        link_homes(h)


def _dataset(tmp_path: Path, network: Path | None) -> Dataset:
    box = shapely.box(*lonlat(-500, -500), *lonlat(3500, 1000))
    counties = gpd.GeoDataFrame({"code": ["331102", "331121"], "name": ["莲都区", "青田县"]},
                                geometry=[box, box], crs="EPSG:4326")
    towns = gpd.GeoDataFrame(
        {"code": [T1, T2, T3, "331121001"], "name": ["甲街道", "乙镇", "丙乡", "丁街道"],
         "county_code": ["331102"] * 3 + ["331121"]}, geometry=[box] * 4, crs="EPSG:4326")
    vills = points([(0, 0)], code=[T1 + "001"], name=["一社区"], township_code=[T1],
                   county_code=["331102"], is_urban=[True], pop_total=[100])
    return Dataset(root=tmp_path, name="mini", counties=counties, townships=towns, villages=vills,
                   facilities=homes(), indicators=pd.DataFrame(),
                   layer_provenance={"network": "synthetic"}, network_path=network)


def _target(**kw):
    base = dict(id="child_home_1_plus_n", kind="linkage",
                unit_levels=("township", "county", "city"), plan_levels=("township",),
                threshold=1.0, clause="以“1+N”的方式", source_lines="760,945",
                linkage=SimpleNamespace(hub_tier="demonstration", member_tier="basic",
                                        scope="township", distance="network", max_distance_m=None))
    base.update(kw)
    return SimpleNamespace(**base)


def test_evaluate_linkage_target(tmp_path: Path) -> None:
    osm = write_osm(tmp_path / "syn.osm", HAND_NODES, HAND_WAYS, note="synthetic test net")
    ds = _dataset(tmp_path, osm)
    ctx = SimpleNamespace(dataset=ds, year=2024, facilities=ds.facilities_for(2024), network=None)
    rows = evaluate_linkage_target(_target(), ctx)
    t = rows[rows["unit_level"] == "township"].set_index("unit_code")
    assert t.loc[T1, "status"] == "not_met" and t.loc[T1, "actual"] == pytest.approx(0.75)
    assert t.loc[T1, "shortfall"] == 1 and "无法到达" in t.loc[T1, "action"]
    assert t.loc[T1, "method"] == METHOD_STRAIGHT  # b3 was linked by straight line
    # 1+N: what closes the gap — one upgrade for T2's two unlinked homes, one link for T1's
    assert t.loc[T2, "status"] == "not_met" and t.loc[T2, "shortfall"] == 1
    assert "无示范型" in t.loc[T2, "action"] and t.loc[T2, "action"].startswith("共1项")
    assert (t["shortfall_unit"] == "upgrades_links").all()
    assert t.loc[T3, "status"] == "not_applicable"
    assert t.loc["331121001", "status"] == "not_applicable"
    city = rows[rows["unit_level"] == "city"].iloc[0]
    assert city["actual"] == pytest.approx(3 / 6) and city["shortfall"] == 2
    county = rows[(rows["unit_level"] == "county") & (rows["unit_code"] == "331102")].iloc[0]
    assert county["actual"] == pytest.approx(0.5)
    assert rows["provenance"].str.contains("network=synthetic").all()
    assert t["is_plan_level"].all() and not bool(city["is_plan_level"])
    # distance = "straight_line" ignores the network: every linked row is flagged
    st = evaluate_linkage_target(
        _target(linkage={"distance": "straight_line"}), ctx).set_index("unit_code")
    assert st.loc[T1, "actual"] == pytest.approx(1.0) and st.loc[T1, "status"] == "met"
    assert st.loc[T1, "method"] == METHOD_STRAIGHT
    assert "network=none" in st.loc[T1, "provenance"]
