"""``covplan network build``: cut the walking network of an area out of a big OSM file.

``covplan network build --pbf FILE --area lishui|POLYGON_FILE [--buffer-m M] -o NET.gpkg|.graphml``

Streams the ``.osm.pbf`` (a province or country extract; ``.osm``/``.osm.bz2`` work too)
with pyosmium, keeps the walkable ways that touch the area plus ``--buffer-m`` metres
(default 1000) and the nodes they use, builds the walking network with the same rules as
every other loader (``coverage/access/pbf.py``, ``netfile.py``) and writes it as a
GeoPackage (fast to load) or GraphML (osmnx). ``covplan access --network NET.gpkg`` and
the app load it directly. ``--area lishui`` is the union of the dataset's county
polygons; a POLYGON_FILE is any vector file geopandas reads (GeoJSON, GeoPackage, …),
whose polygons are merged. ``--xml FILE`` also writes the clipped OSM data as XML.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from coverage._errors import NetworkError
from layers.glossary import label


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``network build``."""
    p = subparsers.add_parser("network", help="walking network files / 步行路网",
                              description="Build a cached walking network from a PBF.")
    sub = p.add_subparsers(dest="network_command", metavar="SUBCOMMAND")
    sub.required = True
    b = sub.add_parser("build", help="cut an area's walking network out of a .osm.pbf",
                       description="Stream a .osm.pbf, keep the walkable ways touching the area "
                                   "(plus a buffer) and write a cached walking network.")
    b.add_argument("--pbf", type=Path, required=True, metavar="FILE",
                   help="OpenStreetMap extract (.osm.pbf, .osm, .osm.bz2)")
    b.add_argument("--area", required=True, metavar="lishui|POLYGON_FILE",
                   help="'lishui' (the dataset's counties) or a polygon file")
    b.add_argument("--buffer-m", type=float, default=None, metavar="M",
                   help="metres added around the area (default 1000)")
    b.add_argument("-o", "--output", type=Path, required=True, metavar="NET.gpkg|.graphml")
    b.add_argument("--xml", type=Path, metavar="FILE", help="also write the clipped OSM XML")
    b.set_defaults(func=cmd_network_build)


def area_polygon(area: str, data_dir: Path | None):
    """The area polygon (EPSG:4326): the dataset's counties for ``lishui``, else a file."""
    import geopandas as gpd
    import shapely

    if area.lower() == "lishui":
        from layers.load import load_dataset

        geoms = load_dataset(data_dir).counties.to_crs("EPSG:4326").geometry.to_numpy()
        return shapely.union_all(geoms)
    path = Path(area)
    if not path.is_file():
        raise NetworkError(f"--area {area}: neither 'lishui' nor an existing polygon file")
    try:
        gdf = gpd.read_file(path)
    except Exception as exc:  # pyogrio raises several types for unreadable files
        raise NetworkError(f"{path}: not a readable vector file ({exc})") from exc
    if gdf.crs is None:
        raise NetworkError(f"{path}: the polygon file has no CRS")
    poly = gdf[gdf.geom_type.isin(["Polygon", "MultiPolygon"])]
    if poly.empty:
        raise NetworkError(f"{path}: no Polygon or MultiPolygon feature")
    return shapely.union_all(poly.to_crs("EPSG:4326").geometry.to_numpy())


def cmd_network_build(args: argparse.Namespace) -> int:
    from coverage.access.netfile import NETWORK_SUFFIXES, network_from_clip, write_network
    from coverage.access.pbf import DEFAULT_BUFFER_M, clip_pbf, write_clip_xml

    if args.output.suffix.lower() not in NETWORK_SUFFIXES:
        raise NetworkError(f"{args.output}: the network file must be .gpkg or .graphml")
    buffer_m = DEFAULT_BUFFER_M if args.buffer_m is None else float(args.buffer_m)
    if buffer_m < 0:
        raise NetworkError("--buffer-m must be ≥ 0")
    t0 = time.perf_counter()
    area = area_polygon(args.area, getattr(args, "data", None))
    clip = clip_pbf(args.pbf, area, buffer_m=buffer_m)
    net = network_from_clip(clip)
    if args.xml is not None:
        write_clip_xml(clip, args.xml)
    write_network(net, args.output, info={"area": args.area, "buffer_m": buffer_m,
                                          "built_by": "covplan network build",
                                          "osm_file": str(args.pbf)})
    print(f"{label('walk_network')}: {net.n_nodes:,} nodes, {net.n_edges:,} edges, "
          f"{net.total_length_m() / 1000:,.1f} km ({net.crs}); {len(clip.way_id):,} of "
          f"{clip.ways_scanned:,} highway ways kept, {clip.nodes_scanned:,} nodes scanned; "
          f"{time.perf_counter() - t0:.1f} s → {args.output}")
    return 0
