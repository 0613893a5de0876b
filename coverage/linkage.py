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

from coverage.access import (
    DEFAULT_DETOUR_FACTOR,
    DEFAULT_MAX_SNAP_M,
    METHOD_NETWORK,
    METHOD_STRAIGHT,
    _lonlat,
    context_network,
    multi_source_dijkstra,
)
from coverage.network import WalkNetwork, _transformer, metric_crs_for
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
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Link every basic 儿童之家 to the nearest 示范型 home of its township.

    Parameters
    ----------
    homes : GeoDataFrame
        儿童之家 points (EPSG:4326) with ``facility_id``, ``name``, ``tier``,
        ``township_code``, ``county_code``. Other tiers (特色型) are ignored.
    network : WalkNetwork, optional
        Walking network; None → straight line × ``detour_factor``.

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
    town = homes["township_code"].astype(str).to_numpy()
    ids = homes["facility_id"].astype(str).to_numpy()
    names = homes["name"].astype(str).to_numpy()
    county = homes["county_code"].astype(str).to_numpy()
    is_basic, is_demo = tier == "basic", tier == "demonstration"
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
            else:
                rows.append(_row(i, best[1], best[0], best[2], ""))

    def _fmt(r: dict) -> dict:
        i, j = r["i"], r["j"]
        return {
            "facility_id": ids[i], "name": names[i], "township_code": town[i],
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
            "facility_id": ids[d_all], "name": names[d_all], "township_code": town[d_all],
            "county_code": county[d_all],
            "n_linked": [int(counts.get(ids[j], 0)) for j in d_all],
        }
    )
    return links, hubs


def _row(i: int, j: int | None, d: float, method: str, reason: str) -> dict:
    return {"i": int(i), "j": j, "d": d, "method": method, "reason": reason}


def evaluate_linkage_target(target, ctx) -> pd.DataFrame:
    """Township result rows (docs/ARCHITECTURE.md schema) of the "1+N" linkage target.

    ``required`` is the share of basic homes that must be linked (``threshold``, default
    1.0), ``actual`` the linked share, ``shortfall`` the basic homes still unlinked
    (``facilities``). Townships without basic homes are ``not_applicable``. ``method`` is
    ``network`` when every link of the township used the network, else
    ``straight_line_detour``.
    """
    ds = ctx.dataset
    facilities = getattr(ctx, "facilities", None)
    if facilities is None:
        facilities = ds.facilities_for(getattr(ctx, "year", None))
    homes = facilities[facilities["type"] == "child_home"]
    raw = dict(getattr(target, "linkage", None) or getattr(target, "access", None) or {})
    net = context_network(ctx)
    links, hubs = link_homes(
        homes, network=net,
        max_snap_m=float(raw.get("max_snap_m", DEFAULT_MAX_SNAP_M)),
        detour_factor=float(raw.get("detour_factor", DEFAULT_DETOUR_FACTOR)),
    )
    threshold = getattr(target, "threshold", None)
    required = float(threshold) if threshold is not None else 1.0
    fac_p = "|".join(sorted(set(homes["provenance"].astype(str)))) if len(homes) else "none"
    prov = f"facilities={fac_p};network={net.provenance if net is not None else 'none'}"
    county_names = dict(zip(ds.counties["code"].astype(str), ds.counties["name"].astype(str)))
    n_hub = hubs.groupby("township_code").size() if len(hubs) else pd.Series(dtype=int)
    rows = []
    for rec in pd.DataFrame(ds.townships).drop(columns="geometry").to_dict("records"):
        code = str(rec["code"])
        lk = links[links["township_code"] == code]
        methods = set(lk["method"]) - {""}
        method = (METHOD_NETWORK if methods == {METHOD_NETWORK} or (not methods and net is not None)
                  else METHOD_STRAIGHT)
        row = {
            "target_id": getattr(target, "id", ""), "kind": "linkage",
            "unit_level": "township", "unit_code": code, "unit_name": str(rec.get("name", "")),
            "county_code": str(rec.get("county_code", "")),
            "county_name": county_names.get(str(rec.get("county_code", "")), ""),
            "township_code": "", "year": getattr(ctx, "year", None), "required": required,
            "shortfall_unit": "facilities", "is_plan_level": False,
            "clause": getattr(target, "clause", "") or "",
            "source_lines": getattr(target, "source_lines", "") or "",
            "provenance": prov, "method": method,
        }
        if lk.empty:
            row.update(status="not_applicable", actual=np.nan, shortfall=0.0,
                       action="无基础型儿童之家，不适用")
        else:
            n_linked = int(lk["linked"].sum())
            share = n_linked / len(lk)
            need = max(0.0, float(np.ceil(required * len(lk) - n_linked - 1e-9)))
            met = share + 1e-12 >= required
            if met:
                action = f"{int(n_hub.get(code, 0))}个示范型联结{n_linked}个基础型"
            elif (lk["reason"] == "no_demonstration_home").any():
                action = f"乡镇内无示范型儿童之家，{len(lk)}个基础型未联结，建议升级或新建1个示范型"
            else:
                action = f"{len(lk) - n_linked}个基础型儿童之家无法经路网到达示范型，需核实路网或位置"
            row.update(status="met" if met else "not_met", actual=share, shortfall=need,
                       action=action)
        rows.append(row)
    return pd.DataFrame(rows)
