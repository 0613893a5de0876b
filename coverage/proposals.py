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
targets) and unit-share targets are in :mod:`coverage.proposals_share`; access, capacity and
joint proposals in :mod:`coverage.proposals_access` and :mod:`coverage.proposals_joint`.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

import numpy as np
import pandas as pd

from coverage._errors import SitingError
from layers.glossary import label
from layers.settings import REPO_ROOT, STORAGE_CRS, WORKING_CRS

#: columns of a proposal table, in export order
ACTION_COLUMNS: tuple[str, ...] = (
    "action_id", "action", "facility_type", "tier", "capacity", "facility_id",
    "county_code", "township_code", "village_code", "village_name", "lon", "lat",
    "target_ids", "units_fixed", "people_covered", "cost", "reason", "method", "provenance",
)

#: population column that weighs the demand of each facility type
POP_WEIGHT: dict[str, str] = {
    "child_home": "pop_under18",
    "childcare": "pop_under3",
    "kindergarten": "pop_under18",
    "minor_protection_station": "pop_under18",
    "community_library": "pop_under18",
    "parent_school": "pop_under18",
    "elderly_care_centre": "pop_65plus",
    "women_children_centre": "pop_women",
    "mch_institution": "pop_women",
}

#: upgrades a higher tier can come from
UPGRADE_FROM: dict[str, tuple[str, ...]] = {"demonstration": ("basic",), "featured": ("basic",)}

COSTS_FILE: Path = REPO_ROOT / "data" / "siting_costs.toml"


# ---------------------------------------------------------------------- costs
def load_costs(path: str | Path | None = None) -> dict[str, Any]:
    """Unit costs of actions (万元), from ``data/siting_costs.toml`` by default.

    Returns
    -------
    dict
        ``upgrade`` (type → cost), ``new_build`` (type → cost, ``default``),
        ``capacity`` (per-slot cost, new-site cost, site sizes), ``provenance``.
    """
    path = Path(path) if path is not None else COSTS_FILE
    try:
        with open(path, "rb") as fh:
            doc = tomllib.load(fh)
    except FileNotFoundError as exc:
        raise SitingError(f"{path}: siting cost table not found") from exc
    except tomllib.TOMLDecodeError as exc:
        raise SitingError(f"{path}: not valid TOML: {exc}") from exc
    for key in ("upgrade", "new_build", "capacity"):
        if not isinstance(doc.get(key), dict):
            raise SitingError(f"{path}: missing table [{key}]")
    for section in ("upgrade", "new_build", "capacity"):
        for k, v in doc[section].items():
            if not isinstance(v, (int, float)) or isinstance(v, bool) or v < 0:
                raise SitingError(f"{path}: [{section}] {k} must be a number ≥ 0, got {v!r}")
    doc.setdefault("provenance", "estimated")
    doc["path"] = str(path)
    return doc


def fitout_cost(costs: dict[str, Any], ftype: str) -> float:
    """Fit-out cost of one facility of ``ftype`` at a (new or shared) site."""
    nb = costs["new_build"]
    return float(nb.get(ftype, nb.get("default", 0.0)))


def build_cost(costs: dict[str, Any], ftype: str) -> float:
    """Cost of a stand-alone new build: one site plus its fit-out."""
    return float(costs["new_build"].get("site", 0.0)) + fitout_cost(costs, ftype)


def upgrade_cost(costs: dict[str, Any], ftype: str) -> float:
    up = costs["upgrade"]
    return float(up.get(ftype, up.get("default", 0.0)))


# ---------------------------------------------------------------------- result
@dataclass
class ProposalSet:
    """Proposed actions for one or more targets.

    Attributes
    ----------
    actions : list of dict
        One dict per action with :data:`ACTION_COLUMNS` and ``edits`` (scenario edits).
    method : str
        How they were chosen (``presence_upgrade_or_central_village``, ``mclp``, …).
    status : str
        ``optimal``, ``time_limit`` (best found, see ``gap``), ``heuristic`` or ``no_gap``.
    objective, gap : float
        Objective of the model (people covered, sites, cost) and proven optimality gap.
    notes : list of str
        Facts a planner must know (unreachable demand, units without candidates, …).
    provenance : str
        Provenance of the inputs (facilities, population, network, costs).
    """

    actions: list[dict[str, Any]] = field(default_factory=list)
    method: str = ""
    status: str = "heuristic"
    objective: float = float("nan")
    gap: float = float("nan")
    notes: list[str] = field(default_factory=list)
    provenance: str = ""

    @property
    def total_cost(self) -> float:
        return float(sum(a.get("cost") or 0.0 for a in self.actions))

    def edits(self) -> list[dict[str, Any]]:
        """Every action's scenario edits, in action order."""
        return [dict(e) for a in self.actions for e in a["edits"]]

    def to_frame(self) -> pd.DataFrame:
        rows = []
        for a in self.actions:
            row = {c: a.get(c) for c in ACTION_COLUMNS}
            for c in ("target_ids", "units_fixed"):
                v = row[c]
                row[c] = ";".join(map(str, v)) if isinstance(v, (list, tuple)) else (v or "")
            rows.append(row)
        return pd.DataFrame(rows, columns=list(ACTION_COLUMNS))

    def extend(self, other: "ProposalSet") -> None:
        base = len(self.actions)
        for k, a in enumerate(other.actions, start=1):
            a = dict(a, action_id=f"P{base + k:03d}")
            self.actions.append(a)
        self.notes.extend(other.notes)
        if other.provenance and other.provenance not in self.provenance:
            self.provenance = "; ".join(p for p in (self.provenance, other.provenance) if p)

    def write_csv(self, path: str | Path) -> Path:
        """Write the actions (Chinese headers, UTF-8 with BOM) and return the path."""
        path = Path(path)
        frame = self.to_frame()
        # each row states what it rests on: its own record's provenance, then the inputs'
        frame["provenance"] = [";".join(dict.fromkeys(x for x in f"{a};{self.provenance}".split(";") if x))
                               for a in frame["provenance"].fillna("").astype(str)]
        frame["action"] = frame["action"].map(lambda v: label(f"action_{v}"))
        frame["facility_type"] = frame["facility_type"].map(
            lambda v: "、".join(label(x) for x in str(v).split(";")) if v else "")
        frame["tier"] = frame["tier"].map(lambda v: label(v) if isinstance(v, str) and v else "")
        headers = {c: label(c) for c in ACTION_COLUMNS}
        headers.update(action=label("proposal_kind"), facility_type=label("facility_type"),
                       method=label("solve_method"), target_ids=label("targets_fixed"),
                       capacity=label("capacity_added"))
        frame = frame.rename(columns=headers)
        frame[label("solver_status")] = self.status
        frame[label("optimality_gap")] = self.gap
        path.parent.mkdir(parents=True, exist_ok=True)
        frame.to_csv(path, index=False, encoding="utf-8-sig")
        return path


def input_provenance(ds, fac, costs: dict[str, Any]) -> str:
    """Provenance of what a proposal rests on: facilities, population, village points, costs."""
    def vals(frame, col: str) -> str:
        if frame is None or col not in frame.columns or len(frame) == 0:
            return "none"
        return "|".join(sorted(set(frame[col].astype(str))))

    return (f"facilities={vals(fac, 'provenance')};population={vals(ds.villages, 'pop_provenance')};"
            f"village_points={vals(ds.villages, 'provenance')};costs={costs.get('provenance')}")


def number_actions(actions: list[dict[str, Any]]) -> list[dict[str, Any]]:
    for k, a in enumerate(actions, start=1):
        a["action_id"] = f"P{k:03d}"
    return actions


# ---------------------------------------------------------------------- geometry helpers
def working_xy(gdf) -> np.ndarray:
    """Point coordinates in EPSG:4549 metres (n × 2)."""
    if len(gdf) == 0:
        return np.zeros((0, 2))
    g = gdf.geometry
    if g.crs is None or str(g.crs) != STORAGE_CRS and g.crs.to_epsg() != 4326:
        raise SitingError(f"points must be stored in {STORAGE_CRS}, got {g.crs}")
    p = g.to_crs(WORKING_CRS)
    return np.column_stack([p.x.to_numpy(), p.y.to_numpy()])


def _dist(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.sqrt(((a[:, None, :] - b[None, :, :]) ** 2).sum(axis=2))


def weighted_median_sites(xy: np.ndarray, weights: np.ndarray, k: int,
                          open_xy: np.ndarray | None = None) -> list[int]:
    """Greedy p-median: ``k`` sites among the points minimising Σ w · distance to nearest.

    With ``k = 1`` and nothing open this is the exact most central point,
    ``argmin_v Σ_u w_u d(u, v)``. Ties go to the lowest index. Coordinates in metres.
    """
    n = len(xy)
    if n == 0 or k <= 0:
        return []
    D = _dist(xy, xy)
    w = np.asarray(weights, dtype=float)
    current = np.full(n, np.inf)
    if open_xy is not None and len(open_xy):
        current = _dist(xy, open_xy).min(axis=1)
    chosen: list[int] = []
    for _ in range(min(k, n)):
        cost = (w[:, None] * np.minimum(current[:, None], D)).sum(axis=0)
        cost[chosen] = np.inf
        j = int(np.argmin(cost))
        chosen.append(j)
        current = np.minimum(current, D[:, j])
    return chosen


def children_served(home_xy: np.ndarray, home_village: list[str], village_xy: np.ndarray,
                    village_code: list[str], weights: np.ndarray) -> np.ndarray:
    """Population each home serves: its own village's, else the nearest home's villages.

    A village with one or more homes in it is served by the nearest of those; any other
    village by the nearest home overall (EPSG:4549 metres).
    """
    if len(home_xy) == 0:
        return np.zeros(0)
    D = _dist(village_xy, home_xy)
    served = np.zeros(len(home_xy))
    hv = np.asarray(home_village, dtype=object)
    for i, code in enumerate(village_code):
        own = np.flatnonzero(hv == code)
        cand = own if own.size else np.arange(len(home_xy))
        j = cand[np.argmin(D[i, cand])]
        served[j] += weights[i]
    return served


# ---------------------------------------------------------------------- unit helpers
def units_of(ds, level: str, code: str) -> Any:
    """Villages of a unit (a village is its own single village)."""
    v = ds.villages
    if level == "village":
        return v[v["code"].astype(str) == code]
    if level == "township":
        return v[v["township_code"].astype(str) == code]
    if level == "county":
        return v[v["county_code"].astype(str) == code]
    return v


def facilities_in(fac, level: str, code: str):
    col = {"village": "village_code", "township": "township_code", "county": "county_code"}.get(level)
    if col is None:
        return fac
    return fac[fac[col].astype(str) == code]


def selector(target) -> tuple[str, str | None, str | None]:
    f = getattr(target, "facility", None)
    if f is None:
        raise SitingError(f"target {getattr(target, 'id', '?')} names no facility type to site")
    if isinstance(f, dict):
        return f["type"], f.get("tier"), f.get("level")
    return f.type, f.tier, f.level


def matching(fac, ftype: str, tier: str | None, level: str | None):
    sel = fac[fac["type"] == ftype]
    if tier is not None:
        sel = sel[sel["tier"] == tier]
    if level is not None:
        sel = sel[sel["level"] == level]
    return sel


def failing_rows(units: pd.DataFrame, target_id: str) -> pd.DataFrame:
    u = units[(units["target_id"] == target_id) & (units["status"] == "not_met")]
    return u.sort_values(["unit_level", "unit_code"], kind="stable")


def _needed(row) -> int:
    s = pd.to_numeric(pd.Series([row.get("shortfall")]), errors="coerce").iloc[0]
    return max(1, int(np.ceil(s))) if pd.notna(s) and s > 0 else 1


def new_build_action(ds, target, ftype, tier, level, vrow, unit_level, unit_code, costs,
                     reason, weight_col) -> dict[str, Any]:
    code = str(vrow["code"])
    edit: dict[str, Any] = {"op": "add_facility", "type": ftype, "village": code}
    if tier is not None and ftype == "child_home":
        edit["tier"] = tier
    if level is not None:
        edit["level"] = level
    elif ftype == "fitness":
        edit["level"] = unit_level if unit_level != "city" else "city"
    if ftype in {"childcare", "kindergarten"}:
        edit["capacity"] = int(costs["capacity"].get("new_site_slots", 60))
    pt = vrow.geometry
    return {
        "action": "new_build", "facility_type": ftype, "tier": edit.get("tier"),
        "capacity": edit.get("capacity"), "facility_id": "",
        "county_code": str(vrow["county_code"]), "township_code": str(vrow["township_code"]),
        "village_code": code, "village_name": str(vrow.get("name", "")),
        "lon": float(pt.x), "lat": float(pt.y), "target_ids": [target.id],
        "units_fixed": [f"{unit_level}:{unit_code}"], "people_covered": None,
        "cost": build_cost(costs, ftype), "reason": reason, "method": "central_village",
        "provenance": f"villages={vrow.get('provenance', '')};population={vrow.get('pop_provenance', '')}",
        "edits": [edit],
    }


def upgrade_action(target, tier, frow, served, unit_level, unit_code, costs, reason) -> dict:
    pt = frow.geometry
    return {
        "action": "upgrade", "facility_type": frow["type"], "tier": tier, "capacity": None,
        "facility_id": str(frow["facility_id"]), "county_code": str(frow["county_code"]),
        "township_code": str(frow["township_code"]), "village_code": str(frow.get("village_code") or ""),
        "village_name": "", "lon": float(pt.x), "lat": float(pt.y), "target_ids": [target.id],
        "units_fixed": [f"{unit_level}:{unit_code}"], "people_covered": float(served),
        "cost": upgrade_cost(costs, frow["type"]), "reason": reason,
        "method": "upgrade_most_children_served",
        "provenance": f"facilities={frow.get('provenance', '')}",
        "edits": [{"op": "upgrade_facility", "facility_id": str(frow["facility_id"]), "tier": tier}],
    }


# ---------------------------------------------------------------------- presence
class PlaceIndex:
    """Villages and facilities of one year with EPSG:4549 coordinates, looked up by unit.

    Built once per proposal run, so a target with hundreds of failing units does not
    re-project or re-scan the layers for each of them.
    """

    _COLS = {"village": "village_code", "township": "township_code", "county": "county_code"}

    def __init__(self, ds, fac) -> None:
        self.v = ds.villages.reset_index(drop=True)
        self.vxy = working_xy(self.v)
        self.f = fac.reset_index(drop=True)
        self.fxy = working_xy(self.f) if len(self.f) else np.zeros((0, 2))
        self._v = {lv: self.v[c if lv != "village" else "code"].astype(str).to_numpy()
                   for lv, c in self._COLS.items()}
        self._f = {lv: self.f[c].fillna("").astype(str).to_numpy() for lv, c in self._COLS.items()}

    def villages(self, level: str, code: str) -> np.ndarray:
        """Row positions of the villages in a unit (all for the city)."""
        if level == "city":
            return np.arange(len(self.v))
        return np.flatnonzero(self._v[level] == code)

    def facilities(self, level: str, code: str) -> np.ndarray:
        if level == "city":
            return np.arange(len(self.f))
        return np.flatnonzero(self._f[level] == code)


def _seat_row(ds, code: str):
    """A township seat as a village-like row (for a unit without any village point)."""
    t = ds.townships[ds.townships["code"].astype(str) == code]
    if t.empty or pd.isna(t.iloc[0].get("seat_lon")) or pd.isna(t.iloc[0].get("seat_lat")):
        return None
    r = t.iloc[0]
    from shapely.geometry import Point

    return pd.Series({"code": "", "name": f"{r['name']}驻地", "county_code": str(r["county_code"]),
                      "township_code": code, "geometry": Point(float(r["seat_lon"]), float(r["seat_lat"])),
                      "provenance": r.get("seat_provenance", ""), "pop_provenance": ""})


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
        Evaluation rows; computed with :func:`coverage.evaluate.evaluate` when omitted
        (access targets do not need them).
    p, share, method, candidates, network
        Access targets only: MCLP with ``p`` sites or LSCP reaching ``share`` (default
        the target's threshold); ``method = "greedy"`` for the fast heuristic; a loaded
        :class:`coverage.network.WalkNetwork` (default: the dataset's network file).

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
        from coverage.proposals_access import propose_access

        return propose_access(ds, target, p=p, share=share, year=year, time_limit_s=time_limit_s,
                              progress=progress, costs=costs, method=method, candidates=candidates,
                              network=network)
    if p is not None or share is not None:
        raise SitingError(f"--p/--share apply to access targets; {target.id} is a {target.kind} target")
    if units is None:
        from coverage.evaluate import evaluate

        units = evaluate(ds, [target], year=year).units
    if target.kind == "presence":
        return propose_presence(ds, target, units, year, costs)
    if target.kind == "capacity_ratio":
        from coverage.proposals_access import propose_capacity

        return propose_capacity(ds, target, units, year, costs)
    from coverage.proposals_share import propose_facility_share, propose_unit_share

    if target.kind == "unit_share":
        return propose_unit_share(ds, target, units, year, costs)
    return propose_facility_share(ds, target, units, year, costs)


def __getattr__(name: str) -> Any:
    # the share proposals moved to coverage.proposals_share; keep the old import path working
    if name in {"propose_facility_share", "propose_unit_share"}:
        from coverage import proposals_share

        return getattr(proposals_share, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

