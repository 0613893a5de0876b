"""Capacity-aware access: two-step floating catchment (2SFCA) and enhanced 2SFCA.

A planner counts 托位 per 1,000 residents per county; this asks *where* children are far
from places with room for them. For supply sites j (capacity ``S_j``, e.g. 托位) and
demand points i (population ``P_i``, e.g. children under 3), with route cost ``c_ij`` on
the walking network (metres, or minutes on slopes) within the catchment ``d0``:

* step 1, supply-to-demand ratio of each site: ``R_j = S_j / Σ_i w(c_ij) · P_i``;
* step 2, access of each demand point: ``A_i = Σ_j w(c_ij) · R_j``.

``w = 1`` is 2SFCA (Luo & Wang 2003); enhanced 2SFCA (Luo & Qi 2009) weighs by distance
decay, by default their Gaussian-derived steps 1, 0.68, 0.22 over the three thirds of the
catchment (:func:`step_decay`). Sites no demand reaches get no ratio (as in PySAL's
``access``); demand points no site reaches get 0; demand points off the network (access
leg > ``max_snap_m``) get no value (NaN). Township values are population-weighted means of
their points on the network (``pop_on_network``); NaN when none is. Values are places per person; exports show them per 1,000.
These are **context** for a target, not a plan target.

Routes are those of :func:`coverage.access.route.pair_costs` (edge snapping, one limited
Dijkstra per site batch, no demand × supply matrix).
"""

from __future__ import annotations

from collections.abc import Callable

import geopandas as gpd
import numpy as np
import pandas as pd

from coverage._errors import NetworkError
from coverage.access.graph import WalkNetwork
from coverage.access.nearest import DEFAULT_MAX_SNAP_M, _lonlat
from coverage.access.route import CostModel, pair_costs

#: Luo & Qi (2009): weights of the three travel-time zones of the catchment
E2SFCA_WEIGHTS: tuple[float, float, float] = (1.0, 0.68, 0.22)


def step_decay(d0: float, weights: tuple[float, ...] = E2SFCA_WEIGHTS) -> Callable[[np.ndarray], np.ndarray]:
    """Step decay: ``weights[k]`` for costs in the k-th equal slice of ``(0, d0]``.

    A cost ``c`` is in slice k when ``k·d0/n < c ≤ (k+1)·d0/n`` (0 in the first);
    beyond ``d0`` the weight is 0.
    """
    w = np.asarray(weights, dtype=float)
    n = len(w)

    def fn(c: np.ndarray) -> np.ndarray:
        c = np.asarray(c, dtype=float)
        k = np.clip(np.ceil(c / d0 * n).astype(np.int64) - 1, 0, n - 1)
        return np.where(c <= d0, w[k], 0.0)

    return fn


def two_step_fca(home: np.ndarray, site: np.ndarray, cost: np.ndarray, demand: np.ndarray,
                 supply: np.ndarray, *, max_cost: float,
                 weight: Callable[[np.ndarray], np.ndarray] | None = None
                 ) -> tuple[np.ndarray, np.ndarray]:
    """2SFCA (``weight=None``) or enhanced 2SFCA from (home, site, cost) pairs.

    Parameters
    ----------
    home, site : ndarray of int
        Pair indices into ``demand`` and ``supply``.
    cost : ndarray
        Route cost of each pair; pairs above ``max_cost`` are ignored.
    demand, supply : ndarray
        Population of each demand point; capacity of each site.

    Returns
    -------
    access : ndarray, shape (len(demand),)
        Places per person within reach (0 when no site is in reach).
    ratio : ndarray, shape (len(supply),)
        Supply-to-demand ratio ``R_j`` (NaN for sites no demand reaches).
    """
    demand = np.asarray(demand, dtype=float)
    supply = np.asarray(supply, dtype=float)
    keep = np.asarray(cost) <= max_cost
    h, s, c = np.asarray(home)[keep], np.asarray(site)[keep], np.asarray(cost, float)[keep]
    w = np.ones(len(c)) if weight is None else np.asarray(weight(c), dtype=float)
    reached = np.bincount(s, weights=w * demand[h], minlength=len(supply))
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(reached > 0, supply / reached, np.nan)
    contrib = w * np.nan_to_num(ratio[s], nan=0.0)
    access = np.bincount(h, weights=contrib, minlength=len(demand))
    return access, ratio


def fca_by_unit(
    demand: gpd.GeoDataFrame, facilities: gpd.GeoDataFrame, network: WalkNetwork, *,
    pop_col: str, d0: float, cost: CostModel | None = None, snap: str = "edge",
    max_snap_m: float = DEFAULT_MAX_SNAP_M, capacity_col: str = "capacity",
    weights: tuple[float, ...] = E2SFCA_WEIGHTS,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """2SFCA and E2SFCA per demand point and per township, on the walking network.

    ``demand`` holds village/community points (EPSG:4326) with ``code``,
    ``township_code``, ``county_code`` and ``pop_col``; ``facilities`` points with
    ``capacity_col``. ``d0`` is metres, or minutes with a terrain ``cost``.

    Returns
    -------
    villages : DataFrame
        ``code``, ``township_code``, ``county_code``, ``pop``, ``fca_2sfca``,
        ``fca_e2sfca`` (places per 1,000 people; NaN off the network), ``snap_m``,
        ``reachable``.
    townships : DataFrame
        ``township_code``, ``county_code``, ``pop``, ``pop_on_network``, ``fca_2sfca``,
        ``fca_e2sfca`` (population-weighted means over points on the network, per 1,000).
    """
    if capacity_col not in facilities.columns:
        raise NetworkError(f"facilities: no {capacity_col!r} column for 2SFCA")
    cap = pd.to_numeric(facilities[capacity_col], errors="coerce")
    if cap.isna().any():
        bad = int(np.flatnonzero(cap.isna().to_numpy())[0])
        raise NetworkError(f"facilities: row {bad}: {capacity_col} is missing or not a number")
    if not d0 > 0:
        raise NetworkError(f"2SFCA catchment must be positive (got {d0})")
    d_lon, d_lat = _lonlat(demand, what="demand points")
    f_lon, f_lat = _lonlat(facilities, what="facilities")
    hs = network.snap_points(network.project(d_lon, d_lat), snap)
    fs = network.snap_points(network.project(f_lon, f_lat), snap)
    h_ok, f_ok = hs.leg_m <= max_snap_m, fs.leg_m <= max_snap_m
    i, j, c = pair_costs(network, hs, fs, limit=d0, home_ok=h_ok, cand_ok=f_ok, cost=cost)
    pop = pd.to_numeric(demand[pop_col], errors="coerce").fillna(0).to_numpy(float)
    a2, _ = two_step_fca(i, j, c, pop, cap.to_numpy(float), max_cost=d0)
    ae, _ = two_step_fca(i, j, c, pop, cap.to_numpy(float), max_cost=d0,
                         weight=step_decay(d0, weights))
    v = pd.DataFrame({"code": demand["code"].astype(str).to_numpy(),
                      "township_code": demand["township_code"].astype(str).to_numpy(),
                      "county_code": demand["county_code"].astype(str).to_numpy(),
                      "pop": pop, "fca_2sfca": np.where(h_ok, a2 * 1000, np.nan),
                      "fca_e2sfca": np.where(h_ok, ae * 1000, np.nan),
                      "snap_m": hs.leg_m, "reachable": h_ok})
    on = v["reachable"].to_numpy()
    t = v.assign(w2=np.where(on, a2 * 1000 * pop, 0.0), we=np.where(on, ae * 1000 * pop, 0.0),
                 pop_on=np.where(on, pop, 0.0)).groupby(
        ["township_code", "county_code"], sort=True).agg(
        pop=("pop", "sum"), pop_on_network=("pop_on", "sum"), w2=("w2", "sum"),
        we=("we", "sum")).reset_index()
    with np.errstate(divide="ignore", invalid="ignore"):
        t["fca_2sfca"] = np.where(t["pop_on_network"] > 0, t["w2"] / t["pop_on_network"], np.nan)
        t["fca_e2sfca"] = np.where(t["pop_on_network"] > 0, t["we"] / t["pop_on_network"], np.nan)
    return v, t.drop(columns=["w2", "we"])


def fca_for_dataset(ds, *, ftype: str, population: str, catchment_m: float,
                    year: int | None = None, network=None):
    """(villages, townships, facilities, network): :func:`fca_by_unit` on a dataset.

    Facilities of ``ftype`` with a capacity in ``year`` (default the latest), demand at the
    village points with ``population``; the dataset's network unless ``network`` is given.
    Both tables get ``unit_name``, ``facility_type``, ``catchment_m`` and ``provenance``.
    """
    from coverage.access.osm import load_network

    net = network
    if net is None:
        if ds.network_path is None:
            raise NetworkError("2SFCA needs a walking network (--network FILE)")
        net = load_network(ds.network_path, provenance=(ds.layer_provenance or {}).get("network"))
    if population not in ds.villages.columns:
        raise NetworkError(f"--population {population}: not a village column")
    yr = year if year is not None else ds.latest_year
    fac = ds.facilities_for(yr)
    fac = fac[(fac["type"] == ftype) & fac["capacity"].notna()]
    if fac.empty:
        raise NetworkError(f"--type {ftype}: no facility of that type with a capacity in {yr}")
    v, t = fca_by_unit(ds.villages, fac, net, pop_col=population, d0=catchment_m)
    prov = (f"facilities={'|'.join(sorted(set(fac['provenance'].astype(str))))};"
            f"population=estimated;network={net.provenance}")
    vnames = dict(zip(ds.villages["code"].astype(str), ds.villages["name"].astype(str)))
    tnames = dict(zip(ds.townships["code"].astype(str), ds.townships["name"].astype(str)))
    v.insert(1, "unit_name", v["code"].map(vnames))
    t.insert(1, "unit_name", t["township_code"].map(tnames))
    for df in (v, t):
        df["facility_type"] = ftype
        df["catchment_m"] = catchment_m
        df["provenance"] = prov
    return v, t, fac, net
