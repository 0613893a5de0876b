"""Proposals for walking-access gaps (MCLP / LSCP) and 托位 capacity gaps.

Access targets (:func:`propose_access`)
    Demand = the target's resident points (village/community points, population weights,
    ``[access] demand``); demand already within ``distance_m`` of an existing facility is
    *precovered* (existing facilities stay fixed). Candidates = village/community points,
    existing public buildings (``public_place`` facilities) and, on request, walking-network
    nodes (one per 250 m cell, :func:`node_candidates`), all within ``distance_m``
    straight-line of some uncovered demand (network distance is never shorter). The
    sparse demand × candidate coverage matrix comes from the walking network — one
    ``scipy.sparse.csgraph.dijkstra`` per batch of candidate nodes, ``limit`` =
    ``distance_m``, snapping legs added — or, without a network, straight-line distance ×
    the detour factor (flagged ``straight_line_detour``). Then :class:`coverage.siting.MCLP`
    (``p`` new sites) or :class:`coverage.siting.LSCP` (fewest sites reaching ``share``).

Capacity targets (:func:`propose_capacity`)
    Per failing county, the 托位 shortfall is split over its townships in proportion to
    each township's own deficit against the ratio (largest remainder): slots go where
    the under-served residents are. Each township's share is then placed at the least
    cost: existing 托育 sites first (up to ``max_added_per_site`` each, largest first),
    then the fewest new sites of at most ``max_site_slots`` at the most central villages
    by under-3 population-weighted distance (EPSG:4549). With one price per slot and one
    fixed price per new site, this placement is the cheapest for the township's share
    (every slot costs the same; the number of new sites is minimal). For the cheapest
    answer to the county total alone, regardless of where the need is, use the joint
    model (``covplan site --all-targets``).
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy.sparse.csgraph import dijkstra
from scipy.spatial import cKDTree

from coverage._errors import SitingError
from coverage.siting.proposals_common import (
    ProposalSet,
    build_cost,
    failing_rows,
    input_provenance,
    load_costs,
    matching,
    number_actions,
    selector,
    units_of,
    weighted_median_sites,
    working_xy,
)

#: candidates per Dijkstra batch (rows of a dense batch × nodes array)
BATCH: int = 64
#: network-node candidates are thinned to one per grid cell of this size (metres)
NODE_SPACING_M: float = 250.0


# ---------------------------------------------------------------------- access instance
def _network_for(ds, network):
    if network is not None:
        return network
    path = getattr(ds, "network_path", None)
    if path is None:
        return None
    from coverage.access.osm import load_network

    return load_network(path, provenance=(ds.layer_provenance or {}).get("network"))


def access_settings(target) -> dict[str, Any]:
    """The ``[access]`` settings of a target (an ``AccessSpec`` or a dict) with defaults.

    ``distance_m`` (metres; ``time_min`` × ``speed_m_per_min`` when a time is given),
    ``demand`` (``urban``/``all``), ``population`` column, ``max_snap_m`` and
    ``detour_factor`` (defaults from :mod:`coverage.access`).
    """
    from coverage.access import nearest as acc

    spec = getattr(target, "access", None)
    if dataclasses.is_dataclass(spec):
        spec = dataclasses.asdict(spec)
    spec = {k: v for k, v in dict(spec or {}).items() if v is not None}
    speed = float(spec.get("speed_m_per_min", acc.DEFAULT_SPEED_M_PER_MIN))
    dist = (float(spec["time_min"]) * speed if "time_min" in spec
            else float(spec.get("distance_m", acc.DEFAULT_DISTANCE_M)))
    if not dist > 0:
        raise SitingError(f"target {getattr(target, 'id', '?')}: [access] distance must be > 0")
    return {
        "distance_m": dist,
        "demand": str(spec.get("demand", "urban")),
        "population": str(spec.get("population", "pop_total")),
        "max_snap_m": float(spec.get("max_snap_m", acc.DEFAULT_MAX_SNAP_M)),
        "detour_factor": float(spec.get("detour_factor", acc.DEFAULT_DETOUR_FACTOR)),
        "snap": str(spec.get("snap", "edge")),
    }


def network_coverage(net, demand_xy: np.ndarray, cand_xy: np.ndarray, distance_m: float,
                     max_snap_m: float, snap: str = "edge") -> sp.csr_matrix:
    """Boolean demand × candidate matrix: network route ≤ ``distance_m`` (snap legs added).

    Coordinates in the network's metric CRS (EPSG:4549). Points or candidates farther
    than ``max_snap_m`` from the network cover / are covered by nothing. Routes are those
    of :func:`coverage.access.nearest_facility` (same snapping rule, ``snap``).
    """
    from coverage.access.route import coverage_pairs

    d = net.snap_points(demand_xy, snap)
    c = net.snap_points(cand_xy, snap)
    return coverage_pairs(net, d, c, limit_m=distance_m, home_ok=d.leg_m <= max_snap_m,
                          cand_ok=c.leg_m <= max_snap_m, batch=BATCH)


def node_candidates(ds, net, uncovered_xy: np.ndarray, distance_m: float,
                    spacing_m: float = NODE_SPACING_M) -> pd.DataFrame:
    """Walking-network nodes as candidate sites, thinned to one per ``spacing_m`` grid cell.

    Only nodes within ``distance_m`` (straight line, EPSG:4549) of an uncovered resident
    point are kept; in each cell the node nearest the cell centre stands for it. Township
    and county come from the township polygons the node falls in (nodes outside every
    township are dropped).
    """
    import geopandas as gpd

    if len(uncovered_xy) == 0 or net.n_nodes == 0:
        return pd.DataFrame()
    d, _ = cKDTree(uncovered_xy).query(net.node_xy, k=1, distance_upper_bound=distance_m)
    idx = np.flatnonzero(np.isfinite(d))
    if idx.size == 0:
        return pd.DataFrame()
    xy = net.node_xy[idx]
    cell = np.floor(xy / spacing_m).astype(np.int64)
    off = np.hypot(*(xy - (cell + 0.5) * spacing_m).T)
    order = np.lexsort((off, cell[:, 1], cell[:, 0]))
    first = np.ones(len(order), bool)
    first[1:] = np.any(np.diff(cell[order], axis=0) != 0, axis=1)
    keep = idx[order[first]]
    lon, lat = net.unproject(net.node_xy[keep])
    pts = gpd.GeoDataFrame({"node": keep}, geometry=gpd.points_from_xy(lon, lat), crs="EPSG:4326")
    tw = ds.townships[["code", "county_code", "geometry"]]
    hit = gpd.sjoin(pts, tw, how="inner", predicate="within").drop_duplicates("node").sort_values("node")
    return pd.DataFrame({
        "kind": "node", "ref": [f"node:{int(n)}" for n in hit["node"]], "village_code": "",
        "township_code": hit["code"].astype(str).to_numpy(),
        "county_code": hit["county_code"].astype(str).to_numpy(), "name": "",
        "lon": hit.geometry.x.to_numpy(), "lat": hit.geometry.y.to_numpy(),
        "provenance": f"network={net.provenance}"})


def access_instance(ds, target, year: int | None = None, network=None,
                    candidates: tuple[str, ...] = ("villages", "public_places")) -> dict[str, Any]:
    """Demand, candidates and the sparse coverage matrix of an ``access`` target.

    Returns
    -------
    dict
        ``demand`` (GeoDataFrame of resident points), ``weights`` (people),
        ``precovered`` (bool, within reach of an existing facility), ``candidates``
        (DataFrame: kind, ref, village_code, township_code, county_code, name, lon, lat),
        ``A`` (CSR bool, demand × candidates), ``method``, ``distance_m``, ``provenance``.
    """
    from coverage.access.nearest import demand_points, nearest_facility

    prm = access_settings(target)
    dist_m = prm["distance_m"]
    net = _network_for(ds, network)
    fac_all = ds.facilities_for(year)
    ftype, tier, level = selector(target)
    fac = matching(fac_all, ftype, tier, None if level in (None, "same") else level)
    pop_col = prm["population"]
    pts = demand_points(ds, prm["demand"], pop_col=pop_col)
    if pts.empty:
        raise SitingError(f"target {target.id}: no resident points of demand {prm['demand']!r}")
    near = nearest_facility(pts, fac, network=net, limit_m=dist_m, max_snap_m=prm["max_snap_m"],
                            detour_factor=prm["detour_factor"], snap=prm["snap"])
    pre = (near["status"] == "covered").to_numpy()
    w = pd.to_numeric(pts[pop_col], errors="coerce").fillna(0).to_numpy(float)
    d_xy = working_xy(pts)
    frames = []
    if "villages" in candidates:
        v = ds.villages
        frames.append(pd.DataFrame({
            "kind": "village", "ref": v["code"].astype(str), "village_code": v["code"].astype(str),
            "township_code": v["township_code"].astype(str), "county_code": v["county_code"].astype(str),
            "name": v["name"].astype(str), "lon": v.geometry.x, "lat": v.geometry.y,
            "provenance": v["provenance"].astype(str)}))
    if "public_places" in candidates:
        p = fac_all[fac_all["type"] == "public_place"]
        frames.append(pd.DataFrame({
            "kind": "public_place", "ref": p["facility_id"].astype(str),
            "village_code": p["village_code"].fillna("").astype(str),
            "township_code": p["township_code"].astype(str), "county_code": p["county_code"].astype(str),
            "name": p["name"].astype(str), "lon": p.geometry.x, "lat": p.geometry.y,
            "provenance": p["provenance"].astype(str)}))
    if "nodes" in candidates:
        if net is None:
            raise SitingError(f"target {target.id}: network-node candidates need a walking network")
        frames.append(node_candidates(ds, net, d_xy[~pre], dist_m))
    cand = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    if cand.empty:
        raise SitingError(f"target {target.id}: no candidate sites")
    import geopandas as gpd

    c_xy = working_xy(gpd.GeoDataFrame(cand, geometry=gpd.points_from_xy(cand["lon"], cand["lat"]),
                                       crs="EPSG:4326"))
    # keep candidates within straight-line reach of some uncovered demand
    unc = np.flatnonzero(~pre)
    if len(unc):
        near_c = cKDTree(d_xy[unc]).query(c_xy, k=1, distance_upper_bound=dist_m)[0]
        keep = np.isfinite(near_c)
    else:
        keep = np.zeros(len(cand), bool)
    cand, c_xy = cand[keep].reset_index(drop=True), c_xy[keep]
    if net is not None:
        if net.crs != "EPSG:4549":
            d_use = net.project(pts.geometry.x.to_numpy(), pts.geometry.y.to_numpy())
            c_use = net.project(cand["lon"].to_numpy(), cand["lat"].to_numpy())
        else:
            d_use, c_use = d_xy, c_xy
        A = network_coverage(net, d_use, c_use, dist_m, prm["max_snap_m"], prm["snap"])
        method, net_p = "network", net.provenance
    else:
        from coverage.siting.covering import coverage_from_points

        A = coverage_from_points(d_xy, c_xy, dist_m / prm["detour_factor"])
        method, net_p = "straight_line_detour", "none"
    prov = (f"facilities={'|'.join(sorted(set(fac_all['provenance'].astype(str)))) or 'none'};"
            f"population={'|'.join(sorted(set(pts['pop_provenance'].astype(str))))};network={net_p}")
    return {"demand": pts, "weights": w, "precovered": pre, "candidates": cand, "A": A,
            "method": method, "distance_m": dist_m, "provenance": prov, "params": prm}


def propose_access(ds, target, *, p: int | None = None, share: float | None = None,
                   year: int | None = None, network=None, time_limit_s: float = 60.0,
                   progress: bool = False, costs: dict[str, Any] | None = None,
                   candidates: tuple[str, ...] = ("villages", "public_places"),
                   method: str = "milp") -> ProposalSet:
    """New sites for an ``access`` target: MCLP with ``p`` sites, or LSCP reaching ``share``.

    ``share`` defaults to the target's threshold when neither is given. ``method =
    "greedy"`` runs only the fast greedy, for instances too large to solve exactly; its
    ``gap`` is then measured against the LP bound. Returns a :class:`ProposalSet` whose
    status is the solver's (``optimal``, ``time_limit`` or ``greedy``, with the proven gap) and whose actions are new builds at the chosen candidates, each with
    the people it newly covers (attributed to the site reaching most first, no double
    counting).
    """
    from coverage.siting.covering import LSCP, MCLP

    costs = costs or load_costs()
    ftype, tier, level = selector(target)
    inst = access_instance(ds, target, year=year, network=network, candidates=candidates)
    cand = inst["candidates"]
    if p is None and share is None:
        share = float(target.threshold) if target.threshold is not None else 1.0
    kw = dict(precovered=inst["precovered"], candidate_ids=cand["ref"].tolist())
    if p is not None:
        model = MCLP(inst["A"], inst["weights"], p=int(p), **kw)
    else:
        model = LSCP(inst["A"], inst["weights"], share=float(share), **kw)
    model.solve(method=method, time_limit_s=time_limit_s, progress=progress)
    out = ProposalSet(method=f"{model.kind or type(model).__name__.lower()}:{inst['method']}",
                      status=model.status, objective=float(model.objective), gap=float(model.gap),
                      provenance=f"{inst['provenance']};costs={costs.get('provenance')}")
    n_unreach = int(len(model.unreachable))
    if n_unreach:
        out.notes.append(f"{target.id}: {n_unreach} resident points cannot be reached from any "
                         "candidate within the walking distance (reported, not covered)")
    A = inst["A"].tocsc()
    w = inst["weights"]
    taken = inst["precovered"].copy()
    sel = list(model.selected)
    reach = [float(w[A[:, j].indices][~taken[A[:, j].indices]].sum()) for j in sel]
    pts = inst["demand"]
    for j in [s for _, s in sorted(zip(reach, sel), key=lambda t: (-t[0], t[1]))]:
        rows = A[:, j].indices
        new = rows[~taken[rows]]
        taken[new] = True
        c = cand.iloc[j]
        if c["kind"] == "village":
            edit: dict[str, Any] = {"op": "add_facility", "type": ftype, "village": c["ref"]}
        else:
            edit = {"op": "add_facility", "type": ftype, "lon": float(c["lon"]),
                    "lat": float(c["lat"]), "crs": "wgs84"}
            if c["village_code"]:
                edit["village"] = c["village_code"]
        if level is not None:
            edit["level"] = level
        elif ftype == "fitness":
            edit["level"] = "village" if c["kind"] == "village" else "township"
        if tier is not None and ftype == "child_home":
            edit["tier"] = tier
        townships = sorted(set(pts["township_code"].astype(str).to_numpy()[new]))
        out.actions.append({
            "action": "new_build", "facility_type": ftype, "tier": edit.get("tier"),
            "capacity": None, "facility_id": c["ref"] if c["kind"] == "public_place" else "",
            "county_code": c["county_code"], "township_code": c["township_code"],
            "village_code": c["village_code"], "village_name": c["name"],
            "lon": float(c["lon"]), "lat": float(c["lat"]), "target_ids": [target.id],
            "units_fixed": [f"township:{t}" for t in townships],
            "people_covered": float(w[new].sum()), "cost": build_cost(costs, ftype),
            "reason": (f"步行{inst['distance_m']:.0f}米内新覆盖约{w[new].sum():.0f}人"
                       + {"public_place": "（利用现有公共建筑）", "node": "（路网节点处选址）"}.get(c["kind"], "")),
            "method": out.method, "provenance": f"candidate={c['provenance']}", "edits": [edit],
        })
    number_actions(out.actions)
    if not out.actions and out.status == "optimal":
        out.status = "no_gap"
    return out


# ---------------------------------------------------------------------- capacity
def _apportion(total: int, weights: np.ndarray) -> np.ndarray:
    w = np.asarray(weights, dtype=float)
    if len(w) == 0:
        return np.zeros(0, dtype=np.int64)
    if w.sum() <= 0:
        w = np.ones(len(w))
    exact = total * w / w.sum()
    base = np.floor(exact).astype(np.int64)
    order = np.lexsort((np.arange(len(w)), -(exact - base)))
    base[order[: int(total - base.sum())]] += 1
    return base


def propose_capacity(ds, target, units: pd.DataFrame, year: int | None = None,
                     costs: dict[str, Any] | None = None) -> ProposalSet:
    """托位 to add per failing county and township, and where (see the module docstring).

    Parameters
    ----------
    target : PlanTarget
        ``capacity_ratio`` (threshold = slots per ``per`` residents of ``population``).
    units : DataFrame
        Evaluation rows; the ``not_met`` county rows (shortfall in slots) are closed.
    """
    costs = costs or load_costs()
    cap = costs["capacity"]
    max_add, site_max = int(cap["max_added_per_site"]), int(cap["max_site_slots"])
    if site_max <= 0:
        raise SitingError(f"{costs.get('path')}: [capacity] max_site_slots must be > 0")
    ftype, _, _ = selector(target)
    ratio, per = float(target.threshold), float(getattr(target, "per", 1000.0) or 1000.0)
    pop_col = getattr(target, "population", "pop_total") or "pop_total"
    fac = ds.facilities_for(year)
    sites = fac[fac["type"] == ftype]
    out = ProposalSet(method="capacitated_township_allocation",
                      provenance=input_provenance(ds, fac, costs))
    rows = failing_rows(units, target.id)
    for _, row in rows[rows["unit_level"] == "county"].iterrows():
        county = str(row["unit_code"])
        need = int(np.ceil(float(row["shortfall"]) - 1e-9))
        if need <= 0:
            continue
        tws = ds.townships[ds.townships["county_code"].astype(str) == county].sort_values("code")
        here = sites[sites["county_code"].astype(str) == county]
        slots = here.groupby(here["township_code"].astype(str))["capacity"].sum()
        pop_t = pd.to_numeric(tws[pop_col], errors="coerce").fillna(0).to_numpy(float)
        have = np.array([float(slots.get(c, 0.0)) for c in tws["code"].astype(str)])
        deficit = np.maximum(0.0, ratio * pop_t / per - have)
        alloc = _apportion(need, deficit if deficit.sum() > 0 else pop_t)
        for t_code, add in zip(tws["code"].astype(str), alloc):
            if add <= 0:
                continue
            left = int(add)
            t_sites = here[here["township_code"].astype(str) == t_code].sort_values(
                ["capacity", "facility_id"], ascending=[False, True])
            for _, s in t_sites.iterrows():
                if left <= 0:
                    break
                k = min(left, max_add)
                left -= k
                new_cap = int((s["capacity"] if pd.notna(s["capacity"]) else 0) + k)
                out.actions.append(_cap_action(target, s, k, new_cap, county, t_code, cap))
            if left <= 0:
                continue
            vill = units_of(ds, "township", t_code)
            if vill.empty:
                out.notes.append(f"{target.id}: township {t_code} needs {left} slots but has no village")
                continue
            n_new = int(np.ceil(left / site_max))
            w = pd.to_numeric(vill["pop_under3"], errors="coerce").fillna(0).to_numpy(float)
            picks = weighted_median_sites(working_xy(vill), w, n_new,
                                          working_xy(t_sites) if len(t_sites) else None)
            # every new site ≤ site_max; with fewer villages than sites a village hosts several
            for k, size in enumerate(_apportion(left, np.ones(n_new))):
                v = vill.iloc[picks[k % len(picks)]]
                out.actions.append({
                    "action": "new_build", "facility_type": ftype, "tier": None,
                    "capacity": int(size), "facility_id": "", "county_code": county,
                    "township_code": t_code, "village_code": str(v["code"]),
                    "village_name": str(v["name"]), "lon": float(v.geometry.x),
                    "lat": float(v.geometry.y), "target_ids": [target.id],
                    "units_fixed": [f"county:{county}"], "people_covered": None,
                    "cost": build_cost(costs, ftype) + float(cap["slot_cost"]) * int(size),
                    "reason": f"乡镇托位缺口{deficit[list(tws['code'].astype(str)).index(t_code)]:.0f}个，"
                              f"现有机构扩容已满，新建于3岁以下人口加权最中心的村（社区）",
                    "method": out.method, "provenance": f"village={v.get('provenance', '')}",
                    "edits": [{"op": "add_facility", "type": ftype, "capacity": int(size),
                               "village": str(v["code"])}],
                })
    number_actions(out.actions)
    out.status = "optimal" if out.actions else "no_gap"
    return out


def _cap_action(target, s, k: int, new_cap: int, county: str, t_code: str, cap) -> dict:
    return {
        "action": "add_capacity", "facility_type": s["type"], "tier": None, "capacity": int(k),
        "facility_id": str(s["facility_id"]), "county_code": county, "township_code": t_code,
        "village_code": str(s.get("village_code") or ""), "village_name": str(s.get("name", "")),
        "lon": float(s.geometry.x), "lat": float(s.geometry.y), "target_ids": [target.id],
        "units_fixed": [f"county:{county}"], "people_covered": None,
        "cost": float(cap["slot_cost"]) * int(k),
        "reason": f"现有托育机构扩容{k}个托位（每处最多{int(cap['max_added_per_site'])}个）",
        "method": "capacitated_township_allocation", "provenance": f"facilities={s.get('provenance', '')}",
        "edits": [{"op": "set_capacity", "facility_id": str(s["facility_id"]), "capacity": new_cap}],
    }
