"""The "1+N" linkage of 儿童之家: one 示范型 home linked with N 基础型 homes.

Each basic home (``type = child_home``, ``tier = basic``) is linked to the nearest
demonstration home (``tier = demonstration``) **of its own township**:

* with a walking network, by network distance (one multi-source Dijkstra pass per
  township from its demonstration homes, snap legs included, see
  :func:`coverage.access.multi_source_dijkstra`); a home farther than ``max_snap_m``
  from the network (the embedded network covers only built-up areas) falls back to the
  straight-line distance × detour factor, and that row says ``straight_line_detour``;
  two homes both on the network but with no path between them are ``unreachable``;
* without a network, by straight-line distance (EPSG:4549) × detour factor, every row
  flagged ``straight_line_detour``.

A basic home is unlinked when its township has no demonstration home
(``no_demonstration_home``) or it cannot be reached (``unreachable``).
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd

from coverage.access.evaluation import context_network
from coverage.access.graph import WalkNetwork, _transformer, metric_crs_for, multi_source_dijkstra
from coverage.access.nearest import (
    DEFAULT_DETOUR_FACTOR,
    DEFAULT_MAX_SNAP_M,
    METHOD_NETWORK,
    METHOD_STRAIGHT,
    _lonlat,
)
from layers import settings

LINK_COLUMNS: tuple[str, ...] = (
    "facility_id", "name", "township_code", "county_code", "linked", "demo_facility_id",
    "demo_name", "distance_m", "method", "reason",
)


def link_homes(
    homes: gpd.GeoDataFrame,
    *,
    network: WalkNetwork | None = None,
    max_snap_m: float = DEFAULT_MAX_SNAP_M,
    detour_factor: float = DEFAULT_DETOUR_FACTOR,
    hub_tier: str = "demonstration",
    member_tier: str = "basic",
    scope: str = "township",
    max_distance_m: float | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Link every basic 儿童之家 to the nearest 示范型 home of its township.

    Parameters
    ----------
    homes : GeoDataFrame
        儿童之家 points (EPSG:4326) with ``facility_id``, ``name``, ``tier``,
        ``township_code``, ``county_code``. Other tiers (特色型) are ignored.
    network : WalkNetwork, optional
        Walking network; None → straight line × ``detour_factor``.
    hub_tier, member_tier : str
        Tiers of the "1" (示范型) and of the "N" (基础型).
    scope : {"township", "county"}
        Links stay inside this unit (the plan: the home's own township).
    max_distance_m : float, optional
        Links longer than this (metres) are refused (``reason = "too_far"``).

    Returns
    -------
    links : DataFrame
        One row per basic home (columns :data:`LINK_COLUMNS`; ``distance_m`` in metres).
    hubs : DataFrame
        One row per demonstration home: ``facility_id``, ``name``, ``township_code``,
        ``county_code``, ``n_linked`` (the N of "1+N").
    """
    if "type" in homes.columns:
        homes = homes[homes["type"] == "child_home"]
    lon, lat = _lonlat(homes, what="儿童之家 (child_home) facilities")
    crs = network.crs if network is not None else metric_crs_for(lon, lat)
    xy = np.column_stack(_transformer(settings.STORAGE_CRS, crs).transform(lon, lat)) \
        if len(lon) else np.zeros((0, 2))
    tier = homes["tier"].astype(str).to_numpy()
    town = homes[f"{scope}_code"].astype(str).to_numpy()
    ids = homes["facility_id"].astype(str).to_numpy()
    names = homes["name"].astype(str).to_numpy()
    county = homes["county_code"].astype(str).to_numpy()
    is_basic, is_demo = tier == member_tier, tier == hub_tier
    if network is not None and len(xy):
        node, snap = network.snap(xy)
    else:
        node, snap = np.zeros(len(xy), dtype=np.int64), np.full(len(xy), np.inf)
    on_net = snap <= max_snap_m

    rows = []
    for t in sorted(set(town[is_basic])):
        b_idx = np.flatnonzero(is_basic & (town == t))
        d_idx = np.flatnonzero(is_demo & (town == t))
        if len(d_idx) == 0:
            rows += [_row(i, None, np.nan, "", "no_demonstration_home") for i in b_idx]
            continue
        net_d = np.full(len(b_idx), np.inf)
        net_j = np.full(len(b_idx), -1)
        d_on = d_idx[on_net[d_idx]]
        if network is not None and len(d_on):
            dist, src = multi_source_dijkstra(network.graph, node[d_on], snap[d_on],
                                              limit_m=np.inf)
            s = src[node[b_idx]]
            net_d = np.where(s >= 0, dist[node[b_idx]] + snap[b_idx], np.inf)
            net_j = np.where(s >= 0, d_on[np.clip(s, 0, None)], -1)
        d_off = d_idx[~on_net[d_idx]]
        for k, i in enumerate(b_idx):
            best: tuple[float, int, str] | None = None
            if network is not None and on_net[i] and np.isfinite(net_d[k]):
                best = (float(net_d[k]), int(net_j[k]), METHOD_NETWORK)
            # straight line: without a network, for an off-network basic home, or towards
            # demonstration homes that are off the network
            cand = d_idx if (network is None or not on_net[i]) else d_off
            if len(cand):
                sl = np.hypot(*(xy[cand] - xy[i]).T) * detour_factor
                j = int(np.argmin(sl))
                if best is None or sl[j] < best[0]:
                    best = (float(sl[j]), int(cand[j]), METHOD_STRAIGHT)
            if best is None:
                rows.append(_row(i, None, np.nan, METHOD_NETWORK, "unreachable"))
            elif max_distance_m is not None and best[0] > max_distance_m:
                rows.append(_row(i, None, best[0], best[2], "too_far"))
            else:
                rows.append(_row(i, best[1], best[0], best[2], ""))

    def _fmt(r: dict) -> dict:
        i, j = r["i"], r["j"]
        return {
            "facility_id": ids[i], "name": names[i],
            "township_code": str(homes["township_code"].iloc[i]),
            "county_code": county[i], "linked": j is not None,
            "demo_facility_id": ids[j] if j is not None else "",
            "demo_name": names[j] if j is not None else "",
            "distance_m": r["d"], "method": r["method"], "reason": r["reason"],
        }

    links = pd.DataFrame([_fmt(r) for r in rows], columns=list(LINK_COLUMNS))
    links["linked"] = links["linked"].astype(bool)
    counts = links.loc[links["linked"], "demo_facility_id"].value_counts()
    d_all = np.flatnonzero(is_demo)
    hubs = pd.DataFrame(
        {
            "facility_id": ids[d_all], "name": names[d_all],
            "township_code": homes["township_code"].astype(str).to_numpy()[d_all],
            "county_code": county[d_all],
            "n_linked": [int(counts.get(ids[j], 0)) for j in d_all],
        }
    )
    return links, hubs


def _row(i: int, j: int | None, d: float, method: str, reason: str) -> dict:
    return {"i": int(i), "j": j, "d": d, "method": method, "reason": reason}


def evaluate_linkage_target(target, ctx) -> pd.DataFrame:
    """Result rows (docs/ARCHITECTURE.md schema) of the "1+N" linkage target.

    One row per unit of each of ``target.unit_levels``: ``required`` is the share of
    basic homes that must be linked (``threshold``, default 1.0), ``actual`` the linked
    share, ``shortfall`` what closes the gap (``upgrades_links``): one upgrade (or new
    demonstration home) per township without one, plus one link per basic home that cannot
    reach its hub (unreachable or too far). Units without
    basic homes are ``not_applicable``. ``method`` is ``network`` when every link of the
    unit used the network, else ``straight_line_detour``.
    """
    from coverage._errors import EvaluationError, NetworkError
    from coverage.access.evaluation import target_levels, unit_rows_base

    ds = ctx.dataset
    facilities = getattr(ctx, "facilities", None)
    if facilities is None:
        facilities = ds.facilities_for(getattr(ctx, "year", None))
    homes = facilities[facilities["type"] == "child_home"]
    spec = getattr(target, "linkage", None)
    get = (spec.get if isinstance(spec, dict) else
           (lambda k, d=None: getattr(spec, k, d) if spec is not None else d))
    net = context_network(ctx) if get("distance", "network") == "network" else None
    try:
        links, hubs = link_homes(
            homes, network=net,
            max_snap_m=float(get("max_snap_m", None) or DEFAULT_MAX_SNAP_M),
            detour_factor=float(get("detour_factor", None) or DEFAULT_DETOUR_FACTOR),
            hub_tier=get("hub_tier", None) or "demonstration",
            member_tier=get("member_tier", None) or "basic",
            scope=get("scope", None) or "township",
            max_distance_m=get("max_distance_m", None),
        )
    except NetworkError as exc:
        raise EvaluationError(f"{getattr(target, 'id', '?')}: {exc}") from exc
    threshold = getattr(target, "threshold", None)
    required = float(threshold) if threshold is not None else 1.0
    fac_p = "|".join(sorted(set(homes["provenance"].astype(str)))) if len(homes) else "none"
    prov = f"facilities={fac_p};network={net.provenance if net is not None else 'none'}"
    frames = []
    for level in target_levels(target):
        base = unit_rows_base(target, ctx, level)
        key = {"city": None, "county": "county_code", "township": "township_code",
               "village": None}[level]
        if key is None and level == "city":
            grp_links = {base["unit_code"].iloc[0]: links}
            grp_hubs = {base["unit_code"].iloc[0]: len(hubs)}
        elif key is None:  # villages: a home's village is not part of the link result
            homes_v = homes.set_index(homes["facility_id"].astype(str))["village_code"].astype(str)
            lv = links.assign(village_code=links["facility_id"].map(homes_v))
            grp_links = dict(tuple(lv.groupby("village_code")))
            grp_hubs = {}
        else:
            grp_links = dict(tuple(links.groupby(key)))
            grp_hubs = hubs.groupby(key).size().to_dict() if len(hubs) else {}
        status, actual, short, method, action = [], [], [], [], []
        for code in base["unit_code"]:
            lk = grp_links.get(code)
            methods = set(lk["method"]) - {""} if lk is not None else set()
            method.append(METHOD_NETWORK if net is not None and methods <= {METHOD_NETWORK}
                          else METHOD_STRAIGHT)
            if lk is None or lk.empty:
                status.append("not_applicable")
                actual.append(np.nan)
                short.append(0.0)
                action.append("无基础型儿童之家，不适用")
                continue
            n_linked = int(lk["linked"].sum())
            share = n_linked / len(lk)
            ok = share + 1e-12 >= required
            status.append("met" if ok else "not_met")
            actual.append(share)
            reasons = lk.loc[~lk["linked"], "reason"].value_counts().to_dict()
            # what closes the gap: one upgrade (or new demonstration home) per township
            # without one, plus one link per basic home that cannot reach its hub
            no_hub = lk.loc[~lk["linked"] & (lk["reason"] == "no_demonstration_home")]
            upgrades = int(no_hub["township_code"].astype(str).nunique()) if len(no_hub) else 0
            links_needed = int(reasons.get("unreachable", 0)) + int(reasons.get("too_far", 0))
            short.append(0.0 if ok else float(upgrades + links_needed))
            if ok:
                action.append(f"{int(grp_hubs.get(code, 0))}个示范型联结{n_linked}个基础型")
            else:
                parts = []
                if upgrades:
                    parts.append(f"{upgrades}个乡镇无示范型（涉及{reasons['no_demonstration_home']}个基础型），"
                                 f"各升级或新建1个示范型儿童之家")
                if reasons.get("unreachable"):
                    parts.append(f"{reasons['unreachable']}个基础型经路网无法到达示范型，需核实路网或位置后联结")
                if reasons.get("too_far"):
                    parts.append(f"{reasons['too_far']}个基础型距示范型过远，需建立联结")
                action.append(f"共{upgrades + links_needed}项：" + "；".join(parts))
        base["status"] = status
        base["required"] = required
        base["actual"] = actual
        base["shortfall"] = short
        base["shortfall_unit"] = "upgrades_links"
        base["action"] = action
        base["provenance"] = prov
        base["method"] = method
        frames.append(base)
    return pd.concat(frames, ignore_index=True)
