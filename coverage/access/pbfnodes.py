"""Reading the node positions of an ``.osm.pbf`` with numpy, a block at a time.

The node pass is what dominates clipping a province PBF: pyosmium hands every node to
Python (about 10 µs each). OSM PBF files store nodes as ``DenseNodes``: delta-coded,
zig-zag varint arrays of ids, latitudes and longitudes inside zlib-compressed blocks of
8,000. :func:`scan_dense_nodes` decodes those arrays with numpy (vectorised varints) and
yields, per block, the nodes inside a bounding box — about 20× faster, with memory of one
block plus the nodes kept. Format: https://wiki.openstreetmap.org/wiki/PBF_Format.

Anything this reader does not handle (non-dense ``Node`` messages, compression other than
zlib or none, a malformed block) raises :class:`UnsupportedPbf`; the caller then falls
back to pyosmium for the whole file.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Iterator
from pathlib import Path

import numpy as np


class UnsupportedPbf(Exception):
    """This PBF needs the general (pyosmium) reader."""


def _varint(buf: bytes, i: int) -> tuple[int, int]:
    shift = result = 0
    while True:
        if i >= len(buf):
            raise UnsupportedPbf("truncated varint")
        b = buf[i]
        i += 1
        result |= (b & 0x7F) << shift
        if b < 0x80:
            return result, i
        shift += 7


def _fields(buf: bytes) -> Iterator[tuple[int, int, object]]:
    """(field number, wire type, value) of a protobuf message; value is int or bytes."""
    i, n = 0, len(buf)
    while i < n:
        key, i = _varint(buf, i)
        field, wire = key >> 3, key & 7
        if wire == 0:
            val, i = _varint(buf, i)
        elif wire == 2:
            size, i = _varint(buf, i)
            val = buf[i:i + size]
            i += size
        elif wire == 1:
            val = buf[i:i + 8]
            i += 8
        elif wire == 5:
            val = buf[i:i + 4]
            i += 4
        else:
            raise UnsupportedPbf(f"wire type {wire}")
        yield field, wire, val


def packed_sint64(buf: bytes) -> np.ndarray:
    """Decode a packed, zig-zag varint array (vectorised)."""
    b = np.frombuffer(buf, dtype=np.uint8)
    if len(b) == 0:
        return np.zeros(0, dtype=np.int64)
    ends = np.flatnonzero(b < 0x80)
    if len(ends) == 0 or ends[-1] != len(b) - 1:
        raise UnsupportedPbf("truncated packed array")
    starts = np.concatenate([[0], ends[:-1] + 1])
    lengths = ends - starts + 1
    pos = np.arange(len(b)) - np.repeat(starts, lengths)
    contrib = (b & 0x7F).astype(np.uint64) << (7 * pos).astype(np.uint64)
    v = np.add.reduceat(contrib, starts)
    return (v >> np.uint64(1)).astype(np.int64) ^ -(v & np.uint64(1)).astype(np.int64)


def _blocks(path: Path) -> Iterator[bytes]:
    """Decompressed ``OSMData`` blocks of a PBF file."""
    with open(path, "rb") as fh:
        while True:
            head = fh.read(4)
            if not head:
                return
            if len(head) < 4:
                raise UnsupportedPbf("truncated file")
            (hlen,) = struct.unpack(">i", head)
            header = fh.read(hlen)
            btype, size = None, 0
            for f, _w, v in _fields(header):
                if f == 1:
                    btype = bytes(v).decode("utf-8", "replace")
                elif f == 3:
                    size = int(v)
            blob = fh.read(size)
            if btype != "OSMData":
                continue
            raw = zdata = None
            for f, _w, v in _fields(blob):
                if f == 1:
                    raw = bytes(v)
                elif f == 3:
                    zdata = bytes(v)
                elif f in (4, 5, 6, 7):
                    raise UnsupportedPbf("compression other than zlib")
            if raw is not None:
                yield raw
            elif zdata is not None:
                try:
                    yield zlib.decompress(zdata)
                except zlib.error as exc:
                    raise UnsupportedPbf(str(exc)) from exc
            else:
                raise UnsupportedPbf("empty blob")


def scan_dense_nodes(path: str | Path, bbox: tuple[float, float, float, float]
                     ) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray, int]]:
    """Per block: (ids, lon, lat) of the nodes inside ``bbox``, and the block's node count.

    Coordinates are computed as libosmium does (integer nanodegrees → 1e-7 degree units →
    ``/ 1e7``), so they equal pyosmium's ``location.lon``/``lat`` bit for bit.
    """
    minx, miny, maxx, maxy = bbox
    for block in _blocks(Path(path)):
        gran, lat_off, lon_off = 100, 0, 0
        groups = []
        for f, _w, v in _fields(block):
            if f == 2:
                groups.append(v)
            elif f == 17:
                gran = int(v)
            elif f == 19:
                lat_off = int(v) - (1 << 64) if int(v) >= 1 << 63 else int(v)
            elif f == 20:
                lon_off = int(v) - (1 << 64) if int(v) >= 1 << 63 else int(v)
        for g in groups:
            for f, _w, v in _fields(g):
                if f == 1:
                    raise UnsupportedPbf("non-dense nodes")
                if f != 2:
                    continue
                ids = lats = lons = None
                for f2, _w2, v2 in _fields(v):
                    if f2 == 1:
                        ids = np.cumsum(packed_sint64(v2))
                    elif f2 == 8:
                        lats = np.cumsum(packed_sint64(v2))
                    elif f2 == 9:
                        lons = np.cumsum(packed_sint64(v2))
                if ids is None or lats is None or lons is None or not (
                        len(ids) == len(lats) == len(lons)):
                    raise UnsupportedPbf("incomplete dense nodes")
                # nanodegrees → libosmium's fixed-point 1e-7 units (integer division as C++)
                xn = lon_off + gran * lons
                yn = lat_off + gran * lats
                x7 = np.sign(xn) * (np.abs(xn) // 100)
                y7 = np.sign(yn) * (np.abs(yn) // 100)
                lon = x7 / 1e7
                lat = y7 / 1e7
                keep = (lon >= minx) & (lon <= maxx) & (lat >= miny) & (lat <= maxy)
                yield ids[keep], lon[keep], lat[keep], len(ids)
