"""Walking networks from OSM files: loading, walking rules, distances, caches, bad inputs.

Real data: the two OSM extracts in tests/data/osm (ODbL, © OpenStreetMap contributors;
West Oakland and a block of Munich, see tests/data/README.md). Shortest distances are
checked against a second, independent computation: the raw OSM XML parsed here with
ElementTree, every segment projected with pyproj and summed, shortest paths by networkx.

This module also holds the small hand-made-network helpers that test_access.py and
test_linkage.py import.
"""

from __future__ import annotations

import bz2
import math
import xml.etree.ElementTree as ET
from pathlib import Path

import geopandas as gpd
import networkx as nx
import numpy as np
import osmnx as ox
import pytest
import shapely
from pyproj import Transformer
from scipy.sparse.csgraph import dijkstra

from coverage.access import osm as cn
from coverage._errors import NetworkError
from coverage.access import WalkNetwork
from coverage.access import is_walkable, load_network, network_for_polygon
from layers import settings

OSM_DIR = Path(__file__).resolve().parent / "data" / "osm"
OAKLAND = OSM_DIR / "West-Oakland.osm.bz2"
MUNICH = OSM_DIR / "planet_10.068_48.135_10.071_48.137.osm"

# ---------------------------------------------------------------------- helpers (shared)
#: an origin in central Lishui (EPSG:4549 metres)
ORIGIN = (480_000.0, 3_150_000.0)
_TO_LONLAT = Transformer.from_crs("EPSG:4549", "EPSG:4326", always_xy=True)


def lonlat(x: float, y: float) -> tuple[float, float]:
    """Local metres (relative to ORIGIN, EPSG:4549) → lon/lat."""
    lon, lat = _TO_LONLAT.transform(ORIGIN[0] + x, ORIGIN[1] + y)
    return float(lon), float(lat)


def write_osm(path: Path, nodes: dict[int, tuple[float, float]],
              ways: list[tuple[list[int], dict[str, str]]], note: str = "") -> Path:
    """Write OSM XML: ``nodes`` id → local (x, y) metres; ``ways`` (refs, tags)."""
    out = ["<?xml version='1.0' encoding='UTF-8'?>", '<osm version="0.6" generator="test">']
    if note:
        out.append(f"  <note>{note}</note>")
    for nid, (x, y) in nodes.items():
        lon, lat = lonlat(x, y)
        out.append(f'  <node id="{nid}" version="1" lat="{lat:.9f}" lon="{lon:.9f}"/>')
    for wid, (refs, tags) in enumerate(ways, start=1):
        out.append(f'  <way id="{wid}" version="1">')
        out += [f'    <nd ref="{r}"/>' for r in refs]
        out += [f'    <tag k="{k}" v="{v}"/>' for k, v in tags.items()]
        out.append("  </way>")
    out.append("</osm>")
    path.write_text("\n".join(out) + "\n", encoding="utf-8")
    return path


def points(xy: list[tuple[float, float]], **cols) -> gpd.GeoDataFrame:
    """GeoDataFrame of points given in local metres, stored as EPSG:4326."""
    ll = [lonlat(x, y) for x, y in xy]
    return gpd.GeoDataFrame(
        dict(cols), geometry=gpd.points_from_xy([p[0] for p in ll], [p[1] for p in ll]),
        crs="EPSG:4326",
    )


# The hand-made network (metres, relative to ORIGIN):
#
#   A(0,0) --400-- B(400,0) --600-- C(1000,0) --600-- D(1600,0)      (one way A→D)
#                    |                 |
#                  E(400,300)        J(1000,-200)
#                                    motorway C → G(1000,800): never walkable
#   H(3000,0) --100-- I(3100,0)      a separate footway: its own component
HAND_NODES = {
    1: (0.0, 0.0), 10: (200.0, 0.0), 2: (400.0, 0.0), 3: (1000.0, 0.0), 4: (1600.0, 0.0),
    5: (400.0, 300.0), 6: (1000.0, -200.0), 7: (1000.0, 800.0), 8: (3000.0, 0.0),
    9: (3100.0, 0.0),
}
HAND_WAYS = [
    ([1, 10, 2, 3, 4], {"highway": "residential", "oneway": "yes"}),
    ([2, 5], {"highway": "footway"}),
    ([3, 6], {"highway": "residential"}),
    ([3, 7], {"highway": "motorway"}),
    ([8, 9], {"highway": "footway"}),
]
A, B, C, D, E, J, G, H, I = 1, 2, 3, 4, 5, 6, 7, 8, 9


def hand_network(tmp_path: Path) -> WalkNetwork:
    return load_network(write_osm(tmp_path / "hand.osm", HAND_NODES, HAND_WAYS))


def node_index(net: WalkNetwork, osmid: int) -> int:
    """Row of an OSM node id in a WalkNetwork."""
    hit = np.flatnonzero(net.node_osmid == osmid)
    assert len(hit) == 1, f"node {osmid} not in the network"
    return int(hit[0])


def net_distance(net: WalkNetwork, a: int, b: int) -> float:
    d = dijkstra(net.graph, directed=True, indices=node_index(net, a))
    return float(d[node_index(net, b)])


@pytest.fixture(autouse=True)
def _private_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests share one disk cache folder of their own (keyed by file content) and start
    with an empty in-memory cache."""
    monkeypatch.setattr(settings, "CACHE_DIR", tmp_path_factory.getbasetemp() / "covplan_cache")
    cn.clear_cache()


# ---------------------------------------------------------------------- independent reference
def reference_graph(path: Path, crs: str) -> tuple[nx.Graph, dict[int, dict[str, str]], dict]:
    """Undirected graph of walkable ways straight from the XML (no osmnx, no simplification).

    Returns the graph (segment weights = projected length in ``crs``), the tags of each
    way, and the node lists of each way.
    """
    opener = bz2.open if path.name.endswith(".bz2") else open
    with opener(path, "rb") as fh:
        root = ET.parse(fh).getroot()
    tr = Transformer.from_crs("EPSG:4326", crs, always_xy=True)
    xy = {}
    for n in root.iter("node"):
        xy[int(n.get("id"))] = tr.transform(float(n.get("lon")), float(n.get("lat")))
    Gr = nx.Graph()
    tags_of, nodes_of = {}, {}
    for w in root.iter("way"):
        tags = {t.get("k"): t.get("v") for t in w.iter("tag")}
        refs = [int(nd.get("ref")) for nd in w.iter("nd")]
        tags_of[int(w.get("id"))], nodes_of[int(w.get("id"))] = tags, refs
        hw = tags.get("highway")
        if hw not in {"residential", "footway", "secondary", "unclassified", "service",
                      "track", "primary", "tertiary", "path", "steps", "pedestrian"}:
            continue
        if tags.get("access") in {"private", "no"} or tags.get("foot") == "no":
            continue
        for a, b in zip(refs[:-1], refs[1:]):
            if a != b:
                Gr.add_edge(a, b, weight=math.dist(xy[a], xy[b]))
    return Gr, tags_of, nodes_of


# ---------------------------------------------------------------------- real OSM extracts
def test_oakland_distances_match_independent_reference() -> None:
    net = load_network(OAKLAND)
    assert net.provenance == "real"
    assert net.crs == "EPSG:32610"  # outside the EPSG:4549 zone: local UTM
    Gr, _, _ = reference_graph(OAKLAND, net.crs)
    # nodes kept by simplification are intersections / dead ends of the reference graph
    ids = [int(o) for o in net.node_osmid]
    assert set(ids) <= set(Gr.nodes)
    rng = np.random.default_rng(0)
    pairs = rng.choice(len(ids), size=(12, 2), replace=True)
    checked = 0
    for i, j in pairs:
        a, b = ids[i], ids[j]
        ours = float(dijkstra(net.graph, indices=i)[j])
        try:
            ref = nx.shortest_path_length(Gr, a, b, weight="weight")
        except nx.NetworkXNoPath:
            assert math.isinf(ours)
            continue
        assert ours == pytest.approx(ref, abs=0.01)
        checked += 1
    assert checked >= 8
    # and the whole walkable length agrees
    assert net.total_length_m() == pytest.approx(Gr.size(weight="weight"), rel=1e-9)


def test_oakland_one_way_street_walkable_both_ways() -> None:
    net = load_network(OAKLAND)
    _, tags_of, nodes_of = reference_graph(OAKLAND, net.crs)
    one_way = [w for w, t in tags_of.items() if t.get("oneway") == "yes" and is_walkable(t)]
    assert one_way, "the extract has one-way streets"
    kept = set(int(o) for o in net.node_osmid)
    checked = 0
    for w in one_way:
        first, last = nodes_of[w][0], nodes_of[w][-1]
        if first not in kept or last not in kept:
            continue
        there, back = net_distance(net, first, last), net_distance(net, last, first)
        assert math.isfinite(there)
        assert there == pytest.approx(back)
        checked += 1
    assert checked >= 1


def test_oakland_hand_worked_street_length() -> None:
    """One street block by haversine (worked here by hand) against the network distance."""
    net = load_network(OAKLAND)
    _, tags_of, nodes_of = reference_graph(OAKLAND, net.crs)
    opener = bz2.open(OAKLAND, "rb")
    root = ET.parse(opener).getroot()
    opener.close()
    ll = {int(n.get("id")): (float(n.get("lon")), float(n.get("lat"))) for n in root.iter("node")}
    kept = set(int(o) for o in net.node_osmid)
    # a footway whose two ends are network nodes with nothing shorter between them
    for w, tags in tags_of.items():
        refs = nodes_of[w]
        if tags.get("highway") == "footway" and refs[0] in kept and refs[-1] in kept \
                and not (set(refs[1:-1]) & kept):
            break
    else:  # pragma: no cover - the extract has such footways
        pytest.fail("no footway block found")

    def haversine(p, q) -> float:
        (lon1, lat1), (lon2, lat2) = map(lambda t: (math.radians(t[0]), math.radians(t[1])), (p, q))
        h = (math.sin((lat2 - lat1) / 2) ** 2
             + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2)
        return 2 * 6_371_009 * math.asin(math.sqrt(h))

    by_hand = sum(haversine(ll[a], ll[b]) for a, b in zip(refs[:-1], refs[1:]))
    # UTM scale factor at 0.7° from zone 10's meridian is 0.99965: agree within 0.1 %
    assert net_distance(net, refs[0], refs[-1]) == pytest.approx(by_hand, rel=1e-3)
    assert by_hand > 10


def test_motorway_and_private_ways_are_absent(tmp_path: Path) -> None:
    net = load_network(OAKLAND)
    Gr, tags_of, nodes_of = reference_graph(OAKLAND, net.crs)
    # re-tag one secondary street as a motorway in a copy of the real extract
    target = next(w for w, t in tags_of.items() if t.get("highway") == "secondary")
    text = bz2.decompress(OAKLAND.read_bytes()).decode("utf-8")
    start = text.index(f'<way id="{target}"')
    end = text.index("</way>", start)
    block = text[start:end].replace('v="secondary"', 'v="motorway"')
    mod = tmp_path / "oakland_motorway.osm"
    mod.write_text(text[:start] + block + text[end:], encoding="utf-8")
    net2 = load_network(mod)
    refs = nodes_of[target]
    way_len = sum(Gr[a][b]["weight"] for a, b in zip(refs[:-1], refs[1:]))
    assert net2.total_length_m() == pytest.approx(net.total_length_m() - way_len, abs=0.01)
    # private service roads of the Munich block are not walkable: only residential + track
    mnet = load_network(MUNICH)
    Gm, mtags, mnodes = reference_graph(MUNICH, "EPSG:32632")
    assert mnet.crs == "EPSG:32632"
    assert any(t.get("access") == "private" for t in mtags.values())
    assert mnet.total_length_m() == pytest.approx(Gm.size(weight="weight"), rel=1e-9)


def test_pbf_loads_like_xml(tmp_path: Path) -> None:
    import osmium

    pbf = tmp_path / "oakland.osm.pbf"
    with osmium.SimpleWriter(str(pbf)) as w:
        for obj in osmium.FileProcessor(str(OAKLAND)):
            w.add(obj)
    a, b = load_network(OAKLAND), load_network(pbf)
    assert sorted(a.node_osmid) == sorted(b.node_osmid)
    assert b.total_length_m() == pytest.approx(a.total_length_m(), rel=1e-9)
    assert b.n_edges == a.n_edges


# ---------------------------------------------------------------------- hand-made network
def test_hand_network_walking_rules_and_lengths(tmp_path: Path) -> None:
    net = hand_network(tmp_path)
    assert net.crs == "EPSG:4549"
    kept = set(int(o) for o in net.node_osmid)
    assert G not in kept  # the motorway's end is gone with the motorway
    assert 10 not in kept  # a shape node between A and B is simplified away
    assert net_distance(net, A, D) == pytest.approx(1600.0, abs=0.05)
    assert net_distance(net, D, A) == pytest.approx(1600.0, abs=0.05)  # one-way ignored
    assert net_distance(net, E, J) == pytest.approx(300 + 600 + 200, abs=0.05)
    assert math.isinf(net_distance(net, A, H))  # separate component
    assert net.total_length_m() == pytest.approx(1600 + 300 + 200 + 100, abs=0.1)


def test_synthetic_note_gives_synthetic_provenance(tmp_path: Path) -> None:
    p = write_osm(tmp_path / "syn.osm", HAND_NODES, HAND_WAYS, note="SYNTHETIC test network")
    assert load_network(p).provenance == "synthetic"
    assert load_network(p, provenance="real").provenance == "real"


def test_memory_and_disk_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    p = write_osm(tmp_path / "hand.osm", HAND_NODES, HAND_WAYS)
    first = load_network(p)
    assert load_network(p) is first  # in-memory cache
    assert list((settings.CACHE_DIR / "network").glob("osm_*.npz"))
    cn.clear_cache()
    calls = []
    monkeypatch.setattr(cn, "_read_xml", lambda *a, **k: calls.append(1))
    again = load_network(p)  # from the .npz, without parsing the XML
    assert calls == []
    assert again is not first
    np.testing.assert_array_equal(again.node_osmid, first.node_osmid)
    assert again.total_length_m() == pytest.approx(first.total_length_m())
    assert (again.graph != first.graph).nnz == 0


# ---------------------------------------------------------------------- download + cache
def test_download_is_cached_as_graphml(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[shapely.Geometry] = []

    def fake_download(polygon):
        calls.append(polygon)
        return ox.graph_from_xml(OAKLAND, bidirectional=True, retain_all=True)

    monkeypatch.setattr(cn, "_download_graph", fake_download)
    poly = shapely.box(-122.303, 37.806, -122.298, 37.810)
    a = network_for_polygon(poly, cache_dir=tmp_path)
    b = network_for_polygon(poly, cache_dir=tmp_path)
    assert len(calls) == 1
    assert len(list((tmp_path / "network").glob("walk_*.graphml"))) == 1
    assert a.n_nodes == b.n_nodes and a.total_length_m() == pytest.approx(b.total_length_m())
    assert a.provenance == "real"
    network_for_polygon(shapely.box(-122.303, 37.806, -122.297, 37.810), cache_dir=tmp_path)
    assert len(calls) == 2  # another polygon, another key


def test_download_without_connection_points_to_file_option(tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ox.settings, "overpass_rate_limit", False)
    monkeypatch.setattr(ox.settings, "use_cache", False)
    poly = shapely.box(119.90, 28.44, 119.91, 28.45)
    with pytest.raises(NetworkError, match="--network FILE"):
        network_for_polygon(poly, cache_dir=tmp_path)


def test_download_rejects_projected_polygon(tmp_path: Path) -> None:
    with pytest.raises(NetworkError, match="not lon/lat"):
        network_for_polygon(shapely.box(480000, 3150000, 481000, 3151000), cache_dir=tmp_path)


# ---------------------------------------------------------------------- bad inputs
def test_unparsable_file(tmp_path: Path) -> None:
    bad = tmp_path / "broken.osm"
    bad.write_text("<osm><node id='1' lat='28.4' lon='119.9'>\n<way", encoding="utf-8")
    with pytest.raises(NetworkError, match=r"broken\.osm: not valid OSM XML"):
        load_network(bad)
    badbz = tmp_path / "broken.osm.bz2"
    badbz.write_bytes(b"BZh9 this is not bzip2")
    with pytest.raises(NetworkError, match=r"broken\.osm\.bz2: cannot read"):
        load_network(badbz)
    badpbf = tmp_path / "broken.osm.pbf"
    badpbf.write_bytes(b"\x00\x00\x00\x0dnot a pbf block at all")
    with pytest.raises(NetworkError, match=r"broken\.osm\.pbf: not a readable OSM PBF"):
        load_network(badpbf)


def test_empty_network(tmp_path: Path) -> None:
    empty = tmp_path / "empty.osm"
    empty.write_text('<?xml version="1.0"?><osm version="0.6"></osm>', encoding="utf-8")
    with pytest.raises(NetworkError, match=r"empty\.osm: the OSM file holds no nodes or ways"):
        load_network(empty)
    buildings = write_osm(tmp_path / "buildings.osm", {1: (0, 0), 2: (10, 0), 3: (10, 10)},
                          [([1, 2, 3, 1], {"building": "yes"}),
                           ([1, 2], {"highway": "motorway"})])
    with pytest.raises(NetworkError, match=r"buildings\.osm: no walkable ways"):
        load_network(buildings)


def test_missing_and_unsupported_files(tmp_path: Path) -> None:
    with pytest.raises(NetworkError, match="not found"):
        load_network(tmp_path / "nope.osm")
    shp = tmp_path / "roads.shp"
    shp.write_bytes(b"x")
    with pytest.raises(NetworkError, match=r"roads\.shp: unsupported network file type"):
        load_network(shp)


@pytest.mark.parametrize(
    ("tags", "walkable"),
    [
        ({"highway": "footway"}, True),
        ({"highway": "residential", "oneway": "yes"}, True),
        ({"highway": "trunk"}, True),
        ({"highway": "trunk", "motorroad": "yes"}, False),
        ({"highway": "motorway"}, False),
        ({"highway": "motorway_link", "foot": "yes"}, False),
        ({"highway": "construction"}, False),
        ({"highway": "service", "access": "private"}, False),
        ({"highway": "service", "access": "private", "foot": "yes"}, True),
        ({"highway": "primary", "foot": "no"}, False),
        ({"highway": "cycleway"}, False),
        ({"highway": "cycleway", "foot": "designated"}, True),
        ({"highway": "pedestrian", "area": "yes"}, False),
        ({"building": "yes"}, False),
    ],
)
def test_walking_filter(tags: dict, walkable: bool) -> None:
    assert is_walkable(tags) is walkable
