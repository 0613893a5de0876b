"""Compact transport of display GeoJSON: what a callback sends instead of a FeatureCollection.

A Dash response is JSON with every non-ASCII character escaped (``\\u4e2d`` = 6 bytes), and
GeoJSON repeats its keys and boilerplate per feature, so a city-wide layer of 2,000 facilities
or one merged service area weighs close to 1 MB. :func:`pack` turns a FeatureCollection into a
columnar dict that ``assets/covplan_geopack.js`` (``covplanPack.unpack``) turns back into the
same FeatureCollection in the browser, in a clientside callback that feeds the layer's ``data``:

* coordinates are integers of 1e-5 degree (:data:`dashapp.maps.COORD_DECIMALS`, about 1 m),
  each ring delta-encoded with the polyline character code (zigzag, 5 bits a character,
  offset 63), so a vertex costs 3–6 bytes instead of about 20;
* a property whose values repeat (type, tier, colour, status, township code …) is sent once
  per distinct value plus an index per feature;
* a text property that is another property plus ``" · "`` plus a repeating tail (a facility's
  tooltip is its name, then type, tier and provenance) is sent as that tail's index only.

Nothing is dropped: ``unpack(pack(fc)) == fc`` up to the coordinate rounding (tested, and the
JS decoder is checked against this module by the browser tests). Polygon simplification is not
done here; it happens before, in EPSG:4549 (:func:`dashapp.maps.simplify_for_display`,
:func:`dashapp.maps.polygon_geojson`).
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

CODEC = "cpgeo1"
SCALE = 100_000  # 1e-5 degree, the same as maps.COORD_DECIMALS = 5
SEP = " · "
_MEMO: "OrderedDict[int, tuple[Any, dict[str, Any]]]" = OrderedDict()
_MEMO_SIZE = 48


def _enc(ints: list[int]) -> str:
    """Polyline character code of a list of integers (each zigzag-encoded, 5 bits a char)."""
    out: list[str] = []
    for v in ints:
        v = ~(v << 1) if v < 0 else v << 1
        while v >= 0x20:
            out.append(chr((0x20 | (v & 0x1F)) + 63))
            v >>= 5
        out.append(chr(v + 63))
    return "".join(out)


def _dec(text: str) -> list[int]:
    out, i, n = [], 0, len(text)
    while i < n:
        r = sh = 0
        while True:
            b = ord(text[i]) - 63
            i += 1
            r |= (b & 0x1F) << sh
            sh += 5
            if b < 0x20:
                break
        out.append(~(r >> 1) if r & 1 else r >> 1)
    return out


def _enc_ring(coords: Any) -> str:
    flat: list[int] = []
    px = py = 0
    for c in coords:
        x, y = round(float(c[0]) * SCALE), round(float(c[1]) * SCALE)
        flat += [x - px, y - py]
        px, py = x, y
    return _enc(flat)


def _dec_ring(text: str) -> list[list[float]]:
    ints = _dec(text)
    out, x, y = [], 0, 0
    for i in range(0, len(ints), 2):
        x += ints[i]
        y += ints[i + 1]
        out.append([x / SCALE, y / SCALE])
    return out


def _enc_geom(geom: dict[str, Any] | None) -> Any:
    if not geom:
        return None
    kind, c = geom["type"], geom["coordinates"]
    if kind == "Point":
        return _enc_ring([c])
    if kind in ("LineString", "MultiPoint"):
        return _enc_ring(c)
    if kind in ("Polygon", "MultiLineString"):
        return [_enc_ring(r) for r in c]
    if kind == "MultiPolygon":
        return [[_enc_ring(r) for r in p] for p in c]
    raise ValueError(f"geopack: geometry type {kind!r} is not supported")


def _dec_geom(kind: str | None, enc: Any) -> dict[str, Any] | None:
    if kind is None or enc is None:
        return None
    if kind == "Point":
        coords: Any = _dec_ring(enc)[0]
    elif kind in ("LineString", "MultiPoint"):
        coords = _dec_ring(enc)
    elif kind in ("Polygon", "MultiLineString"):
        coords = [_dec_ring(r) for r in enc]
    else:
        coords = [[_dec_ring(r) for r in p] for p in enc]
    return {"type": kind, "coordinates": coords}


def _hashable(values: list[Any]) -> bool:
    return all(v is None or isinstance(v, (str, int, float, bool)) for v in values)


def _dictionary(values: list[Any]) -> dict[str, Any] | None:
    if not values or not _hashable(values):
        return None
    index: dict[Any, int] = {}
    idx = []
    for v in values:
        key = (type(v).__name__, v)
        if key not in index:
            index[key] = len(index)
        idx.append(index[key])
    if len(index) > max(1, len(values) // 2):
        return None
    return {"d": [k[1] for k in index], "i": idx}


def _prefixed(values: list[Any], columns: dict[str, list[Any]]) -> dict[str, Any] | None:
    """``values[i] == other[i] + SEP + tail[i]`` with repeating tails, for some other column."""
    if not all(isinstance(v, str) for v in values):
        return None
    for name, other in columns.items():
        if other is values or not all(isinstance(o, str) and o for o in other):
            continue
        tails = []
        for v, o in zip(values, other):
            if v == o:
                tails.append(None)
            elif v.startswith(o + SEP):
                tails.append(v[len(o) + len(SEP):])
            else:
                break
        else:
            enc = _dictionary(tails)
            if enc is not None:
                return {"pre": name, **enc}
    return None


def _column(values: list[Any], columns: dict[str, list[Any]]) -> dict[str, Any]:
    return _dictionary(values) or _prefixed(values, columns) or {"v": values}


def pack(fc: dict[str, Any]) -> dict[str, Any]:
    """A FeatureCollection as a compact columnar dict (see the module text)."""
    feats = fc.get("features", [])
    keys: list[str] = []
    for f in feats:
        for k in f.get("properties") or {}:
            if k not in keys:
                keys.append(k)
    columns = {k: [(f.get("properties") or {}).get(k) for f in feats] for k in keys}
    has = [k for k in keys if all(k in (f.get("properties") or {}) for f in feats)]
    out: dict[str, Any] = {"codec": CODEC, "scale": SCALE, "n": len(feats),
                           "props": {k: _column(v, columns) for k, v in columns.items()},
                           "always": has}
    kinds = [(f.get("geometry") or {}).get("type") for f in feats]
    out["kind"] = _dictionary(kinds) or {"v": kinds}
    out["geom"] = [_enc_geom(f.get("geometry")) for f in feats]
    ids = [f.get("id") for f in feats]
    if any(i is not None for i in ids):
        same = [k for k in keys if columns[k] == ids]
        out["id"] = {"from": same[0]} if same else {"v": ids}
    return out


def pack_cached(fc: dict[str, Any]) -> dict[str, Any]:
    """:func:`pack`, remembered for the same (cached, never mutated) FeatureCollection object."""
    hit = _MEMO.get(id(fc))
    if hit is not None and hit[0] is fc:
        _MEMO.move_to_end(id(fc))
        return hit[1]
    packed = pack(fc)
    _MEMO[id(fc)] = (fc, packed)
    while len(_MEMO) > _MEMO_SIZE:
        _MEMO.popitem(last=False)
    return packed


def _values(col: dict[str, Any], n: int, decoded: dict[str, list[Any]]) -> list[Any]:
    if "v" in col:
        return list(col["v"])
    vals = [col["d"][i] for i in col["i"]]
    if "pre" in col:
        base = decoded[col["pre"]]
        vals = [b if t is None else f"{b}{SEP}{t}" for b, t in zip(base, vals)]
    return vals


def unpack(packed: dict[str, Any]) -> dict[str, Any]:
    """The FeatureCollection of a :func:`pack` result (what the browser's decoder builds)."""
    if not isinstance(packed, dict) or packed.get("codec") != CODEC:
        raise ValueError("geopack: not a packed FeatureCollection")
    n = int(packed["n"])
    decoded: dict[str, list[Any]] = {}
    pending = dict(packed["props"])
    while pending:  # a prefixed column needs its base column first
        for k, col in list(pending.items()):
            if "pre" not in col or col["pre"] in decoded:
                decoded[k] = _values(col, n, decoded)
                del pending[k]
    always = set(packed.get("always", []))
    kinds = _values(packed["kind"], n, {})
    ids = packed.get("id")
    feats = []
    for i in range(n):
        props = {k: v[i] for k, v in decoded.items() if k in always or v[i] is not None}
        feat: dict[str, Any] = {"type": "Feature", "properties": props,
                                "geometry": _dec_geom(kinds[i], packed["geom"][i])}
        if ids is not None:
            feat["id"] = decoded[ids["from"]][i] if "from" in ids else ids["v"][i]
        feats.append(feat)
    return {"type": "FeatureCollection", "features": feats}
