"""Proposals for share targets: facility shares (示范型 ≥ 15%) and unit shares (托育 in ≥ 50%
of urban communities).

* :func:`propose_facility_share` — upgrades of the basic 儿童之家 serving most children,
  homes in townships without any home of the target tier first (one upgrade then also
  closes that township's presence gap);
* :func:`propose_unit_share` — new builds in the member units (villages) that lack the
  facility, most people first.

Both return a :class:`coverage.siting.proposals.ProposalSet` whose actions carry scenario edits.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from coverage._errors import SitingError
from coverage.siting.proposals_actions import (
    new_build_action,
    upgrade_action,
)
from coverage.siting.proposals_common import (
    POP_WEIGHT,
    UPGRADE_FROM,
    ProposalSet,
    _needed,
    children_served,
    facilities_in,
    failing_rows,
    input_provenance,
    load_costs,
    number_actions,
    selector,
    units_of,
    weighted_median_sites,
    working_xy,
)
from layers.glossary import label


def propose_facility_share(ds, target, units: pd.DataFrame, year: int | None = None,
                           costs: dict[str, Any] | None = None) -> ProposalSet:
    """Upgrades for a ``facility_share`` target of 儿童之家 tiers (示范型 ≥ 15%).

    Per failing unit (county, then the city with what the counties' upgrades leave), the
    basic homes serving most children, those in townships without a home of the target
    tier first. The mother-baby-room share of public places goes to
    :func:`propose_mother_baby_rooms`; other facility-share targets get a note.
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
    if ftype == "public_place" and "has_mother_baby_room" in text:
        return propose_mother_baby_rooms(ds, target, units, year, costs)
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


_RANK = {"village": 0, "township": 1, "county": 2, "city": 3}


def _inside(member_row, member_level: str, level: str, code: str) -> bool:
    if level == "city":
        return True
    if level == member_level:
        return str(member_row["code"]) == code
    col = {"township": "township_code", "county": "county_code"}[level]
    return str(member_row.get(col, "")) == code


def propose_unit_share(ds, target, units: pd.DataFrame, year: int | None = None,
                       costs: dict[str, Any] | None = None) -> ProposalSet:
    """New builds for a ``unit_share`` target (托育 in ≥ 50% of urban communities, 妇女儿童
    活动中心 in ≥ 70% of counties, …).

    Per failing parent unit (finest first; a coarser unit counts the picks already made
    inside it), ``ceil(shortfall)`` of its member units that lack the facility
    (``not_met`` member rows of the evaluation) get one, those with the most people of the
    type's weight first (ties by code). A village member gets it at its own point; a
    township or county member at its most central village by population-weighted distance
    (EPSG:4549), with ``level`` = the member's level when the target asks for ``same``.
    """
    costs = costs or load_costs()
    ftype, tier, level = selector(target)
    member = getattr(target, "member_level", None) or "village"
    weight_col = POP_WEIGHT.get(ftype, getattr(target, "population", "pop_total") or "pop_total")
    out = ProposalSet(method="unit_share_largest_unserved",
                      provenance=input_provenance(ds, ds.facilities_for(year), costs))
    t_units = units[units["target_id"] == target.id]
    open_codes = set(t_units.loc[(t_units["unit_level"] == member) & (t_units["status"] == "not_met"),
                                 "unit_code"].astype(str))
    table = ds.units(member)
    members = table[table["code"].astype(str).isin(open_codes)].copy()
    members["_w"] = pd.to_numeric(members[weight_col], errors="coerce").fillna(0)
    members = members.sort_values(["_w", "code"], ascending=[False, True])
    chosen: list[Any] = []
    rows = failing_rows(units, target.id)
    rows = rows[rows["unit_level"].map(_RANK).fillna(-1) > _RANK.get(member, 0)]
    rows = rows.assign(_o=rows["unit_level"].map(_RANK))
    for _, row in rows.sort_values(["_o", "unit_code"]).iterrows():
        lv, code = str(row["unit_level"]), str(row["unit_code"])
        inside = [m for _, m in members.iterrows() if _inside(m, member, lv, code)]
        done = {str(m["code"]) for m in chosen}
        need = _needed(row) - sum(1 for m in inside if str(m["code"]) in done)
        pool = [m for m in inside if str(m["code"]) not in done]
        if need > len(pool):
            out.notes.append(f"{target.id} {lv} {code}: needs {need}, only {len(pool)} unserved units")
        for m in pool[:max(need, 0)]:
            chosen.append(m)
            mcode = str(m["code"])
            if member == "village":
                vrow, where = m, f"{label('village')}"
            else:
                vill = units_of(ds, member, mcode)
                if vill.empty:
                    out.notes.append(f"{target.id}: {member} {mcode} has no village to build in")
                    continue
                w = pd.to_numeric(vill[weight_col], errors="coerce").fillna(0).to_numpy(float)
                vrow = vill.iloc[weighted_median_sites(working_xy(vill), w, 1)[0]]
                where = f"{label(member)}（新建于其人口加权最中心的村（社区））"
            act = new_build_action(ds, target, ftype, tier, member if level == "same" else level, vrow,
                                   lv, code, costs,
                                   f"尚无{label(ftype)}且{label(weight_col)}最多（{m['_w']:.0f}人）的{where}",
                                   weight_col)
            act["units_fixed"] = [f"{lv}:{code}", f"{member}:{mcode}"]
            act["method"] = out.method
            out.actions.append(act)
    number_actions(out.actions)
    out.status = "heuristic" if out.actions else "no_gap"
    return out


def propose_mother_baby_rooms(ds, target, units: pd.DataFrame, year: int | None = None,
                              costs: dict[str, Any] | None = None) -> ProposalSet:
    """A 母婴室 in the qualifying public places that lack one (国卫指导发〔2016〕63号).

    Qualifying places are those the target's ``facility_condition`` selects (building
    area or daily visitors above 10,000); a place has a room when a ``mother_baby_room``
    facility names it in ``serves_place_id``. Per failing unit (township, then county,
    then city, each counting the rooms already proposed inside it), ``ceil(shortfall)``
    places get a room, the busiest first (daily visitors, then floor area, then id). The
    room is placed at the place's point and costs only its fit-out (no new site).
    """
    costs = costs or load_costs()
    fac = ds.facilities_for(year)
    out = ProposalSet(method="mother_baby_room_busiest_places",
                      provenance=input_provenance(ds, fac, costs))
    places = fac[fac["type"] == "public_place"].copy()
    cond = getattr(target, "facility_condition", None)
    if cond is not None and len(places):
        places = places[cond.mask(places)]
    served = set(fac.loc[fac["type"] == "mother_baby_room", "serves_place_id"].dropna().astype(str))
    places = places[~places["facility_id"].astype(str).isin(served)]
    places = places.assign(_v=pd.to_numeric(places["daily_visitors"], errors="coerce").fillna(0),
                           _a=pd.to_numeric(places["building_area_m2"], errors="coerce").fillna(0))
    places = places.sort_values(["_v", "_a", "facility_id"], ascending=[False, False, True])
    chosen: set[str] = set()
    rows = failing_rows(units, target.id)
    rows = rows.assign(_o=rows["unit_level"].map(_RANK))
    for _, row in rows.sort_values(["_o", "unit_code"]).iterrows():
        lv, code = str(row["unit_level"]), str(row["unit_code"])
        col = {"township": "township_code", "county": "county_code"}.get(lv)
        inside = places if col is None else places[places[col].astype(str) == code]
        ids = inside["facility_id"].astype(str)
        need = _needed(row) - int(ids.isin(chosen).sum())
        pool = inside[~ids.isin(chosen)]
        if need > len(pool):
            out.notes.append(f"{target.id} {lv} {code}: needs {need}, only {len(pool)} places without a room")
        for _, p in pool.head(max(need, 0)).iterrows():
            pid = str(p["facility_id"])
            chosen.add(pid)
            edit: dict[str, Any] = {"op": "add_facility", "type": "mother_baby_room",
                                    "lon": float(p.geometry.x), "lat": float(p.geometry.y), "crs": "wgs84",
                                    "serves_place_id": pid}
            vcode = str(p.get("village_code") or "")
            if vcode and vcode != "nan":
                edit["village"] = vcode
            out.actions.append({
                "action": "new_build", "facility_type": "mother_baby_room", "tier": None, "capacity": None,
                "facility_id": pid, "county_code": str(p["county_code"]),
                "township_code": str(p["township_code"]), "village_code": vcode if vcode != "nan" else "",
                "village_name": str(p.get("name", "")), "lon": float(p.geometry.x), "lat": float(p.geometry.y),
                "target_ids": [target.id], "units_fixed": [f"{lv}:{code}"], "people_covered": None,
                "cost": float(costs["new_build"].get("mother_baby_room", costs["new_build"].get("default", 0.0))),
                "reason": f"{p.get('name', '')}（日客流约{p['_v']:.0f}人次）尚无独立母婴室",
                "method": out.method, "provenance": f"facilities={p.get('provenance', '')}",
                "edits": [edit],
            })
    number_actions(out.actions)
    out.status = "heuristic" if out.actions else "no_gap"
    return out

