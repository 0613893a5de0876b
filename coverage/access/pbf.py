"""Cutting an area's walking network out of a province or country PBF, streaming.

There is no Lishui-only OpenStreetMap extract to download; a planner has Zhejiang's or
China's ``.osm.pbf`` (China's is about 1.5 GB). :func:`clip_pbf` streams it with pyosmium
and keeps only what the area needs, so memory grows with the area's network, not the file:

1. **nodes** (pass 1): the id and position of each node inside the bounding box of the
   area plus its buffer (``DenseNodes`` blocks decoded with numpy,
   :mod:`coverage.access.pbfnodes`; other files through pyosmium); then the exact polygon test (vectorised
   ``shapely.contains_xy``) keeps those inside the buffered area;
2. **ways** (pass 2, pyosmium's C++ filters first: ``KeyFilter("highway", "foot")`` and
   an ``IdTracker`` of the inside nodes, so Python only sees ways touching the area): a
   way is kept when it is walkable (:func:`coverage.access.osm.is_walkable`, the same
   rules as every other loader) and at least one of its nodes lies inside (checked again
   for chunks of ways at once, ``np.searchsorted`` on the sorted inside ids);
3. **nodes again** (pass 3, only when needed, C++ ``IdFilter``): the positions of the
   kept ways' nodes outside the bounding box, so that every kept way is complete.

The result (:class:`Clip`) becomes a :class:`~coverage.access.graph.WalkNetwork` with
:func:`coverage.access.netfile.network_from_clip`, and can be written as OSM XML
(:func:`write_clip_xml`) for osmnx or any other tool.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import quoteattr

import numpy as np
import shapely

from coverage._errors import NetworkError
from coverage.access.graph import _transformer, metric_crs_for
from coverage.access.osm import _EXTRA_WAY_TAGS, is_walkable
from layers import settings

#: default buffer around the area, metres (streets just outside a boundary still serve it)
DEFAULT_BUFFER_M: float = 1000.0


#: ways checked for membership at once
WAY_CHUNK: int = 50_000


_NODE_CHUNK = 1 << 16


@dataclass
class Clip:
    """Walkable ways of an area and the nodes they use (EPSG:4326).

    ``way_refs[way_ptr[i]:way_ptr[i + 1]]`` are the node ids of way ``way_id[i]``;
    ``way_tags[i]`` holds the tags the walking rules read (and ``highway``).
    """

    node_id: np.ndarray
    node_lon: np.ndarray
    node_lat: np.ndarray
    way_id: np.ndarray
    way_ptr: np.ndarray
    way_refs: np.ndarray
    way_tags: list[dict[str, str]]
    source: str
    area_wkt: str
    nodes_scanned: int = 0
    ways_scanned: int = 0


def _osmium():
    try:
        import osmium
    except ImportError as exc:  # pragma: no cover - osmium is a declared dependency
        raise NetworkError("reading .osm.pbf needs the 'osmium' package (pip install osmium)") from exc
    return osmium


def buffered_area(area: shapely.Geometry, buffer_m: float) -> shapely.Geometry:
    """The area (EPSG:4326) grown by ``buffer_m`` metres in its metric CRS, back in lon/lat."""
    if area is None or shapely.is_empty(area):
        raise NetworkError("network build: the area polygon is empty")
    minx, miny, maxx, maxy = shapely.bounds(area)
    if minx < -180 or maxx > 180 or miny < -90 or maxy > 90:
        raise NetworkError("network build: the area is not in lon/lat (EPSG:4326); bounds "
                           f"{minx:.0f}, {miny:.0f}, {maxx:.0f}, {maxy:.0f}")
    if buffer_m <= 0:
        return area
    c = shapely.centroid(area)
    crs = metric_crs_for(np.array([c.x]), np.array([c.y]))
    fwd = _transformer(settings.STORAGE_CRS, crs)
    back = _transformer(crs, settings.STORAGE_CRS)
    metric = shapely.transform(area, lambda xy: np.column_stack(fwd.transform(xy[:, 0], xy[:, 1])))
    grown = shapely.buffer(metric, buffer_m, quad_segs=4)
    return shapely.transform(grown, lambda xy: np.column_stack(back.transform(xy[:, 0], xy[:, 1])))


def clip_pbf(pbf: str | Path, area: shapely.Geometry, *, buffer_m: float = DEFAULT_BUFFER_M) -> Clip:
    """Stream ``pbf`` (or any OSM file pyosmium reads) and keep the area's walkable ways.

    Parameters
    ----------
    pbf : path
        ``.osm.pbf`` (also ``.osm``/``.osm.bz2``).
    area : shapely Polygon or MultiPolygon
        EPSG:4326.
    buffer_m : float
        Metres added around the area before clipping.

    Raises
    ------
    NetworkError
        Missing or unreadable file, or no walkable way in the area.
    """
    osmium = _osmium()
    pbf = Path(pbf)
    if not pbf.is_file():
        raise NetworkError(f"{pbf}: OSM file not found")
    poly = buffered_area(area, buffer_m)
    shapely.prepare(poly)
    minx, miny, maxx, maxy = shapely.bounds(poly)
    try:
        ids, lon, lat, scanned = _scan_nodes(osmium, pbf, (minx, miny, maxx, maxy))
        inside = shapely.contains_xy(poly, lon, lat)
        inside_ids = np.sort(ids[inside])
        way_id, way_ptr, way_refs, way_tags, ways_scanned = _scan_ways(osmium, pbf, inside_ids)
    except RuntimeError as exc:
        raise NetworkError(f"{pbf}: not a readable OSM file ({exc})") from exc
    if len(way_id) == 0:
        raise NetworkError(f"{pbf}: no walkable way inside the area (+{buffer_m:.0f} m); "
                           "is it the right file and area?")
    need = np.unique(way_refs)
    order = np.argsort(ids, kind="stable")
    ids_sorted = ids[order]
    pos = np.clip(np.searchsorted(ids_sorted, need), 0, max(len(ids_sorted) - 1, 0))
    known = (len(ids_sorted) > 0) & (ids_sorted[pos] == need) if len(ids_sorted) else np.zeros(len(need), bool)
    n_lon = np.full(len(need), np.nan)
    n_lat = np.full(len(need), np.nan)
    n_lon[known] = lon[order][pos[known]]
    n_lat[known] = lat[order][pos[known]]
    missing = need[~known]
    if len(missing):
        got = _fetch_nodes(osmium, pbf, missing)
        j = np.searchsorted(need, got[0])
        n_lon[j], n_lat[j] = got[1], got[2]
    absent = np.isnan(n_lon)
    if absent.any():  # refs to nodes not in the file (cut extracts): drop them from ways
        way_id, way_ptr, way_refs, way_tags = _drop_refs(way_id, way_ptr, way_refs, way_tags,
                                                         need[absent])
        need, n_lon, n_lat = need[~absent], n_lon[~absent], n_lat[~absent]
    return Clip(node_id=need, node_lon=n_lon, node_lat=n_lat, way_id=way_id, way_ptr=way_ptr,
                way_refs=way_refs, way_tags=way_tags, source=str(pbf),
                area_wkt=shapely.to_wkt(shapely.simplify(area, 1e-4), rounding_precision=6),
                nodes_scanned=scanned, ways_scanned=ways_scanned)


def _scan_nodes(osmium, pbf: Path, bbox) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    if pbf.name.lower().endswith(".pbf"):  # numpy fast path for DenseNodes (pbfnodes.py)
        from coverage.access.pbfnodes import UnsupportedPbf, scan_dense_nodes

        try:
            parts = list(scan_dense_nodes(pbf, bbox))
        except (UnsupportedPbf, OSError, ValueError, struct.error):
            parts = None
        if parts is not None and parts:
            return (np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts]),
                    np.concatenate([p[2] for p in parts]), int(sum(p[3] for p in parts)))
    return _scan_nodes_osmium(osmium, pbf, bbox)


def _scan_nodes_osmium(osmium, pbf: Path, bbox) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    minx, miny, maxx, maxy = bbox
    chunks_i, chunks_x, chunks_y = [], [], []
    bi: list[int] = []
    bx: list[float] = []
    by: list[float] = []
    n = 0
    for node in osmium.FileProcessor(str(pbf), osmium.osm.NODE):
        n += 1
        loc = node.location
        x = loc.lon
        if minx <= x <= maxx:
            y = loc.lat
            if miny <= y <= maxy:
                bi.append(node.id)
                bx.append(x)
                by.append(y)
                if len(bi) >= _NODE_CHUNK:
                    chunks_i.append(np.array(bi, dtype=np.int64))
                    chunks_x.append(np.array(bx))
                    chunks_y.append(np.array(by))
                    bi, bx, by = [], [], []
    chunks_i.append(np.array(bi, dtype=np.int64))
    chunks_x.append(np.array(bx))
    chunks_y.append(np.array(by))
    return np.concatenate(chunks_i), np.concatenate(chunks_x), np.concatenate(chunks_y), n


def _scan_ways(osmium, pbf: Path, inside_ids: np.ndarray):
    keep_id: list[np.ndarray] = []
    keep_refs: list[np.ndarray] = []
    keep_len: list[np.ndarray] = []
    keep_tags: list[dict[str, str]] = []
    c_id: list[int] = []
    c_refs: list[int] = []
    c_len: list[int] = []
    c_tags: list[dict[str, str]] = []
    scanned = 0
    wanted = set(_EXTRA_WAY_TAGS) | {"highway"}

    def flush() -> None:
        if not c_id:
            return
        refs = np.array(c_refs, dtype=np.int64)
        lens = np.array(c_len, dtype=np.int64)
        if len(inside_ids):
            p = np.clip(np.searchsorted(inside_ids, refs), 0, len(inside_ids) - 1)
            hit = inside_ids[p] == refs
        else:
            hit = np.zeros(len(refs), dtype=bool)
        starts = np.concatenate([[0], np.cumsum(lens)[:-1]])
        any_in = np.add.reduceat(hit.astype(np.int64), starts) > 0 if len(refs) else np.zeros(0, bool)
        any_in &= lens > 0
        sel = np.flatnonzero(any_in)
        if len(sel):
            mask = np.repeat(any_in, lens)
            keep_id.append(np.array(c_id, dtype=np.int64)[sel])
            keep_refs.append(refs[mask])
            keep_len.append(lens[sel])
            keep_tags.extend(c_tags[i] for i in sel)
        c_id.clear()
        c_refs.clear()
        c_len.clear()
        c_tags.clear()

    # C++ filters first: highway/foot ways that reference a node inside the area
    tracker = osmium.IdTracker()
    for i in inside_ids.tolist():
        tracker.add_node(i)
    fp = (osmium.FileProcessor(str(pbf), osmium.osm.WAY)
          .with_filter(osmium.filter.KeyFilter("highway", "foot"))
          .with_filter(tracker.contains_filter()))
    for way in fp:
        scanned += 1
        tags = {t.k: t.v for t in way.tags if t.k in wanted}
        if not is_walkable(tags):
            continue
        refs = [r.ref for r in way.nodes]
        c_id.append(way.id)
        c_refs.extend(refs)
        c_len.append(len(refs))
        c_tags.append(tags)
        if len(c_id) >= WAY_CHUNK:
            flush()
    flush()
    if not keep_id:
        return np.zeros(0, np.int64), np.zeros(1, np.int64), np.zeros(0, np.int64), [], scanned
    lens = np.concatenate(keep_len)
    ptr = np.concatenate([[0], np.cumsum(lens)])
    return np.concatenate(keep_id), ptr, np.concatenate(keep_refs), keep_tags, scanned


def _fetch_nodes(osmium, pbf: Path, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    out_i, out_x, out_y = [], [], []
    fp = osmium.FileProcessor(str(pbf), osmium.osm.NODE).with_filter(
        osmium.filter.IdFilter(ids.tolist()))
    for node in fp:
        loc = node.location
        out_i.append(node.id)
        out_x.append(loc.lon)
        out_y.append(loc.lat)
    i = np.array(out_i, dtype=np.int64)
    o = np.argsort(i)
    return i[o], np.array(out_x)[o], np.array(out_y)[o]


def _drop_refs(way_id, way_ptr, way_refs, way_tags, absent):
    keep = ~np.isin(way_refs, absent)
    lens = np.add.reduceat(keep.astype(np.int64), way_ptr[:-1]) if len(way_refs) else np.zeros(0)
    lens = np.where(np.diff(way_ptr) > 0, lens, 0)
    ok = lens >= 2
    mask = keep & np.repeat(ok, np.diff(way_ptr))
    ptr = np.concatenate([[0], np.cumsum(lens[ok])])
    return way_id[ok], ptr, way_refs[mask], [t for t, k in zip(way_tags, ok) if k]


def write_clip_xml(clip: Clip, path: str | Path) -> Path:
    """Write the clip as OSM XML (nodes, then ways with their tags), for osmnx and others."""
    path = Path(path)
    with open(path, "w", encoding="utf-8") as fh:
        fh.write("<?xml version='1.0' encoding='UTF-8'?>\n<osm version=\"0.6\" generator=\"covplan\">\n")
        for i, x, y in zip(clip.node_id.tolist(), clip.node_lon.tolist(), clip.node_lat.tolist()):
            fh.write(f'  <node id="{i}" version="1" lat="{y:.7f}" lon="{x:.7f}"/>\n')
        for k, wid in enumerate(clip.way_id.tolist()):
            fh.write(f'  <way id="{wid}" version="1">\n')
            for r in clip.way_refs[clip.way_ptr[k]:clip.way_ptr[k + 1]].tolist():
                fh.write(f'    <nd ref="{r}"/>\n')
            for tk, tv in clip.way_tags[k].items():
                fh.write(f"    <tag k={quoteattr(tk)} v={quoteattr(tv)}/>\n")
            fh.write("  </way>\n")
        fh.write("</osm>\n")
    return path
