"""Proposal actions: one new build or one upgrade as an action row, and a place index.

Shared by every proposer in :mod:`coverage.siting` (presence, share, access, joint);
imports only :mod:`coverage.siting.proposals_common`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from coverage.siting.proposals_common import (
    build_cost,
    upgrade_cost,
    working_xy,
)


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
