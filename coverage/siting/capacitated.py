"""Capacitated siting of 托位 (childcare slots): how many to add, and where.

Given the slot shortfall of each failing county and/or township and a list of
candidate sites (existing childcare facilities that can expand, or new sites),
each with a maximum size, a cost per slot and a fixed opening cost, choose the
cheapest mix of sites and sizes that closes every shortfall::

    min Σ_k fixed_k · z_k + per_slot_k · s_k
    s.t. Σ_{k in township t} s_k ≥ shortfall_t      (township shortfalls)
         Σ_{k in county c}   s_k ≥ shortfall_c      (county shortfalls)
         s_k ≤ max_k · z_k,  z binary,  s integer ≥ 0

A site counts towards its township and its county. Built on
:class:`coverage.siting.joint.JointModel` (``new_build`` = opening a site,
``add_capacity`` = slots), so the joint model can take the same actions.
Costs are in the caller's unit (万元).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from coverage._errors import SitingError
from coverage.siting.joint import Action, JointModel, Requirement


@dataclass(frozen=True)
class CapacitySite:
    """A place where 托位 can be added.

    Parameters
    ----------
    id : str
        Facility id or candidate id.
    township_code : str
        9-digit township code (string).
    county_code : str
        6-digit county code (string); must prefix ``township_code``.
    max_slots : int
        Most slots that can be added here (≥ 0).
    cost_per_slot : float
        Cost of one added slot (≥ 0).
    fixed_cost : float
        Cost of opening the site (0 for an existing facility that expands).
    label : str
        Display text.
    """

    id: str
    township_code: str
    county_code: str
    max_slots: int
    cost_per_slot: float
    fixed_cost: float = 0.0
    label: str = ""

    def __post_init__(self) -> None:
        where = f"capacity site {self.id!r}"
        if not self.id:
            raise SitingError("capacity site with an empty id")
        if not (isinstance(self.county_code, str) and len(self.county_code) == 6 and self.county_code.isdigit()):
            raise SitingError(f"{where}: county_code {self.county_code!r} is not a 6-digit string")
        if not (isinstance(self.township_code, str) and len(self.township_code) == 9
                and self.township_code.startswith(self.county_code)):
            raise SitingError(f"{where}: township_code {self.township_code!r} is not a 9-digit code "
                              f"in county {self.county_code}")
        if not isinstance(self.max_slots, (int, np.integer)) or isinstance(self.max_slots, bool) or self.max_slots < 0:
            raise SitingError(f"{where}: max_slots {self.max_slots!r} is not an integer ≥ 0")
        for name in ("cost_per_slot", "fixed_cost"):
            v = getattr(self, name)
            if not np.isfinite(v) or v < 0:
                raise SitingError(f"{where}: {name} {v!r} is not a finite number ≥ 0")


@dataclass
class CapacityPlan:
    """Answer of :func:`capacity_siting`.

    Attributes
    ----------
    sites : pandas.DataFrame
        One row per site used: ``site_id``, ``township_code``, ``county_code``,
        ``label``, ``opened`` (a new site opened), ``slots_added``, ``cost``.
    by_unit : pandas.DataFrame
        One row per shortfall: ``unit_code``, ``unit_level``, ``required``,
        ``added``, ``met``.
    total_cost, total_slots : float, int
    status, gap, solve_time_s
        As :class:`coverage.siting.joint.JointModel`.
    model : JointModel
        The solved model.
    """

    sites: pd.DataFrame
    by_unit: pd.DataFrame
    total_cost: float
    total_slots: int
    status: str
    gap: float
    solve_time_s: float
    model: JointModel


def _unit_level(code: str) -> str:
    if isinstance(code, str) and code.isdigit() and len(code) == 6:
        return "county"
    if isinstance(code, str) and code.isdigit() and len(code) == 9:
        return "township"
    raise SitingError(f"shortfall key {code!r} is not a 6-digit county or 9-digit township code string")


def capacity_siting(shortfall: Mapping[str, float], sites: Sequence[CapacitySite], *,
                    target_id: str = "childcare_slots", time_limit_s: float = 60.0,
                    mip_rel_gap: float = 1e-6, progress: bool = True) -> CapacityPlan:
    """Cheapest 托位 additions closing every county and township shortfall.

    Parameters
    ----------
    shortfall : mapping of unit code → slots
        Missing slots per county (6-digit) or township (9-digit) code; values
        ≥ 0 (0 means met and is skipped); fractional values are rounded up by
        the integer slots.
    sites : sequence of CapacitySite
        Where slots can be added.
    target_id : str
        Target id written on the requirements (for reports).
    time_limit_s, mip_rel_gap, progress
        As :meth:`coverage.siting.joint.JointModel.solve`.

    Returns
    -------
    CapacityPlan

    Raises
    ------
    SitingError
        Bad codes or values, or a shortfall the sites cannot close (named).
    """
    reqs: list[Requirement] = []
    for code, need in shortfall.items():
        level = _unit_level(code)
        if not np.isfinite(need) or need < 0:
            raise SitingError(f"shortfall of {code}: {need!r} is not a finite number ≥ 0")
        if need > 0:
            reqs.append(Requirement(id=f"{target_id}:{code}", target_id=target_id, unit_code=code,
                                    rhs=float(need), label=level))
    actions: list[Action] = []
    contrib: list[tuple[str, str, float]] = []
    requires: list[tuple[str, str]] = []
    req_ids = {r.unit_code: r.id for r in reqs}
    for s in sites:
        slot_id = f"slots:{s.id}"
        actions.append(Action(id=slot_id, kind="add_capacity", cost=float(s.cost_per_slot), site_id=s.id,
                              integer=True, upper=float(s.max_slots), label=s.label, unit_code=s.township_code))
        if s.fixed_cost > 0:
            open_id = f"open:{s.id}"
            actions.append(Action(id=open_id, kind="new_build", cost=float(s.fixed_cost), site_id=s.id,
                                  label=s.label, unit_code=s.township_code))
            requires.append((slot_id, open_id))
        for code in (s.township_code, s.county_code):
            if code in req_ids:
                contrib.append((req_ids[code], slot_id, 1.0))
    model = JointModel(actions, reqs, contrib, requires=requires).solve(
        time_limit_s=time_limit_s, mip_rel_gap=mip_rel_gap, progress=progress)
    amount = dict(zip((a.id for a in actions), model.x))
    rows = []
    for s in sites:
        slots = int(round(amount[f"slots:{s.id}"]))
        opened = bool(amount.get(f"open:{s.id}", 0) > 0.5)
        if slots > 0 or opened:
            rows.append({"site_id": s.id, "township_code": s.township_code, "county_code": s.county_code,
                         "label": s.label, "opened": opened and s.fixed_cost > 0, "slots_added": slots,
                         "cost": s.cost_per_slot * slots + (s.fixed_cost if opened else 0.0)})
    site_df = pd.DataFrame(rows, columns=["site_id", "township_code", "county_code", "label", "opened",
                                          "slots_added", "cost"])
    req_tab = model.requirement_table()
    by_unit = pd.DataFrame({"unit_code": req_tab["unit_code"],
                            "unit_level": [_unit_level(c) for c in req_tab["unit_code"]],
                            "required": req_tab["rhs"], "added": req_tab["achieved"].round().astype(int),
                            "met": req_tab["met"]})
    return CapacityPlan(sites=site_df, by_unit=by_unit, total_cost=float(model.total_cost),
                        total_slots=int(site_df["slots_added"].sum()), status=model.status, gap=model.gap,
                        solve_time_s=model.solve_time_s, model=model)
