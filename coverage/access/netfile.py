"""Clipped OSM ways → :class:`WalkNetwork`, and the cached network file (GeoPackage/GraphML).

:func:`network_from_clip` builds the walking network straight from the arrays of
:func:`coverage.access.pbf.clip_pbf`, with the graph rules osmnx applies to the same data
(``graph_from_xml(bidirectional=True, simplify=False)``, walking filter, then
``simplify_graph``), so both give the same edges:

* every pair of consecutive way nodes is a segment, walkable both ways;
* a node is an **endpoint** unless it has exactly two segments to two different
  neighbours (osmnx's rule 3 on a bidirectional graph: two neighbours and degree 4);
  a node on a segment to itself (a repeated way node) is an endpoint (rule 1);
* paths between endpoints through interstitial nodes become one edge; a path that
  returns to its start (a loop) is dropped, as :meth:`WalkNetwork.from_osmnx` drops
  self-loops; rings without any endpoint keep their single segments;
* parallel edges with the same end nodes and the same length (to the centimetre) are
  one edge; ``edge_steps`` is set when any segment comes from a ``highway=steps`` way.

:func:`write_network` saves a network as a GeoPackage (layers ``nodes``, ``edges``,
``network_info``; lon/lat in EPSG:4326, fast to read back with pyogrio) or as GraphML
(osmnx's format); :func:`read_network_file` reads either back.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import shapely

from coverage._errors import NetworkError
from coverage.access.graph import WalkNetwork, _csr_from_edges, _transformer, metric_crs_for
from layers import settings

NETWORK_SUFFIXES: tuple[str, ...] = (".gpkg", ".graphml")


def network_from_clip(clip, *, provenance: str = "real") -> WalkNetwork:
    """A :class:`WalkNetwork` from a :class:`coverage.access.pbf.Clip`."""
    lens = np.diff(clip.way_ptr)
    way_of = np.repeat(np.arange(len(lens)), lens)
    a = clip.way_refs[:-1]
    b = clip.way_refs[1:]
    same_way = way_of[:-1] == way_of[1:]
    a, b, seg_way = a[same_way], b[same_way], way_of[:-1][same_way]
    steps_way = np.array([t.get("highway") == "steps" for t in clip.way_tags], dtype=bool)
    node_ids = clip.node_id  # sorted, unique
    ia = np.searchsorted(node_ids, a)
    ib = np.searchsorted(node_ids, b)
    loop = ia == ib
    n_all = len(node_ids)
    endpoint = np.zeros(n_all, dtype=bool)
    endpoint[ia[loop]] = True
    ia, ib, seg_steps = ia[~loop], ib[~loop], steps_way[seg_way[~loop]]
    used = np.zeros(n_all, dtype=bool)
    used[ia] = used[ib] = True
    m = np.bincount(ia, minlength=n_all) + np.bincount(ib, minlength=n_all)
    pairs = np.unique(np.column_stack([np.minimum(ia, ib), np.maximum(ia, ib)]), axis=0)
    nbrs = np.bincount(pairs[:, 0], minlength=n_all) + np.bincount(pairs[:, 1], minlength=n_all)
    endpoint |= ~((m == 2) & (nbrs == 2))
    paths, path_steps = _trace_paths(n_all, ia, ib, seg_steps, endpoint & used)
    keep_node = np.zeros(n_all, dtype=bool)
    for p in paths:
        keep_node[p[0]] = keep_node[p[-1]] = True
    if not paths:
        raise NetworkError(f"{clip.source}: the clipped area has no walkable edge")
    new_index = np.cumsum(keep_node) - 1
    osmids = node_ids[keep_node]
    lon_all, lat_all = clip.node_lon, clip.node_lat
    crs = metric_crs_for(lon_all[keep_node], lat_all[keep_node])
    to_metric = _transformer(settings.STORAGE_CRS, crs)
    x, y = to_metric.transform(lon_all[keep_node], lat_all[keep_node])
    node_xy = np.column_stack([x, y])
    sizes = np.array([len(p) for p in paths])
    flat = np.concatenate(paths)
    px, py = to_metric.transform(lon_all[flat], lat_all[flat])
    proj = np.column_stack([px, py])
    u = new_index[np.array([p[0] for p in paths])]
    v = new_index[np.array([p[-1] for p in paths])]
    ends = np.cumsum(sizes)
    starts = ends - sizes
    proj[starts] = node_xy[u]
    proj[ends - 1] = node_xy[v]
    geoms = shapely.linestrings(proj, indices=np.repeat(np.arange(len(sizes)), sizes))
    flip = u > v
    geoms[flip] = shapely.reverse(geoms[flip])
    u, v = np.minimum(u, v), np.maximum(u, v)
    length = shapely.length(geoms)
    key = pd.DataFrame({"u": u, "v": v, "l": np.round(length, 2)})
    first = ~key.duplicated().to_numpy()
    u, v, length, geoms = u[first], v[first], length[first], geoms[first]
    steps = np.asarray(path_steps, dtype=bool)[first]
    return WalkNetwork(crs=crs, source=clip.source, provenance=provenance, node_osmid=osmids,
                       node_xy=node_xy, edge_u=u, edge_v=v, edge_length_m=length,
                       edge_geometry=geoms, graph=_csr_from_edges(len(osmids), u, v, length),
                       edge_steps=steps)


def _trace_paths(n: int, ia: np.ndarray, ib: np.ndarray, seg_steps: np.ndarray,
                 endpoint: np.ndarray) -> tuple[list[np.ndarray], list[bool]]:
    """Node paths between endpoints; rings without endpoints stay as single segments."""
    k = len(ia)
    ends = np.concatenate([ia, ib])
    other = np.concatenate([ib, ia])
    seg = np.concatenate([np.arange(k), np.arange(k)])
    order = np.argsort(ends, kind="stable")
    ptr = np.concatenate([[0], np.cumsum(np.bincount(ends, minlength=n))])
    nb_node = other[order].tolist()
    nb_seg = seg[order].tolist()
    ptr_l = ptr.tolist()
    is_end = endpoint.tolist()
    steps = seg_steps.tolist()
    done = [False] * k
    paths: list[np.ndarray] = []
    path_steps: list[bool] = []
    for start in np.flatnonzero(endpoint).tolist():
        for j in range(ptr_l[start], ptr_l[start + 1]):
            s = nb_seg[j]
            if done[s]:
                continue
            done[s] = True
            path = [start]
            st = steps[s]
            prev, cur = start, nb_node[j]
            while not is_end[cur]:
                path.append(cur)
                j0, j1 = ptr_l[cur], ptr_l[cur] + 1  # interstitial: exactly two segments
                nxt = j0 if nb_seg[j1] == s else j1
                s = nb_seg[nxt]
                done[s] = True
                st = st or steps[s]
                prev, cur = cur, nb_node[nxt]
            path.append(cur)
            if path[0] != path[-1]:
                paths.append(np.array(path, dtype=np.int64))
                path_steps.append(st)
    for s in range(k):  # rings with no endpoint: osmnx leaves their segments as they are
        if not done[s]:
            paths.append(np.array([ia[s], ib[s]], dtype=np.int64))
            path_steps.append(steps[s])
    return paths, path_steps


# ---------------------------------------------------------------------- files
def write_network(net: WalkNetwork, path: str | Path, *, info: dict | None = None) -> Path:
    """Save ``net`` as ``.gpkg`` (fast) or ``.graphml`` (osmnx), coordinates in EPSG:4326."""
    import geopandas as gpd

    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in NETWORK_SUFFIXES:
        raise NetworkError(f"{path}: the network file must be .gpkg or .graphml")
    lon, lat = net.unproject(net.node_xy)
    coords = shapely.get_coordinates(net.edge_geometry)
    sizes = shapely.get_num_coordinates(net.edge_geometry)
    clon, clat = net.unproject(coords)
    ll = shapely.linestrings(np.column_stack([clon, clat]),
                             indices=np.repeat(np.arange(len(sizes)), sizes))
    steps = net.edge_steps if net.edge_steps is not None else np.zeros(net.n_edges, bool)
    if suffix == ".graphml":
        return _write_graphml(net, path, lon, lat, ll, steps)
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists():
        path.unlink()
    nodes = gpd.GeoDataFrame({"osmid": net.node_osmid},
                             geometry=gpd.points_from_xy(lon, lat), crs=settings.STORAGE_CRS)
    edges = gpd.GeoDataFrame({"u": net.node_osmid[net.edge_u], "v": net.node_osmid[net.edge_v],
                              "length_m": net.edge_length_m, "steps": steps},
                             geometry=ll, crs=settings.STORAGE_CRS)
    nodes.to_file(path, layer="nodes", driver="GPKG")
    edges.to_file(path, layer="edges", driver="GPKG")
    meta = dict(info or {}, provenance=net.provenance, source=net.source, crs=net.crs,
                nodes=net.n_nodes, edges=net.n_edges)
    import pyogrio

    pyogrio.write_dataframe(pd.DataFrame({"key": list(meta), "value": [str(v) for v in meta.values()]}),
                            path, layer="network_info", driver="GPKG")
    return path


def _write_graphml(net, path, lon, lat, ll, steps) -> Path:
    import networkx as nx
    import osmnx as ox

    G = nx.MultiDiGraph(crs=settings.STORAGE_CRS)
    for o, x, y in zip(net.node_osmid.tolist(), lon.tolist(), lat.tolist()):
        G.add_node(o, x=x, y=y)
    for i, (a, b) in enumerate(zip(net.node_osmid[net.edge_u].tolist(),
                                   net.node_osmid[net.edge_v].tolist())):
        attrs = {"length": float(net.edge_length_m[i]), "geometry": ll[i],
                 "highway": "steps" if steps[i] else "footway"}
        G.add_edge(a, b, **attrs)
        G.add_edge(b, a, **dict(attrs, geometry=shapely.reverse(ll[i])))
    G.graph["provenance"] = net.provenance
    ox.save_graphml(G, path)
    return path


def read_network_file(path: str | Path, *, provenance: str | None = None) -> WalkNetwork:
    """Read a network written by :func:`write_network` (``.gpkg``) or any osmnx GraphML."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".graphml":
        import osmnx as ox

        try:
            G = ox.load_graphml(path)
        except Exception as exc:  # networkx/osmnx raise many types on bad XML
            raise NetworkError(f"{path}: not a readable GraphML network ({exc})") from exc
        prov = provenance or str(G.graph.get("provenance") or "real")
        return WalkNetwork.from_osmnx(G, source=str(path), provenance=prov)
    import pyogrio

    try:
        nodes = pyogrio.read_dataframe(path, layer="nodes")
        edges = pyogrio.read_dataframe(path, layer="edges")
        meta = pyogrio.read_dataframe(path, layer="network_info", read_geometry=False)
    except Exception as exc:  # pyogrio raises DataSourceError / DataLayerError
        raise NetworkError(f"{path}: not a network GeoPackage (layers nodes, edges, "
                           f"network_info) ({exc})") from exc
    info = dict(zip(meta["key"], meta["value"]))
    osmid = nodes["osmid"].to_numpy(np.int64)
    order = {o: i for i, o in enumerate(osmid.tolist())}
    lon, lat = nodes.geometry.x.to_numpy(), nodes.geometry.y.to_numpy()
    crs = info.get("crs") or metric_crs_for(lon, lat)
    to_metric = _transformer(settings.STORAGE_CRS, crs)
    node_xy = np.column_stack(to_metric.transform(lon, lat))
    u = np.array([order[o] for o in edges["u"].tolist()], dtype=np.int64)
    v = np.array([order[o] for o in edges["v"].tolist()], dtype=np.int64)
    geom = edges.geometry.to_numpy()
    coords = shapely.get_coordinates(geom)
    sizes = shapely.get_num_coordinates(geom)
    proj = np.column_stack(to_metric.transform(coords[:, 0], coords[:, 1]))
    ends = np.cumsum(sizes)
    proj[ends - sizes] = node_xy[u]
    proj[ends - 1] = node_xy[v]
    geoms = shapely.linestrings(proj, indices=np.repeat(np.arange(len(sizes)), sizes))
    length = shapely.length(geoms)
    return WalkNetwork(crs=crs, source=str(path), provenance=provenance or info.get("provenance", "real"),
                       node_osmid=osmid, node_xy=node_xy, edge_u=u, edge_v=v,
                       edge_length_m=length, edge_geometry=geoms,
                       graph=_csr_from_edges(len(osmid), u, v, length),
                       edge_steps=edges["steps"].to_numpy(bool))
