"""Edge snapping: points join the nearest point of the nearest street, not a junction.

Independent reference: for every point, the nearest edge found by brute force
(``shapely.distance`` to every edge), the edge **really split** with
``shapely.ops.substring`` at every joining point, the straight access legs added as
edges, and shortest paths by networkx on that split graph. Real data: the two OSM
extracts of tests/data/osm (ODbL, © OpenStreetMap contributors; tests/data/README.md).
"""

from __future__ import annotations

import math
from pathlib import Path

import networkx as nx
import numpy as np
import pytest
import shapely
import shapely.ops

from coverage._errors import NetworkError
from coverage.access import osm as cn
from coverage.access import load_network, nearest_facility, nearest_on_network
from layers import settings
from tests.test_network import MUNICH, OAKLAND, hand_network, lonlat, points


@pytest.fixture(autouse=True)
def _private_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(settings, "CACHE_DIR", str(tmp_path_factory.mktemp("cache")))
    cn.clear_cache()


def split_reference(net, dem: np.ndarray, fac: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(distance to nearest facility, its index, access leg) by networkx on a split graph."""
    geoms = list(net.edge_geometry)
    pts = [("d", i, p) for i, p in enumerate(dem)] + [("f", j, p) for j, p in enumerate(fac)]
    on_edge: dict[int, list[tuple[float, tuple]]] = {}
    legs = {}
    for kind, i, p in pts:
        pt = shapely.Point(p)
        d = np.array([g.distance(pt) for g in geoms])
        e = int(np.argmin(d))
        legs[(kind, i)] = float(d[e])
        on_edge.setdefault(e, []).append((geoms[e].project(pt), (kind, i)))
    G = nx.MultiGraph()
    for e, g in enumerate(geoms):
        u, v = int(net.edge_u[e]), int(net.edge_v[e])
        if e not in on_edge:
            G.add_edge(u, v, length=g.length)
            continue
        cuts = sorted(on_edge[e])
        prev_node, prev_pos = u, 0.0
        for pos, key in cuts:
            joint = ("j",) + key
            G.add_edge(prev_node, joint, length=shapely.ops.substring(g, prev_pos, pos).length)
            prev_node, prev_pos = joint, pos
        G.add_edge(prev_node, v, length=shapely.ops.substring(g, prev_pos, g.length).length)
    for key, leg in legs.items():
        G.add_edge(key, ("j",) + key, length=leg)
    dist, paths = nx.multi_source_dijkstra(G, {("f", j) for j in range(len(fac))}, weight="length")
    ref = np.array([dist.get(("d", i), np.inf) for i in range(len(dem))])
    who = np.array([paths[("d", i)][0][1] if ("d", i) in paths else -1 for i in range(len(dem))])
    leg = np.array([legs[("d", i)] for i in range(len(dem))])
    return ref, who, leg


@pytest.mark.parametrize("path", [OAKLAND, MUNICH], ids=["west_oakland", "munich"])
def test_edge_snapping_matches_networkx_on_split_graph(path: Path) -> None:
    net = load_network(path)
    rng = np.random.default_rng(11)
    lo, hi = net.node_xy.min(0), net.node_xy.max(0)
    dem = lo + rng.random((200, 2)) * (hi - lo)
    fac = lo + rng.random((20, 2)) * (hi - lo)
    # the same-edge case: a home and a facility a fifth of the longest edge apart on it
    e = int(np.argmax(net.edge_length_m))
    g = net.edge_geometry[e]
    off = np.array([0.0, 3.0])
    dem = np.vstack([dem, shapely.get_coordinates(g.interpolate(0.4 * g.length)) + off])
    fac = np.vstack([fac, shapely.get_coordinates(g.interpolate(0.6 * g.length)) + off])
    res = nearest_on_network(net, dem, fac, limit_m=np.inf, max_snap_m=1e9)
    ref, who, leg = split_reference(net, dem, fac)
    np.testing.assert_allclose(res.snap_m, leg, atol=1e-3)
    np.testing.assert_allclose(res.distance_m, ref, atol=1e-3)  # to the millimetre
    np.testing.assert_array_equal(res.facility, who)
    assert res.facility[-1] == len(fac) - 1
    # the same-edge pair meets along the edge (about a fifth of it) plus two short legs
    along = abs(g.project(shapely.Point(fac[-1])) - g.project(shapely.Point(dem[-1])))
    assert along == pytest.approx(0.2 * g.length, rel=0.05)
    assert res.distance_m[-1] == pytest.approx(along + res.snap_m[-1] + res.facility_snap_m[-1],
                                               abs=1e-3)
    # node snapping, kept for comparison, moves routes by tens to hundreds of metres here
    node = nearest_on_network(net, dem, fac, limit_m=np.inf, max_snap_m=1e9, snap="node")
    both = np.isfinite(node.distance_m) & np.isfinite(res.distance_m)
    assert np.max(np.abs(node.distance_m[both] - res.distance_m[both])) > 50


def test_limit_and_off_network_leg_on_real_extract() -> None:
    net = load_network(OAKLAND)
    rng = np.random.default_rng(3)
    lo, hi = net.node_xy.min(0), net.node_xy.max(0)
    dem = lo + rng.random((300, 2)) * (hi - lo)
    fac = lo + rng.random((8, 2)) * (hi - lo)
    fac_leg = np.array([min(g.distance(shapely.Point(p)) for g in net.edge_geometry) for p in fac])
    on = fac_leg <= 150  # facilities off the network are not used
    assert 0 < on.sum() < len(fac)
    ref, _who, leg = split_reference(net, dem, fac[on])
    res = nearest_on_network(net, dem, fac, limit_m=800, max_snap_m=150)
    np.testing.assert_array_equal(res.facility_usable, on)
    off = leg > 150
    assert off.sum() > 5 and (~off).sum() > 100
    np.testing.assert_array_equal(res.reachable, ~off)
    ok = ~off & (ref <= 800)
    np.testing.assert_allclose(res.distance_m[ok], ref[ok], atol=1e-3)
    assert np.isinf(res.distance_m[~ok]).all()
    np.testing.assert_allclose(res.snap_m, leg, atol=1e-3)  # legs reported, also when off


def test_hand_network_edge_snapping(tmp_path: Path) -> None:
    """Hand-worked on the small network of tests/test_network.py (A(0,0)–B(400,0)–…)."""
    net = hand_network(tmp_path)
    # a home 20 m north of A–B at x = 190, a facility 10 m south of A–B at x = 100
    dem = points([(190, 20)], code=["h"])
    fac = points([(100, -10)], facility_id=["f"])
    res = nearest_facility(dem, fac, network=net, limit_m=1000)
    assert res["snap_m"].iloc[0] == pytest.approx(20, abs=0.05)
    assert res["distance_m"].iloc[0] == pytest.approx(20 + 90 + 10, abs=0.05)
    assert res["snap_mode"].iloc[0] == "edge"
    node = nearest_facility(dem, fac, network=net, limit_m=1000, snap="node")
    # node snapping: home → A (191.0 m; B is 211.0 m), facility → A (100.5 m): 291.5
    assert node["distance_m"].iloc[0] == pytest.approx(math.hypot(190, 20) + math.hypot(100, 10),
                                                       abs=0.05)
    with pytest.raises(NetworkError, match="snap mode"):
        nearest_facility(dem, fac, network=net, snap="vertex")


def test_lonlat_helper_is_metric() -> None:
    a, b = lonlat(0, 0), lonlat(100, 0)
    assert a != b


def test_service_area_from_the_joining_point(tmp_path: Path) -> None:
    from shapely.geometry import Point

    from coverage.access import service_areas

    net = hand_network(tmp_path)
    fac = points([(100, -10)], facility_id=["f"])
    # joins A–B at x = 100 with a 10 m leg: 990 m left there; 690 m left at B: B–E (300)
    # and B–C (600) whole; 90 m left at C: C–D cut at x = 1090, C–J cut 90 m down
    sa = service_areas(fac, network=net, distance_m=1000, buffer_m=1.0, simplify_m=0.0)
    poly = sa.geometry.iloc[0]
    assert poly.contains(Point(lonlat(1088, 0))) and not poly.contains(Point(lonlat(1093, 0)))
    assert poly.contains(Point(lonlat(1000, -88))) and not poly.contains(Point(lonlat(1000, -93)))
    assert poly.contains(Point(lonlat(400, 298))) and poly.contains(Point(lonlat(1, 0)))
    assert sa["snap_m"].iloc[0] == pytest.approx(10, abs=0.01)
    node = service_areas(fac, network=net, distance_m=1000, buffer_m=1.0, simplify_m=0.0,
                         snap="node")
    # node snapping: joins A (100.5 m leg): 899.5 m left at A → cut at x = 899.5 − 0 … on A–B–C
    assert node.geometry.iloc[0].contains(Point(lonlat(898, 0)))
    assert not node.geometry.iloc[0].contains(Point(lonlat(901, 0)))
