"""Shared pieces of the proposal modules: the result type, costs, geometry and unit helpers.

Everything here is re-exported by :mod:`coverage.siting.proposals`; import it from there.
Distances are computed in EPSG:4549 metres (``layers.settings.WORKING_CRS``) from points
stored in EPSG:4326.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from coverage._errors import SitingError
from layers.safecells import safe_frame
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
        safe_frame(frame).to_csv(path, index=False, encoding="utf-8-sig")  # names are user data
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
