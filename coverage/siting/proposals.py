"""Proposals: turn the gaps of a plan target into concrete actions, as scenario edits.

Every action is a plain dict (see :data:`ACTION_COLUMNS`) carrying the scenario edits that
carry it out (``edits``: dicts in the scenario edit schema of ``docs/ARCHITECTURE.md``), so
``scenarios.Scenario.from_edits`` turns a :class:`ProposalSet` into a scenario the planner
can open, edit, save and run. ``coverage`` never imports ``scenarios``.

Presence targets (:func:`propose_presence`), in each failing unit:

* a missing 示范型 (or 特色型) 儿童之家: upgrade the basic home that serves the most
  children — each village of the unit is served by the home in it, else by the nearest
  home (EPSG:4549 distance); a home's score is the under-18 population it serves;
* otherwise (and for every other type): a new build at the most central village of the
  unit by population-weighted distance, ``argmin_v Σ_u pop_u · d(u, v)`` in EPSG:4549
  metres (greedy p-median when the unit needs several, existing facilities counted as
  open); a township without any village point gets its seat (lon/lat).

Facility-share targets (示范型 ≥ 15% per county: upgrades of the basic homes serving
most children, homes in townships without any 示范型 first, so one upgrade fixes both
targets) and unit-share targets are in :mod:`coverage.siting.proposals_share`; access, capacity and
joint proposals in :mod:`coverage.siting.proposals_access` and :mod:`coverage.siting.proposals_joint`;
the result type, costs and helpers in :mod:`coverage.siting.proposals_common` and the action builders in
:mod:`coverage.siting.proposals_actions`.
"""

from __future__ import annotations

from typing import Any, Iterable

import numpy as np
import pandas as pd

from coverage._errors import SitingError
from coverage.siting.proposals_access import propose_access, propose_capacity
from coverage.siting.proposals_actions import PlaceIndex, _seat_row, new_build_action, upgrade_action
from coverage.siting.proposals_common import (
    POP_WEIGHT,
    UPGRADE_FROM,
    ProposalSet,
    _needed,
    children_served,
    failing_rows,
    input_provenance,
    load_costs,
    matching,
    number_actions,
    selector,
    weighted_median_sites,
)
from coverage.siting.proposals_share import propose_facility_share, propose_unit_share
from layers.glossary import label


def propose_presence(ds, target, units: pd.DataFrame, year: int | None = None,
                     costs: dict[str, Any] | None = None) -> ProposalSet:
    """Actions closing every failing unit of a ``presence`` target.

    Parameters
    ----------
    ds : Dataset
    target : PlanTarget
        ``kind = "presence"`` with a ``facility`` selector (type, tier, level).
    units : DataFrame
        Evaluation rows (``EvaluationResult.units``); the ``not_met`` rows of the target
        are closed, each with ``ceil(shortfall)`` actions (at least one).
    year : int, optional
        Inventory year (default latest).
    costs : dict, optional
        :func:`load_costs` output.
    """
    costs = costs or load_costs()
    ftype, tier, level_sel = selector(target)
    fac = ds.facilities_for(year)
    idx = PlaceIndex(ds, fac)
    weight_col = POP_WEIGHT.get(ftype, getattr(target, "population", "pop_total") or "pop_total")
    w_all = pd.to_numeric(idx.v[weight_col], errors="coerce").fillna(0).to_numpy(float)
    u18_all = pd.to_numeric(idx.v["pop_under18"], errors="coerce").fillna(0).to_numpy(float)
    sources = UPGRADE_FROM.get(tier or "", ()) if ftype == "child_home" else ()
    out = ProposalSet(method="presence_upgrade_or_central_village",
                      provenance=input_provenance(ds, fac, costs))
    for _, row in failing_rows(units, target.id).iterrows():
        lv, code = str(row["unit_level"]), str(row["unit_code"])
        need = _needed(row)
        level = lv if level_sel == "same" else level_sel  # "same": the unit's own level
        vpos, fpos = idx.villages(lv, code), idx.facilities(lv, code)
        here = idx.f.iloc[fpos]
        if sources:
            is_home = (here["type"] == ftype).to_numpy()
            basic = here[is_home & here["tier"].isin(sources).to_numpy()]
            if len(basic):
                homes = here[is_home]
                served_all = children_served(idx.fxy[fpos[is_home]], homes["village_code"].astype(str).tolist(),
                                             idx.vxy[vpos], idx.v["code"].iloc[vpos].astype(str).tolist(),
                                             u18_all[vpos])
                served = pd.Series(served_all, index=homes["facility_id"].astype(str).to_numpy())
                basic = basic.assign(_served=served.loc[basic["facility_id"].astype(str)].to_numpy())
                basic = basic.sort_values(["_served", "facility_id"], ascending=[False, True])
                for _, frow in basic.head(need).iterrows():
                    out.actions.append(upgrade_action(
                        target, tier, frow, frow["_served"], lv, code, costs,
                        f"升级本单位服务儿童最多的基础型儿童之家（服务18岁以下约{frow['_served']:.0f}人），"
                        "优先于新建"))
                need -= min(need, len(basic))
        if need <= 0:
            continue
        if len(vpos) == 0:
            seat = _seat_row(ds, code) if lv == "township" else None
            if seat is None:
                out.notes.append(f"{target.id} {lv} {code}: no village or seat in the unit, no site proposed")
                continue
            act = new_build_action(ds, target, ftype, tier, level, seat, lv, code, costs,
                                   "本单位无村（社区）点位，新建于乡镇（街道）驻地", weight_col)
            e = act["edits"][0]
            del e["village"]
            e.update(lon=float(seat.geometry.x), lat=float(seat.geometry.y), crs="wgs84")
            out.actions.append(act)
            continue
        vxy, w = idx.vxy[vpos], w_all[vpos]
        ex = matching(here, ftype, tier, level)
        ex_xy = idx.fxy[fpos[here.index.get_indexer(ex.index)]] if len(ex) else None
        for j in weighted_median_sites(vxy, w, need, ex_xy):
            vrow = idx.v.iloc[vpos[j]]
            cost_m = float((w * np.sqrt(((vxy - vxy[j]) ** 2).sum(axis=1))).sum())
            out.actions.append(new_build_action(
                ds, target, ftype, tier, level, vrow, lv, code, costs,
                f"新建于本单位人口加权距离最小的村（社区）（{label(weight_col)}加权，"
                f"Σ人口×距离 = {cost_m / 1000:.1f} 人·千米，EPSG:4549）", weight_col))
    number_actions(out.actions)
    out.status = "heuristic" if out.actions else "no_gap"
    return out


def merge_sets(sets: Iterable[ProposalSet], method: str) -> ProposalSet:
    """One proposal set from several (actions renumbered)."""
    out = ProposalSet(method=method)
    statuses = []
    for s in sets:
        out.extend(s)
        statuses.append(s.status)
    out.status = ("time_limit" if "time_limit" in statuses else
                  "optimal" if statuses and all(x in {"optimal", "no_gap"} for x in statuses) else
                  "heuristic" if out.actions else "no_gap")
    return out


#: target kinds :func:`propose_for_target` sites
SITED_KINDS: tuple[str, ...] = ("presence", "unit_share", "facility_share", "capacity_ratio", "access")


def propose_for_target(ds, target, units: pd.DataFrame | None = None, year: int | None = None, *,
                       p: int | None = None, share: float | None = None,
                       costs: dict[str, Any] | None = None, time_limit_s: float = 60.0,
                       progress: bool = False, method: str = "milp", network=None,
                       candidates: tuple[str, ...] = ("villages", "public_places")) -> ProposalSet:
    """Proposals for one target, whatever its kind (the app and ``covplan site`` call this).

    Parameters
    ----------
    units : DataFrame, optional
        Evaluation rows; computed with :func:`coverage.targets.engine.evaluate` when omitted
        (access targets do not need them).
    p, share, method, candidates, network
        Access targets only: MCLP with ``p`` sites or LSCP reaching ``share`` (default
        the target's threshold); ``method = "greedy"`` for the fast heuristic; a loaded
        :class:`coverage.access.graph.WalkNetwork` (default: the dataset's network file).

    Raises
    ------
    SitingError
        A kind that has no siting action (indicator, linkage, …), or ``p``/``share`` for a
        target that is not an access target.
    """
    costs = costs or load_costs()
    if target.kind not in SITED_KINDS:
        raise SitingError(f"target {target.id}: no siting for kind {target.kind!r} "
                          f"(sited kinds: {', '.join(SITED_KINDS)})")
    if target.kind == "access":
        return propose_access(ds, target, p=p, share=share, year=year, time_limit_s=time_limit_s,
                              progress=progress, costs=costs, method=method, candidates=candidates,
                              network=network)
    if p is not None or share is not None:
        raise SitingError(f"--p/--share apply to access targets; {target.id} is a {target.kind} target")
    if units is None:
        from coverage.targets.engine import evaluate

        units = evaluate(ds, [target], year=year).units
    if target.kind == "presence":
        return propose_presence(ds, target, units, year, costs)
    if target.kind == "capacity_ratio":
        return propose_capacity(ds, target, units, year, costs)
    if target.kind == "unit_share":
        return propose_unit_share(ds, target, units, year, costs)
    return propose_facility_share(ds, target, units, year, costs)
