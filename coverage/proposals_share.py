"""Proposals for share targets: facility shares (示范型 ≥ 15%) and unit shares (托育 in ≥ 50%
of urban communities).

* :func:`propose_facility_share` — upgrades of the basic 儿童之家 serving most children,
  homes in townships without any home of the target tier first (one upgrade then also
  closes that township's presence gap);
* :func:`propose_unit_share` — new builds in the member units (villages) that lack the
  facility, most people first.

Both return a :class:`coverage.proposals.ProposalSet` whose actions carry scenario edits.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from coverage._errors import SitingError
from coverage.proposals import (POP_WEIGHT, UPGRADE_FROM, ProposalSet, _needed, children_served,
                                facilities_in, failing_rows, input_provenance, load_costs,
                                new_build_action, number_actions, selector, units_of,
                                upgrade_action, working_xy)
from layers.glossary import label


def propose_facility_share(ds, target, units: pd.DataFrame, year: int | None = None,
                           costs: dict[str, Any] | None = None) -> ProposalSet:
    """Upgrades for a ``facility_share`` target of 儿童之家 tiers (示范型 ≥ 15%).

    Per failing unit (county, then the city with what the counties' upgrades leave), the
    basic homes serving most children, those in townships without a home of the target
    tier first. Other facility-share targets have no siting action and get a note.
    """
    costs = costs or load_costs()
    out = ProposalSet(method="facility_share_upgrades",
                      provenance=input_provenance(ds, ds.facilities_for(year), costs))
    # the numerator is a facility condition such as ``tier == "demonstration"``
    text = str(getattr(target, "numerator", "") or "")
    tier = next((t for t in UPGRADE_FROM if f'"{t}"' in text or f"'{t}'" in text), None)
    try:
        ftype, _, _ = selector(target)
    except SitingError:
        ftype = None
    if ftype != "child_home" or tier is None:
        out.notes.append(f"{target.id}: no upgrade action fits this facility-share target")
        out.status = "no_gap"
        return out
    fac = ds.facilities_for(year)
    homes = fac[fac["type"] == "child_home"]
    has_tier = set(homes.loc[homes["tier"] == tier, "township_code"].astype(str))
    chosen: set[str] = set()
    rows = failing_rows(units, target.id)
    rows = rows.assign(_o=rows["unit_level"].map({"village": 0, "township": 1, "county": 2, "city": 3}))
    for _, row in rows.sort_values(["_o", "unit_code"]).iterrows():
        lv, code = str(row["unit_level"]), str(row["unit_code"])
        need = _needed(row)
        if lv == "city":
            need -= len(chosen)
        here = facilities_in(homes, lv, code)
        basic = here[here["tier"] == "basic"]
        basic = basic[~basic["facility_id"].astype(str).isin(chosen)]
        if need <= 0 or basic.empty:
            continue
        vill = units_of(ds, lv, code)
        w = pd.to_numeric(vill["pop_under18"], errors="coerce").fillna(0).to_numpy(float)
        served = children_served(working_xy(here), here["village_code"].astype(str).tolist(),
                                 working_xy(vill), vill["code"].astype(str).tolist(), w)
        s = pd.Series(served, index=here["facility_id"].astype(str).to_numpy())
        basic = basic.assign(_served=s.loc[basic["facility_id"].astype(str)].to_numpy(),
                             _lacks=~basic["township_code"].astype(str).isin(has_tier))
        basic = basic.sort_values(["_lacks", "_served", "facility_id"], ascending=[False, False, True])
        for _, frow in basic.head(need).iterrows():
            chosen.add(str(frow["facility_id"]))
            note = "；所在乡镇尚无示范型，可同时补足乡镇缺口" if frow["_lacks"] else ""
            out.actions.append(upgrade_action(
                target, tier, frow, frow["_served"], lv, code, costs,
                f"升级服务儿童最多的基础型儿童之家（约{frow['_served']:.0f}人）{note}"))
    number_actions(out.actions)
    out.status = "heuristic" if out.actions else "no_gap"
    return out


def propose_unit_share(ds, target, units: pd.DataFrame, year: int | None = None,
                       costs: dict[str, Any] | None = None) -> ProposalSet:
    """New builds for a ``unit_share`` target (e.g. 托育 in ≥ 50% of urban communities).

    Per failing parent unit (county, then the city with what the counties' picks leave),
    ``ceil(shortfall)`` of its member units that do not meet the presence condition
    (``not_met`` member rows of the evaluation) get a new facility, those with the most
    people of the type's weight (under-3 for 托育) first; ties by code.
    """
    costs = costs or load_costs()
    ftype, tier, level = selector(target)
    member = getattr(target, "member_level", None) or "village"
    weight_col = POP_WEIGHT.get(ftype, getattr(target, "population", "pop_total") or "pop_total")
    out = ProposalSet(method="unit_share_largest_unserved",
                      provenance=input_provenance(ds, ds.facilities_for(year), costs))
    if member != "village":
        out.notes.append(f"{target.id}: member level {member} is not sited (villages only)")
        out.status = "no_gap"
        return out
    t_units = units[units["target_id"] == target.id]
    open_members = set(t_units.loc[(t_units["unit_level"] == "village") & (t_units["status"] == "not_met"),
                                   "unit_code"].astype(str))
    vill = ds.villages[ds.villages["code"].astype(str).isin(open_members)].copy()
    vill["_w"] = pd.to_numeric(vill[weight_col], errors="coerce").fillna(0)
    vill = vill.sort_values(["_w", "code"], ascending=[False, True])
    chosen: set[str] = set()
    rows = failing_rows(units, target.id)
    rows = rows[rows["unit_level"].isin(["county", "city"])]
    rows = rows.assign(_o=rows["unit_level"].map({"county": 0, "city": 1}))
    for _, row in rows.sort_values(["_o", "unit_code"]).iterrows():
        lv, code = str(row["unit_level"]), str(row["unit_code"])
        need = _needed(row) - (len(chosen) if lv == "city" else 0)
        pool = vill if lv == "city" else vill[vill["county_code"].astype(str) == code]
        pool = pool[~pool["code"].astype(str).isin(chosen)]
        if need > len(pool):
            out.notes.append(f"{target.id} {lv} {code}: needs {need}, only {len(pool)} unserved units")
        for _, vrow in pool.head(max(need, 0)).iterrows():
            chosen.add(str(vrow["code"]))
            act = new_build_action(ds, target, ftype, tier, level, vrow, lv, code, costs,
                                   f"本单位尚无{label(ftype)}且{label(weight_col)}最多"
                                   f"（{vrow['_w']:.0f}人）的{label('village')}", weight_col)
            act["units_fixed"] = [f"{lv}:{code}", f"village:{vrow['code']}"]
            act["method"] = out.method
            out.actions.append(act)
    number_actions(out.actions)
    out.status = "heuristic" if out.actions else "no_gap"
    return out
