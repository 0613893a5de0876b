"""All selected targets at once: the cheapest set of actions meeting every one together.

Builds a :class:`coverage.siting.joint.JointModel` from the failing units of the selected
targets and solves it (HiGHS, with a time limit that keeps the best answer and its gap).

Requirements (one per failing unit)
    * ``presence``: ``Σ matching facilities added in the unit ≥ ceil(shortfall)``;
    * ``facility_share`` of 儿童之家 tiers (示范型 ≥ p): linearised
      ``N0 + Σ n_a x_a ≥ p (D0 + Σ d_a x_a)`` (:func:`coverage.siting.joint.ratio_requirement`);
    * ``capacity_ratio`` (托位 per 1,000), county or city rows: ``Σ slots added ≥ shortfall``;
    * the 母婴室 share of qualifying public places: ``Σ rooms added in the unit ≥ shortfall``;
    * ``access`` (walking distance): ``Σ people newly within reach ≥ shortfall`` per failing
      unit, through a covering block over the network coverage matrix (:func:`_access_rows`).

Actions (costs from ``data/siting_costs.toml``)
    * ``upgrade:<facility>`` — a basic 儿童之家 becomes 示范型 (or 特色型);
    * ``open:<village>`` — a new site (room in a village/community service centre);
    * ``build:<village>:<type>[:<tier|level>]`` — a facility fitted out at that site
      (requires the site); several facilities at one site share its cost, which is how one
      new community centre housing a 儿童之家 and a 托育 room serves several targets;
    * ``room:<public place>`` — a 母婴室 fitted out in a qualifying public place;
    * ``slots:<facility or village>`` — 托位 added (integer, at most
      ``max_added_per_site`` at an existing site, ``max_site_slots`` at a new one, which
      requires the 托育 fit-out there).

Candidate villages: per failing unit, the ``candidates_per_unit`` most central villages by
population-weighted distance (EPSG:4549); per failing county of a capacity target, that
many per township. The answer is reported per site: its cost, and the targets and units
it fixes.
"""

from __future__ import annotations

import math
from typing import Any, Sequence

import numpy as np
import pandas as pd

from coverage._errors import SitingError
from coverage.siting.joint import Action, JointModel, Requirement, ratio_requirement
from coverage.siting.proposals_common import (
    POP_WEIGHT,
    UPGRADE_FROM,
    ProposalSet,
    _dist,
    failing_rows,
    fitout_cost,
    input_provenance,
    load_costs,
    number_actions,
    selector,
    units_of,
    upgrade_cost,
    working_xy,
)

#: target kinds the joint model takes
JOINT_KINDS: tuple[str, ...] = ("presence", "facility_share", "capacity_ratio", "access")


def _contains(level: str, code: str, row: dict[str, str]) -> bool:
    """Whether a place (village/county/township codes in ``row``) lies in the unit."""
    if level == "city":
        return True
    col = {"village": "village_code", "township": "township_code", "county": "county_code"}[level]
    return row.get(col, "") == code


def central_villages(ds, level: str, code: str, weight_col: str, k: int) -> list[str]:
    """The ``k`` villages of a unit with the least Σ pop · distance (EPSG:4549)."""
    vill = units_of(ds, level, code)
    if vill.empty:
        return []
    xy = working_xy(vill)
    w = pd.to_numeric(vill[weight_col], errors="coerce").fillna(0).to_numpy(float)
    cost = (w[:, None] * _dist(xy, xy)).sum(axis=0)
    order = np.lexsort((vill["code"].astype(str).to_numpy(), cost))
    return [str(c) for c in vill["code"].astype(str).to_numpy()[order[:k]]]


def _share_tier(target) -> str | None:
    text = str(getattr(target, "numerator", "") or "")
    return next((t for t in UPGRADE_FROM if f'"{t}"' in text or f"'{t}'" in text), None)


def propose_joint(ds, targets: Sequence[Any], units: pd.DataFrame, year: int | None = None,
                  costs: dict[str, Any] | None = None, *, time_limit_s: float = 60.0,
                  progress: bool = False, candidates_per_unit: int = 3, network=None) -> ProposalSet:
    """Cheapest actions meeting every failing unit of ``targets`` together.

    Parameters
    ----------
    ds : Dataset
    targets : sequence of PlanTarget
        Kinds in :data:`JOINT_KINDS`; others are noted and left out.
    units : DataFrame
        Evaluation rows of these targets (``EvaluationResult.units``).
    year : int, optional
    costs : dict, optional
        :func:`coverage.siting.proposals.load_costs` output (万元).
    time_limit_s : float
        Solver limit; the best answer found and its proven gap are returned.
    candidates_per_unit : int
        Candidate villages per failing unit (per township for capacity targets).
    """
    costs = costs or load_costs()
    cap = costs["capacity"]
    fac = ds.facilities_for(year)
    vill = ds.villages.set_index(ds.villages["code"].astype(str))
    out = ProposalSet(method="joint_milp", provenance=input_provenance(ds, fac, costs))
    reqs: list[Requirement] = []
    presence: list[tuple[Requirement, str, str, str, str | None, str | None]] = []
    shares: list[tuple[Any, str, str, float, str]] = []
    capacity: list[tuple[Requirement, str, str]] = []
    rooms: list[tuple[Requirement, str, str, Any]] = []
    access: list[tuple[Any, dict[str, Any], pd.DataFrame]] = []
    cand: set[str] = set()
    for t in targets:
        if t.kind not in JOINT_KINDS:
            out.notes.append(f"{t.id}: kind {t.kind} is not part of the joint model")
            continue
        ftype, tier, level = selector(t)
        rows = failing_rows(units, t.id)
        if t.kind == "access":
            if rows.empty:
                continue
            from coverage.siting.proposals_access import access_instance

            inst = access_instance(ds, t, year=year, network=network, candidates=("villages",))
            A = inst["A"].tocsr()
            useful = np.flatnonzero(A[~inst["precovered"]].getnnz(axis=0) > 0)
            cand.update(inst["candidates"]["ref"].iloc[useful].astype(str))
            access.append((t, inst, rows))
            continue
        for _, row in rows.iterrows():
            lv, code = str(row["unit_level"]), str(row["unit_code"])
            need = float(row["shortfall"]) if pd.notna(row["shortfall"]) else 1.0
            if t.kind == "presence":
                lvl = lv if level == "same" else level
                r = Requirement(f"{t.id}:{code}", t.id, code, float(max(1, math.ceil(need - 1e-9))), lv)
                presence.append((r, lv, code, ftype, tier, lvl))
                reqs.append(r)
                cand.update(central_villages(ds, lv, code, POP_WEIGHT.get(ftype, "pop_total"),
                                             candidates_per_unit))
            elif t.kind == "facility_share":
                stier = _share_tier(t)
                if ftype == "public_place" and "has_mother_baby_room" in str(getattr(t, "numerator", "")):
                    r = Requirement(f"{t.id}:{code}", t.id, code, float(max(1, math.ceil(need - 1e-9))), lv)
                    rooms.append((r, lv, code, t))
                    reqs.append(r)
                    continue
                if ftype != "child_home" or stier is None:
                    out.notes.append(f"{t.id}: no action changes this share; left out")
                    break
                shares.append((t, lv, code, float(t.threshold), stier))
            elif lv in ("county", "city"):
                r = Requirement(f"{t.id}:{code}", t.id, code, float(math.ceil(need - 1e-9)), lv)
                capacity.append((r, lv, code))
                reqs.append(r)
                tws = ds.townships if lv == "city" else ds.townships[ds.townships["county_code"].astype(str) == code]
                for tcode in tws["code"].astype(str):
                    cand.update(central_villages(ds, "township", tcode, "pop_under3", candidates_per_unit))
    if not reqs and not shares and not access:
        out.status = "no_gap"
        return out

    actions: list[Action] = []
    contrib: list[tuple[str, str, float]] = []
    requires: list[tuple[str, str]] = []
    exclusive: list[list[str]] = []
    info: dict[str, dict[str, Any]] = {}  # action id → what it is (for edits)
    num: dict[int, dict[str, float]] = {k: {} for k in range(len(shares))}
    den: dict[int, dict[str, float]] = {k: {} for k in range(len(shares))}

    def place(codes: dict[str, str], aid: str, ftype: str, tier: str | None, lvl: str | None) -> None:
        for r, lv, code, rtype, rtier, rlvl in presence:
            if (rtype == ftype and _contains(lv, code, codes) and (rtier is None or rtier == tier)
                    and (rlvl is None or rlvl == lvl)):
                contrib.append((r.id, aid, 1.0))
        if ftype == "child_home":
            for k, (_, lv, code, _, stier) in enumerate(shares):
                if _contains(lv, code, codes):
                    num[k][aid] = num[k].get(aid, 0.0) + (1.0 if tier == stier else 0.0)
                    den[k][aid] = den[k].get(aid, 0.0) + (0.0 if info[aid]["op"] == "upgrade" else 1.0)

    # upgrades of basic homes anywhere a child_home requirement or share looks
    wanted_tiers = {tier for (_, _, _, ft, tier, _) in presence if ft == "child_home" and tier in UPGRADE_FROM}
    wanted_tiers |= {s[4] for s in shares}
    homes = fac[fac["type"] == "child_home"]
    if len(wanted_tiers) > 1:  # a home is upgraded to one tier at most
        for fid in homes.loc[homes["tier"] == "basic", "facility_id"].astype(str):
            exclusive.append([f"upgrade:{fid}:{t}" for t in sorted(wanted_tiers)])
    for tier in sorted(wanted_tiers):
        for _, f in homes[homes["tier"].isin(UPGRADE_FROM[tier])].sort_values("facility_id").iterrows():
            codes = {"village_code": str(f.get("village_code") or ""), "township_code": str(f["township_code"]),
                     "county_code": str(f["county_code"])}
            aid = f"upgrade:{f['facility_id']}:{tier}"
            actions.append(Action(aid, "upgrade", upgrade_cost(costs, "child_home"), str(f["facility_id"]),
                                  label=str(f.get("name", "")), unit_code=codes["township_code"]))
            info[aid] = {"op": "upgrade", "facility": f, "tier": tier}
            place(codes, aid, "child_home", tier, None)
    # build variants (type, tier, level) asked for by presence requirements and shares
    variants = {(ft, tr, lvl) for (_, _, _, ft, tr, lvl) in presence}
    variants |= {("child_home", s[4], None) for s in shares}
    if capacity:
        variants.add(("childcare", None, None))
    for t, _, _ in access:
        ft, tr, lvl = selector(t)
        variants.add((ft, tr, None if lvl == "same" else lvl))
    for v in sorted(cand):
        vr = vill.loc[v]
        codes = {"village_code": v, "township_code": str(vr["township_code"]), "county_code": str(vr["county_code"])}
        oid = f"open:{v}"
        actions.append(Action(oid, "new_build", float(costs["new_build"].get("site", 0.0)), v,
                              label=str(vr.get("name", "")), unit_code=codes["township_code"]))
        info[oid] = {"op": "open", "village": v}
        homes_here = []
        for ft, tr, lvl in sorted(variants, key=lambda x: tuple(str(i) for i in x)):
            aid = f"build:{v}:{ft}" + (f":{tr}" if tr else "") + (f":{lvl}" if lvl else "")
            price = fitout_cost(costs, f"{ft}_{tr}") if tr and f"{ft}_{tr}" in costs["new_build"] else fitout_cost(costs, ft)
            actions.append(Action(aid, "new_build", price, v, label=f"{ft} {tr or ''}".strip(),
                                  unit_code=codes["township_code"]))
            info[aid] = {"op": "build", "village": v, "type": ft, "tier": tr, "level": lvl}
            requires.append((aid, oid))
            place(codes, aid, ft, tr, lvl)
            if ft == "child_home":
                homes_here.append(aid)
            if ft == "childcare" and capacity:
                sid = f"slots:{v}"
                actions.append(Action(sid, "add_capacity", float(cap["slot_cost"]), v, integer=True,
                                      upper=float(cap["max_site_slots"]), unit_code=codes["township_code"]))
                info[sid] = {"op": "new_slots", "village": v, "build": aid}
                requires.append((sid, aid))
                for r, lv, code in capacity:
                    if _contains(lv, code, codes):
                        contrib.append((r.id, sid, 1.0))
        if len(homes_here) > 1:
            exclusive.append(homes_here)
    for t, inst, rows in access:
        _access_rows(t, inst, rows, info, actions, reqs, contrib, out.notes)
    if rooms:  # a 母婴室 in a qualifying public place without one: fit-out only, no new site
        places = fac[fac["type"] == "public_place"]
        served = set(fac.loc[fac["type"] == "mother_baby_room", "serves_place_id"].dropna().astype(str))
        cond = getattr(rooms[0][3], "facility_condition", None)
        if cond is not None and len(places):
            places = places[cond.mask(places)]
        for _, pl in places[~places["facility_id"].astype(str).isin(served)].sort_values("facility_id").iterrows():
            codes = {"village_code": str(pl.get("village_code") or ""), "township_code": str(pl["township_code"]),
                     "county_code": str(pl["county_code"])}
            hits = [r for r, lv, code, _ in rooms if _contains(lv, code, codes)]
            if not hits:
                continue
            aid = f"room:{pl['facility_id']}"
            actions.append(Action(aid, "new_build", fitout_cost(costs, "mother_baby_room"), str(pl["facility_id"]),
                                  label=str(pl.get("name", "")), unit_code=codes["township_code"]))
            info[aid] = {"op": "room", "place": pl}
            contrib.extend((r.id, aid, 1.0) for r in hits)
    if capacity and cap["max_added_per_site"] > 0:
        for _, f in fac[fac["type"] == "childcare"].sort_values("facility_id").iterrows():
            codes = {"village_code": str(f.get("village_code") or ""), "township_code": str(f["township_code"]),
                     "county_code": str(f["county_code"])}
            hits = [r for r, lv, code in capacity if _contains(lv, code, codes)]
            if not hits:
                continue
            sid = f"slots:{f['facility_id']}"
            actions.append(Action(sid, "add_capacity", float(cap["slot_cost"]), str(f["facility_id"]),
                                  integer=True, upper=float(cap["max_added_per_site"]),
                                  unit_code=codes["township_code"]))
            info[sid] = {"op": "more_slots", "facility": f}
            contrib.extend((r.id, sid, 1.0) for r in hits)
    for k, (t, lv, code, ratio, stier) in enumerate(shares):
        here = homes if lv == "city" else homes[homes[{"county": "county_code", "township": "township_code"}.get(lv, "county_code")].astype(str) == code]
        r, rc = ratio_requirement(id=f"{t.id}:{code}", target_id=t.id, unit_code=code, ratio=ratio,
                                  numerator=num[k], denominator=den[k],
                                  existing_numerator=float((here["tier"] == stier).sum()),
                                  existing_denominator=float(len(here)), label=lv)
        reqs.append(r)
        contrib.extend(rc)

    model = JointModel(actions, reqs, contrib, exclusive=exclusive, requires=requires)
    model.solve(time_limit_s=time_limit_s, progress=progress)
    out.status, out.gap, out.objective = model.status, float(model.gap), float(model.total_cost)
    out.actions = _actions_from(model, info, vill, costs)
    number_actions(out.actions)
    return out


def _access_rows(t, inst: dict[str, Any], rows: pd.DataFrame, info: dict[str, dict[str, Any]],
                 actions: list[Action], reqs: list[Requirement],
                 contrib: list[tuple[str, str, float]], notes: list[str]) -> None:
    """Coverage of an access target in the joint model (a maximal-covering block).

    For each uncovered resident point ``i`` a 0/1 decision ``cov_i`` (no cost) with
    ``Σ_{builds b at sites reaching i} x_b − cov_i ≥ 0``, and per failing unit
    ``Σ_{i in unit} people_i · cov_i ≥ shortfall`` (capped at what the candidates can
    reach; the rest is noted). Any build of the target's facility type at a candidate
    village within the walking distance counts, so the same new site can also close a
    presence gap.
    """
    ftype, tier, level = selector(t)
    A = inst["A"].tocsr()
    cand = inst["candidates"]["ref"].astype(str).to_numpy()
    pts = inst["demand"]
    w = inst["weights"]
    builds: dict[str, list[str]] = {}
    for aid, m in info.items():
        if (m["op"] == "build" and m["type"] == ftype and (tier is None or m["tier"] == tier)
                and (level in (None, "same") or m["level"] == level)):
            builds.setdefault(m["village"], []).append(aid)
    codes = {lv: pts[col].astype(str).to_numpy() for lv, col in
             (("village", "code"), ("township", "township_code"), ("county", "county_code"))}
    reach = np.zeros(len(pts), bool)
    for i in np.flatnonzero(~inst["precovered"]):
        sites = [b for j in A.indices[A.indptr[i]:A.indptr[i + 1]] for b in builds.get(cand[j], [])]
        if not sites:
            continue
        reach[i] = True
        yid, lid = f"cover:{t.id}:{codes['village'][i]}", f"link:{t.id}:{codes['village'][i]}"
        actions.append(Action(yid, "new_build", 0.0, codes["village"][i], label="covered"))
        info[yid] = {"op": "cover"}
        reqs.append(Requirement(lid, t.id, codes["village"][i], 0.0, "village"))
        contrib.append((lid, yid, -1.0))
        contrib.extend((lid, b, 1.0) for b in sites)
    for _, row in rows.iterrows():
        lv, code = str(row["unit_level"]), str(row["unit_code"])
        inside = np.ones(len(pts), bool) if lv == "city" else codes[lv] == code
        need = float(row["shortfall"]) if pd.notna(row["shortfall"]) else 0.0
        can = float(w[inside & reach].sum())
        if need > can + 1e-9:
            notes.append(f"{t.id} {lv} {code}: {need:.0f} people short, candidates reach {can:.0f}")
            need = can
        if need <= 0:
            continue
        rid = f"{t.id}:{code}"
        reqs.append(Requirement(rid, t.id, code, need, lv))
        contrib.extend((rid, f"cover:{t.id}:{codes['village'][i]}", float(w[i]))
                       for i in np.flatnonzero(inside & reach))


def _actions_from(model: JointModel, info: dict[str, dict[str, Any]], vill, costs) -> list[dict]:
    """Group the chosen decisions into actions (one per site or facility) with their edits."""
    chosen = model.chosen.set_index("action_id")
    amount = dict(zip((a.id for a in model.actions), model.x))

    level_of = {r.id: f"{r.label}:{r.unit_code}" for r in model.requirements}

    def fixes(ids: list[str]) -> tuple[list[str], list[str]]:
        """Targets and units (``level:code``) the decisions ``ids`` help to meet."""
        reqs = [x for i in ids if i in chosen.index
                for x in str(chosen.at[i, "requirement_ids"]).split(";") if x]
        t = [x for i in ids if i in chosen.index for x in str(chosen.at[i, "target_ids"]).split(";") if x]
        return list(dict.fromkeys(t)), list(dict.fromkeys(level_of.get(r, r) for r in reqs))

    out: list[dict[str, Any]] = []
    for aid in chosen.index:
        meta = info[aid]
        if meta["op"] == "cover":
            continue
        if meta["op"] == "upgrade":
            f = meta["facility"]
            t, u = fixes([aid])
            out.append({"action": "upgrade", "facility_type": "child_home", "tier": meta["tier"],
                        "capacity": None, "facility_id": str(f["facility_id"]),
                        "county_code": str(f["county_code"]), "township_code": str(f["township_code"]),
                        "village_code": str(f.get("village_code") or ""), "village_name": "",
                        "lon": float(f.geometry.x), "lat": float(f.geometry.y), "target_ids": t,
                        "units_fixed": u, "people_covered": None, "cost": float(chosen.at[aid, "cost"]),
                        "reason": "联合模型：升级为示范型", "method": "joint_milp",
                        "provenance": f"facilities={f.get('provenance', '')}",
                        "edits": [{"op": "upgrade_facility", "facility_id": str(f["facility_id"]),
                                   "tier": meta["tier"]}]})
        elif meta["op"] == "room":
            pl = meta["place"]
            t, u = fixes([aid])
            vcode = str(pl.get("village_code") or "")
            vcode = "" if vcode == "nan" else vcode
            edit = {"op": "add_facility", "type": "mother_baby_room", "lon": float(pl.geometry.x),
                    "lat": float(pl.geometry.y), "crs": "wgs84", "serves_place_id": str(pl["facility_id"])}
            if vcode:
                edit["village"] = vcode
            out.append({"action": "new_build", "facility_type": "mother_baby_room", "tier": None,
                        "capacity": None, "facility_id": str(pl["facility_id"]),
                        "county_code": str(pl["county_code"]), "township_code": str(pl["township_code"]),
                        "village_code": vcode, "village_name": str(pl.get("name", "")),
                        "lon": float(pl.geometry.x), "lat": float(pl.geometry.y), "target_ids": t,
                        "units_fixed": u, "people_covered": None, "cost": float(chosen.at[aid, "cost"]),
                        "reason": f"联合模型：在{pl.get('name', '')}设独立母婴室", "method": "joint_milp",
                        "provenance": f"facilities={pl.get('provenance', '')}", "edits": [edit]})
        elif meta["op"] == "more_slots":
            f = meta["facility"]
            k = int(round(amount[aid]))
            t, u = fixes([aid])
            new_cap = int((f["capacity"] if pd.notna(f["capacity"]) else 0) + k)
            out.append({"action": "add_capacity", "facility_type": "childcare", "tier": None, "capacity": k,
                        "facility_id": str(f["facility_id"]), "county_code": str(f["county_code"]),
                        "township_code": str(f["township_code"]), "village_code": str(f.get("village_code") or ""),
                        "village_name": "", "lon": float(f.geometry.x), "lat": float(f.geometry.y),
                        "target_ids": t, "units_fixed": u, "people_covered": None,
                        "cost": float(chosen.at[aid, "cost"]), "reason": f"联合模型：现有托育机构扩容{k}个托位",
                        "method": "joint_milp", "provenance": f"facilities={f.get('provenance', '')}",
                        "edits": [{"op": "set_capacity", "facility_id": str(f["facility_id"]), "capacity": new_cap}]})
        elif meta["op"] == "open":
            v = meta["village"]
            vr = vill.loc[v]
            parts = [a for a in chosen.index if a.startswith(f"build:{v}:") or a == f"slots:{v}"]
            edits, kinds = [], []
            for a in parts:
                m = info[a]
                if m["op"] != "build":
                    continue
                e: dict[str, Any] = {"op": "add_facility", "type": m["type"], "village": v}
                if m["tier"]:
                    e["tier"] = m["tier"]
                if m["level"]:
                    e["level"] = m["level"]
                if m["type"] == "childcare":
                    e["capacity"] = int(round(amount.get(f"slots:{v}", 0)))
                edits.append(e)
                kinds.append(m["type"])
            t, u = fixes(parts + [aid])
            slots = int(round(amount.get(f"slots:{v}", 0)))
            names = "、".join(dict.fromkeys(kinds))
            out.append({"action": "new_build", "facility_type": ";".join(dict.fromkeys(kinds)),
                        "tier": next((info[a]["tier"] for a in parts if info[a].get("tier")), None),
                        "capacity": slots or None, "facility_id": "", "county_code": str(vr["county_code"]),
                        "township_code": str(vr["township_code"]), "village_code": v,
                        "village_name": str(vr.get("name", "")), "lon": float(vr.geometry.x),
                        "lat": float(vr.geometry.y), "target_ids": t, "units_fixed": u,
                        "people_covered": None,
                        "cost": float(sum(chosen.at[a, "cost"] for a in parts + [aid])),
                        "reason": f"联合模型：新建站点，设{names}" + ("（多项设施共用站点）" if len(kinds) > 1 else ""),
                        "method": "joint_milp", "provenance": f"village={vr.get('provenance', '')}",
                        "edits": edits})
    if not out and len(chosen):
        raise SitingError("joint model chose actions that map to no edit")
    return out
