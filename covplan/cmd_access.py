"""``covplan access``: walking access (and the 1+N linkage) of one target, per unit.

``covplan access --target ID [--network FILE] [--year Y] [--level L] [--json] [-o FILE]``

* ``access`` targets (``fitness_10min_circle``): covered share and uncovered people per
  unit; ``-o FILE.gpkg`` writes the layers ``units`` (township/county polygons and the
  other levels), ``demand_points``, ``service_areas`` (one polygon per facility) and
  ``facilities``; ``-o FILE.csv`` writes the per-unit table (UTF-8 with BOM).
* ``linkage`` targets (``child_home_1_plus_n``): N per 示范型 home and the unlinked basic
  homes; ``.gpkg`` layers ``links`` (lines basic → 示范型), ``hubs`` and ``unlinked``.

``--dem FILE`` (SRTM ``.hgt`` or GeoTIFF) adds minutes walked on slopes (Tobler, directed,
``coverage/access/slopes.py``): flat and terrain coverage side by side per unit, with the
people who gain or lose coverage and whether the DEM covers the unit (``dem_coverage``).
``--snap node`` snaps to the nearest junction instead of the nearest street point. With
``--dem`` and ``-o FILE.gpkg`` the layer ``isochrones`` holds, per facility, the streets from
which it is reached within ``max_minutes`` on slopes (facilities inside the DEM).

Without ``--network`` the dataset's own network is used (the embedded one is SYNTHETIC,
and every output says so); a dataset without a network falls back to straight-line
distance × detour factor, flagged ``straight_line_detour``. Headers of exports are
Chinese (glossary labels); every layer carries ``provenance`` and ``method`` columns.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from coverage._errors import NetworkError
from coverage.access.slopes import TERRAIN_COLUMNS
from layers.glossary import label

UNIT_COLUMNS = ("unit_level", "unit_code", "unit_name", "county_code", "township_code",
                "n_points", "pop_demand", "pop_covered", "pop_uncovered", "pop_unreachable",
                "covered_share")


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``access`` sub-command."""
    p = subparsers.add_parser(
        "access", help="walking access / 1+N linkage of one target / 步行可达性",
        description="Walking-network access of an access target (covered share and "
                    "uncovered people per unit, service areas) or the 1+N linkage.",
    )
    p.add_argument("--target", required=True, metavar="ID",
                   help="target id (kind access or linkage), e.g. fitness_10min_circle")
    p.add_argument("--network", type=Path, metavar="FILE",
                   help="OSM file (.osm, .osm.bz2, .osm.pbf) instead of the dataset's network")
    p.add_argument("--year", type=int, metavar="Y", help="inventory year (default: the latest)")
    p.add_argument("--level", default="township",
                   choices=("village", "township", "county", "city"),
                   help="unit level printed (default township)")
    p.add_argument("--dem", type=Path, metavar="FILE",
                   help="elevation model (SRTM .hgt or GeoTIFF): minutes walked on slopes")
    p.add_argument("--snap", choices=("edge", "node"),
                   help="where points join the network (default: the target's, edge)")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.add_argument("-o", "--output", type=Path, metavar="FILE",
                   help="write .gpkg (units, points, service areas) or .csv (units)")
    p.set_defaults(func=cmd_access)


def _context(args: argparse.Namespace) -> tuple[Any, Any, SimpleNamespace]:
    from coverage.access import load_network
    from coverage.targets import load_targets
    from store.active import load_inventory

    ds = load_inventory(args.data, getattr(args, "store", None))
    tdir = Path(args.data) / "targets" if args.data is not None else None
    targets = load_targets(tdir if tdir is not None and tdir.is_dir() else None)
    by_id = {t.id: t for t in targets}
    target = by_id.get(args.target)
    if target is None or target.kind not in ("access", "linkage"):
        ids = sorted(t.id for t in targets if t.kind in ("access", "linkage"))
        raise NetworkError(f"--target {args.target}: not an access or linkage target; "
                           f"choose one of {', '.join(ids)}")
    year = args.year if args.year is not None else ds.latest_year
    if year not in ds.years:
        raise NetworkError(f"--year {year}: not an inventory year of the dataset "
                           f"({', '.join(map(str, ds.years))})")
    net = None
    if args.network is not None:
        net = load_network(args.network)
    elif ds.network_path is not None:
        net = load_network(ds.network_path,
                           provenance=(ds.layer_provenance or {}).get("network"))
    ctx = SimpleNamespace(dataset=ds, year=year, facilities=ds.facilities_for(year), network=net)
    return ds, target, ctx


def _header(target: Any, info: dict, ctx: SimpleNamespace) -> list[str]:
    net = ctx.network
    src = (f"{label('walk_network')}: {net.source} ({label(net.provenance)})" if net is not None
           else f"{label('walk_network')}: — ({label('straight_line_detour')})")
    lines = [f"{target.id} {target.label_zh} · {label('year')} {ctx.year}", src,
             f"{label('method')}: {label(info['method'])}"]
    if info.get("provenance"):
        lines.append(f"{label('provenance')}: {info['provenance']}")
    return lines


def cmd_access(args: argparse.Namespace) -> int:
    ds, target, ctx = _context(args)
    if target.kind == "linkage":
        return _cmd_linkage(args, ds, target, ctx)
    from coverage.access import access_result

    if args.snap is not None:
        target = _with_access(target, snap=args.snap)
    if args.dem is not None:
        from coverage.access.slopes import access_with_terrain
        from coverage.access.terrain import read_dem

        points, units, info = access_with_terrain(target, ctx, read_dem(args.dem))
    else:
        points, units, info = access_result(target, ctx)
    cols = list(UNIT_COLUMNS) + ([c for c in TERRAIN_COLUMNS if c in units.columns])
    if args.output is not None:
        _write_access(args.output, ds, points, units, info, ctx)
    shown = units[units["unit_level"] == args.level]
    if args.json:
        out = {
            "target": target.id, "year": ctx.year, "distance_m": info["distance_m"],
            "method": info["method"], "provenance": info["provenance"],
            "network": None if ctx.network is None else {
                "source": ctx.network.source, "provenance": ctx.network.provenance,
                "nodes": ctx.network.n_nodes, "edges": ctx.network.n_edges},
            "snap": info.get("snap", "edge"),
            "units": json.loads(units[cols].to_json(orient="records", force_ascii=False)),
        }
        if "terrain" in info:
            out["terrain"] = info["terrain"]
        print(json.dumps(out, ensure_ascii=False, indent=1))
        return 0
    d = int(round(info["distance_m"]))
    print("\n".join(_header(target, info, ctx) + [f"{label('distance_m')}: {d}"]))
    terr = "terrain" in info
    extra = (f"\t{label('pop_covered_terrain')}\t{label('pop_gained')}\t{label('pop_lost')}"
             f"\t{label('dem_coverage')}" if terr else "")
    print(f"{label('unit_name')}\t{label('pop_demand')}\t{label('pop_covered')}\t"
          f"{label('covered_share')}\t{label('pop_uncovered')}\t{label('pop_unreachable')}{extra}")
    for r in shown.itertuples(index=False):
        share = "—" if not np.isfinite(r.covered_share) else f"{r.covered_share:.1%}"
        tail = (f"\t{r.pop_covered_terrain:.0f}\t{r.pop_gained:.0f}\t{r.pop_lost:.0f}\t"
                f"{label('dem_' + r.dem_coverage)}" if terr else "")
        print(f"{r.unit_name or r.unit_code}\t{r.pop_demand:.0f}\t{r.pop_covered:.0f}\t{share}\t"
              f"{r.pop_uncovered:.0f}\t{r.pop_unreachable:.0f}{tail}")
    if terr:
        t = info["terrain"]
        print(f"{label('dem')}: {t['dem']} · {label('dem_void_cells')} {t['dem_void_cells']} · "
              f"{label('edges_flat_fallback')} {t['edges_flat_fallback']}/{t['edges']}")
    if args.output is not None:
        print(f"→ {args.output}")
    return 0


def _with_access(target: Any, **changes: Any) -> Any:
    """A copy of a target with some ``[access]`` values replaced."""
    import dataclasses

    return dataclasses.replace(target, access=dataclasses.replace(target.access, **changes))


def _zh(df: pd.DataFrame) -> pd.DataFrame:
    """Chinese column headers (glossary) for exports; geometry kept."""
    return df.rename(columns={c: label(c) for c in df.columns if c != "geometry"})


def _write_access(path: Path, ds: Any, points: pd.DataFrame, units: pd.DataFrame, info: dict,
                  ctx: SimpleNamespace) -> None:
    from coverage.access import service_areas

    suffix = path.suffix.lower()
    u = units[list(UNIT_COLUMNS) + [c for c in TERRAIN_COLUMNS if c in units.columns]].copy()
    u["method"] = info["method"]
    u["provenance"] = info["provenance"]
    if suffix == ".csv":
        _zh(u).to_csv(path, index=False, encoding="utf-8-sig")
        return
    if suffix != ".gpkg":
        raise NetworkError(f"{path}: output must be .gpkg or .csv")
    geom = {}
    for layer, gdf in (("township", ds.townships), ("county", ds.counties)):
        geom.update({(layer, str(c)): g for c, g in zip(gdf["code"], gdf.geometry)})
    city = shapely.union_all(ds.counties.geometry.to_numpy()) if len(ds.counties) else None
    u_geom = [geom.get((lv, str(c))) if lv != "city" else city
              for lv, c in zip(u["unit_level"], u["unit_code"])]
    village_pts = dict(zip(ds.villages["code"].astype(str), ds.villages.geometry))
    u_geom = [g if g is not None or lv != "village" else village_pts.get(str(c))
              for g, lv, c in zip(u_geom, u["unit_level"], u["unit_code"])]
    pts = gpd.GeoDataFrame(points.drop(columns=["lon", "lat"]),
                           geometry=gpd.points_from_xy(points["lon"], points["lat"]),
                           crs="EPSG:4326")
    pts["provenance_run"] = info["provenance"]
    fac = info["facilities"]
    sa = service_areas(fac, network=ctx.network, distance_m=info["distance_m"],
                       max_snap_m=info["max_snap_m"], detour_factor=info["detour_factor"])
    sa["provenance"] = info["provenance"]
    iso = None
    if info.get("cost_model") is not None:  # --dem: isochrones in minutes, home → facility
        from coverage.access.isochrones import isochrones

        terr = info["terrain_model"]  # only where the DEM is: elsewhere they are the flat areas
        inside = terr.covers(ctx.network.project(fac.geometry.x.to_numpy(), fac.geometry.y.to_numpy()))
        iso = isochrones(fac[inside], network=ctx.network, cost=info["cost_model"],
                         budget=info["max_minutes"], max_snap_m=info["max_snap_m"])
        iso["provenance"] = info["provenance"]
    sa = sa.merge(fac[["facility_id", "name", "township_code"]].astype(str), on="facility_id",
                  how="left")
    if path.exists():
        path.unlink()
    layers = {
        "units_polygons": gpd.GeoDataFrame(u, geometry=u_geom, crs="EPSG:4326")[
            u["unit_level"].isin(["township", "county", "city"]).to_numpy()],
        "units_villages": gpd.GeoDataFrame(u, geometry=u_geom, crs="EPSG:4326")[
            (u["unit_level"] == "village").to_numpy()],
        "demand_points": pts,
        "service_areas": sa[~sa.geometry.isna()],
        "isochrones": iso[~iso.geometry.isna()] if iso is not None else iso,
        "facilities": fac[[c for c in ("facility_id", "name", "type", "township_code",
                                       "provenance", "geometry") if c in fac.columns]],
    }
    for name, gdf in layers.items():
        if gdf is not None and len(gdf):
            _zh(gdf).to_file(path, layer=name, driver="GPKG")


def _cmd_linkage(args: argparse.Namespace, ds: Any, target: Any, ctx: SimpleNamespace) -> int:
    from coverage.access import METHOD_NETWORK, METHOD_STRAIGHT
    from coverage.access import link_homes

    spec = target.linkage
    net = ctx.network if spec is None or spec.distance == "network" else None
    homes = ctx.facilities[ctx.facilities["type"] == "child_home"]
    links, hubs = link_homes(homes, network=net,
                             hub_tier=getattr(spec, "hub_tier", "demonstration"),
                             member_tier=getattr(spec, "member_tier", "basic"),
                             scope=getattr(spec, "scope", "township"),
                             max_distance_m=getattr(spec, "max_distance_m", None))
    prov = (f"facilities={'|'.join(sorted(set(homes['provenance'].astype(str))))};"
            f"network={net.provenance if net is not None else 'none'}")
    methods = set(links.loc[links["linked"], "method"])
    info = {"method": METHOD_NETWORK if methods == {METHOD_NETWORK} else METHOD_STRAIGHT,
            "provenance": prov}
    links["provenance"] = prov
    hubs["provenance"] = prov
    if args.output is not None:
        _write_linkage(args.output, homes, links, hubs)
    unlinked = links[~links["linked"]]
    if args.json:
        print(json.dumps({
            "target": target.id, "year": ctx.year, "provenance": prov,
            "hubs": json.loads(hubs.to_json(orient="records", force_ascii=False)),
            "unlinked": json.loads(unlinked.to_json(orient="records", force_ascii=False)),
            "n_basic": int(len(links)), "n_linked": int(links["linked"].sum()),
        }, ensure_ascii=False, indent=1))
        return 0
    ctx_view = SimpleNamespace(network=net, year=ctx.year)
    print("\n".join(_header(target, info, ctx_view)))
    print(f"{label('basic')}{label('child_home')}: {len(links)} · {label('linked')}: "
          f"{int(links['linked'].sum())} · {label('demonstration')}: {len(hubs)}")
    print(f"{label('demonstration')}\t{label('township_code')}\t{label('n_linked')}")
    for r in hubs.sort_values(["township_code", "facility_id"]).itertuples(index=False):
        print(f"{r.name}\t{r.township_code}\t{r.n_linked}")
    if len(unlinked):
        print(f"{label('link_reason')}:")
        for r in unlinked.itertuples(index=False):
            print(f"{r.facility_id}\t{r.name}\t{r.township_code}\t{label(r.reason)}")
    return 0


def _write_linkage(path: Path, homes: gpd.GeoDataFrame, links: pd.DataFrame,
                   hubs: pd.DataFrame) -> None:
    suffix = path.suffix.lower()
    if suffix == ".csv":
        _zh(links.rename(columns={"reason": "link_reason"})).to_csv(path, index=False,
                                                                     encoding="utf-8-sig")
        return
    if suffix != ".gpkg":
        raise NetworkError(f"{path}: output must be .gpkg or .csv")
    pt = dict(zip(homes["facility_id"].astype(str), homes.geometry))
    lk = links[links["linked"]]
    lines = [shapely.LineString([pt[a], pt[b]]) for a, b in zip(lk["facility_id"], lk["demo_facility_id"])]
    out = {
        "links": gpd.GeoDataFrame(lk, geometry=lines, crs="EPSG:4326"),
        "hubs": gpd.GeoDataFrame(hubs, geometry=[pt[i] for i in hubs["facility_id"]], crs="EPSG:4326"),
        "unlinked": gpd.GeoDataFrame(links[~links["linked"]],
                                     geometry=[pt[i] for i in links.loc[~links["linked"], "facility_id"]],
                                     crs="EPSG:4326"),
    }
    if path.exists():
        path.unlink()
    for name, gdf in out.items():
        if len(gdf) == 0:
            continue
        _zh(gdf.rename(columns={"reason": "link_reason"})).to_file(path, layer=name, driver="GPKG")
