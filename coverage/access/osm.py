"""Reading OpenStreetMap: the walking rules, OSM files and downloads → :class:`WalkNetwork`.

A :class:`WalkNetwork` is what every access computation uses: node coordinates in the
working CRS (EPSG:4549, metres), one undirected edge list with projected edge geometries,
a symmetric ``scipy.sparse`` CSR matrix of edge lengths (metres) and a KD-tree over the
nodes for snapping.

Walking rules
-------------
* A way is walkable when its ``highway`` value is in :data:`WALKABLE_HIGHWAYS`, or when it
  carries ``foot=yes|designated|permissive`` (e.g. a cycleway open to pedestrians).
* Excluded: ``highway`` in :data:`EXCLUDED_HIGHWAYS` (motorways, construction, …),
  ``foot=no``, ``access=private|no`` (unless foot access is granted), ``service=private``,
  ``motorroad=yes``, ``area=yes``. ``trunk`` roads are kept, as in osmnx's ``walk``
  network type, unless one of the exclusions applies.
* One-way rules do not apply to walking: the graph is built with ``bidirectional=True``.
* Self-loop edges are dropped (they never shorten a route).

Sources
-------
* :func:`load_network` reads ``.osm``, ``.osm.bz2`` (osmnx ``graph_from_xml``) and
  ``.osm.pbf`` (converted offline to OSM XML with pyosmium first, so every format goes
  through the same loader). Results are cached per (path, mtime, size, retain_all).
* :func:`network_for_polygon` downloads with osmnx (``network_type="walk"``) and caches
  the graph as GraphML under ``cache_dir``, keyed by a hash of the polygon.
"""

from __future__ import annotations

import contextlib
import hashlib
import tempfile
import xml.etree.ElementTree as ET
import xml.sax
from collections.abc import Iterator
from pathlib import Path

import networkx as nx
import numpy as np
import osmnx as ox
import shapely
import shapely.ops
from osmnx._errors import InsufficientResponseError

from coverage._errors import NetworkError
from coverage.access.graph import WalkNetwork, _csr_from_edges
from layers import settings

#: highway values a pedestrian may use
WALKABLE_HIGHWAYS: frozenset[str] = frozenset(
    {
        "footway", "path", "pedestrian", "steps", "living_street", "residential", "service",
        "unclassified", "tertiary", "tertiary_link", "secondary", "secondary_link",
        "primary", "primary_link", "trunk", "trunk_link", "track", "road", "corridor",
        "bridleway", "crossing", "sidewalk",
    }
)


#: highway values never walkable, whatever other tags say
EXCLUDED_HIGHWAYS: frozenset[str] = frozenset(
    {
        "motorway", "motorway_link", "construction", "proposed", "planned", "abandoned",
        "razed", "raceway", "bus_guideway", "platform", "rest_area", "services", "no",
    }
)


_FOOT_ALLOWED = frozenset({"yes", "designated", "permissive"})


_EXTRA_WAY_TAGS = ("foot", "motorroad", "service", "access", "area", "highway")


#: file name suffixes :func:`load_network` accepts
SUPPORTED_SUFFIXES: tuple[str, ...] = (".osm", ".osm.bz2", ".xml", ".osm.pbf", ".pbf", ".gpkg",
                                       ".graphml")


# ---------------------------------------------------------------------- walking filter
def is_walkable(attrs: dict) -> bool:
    """Whether an OSM way with these tags is part of the walking network."""
    hw = attrs.get("highway")
    if not isinstance(hw, str):
        return False
    foot = str(attrs.get("foot", "")).strip()
    if hw in EXCLUDED_HIGHWAYS or foot == "no":
        return False
    if str(attrs.get("area", "")) == "yes" or str(attrs.get("motorroad", "")) == "yes":
        return False
    if str(attrs.get("service", "")) == "private":
        return False
    if str(attrs.get("access", "")) in {"private", "no"} and foot not in _FOOT_ALLOWED:
        return False
    return hw in WALKABLE_HIGHWAYS or foot in _FOOT_ALLOWED


@contextlib.contextmanager
def _way_tags() -> Iterator[None]:
    """Temporarily make osmnx keep the tags the walking filter needs."""
    old = list(ox.settings.useful_tags_way)
    ox.settings.useful_tags_way = old + [t for t in _EXTRA_WAY_TAGS if t not in old]
    try:
        yield
    finally:
        ox.settings.useful_tags_way = old


def walk_graph_from_raw(G: nx.MultiDiGraph, *, retain_all: bool, source: str) -> nx.MultiDiGraph:
    """Keep walkable edges of an unsimplified osmnx graph, then simplify it."""
    drop = [(u, v, k) for u, v, k, d in G.edges(keys=True, data=True) if not is_walkable(d)]
    G.remove_edges_from(drop)
    G.remove_nodes_from([n for n in list(G.nodes) if G.degree(n) == 0])
    if G.number_of_edges() == 0:
        raise NetworkError(
            f"{source}: no walkable ways found (need highway=footway/residential/… "
            "without foot=no or access=private)"
        )
    if not retain_all:
        G = ox.truncate.largest_component(G, strongly=False)
    return ox.simplify_graph(G)


# ---------------------------------------------------------------------- loading files
_CACHE: dict[tuple, WalkNetwork] = {}


def _sniff_provenance(path: Path) -> str:
    """``synthetic`` when the OSM XML header carries a note saying so, else ``real``."""
    try:
        if path.name.endswith(".bz2"):
            import bz2

            with bz2.open(path, "rb") as fh:
                head = fh.read(4096)
        elif path.name.endswith(".pbf"):
            return "real"
        else:
            with open(path, "rb") as fh:
                head = fh.read(4096)
    except OSError:
        return "real"
    return "synthetic" if b"synthetic" in head.lower() else "real"


def load_network(
    path: str | Path, *, retain_all: bool = True, provenance: str | None = None
) -> WalkNetwork:
    """Load a walking network from a local OSM file.

    Parameters
    ----------
    path : str or Path
        ``.osm``, ``.osm.bz2`` or ``.osm.pbf`` file (lon/lat, EPSG:4326 as OSM defines).
    retain_all : bool
        Keep every connected component (True, needed for the 9 separate county seats of
        the embedded network) or only the largest one.
    provenance : str, optional
        Override; by default ``synthetic`` when the file's header note says so, else
        ``real``.

    Returns
    -------
    WalkNetwork
        Cached in memory per (path, modification time, size, retain_all): a second call
        is free. The converted arrays are also kept on disk under
        ``layers.settings.CACHE_DIR/network/`` (``.npz`` of plain arrays, keyed by the
        file's SHA-256), so a new process skips the osmnx parse.

    Raises
    ------
    NetworkError
        Missing file, unsupported suffix, unparsable content, or no walkable way.
    """
    path = Path(path)
    if not path.is_file():
        raise NetworkError(f"{path}: network file not found")
    name = path.name.lower()
    if not name.endswith(SUPPORTED_SUFFIXES):
        raise NetworkError(
            f"{path}: unsupported network file type; use .osm, .osm.bz2, .osm.pbf or a "
            "network built by `covplan network build` (.gpkg, .graphml)"
        )
    stat = path.stat()
    key = (str(path.resolve()), stat.st_mtime_ns, stat.st_size, retain_all, provenance)
    if key in _CACHE:
        return _CACHE[key]
    if name.endswith((".gpkg", ".graphml")):  # a network built by `covplan network build`
        from coverage.access.netfile import read_network_file

        net = read_network_file(path, provenance=provenance)
        _CACHE[key] = net
        return net
    prov = provenance or _sniff_provenance(path)
    disk = _disk_cache_path(path, retain_all, prov)
    if disk is not None and disk.is_file():
        try:
            net = _read_npz(disk, source=str(path))
        except (OSError, ValueError, KeyError):
            disk.unlink(missing_ok=True)  # stale or damaged cache entry: rebuild below
        else:
            _CACHE[key] = net
            return net
    if name.endswith(".pbf"):
        with tempfile.TemporaryDirectory(prefix="covplan_pbf_") as tmp:
            xml_path = _pbf_to_xml(path, Path(tmp) / "network.osm")
            G = _read_xml(xml_path, label=str(path))
    else:
        G = _read_xml(path, label=str(path))
    G = walk_graph_from_raw(G, retain_all=retain_all, source=str(path))
    net = WalkNetwork.from_osmnx(G, source=str(path), provenance=prov)
    if disk is not None:
        _write_npz(net, disk)
    _CACHE[key] = net
    return net


#: bump when the conversion changes, so stale disk caches are ignored
_LOADER_VERSION = "2"


def _disk_cache_path(path: Path, retain_all: bool, provenance: str) -> Path | None:
    """``CACHE_DIR/network/<sha256 of content + options>.npz``, or None without a cache."""
    cache_dir = settings.CACHE_DIR
    if not cache_dir:
        return None
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    h.update(f"|{retain_all}|{provenance}|{_LOADER_VERSION}|{ox.__version__}".encode())
    return Path(cache_dir) / "network" / f"osm_{h.hexdigest()[:24]}.npz"


def _write_npz(net: WalkNetwork, dest: Path) -> None:
    """Save a converted network as plain arrays (``np.savez``, no pickle)."""
    coords = shapely.get_coordinates(net.edge_geometry)
    sizes = shapely.get_num_coordinates(net.edge_geometry)
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp = dest.with_name(dest.stem + ".tmp.npz")
        np.savez(tmp, node_osmid=net.node_osmid, node_xy=net.node_xy, edge_u=net.edge_u,
                 edge_v=net.edge_v, coords=coords, sizes=sizes, crs=np.str_(net.crs),
                 edge_steps=(net.edge_steps if net.edge_steps is not None
                             else np.zeros(net.n_edges, dtype=bool)),
                 provenance=np.str_(net.provenance))
        tmp.replace(dest)
    except OSError:  # a read-only cache folder only costs speed
        return


def _read_npz(src: Path, *, source: str) -> WalkNetwork:
    with np.load(src, allow_pickle=False) as z:
        sizes = z["sizes"]
        geoms = shapely.linestrings(z["coords"], indices=np.repeat(np.arange(len(sizes)), sizes))
        n = len(z["node_osmid"])
        length = shapely.length(geoms)
        return WalkNetwork(
            crs=str(z["crs"]), source=source, provenance=str(z["provenance"]),
            node_osmid=z["node_osmid"], node_xy=z["node_xy"], edge_u=z["edge_u"],
            edge_v=z["edge_v"], edge_length_m=length, edge_geometry=geoms,
            graph=_csr_from_edges(n, z["edge_u"], z["edge_v"], length),
            edge_steps=z["edge_steps"] if "edge_steps" in z.files else None,
        )


def _read_xml(path: Path, *, label: str) -> nx.MultiDiGraph:
    """Parse OSM XML (plain or bz2) into an unfiltered, unsimplified osmnx graph."""
    try:
        with _way_tags():
            return ox.graph_from_xml(path, bidirectional=True, simplify=False, retain_all=True)
    except (xml.sax.SAXException, ET.ParseError) as exc:
        raise NetworkError(f"{label}: not valid OSM XML ({exc})") from exc
    except (OSError, EOFError, UnicodeDecodeError) as exc:
        raise NetworkError(f"{label}: cannot read the OSM file ({exc})") from exc
    except InsufficientResponseError as exc:
        raise NetworkError(f"{label}: the OSM file holds no nodes or ways") from exc
    except (KeyError, ValueError, TypeError) as exc:
        raise NetworkError(f"{label}: malformed OSM element ({type(exc).__name__}: {exc})") from exc


def _pbf_to_xml(src: Path, dst: Path) -> Path:
    """Convert an ``.osm.pbf`` to OSM XML offline with pyosmium."""
    try:
        import osmium
    except ImportError as exc:  # pragma: no cover - osmium is a declared dependency
        raise NetworkError(
            f"{src}: reading .osm.pbf needs the 'osmium' package (pip install osmium); "
            "or convert the file to .osm first"
        ) from exc
    try:
        with osmium.SimpleWriter(str(dst), overwrite=True) as writer:
            for obj in osmium.FileProcessor(str(src)):
                writer.add(obj)
    except RuntimeError as exc:
        raise NetworkError(f"{src}: not a readable OSM PBF file ({exc})") from exc
    return dst


def clear_cache() -> None:
    """Forget every loaded network (tests use this)."""
    _CACHE.clear()


# ---------------------------------------------------------------------- download
def polygon_key(polygon: shapely.Geometry) -> str:
    """Stable 16-hex-digit key of a polygon (EPSG:4326), for the GraphML cache."""
    norm = shapely.normalize(shapely.set_precision(polygon, 1e-7))
    return hashlib.sha256(shapely.to_wkb(norm, hex=False)).hexdigest()[:16]


def _download_graph(polygon: shapely.Geometry) -> nx.MultiDiGraph:
    """Download the osmnx ``walk`` network inside ``polygon`` (needs the internet)."""
    return ox.graph_from_polygon(polygon, network_type="walk", simplify=True, retain_all=True)


def network_for_polygon(
    polygon: shapely.Geometry, cache_dir: str | Path | None = None
) -> WalkNetwork:
    """Walking network inside a county or township polygon, downloaded once, then cached.

    Parameters
    ----------
    polygon : shapely Polygon or MultiPolygon
        Area in EPSG:4326 lon/lat.
    cache_dir : path, optional
        Folder for the GraphML cache (default ``layers.settings.CACHE_DIR``); the file is
        ``network/walk_<hash>.graphml``.

    Raises
    ------
    NetworkError
        The download failed (for instance no internet connection): use a local file.
    """
    if polygon is None or shapely.is_empty(polygon) or not shapely.is_valid(polygon):
        raise NetworkError("network download: the polygon is empty or invalid")
    minx, miny, maxx, maxy = shapely.bounds(polygon)
    if minx < -180 or maxx > 180 or miny < -90 or maxy > 90:
        raise NetworkError(
            "network download: polygon coordinates are not lon/lat (EPSG:4326); "
            f"bounds are {minx:.0f}, {miny:.0f}, {maxx:.0f}, {maxy:.0f}"
        )
    cache_dir = Path(cache_dir if cache_dir is not None else settings.CACHE_DIR)
    key = polygon_key(polygon)
    gml = cache_dir / "network" / f"walk_{key}.graphml"
    if gml.is_file():
        G = ox.load_graphml(gml)
    else:
        try:
            G = _download_graph(polygon)
        except Exception as exc:  # any failure to reach the server
            raise NetworkError(
                "could not download the walking network from OpenStreetMap "
                f"({type(exc).__name__}: {exc}); without an internet connection, "
                "use a local OSM file with --network FILE"
            ) from exc
        gml.parent.mkdir(parents=True, exist_ok=True)
        tmp = gml.with_suffix(".tmp")
        ox.save_graphml(G, tmp)
        tmp.replace(gml)
    return WalkNetwork.from_osmnx(G, source=f"download:{key}", provenance="real")
