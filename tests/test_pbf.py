"""``covplan network build``: clipping a PBF, building the graph, the cached network file.

Real data: the two OSM extracts of tests/data/osm (ODbL, © OpenStreetMap contributors),
turned into ``.osm.pbf`` files with pyosmium at run time. Independent references:

* the clip: ways chosen by hand from the raw XML (ElementTree) — walkable, with a node
  inside the buffered area (shapely);
* the graph: osmnx ``graph_from_xml`` on the same clipped data, walking filter and
  ``simplify_graph``, converted by :meth:`WalkNetwork.from_osmnx`.
"""

from __future__ import annotations

import bz2
import json
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import osmium
import pytest
import shapely

from coverage._errors import NetworkError
from coverage.access import osm as cn
from coverage.access import WalkNetwork, is_walkable, load_network, nearest_on_network
from coverage.access.netfile import network_from_clip, read_network_file, write_network
from coverage.access.pbf import buffered_area, clip_pbf, write_clip_xml
from layers import settings
from tests.test_network import MUNICH, OAKLAND


@pytest.fixture(autouse=True)
def _private_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(settings, "CACHE_DIR", str(tmp_path_factory.mktemp("cache")))
    cn.clear_cache()


def to_pbf(src: Path, dst: Path) -> Path:
    with osmium.SimpleWriter(str(dst), overwrite=True) as w:
        for obj in osmium.FileProcessor(str(src)):
            w.add(obj)
    return dst


def raw_xml(src: Path) -> ET.Element:
    data = bz2.open(src).read() if src.name.endswith(".bz2") else src.read_bytes()
    return ET.fromstring(data)


def middle_box(root: ET.Element, frac: float = 0.5) -> shapely.Polygon:
    lon = np.array([float(n.get("lon")) for n in root.iter("node")])
    lat = np.array([float(n.get("lat")) for n in root.iter("node")])
    cx, cy = (lon.min() + lon.max()) / 2, (lat.min() + lat.max()) / 2
    hx, hy = (lon.max() - lon.min()) * frac / 2, (lat.max() - lat.min()) * frac / 2
    return shapely.box(cx - hx, cy - hy, cx + hx, cy + hy)


def edge_table(net: WalkNetwork) -> list[tuple[int, int, float]]:
    a, b = net.node_osmid[net.edge_u], net.node_osmid[net.edge_v]
    return sorted(zip(np.minimum(a, b).tolist(), np.maximum(a, b).tolist(),
                      net.edge_length_m.tolist()))


@pytest.mark.parametrize("src", [OAKLAND, MUNICH], ids=["west_oakland", "munich"])
@pytest.mark.parametrize("frac,buffer_m", [(0.5, 20.0), (2.0, 0.0)], ids=["middle", "whole"])
def test_clip_and_graph_match_independent_references(src: Path, frac: float, buffer_m: float,
                                                      tmp_path: Path) -> None:
    pbf = to_pbf(src, tmp_path / "x.osm.pbf")
    root = raw_xml(src)
    area = middle_box(root, frac)
    clip = clip_pbf(pbf, area, buffer_m=buffer_m)
    # the clip, by hand: walkable ways with at least one node inside the buffered area
    grown = buffered_area(area, buffer_m)
    pos = {n.get("id"): (float(n.get("lon")), float(n.get("lat"))) for n in root.iter("node")}
    expect = set()
    for w in root.iter("way"):
        tags = {t.get("k"): t.get("v") for t in w.iter("tag")}
        refs = [nd.get("ref") for nd in w.iter("nd")]
        if is_walkable(tags) and any(r in pos and grown.contains(shapely.Point(pos[r])) for r in refs):
            expect.add(int(w.get("id")))
    assert set(clip.way_id.tolist()) == expect and expect
    # the graph, against osmnx on the same clipped data
    ours = network_from_clip(clip)
    xml = write_clip_xml(clip, tmp_path / "clip.osm")
    G = cn.walk_graph_from_raw(cn._read_xml(xml, label="clip"), retain_all=True, source="clip")
    ref = WalkNetwork.from_osmnx(G, source="clip", provenance="real")
    mine, theirs = edge_table(ours), edge_table(ref)
    assert [e[:2] for e in mine] == [e[:2] for e in theirs]  # the same edges
    np.testing.assert_allclose([e[2] for e in mine], [e[2] for e in theirs], rtol=1e-3)
    assert set(ours.node_osmid.tolist()) == set(ref.node_osmid.tolist())


def test_whole_extract_equals_the_xml_loader(tmp_path: Path) -> None:
    """Clipping with an area covering everything gives load_network's graph."""
    pbf = to_pbf(OAKLAND, tmp_path / "oak.osm.pbf")
    big = shapely.box(-123, 37, -122, 38)
    net = network_from_clip(clip_pbf(pbf, big, buffer_m=0))
    ref = load_network(OAKLAND)
    assert [e[:2] for e in edge_table(net)] == [e[:2] for e in edge_table(ref)]
    np.testing.assert_allclose([e[2] for e in edge_table(net)], [e[2] for e in edge_table(ref)],
                               rtol=1e-9)


@pytest.mark.parametrize("suffix", [".gpkg", ".graphml"])
def test_network_file_round_trip(suffix: str, tmp_path: Path) -> None:
    net = load_network(MUNICH)
    path = write_network(net, tmp_path / f"net{suffix}")
    back = load_network(path)
    assert back.crs == net.crs and back.n_edges == net.n_edges
    assert [e[:2] for e in edge_table(back)] == [e[:2] for e in edge_table(net)]
    np.testing.assert_allclose([e[2] for e in edge_table(back)], [e[2] for e in edge_table(net)],
                               rtol=1e-9)
    rng = np.random.default_rng(0)
    lo, hi = net.node_xy.min(0), net.node_xy.max(0)
    d, f = lo + rng.random((30, 2)) * (hi - lo), lo + rng.random((3, 2)) * (hi - lo)
    a = nearest_on_network(net, d, f, limit_m=np.inf, max_snap_m=1e9)
    b = nearest_on_network(back, d, f, limit_m=np.inf, max_snap_m=1e9)
    np.testing.assert_allclose(a.distance_m, b.distance_m, atol=1e-6)


def test_cli_network_build_and_access(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    from covplan.cli import main

    pbf = to_pbf(OAKLAND, tmp_path / "oak.osm.pbf")
    area = tmp_path / "area.geojson"
    poly = middle_box(raw_xml(OAKLAND), 0.6)
    area.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {}, "geometry": shapely.geometry.mapping(poly)}]}))
    out = tmp_path / "net.gpkg"
    assert main(["network", "build", "--pbf", str(pbf), "--area", str(area), "--buffer-m", "50",
                 "-o", str(out), "--xml", str(tmp_path / "clip.osm")]) == 0
    text = capsys.readouterr().out
    assert "edges" in text and out.is_file() and (tmp_path / "clip.osm").is_file()
    net = load_network(out)
    assert net.provenance == "real" and net.n_edges > 10
    assert main(["network", "build", "--pbf", str(pbf), "--area", str(tmp_path / "none.geojson"),
                 "-o", str(out)]) == 2
    assert "neither 'lishui' nor" in capsys.readouterr().err
    assert main(["network", "build", "--pbf", str(pbf), "--area", str(area), "-o",
                 str(tmp_path / "net.shp")]) == 2
    far = tmp_path / "far.geojson"
    far.write_text(json.dumps({"type": "FeatureCollection", "features": [{"type": "Feature",
                   "properties": {}, "geometry": shapely.geometry.mapping(shapely.box(119, 28, 119.1, 28.1))}]}))
    assert main(["network", "build", "--pbf", str(pbf), "--area", str(far), "-o", str(out)]) == 2
    assert "no walkable way" in capsys.readouterr().err


def test_bad_inputs(tmp_path: Path) -> None:
    with pytest.raises(NetworkError, match="not found"):
        clip_pbf(tmp_path / "missing.osm.pbf", shapely.box(0, 0, 1, 1))
    bad = tmp_path / "bad.osm.pbf"
    bad.write_bytes(b"not a pbf at all")
    with pytest.raises(NetworkError, match="not a readable OSM file"):
        clip_pbf(bad, shapely.box(0, 0, 1, 1))
    with pytest.raises(NetworkError, match="lon/lat"):
        clip_pbf(bad, shapely.box(400000, 3000000, 500000, 3100000))
    with pytest.raises(NetworkError, match="not a network GeoPackage"):
        read_network_file(tmp_path / "nothing.gpkg")


@pytest.mark.parametrize("src", [OAKLAND, MUNICH], ids=["west_oakland", "munich"])
def test_numpy_node_reader_equals_pyosmium(src: Path, tmp_path: Path) -> None:
    from coverage.access.pbf import _scan_nodes, _scan_nodes_osmium

    pbf = to_pbf(src, tmp_path / "x.osm.pbf")
    root = raw_xml(src)
    box = shapely.bounds(middle_box(root, 0.7))
    fast = _scan_nodes(osmium, pbf, box)
    ref = _scan_nodes_osmium(osmium, pbf, box)
    assert fast[3] == ref[3] and len(fast[0]) > 10
    for a, b in zip(fast[:3], ref[:3]):
        np.testing.assert_array_equal(a, b)  # bit for bit
    from coverage.access.pbfnodes import UnsupportedPbf, scan_dense_nodes

    bad = tmp_path / "bad.osm.pbf"
    bad.write_bytes(b"\x00\x00\x00\x02\x08\xff")  # a header whose varint is cut off
    with pytest.raises(UnsupportedPbf):
        list(scan_dense_nodes(bad, box))
