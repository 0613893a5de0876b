"""Apply a scenario's edits to a *copy* of a dataset and of the plan targets.

:func:`apply_scenario` never touches the base :class:`~layers.dataset.Dataset` (the
loader caches datasets, so the base is shared): it edits ``ds.copy()``. Edits run in
order, so a later edit may refer to a facility added by an earlier one (by its explicit
``facility_id`` or the generated one, see :func:`new_facility_id`). Every reference is
checked (facility ids in the scenario year's inventory, villages, counties, target ids,
facility types that have a tier or a capacity); all problems are collected and raised
together as one :class:`ScenarioError` naming the file and each edit.

Records an edit adds or changes get ``provenance = "synthetic"`` (they are hypothetical)
and the scenario's name in a ``scenario`` column; population scaled for a projection
gets ``pop_provenance = "estimated"`` and a ``pop_projection_year``.
"""

from __future__ import annotations

import hashlib
from typing import Any, Sequence

import geopandas as gpd
import numpy as np
import pandas as pd
from shapely.geometry import Point

from layers.dataset import POPULATION_COLUMNS, Dataset
from layers.glossary import label
from layers.settings import LISHUI_BBOX, STORAGE_CRS
from scenarios._errors import ScenarioError
from scenarios.model import Edit, Scenario

#: facility types whose ``capacity`` (托位 / 学位) an edit may set
CAPACITY_TYPES: frozenset[str] = frozenset({"childcare", "kindergarten"})

#: provenance of every record a scenario adds or changes (it is hypothetical)
SCENARIO_PROVENANCE: str = "synthetic"


def new_facility_id(scenario_name: str, index: int) -> str:
    """Deterministic id of the facility added by edit ``index`` (0-based) of a scenario.

    ``S<8 hex of sha1(name)>-<edit number>``, e.g. ``S1a2b3c4d-003``: the same scenario
    always produces the same ids, and two scenarios do not collide in practice.
    """
    digest = hashlib.sha1(scenario_name.encode("utf-8")).hexdigest()[:8]
    return f"S{digest}-{index + 1:03d}"


def apportion(total: int, weights: Sequence[float]) -> np.ndarray:
    """Split the integer ``total`` in proportion to ``weights`` (largest remainder).

    The parts are non-negative integers summing exactly to ``total``; with all weights
    zero the total is split evenly. Ties go to the earlier position (deterministic).
    """
    w = np.asarray(weights, dtype=float)
    n = len(w)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    if w.sum() <= 0:
        w = np.ones(n)
    exact = total * w / w.sum()
    base = np.floor(exact).astype(np.int64)
    rest = int(total - base.sum())
    order = np.lexsort((np.arange(n), -(exact - base)))
    base[order[:rest]] += 1
    return base


class _Editor:
    """Runs the edits of one scenario on a dataset copy, collecting problems."""

    def __init__(self, scenario: Scenario, ds: Dataset, targets: Sequence[Any] | None):
        self.sc = scenario
        self.ds = ds.copy()
        self.targets = list(targets) if targets is not None else []
        self.problems: list[str] = []
        self.year = scenario.year if scenario.year is not None else ds.latest_year
        fac = self.ds.facilities
        if not fac.index.is_unique:  # row references below need one row per label
            fac = self.ds.facilities = fac.reset_index(drop=True)
        if "scenario" not in fac.columns:
            fac["scenario"] = ""
        self.fac = fac
        self.year_index = {
            str(fid): idx for idx, fid in fac.loc[fac["year"] == self.year, "facility_id"].items()
        }
        self.all_ids = set(fac["facility_id"].astype(str))
        self.closed: dict[str, int] = {}  # facility id → edit number that closed it
        self.added: dict[str, dict[str, Any]] = {}  # new facility rows, by id
        self.villages = self.ds.villages.set_index(self.ds.villages["code"].astype(str))
        self.county_codes = set(self.ds.counties["code"].astype(str))

    # ------------------------------------------------------------------ helpers
    def fail(self, i: int, edit: Edit, msg: str) -> None:
        self.problems.append(f"{edit.describe(i)}: {msg}")

    def lookup(self, i: int, edit: Edit, fid: str) -> dict[str, Any] | int | None:
        """The added row (dict) or the frame index of facility ``fid``; None (reported)."""
        if fid in self.closed:
            self.fail(i, edit, f"facility {fid!r} was closed by edit #{self.closed[fid]}")
            return None
        if fid in self.added:
            return self.added[fid]
        if fid in self.year_index:
            return self.year_index[fid]
        self.fail(i, edit, f"unknown facility_id {fid!r} in the {self.year} inventory")
        return None

    def get(self, ref: dict[str, Any] | int, col: str) -> Any:
        return ref.get(col) if isinstance(ref, dict) else self.fac.at[ref, col]

    def set(self, ref: dict[str, Any] | int, col: str, value: Any) -> None:
        if isinstance(ref, dict):
            ref[col] = value
            return
        self.fac.at[ref, col] = value
        self.fac.at[ref, "provenance"] = SCENARIO_PROVENANCE
        self.fac.at[ref, "scenario"] = self.sc.name

    # ------------------------------------------------------------------ ops
    def add_facility(self, i: int, edit: Edit) -> None:
        ftype = edit.get("type")
        fid = edit.get("facility_id") or new_facility_id(self.sc.name, i)
        if fid in self.all_ids or fid in self.added:
            self.fail(i, edit, f"facility_id {fid!r} already exists")
            return
        village = edit.get("village")
        vrow = None
        if village is not None:
            if village not in self.villages.index:
                self.fail(i, edit, f"unknown village {village!r}")
                return
            vrow = self.villages.loc[village]
        if edit.get("lon") is not None:
            from layers.crs import to_wgs84

            lon, lat = to_wgs84(edit.get("lon"), edit.get("lat"), edit.get("crs", "wgs84"))
            x0, y0, x1, y1 = LISHUI_BBOX
            if not (x0 <= lon <= x1 and y0 <= lat <= y1):
                self.fail(i, edit, f"point ({lon:.6f}, {lat:.6f}) lies outside Lishui")
                return
            point = Point(float(lon), float(lat))
            precision = "exact"
            if vrow is not None:
                township, county = str(vrow["township_code"]), str(vrow["county_code"])
                far = self._far_from_village(point, vrow, township)
                if far:
                    self.fail(i, edit, far)
                    return
            else:
                hits = self.ds.townships[self.ds.townships.contains(point)]
                if hits.empty:
                    self.fail(i, edit, f"point ({lon:.6f}, {lat:.6f}) is in no township")
                    return
                township = str(hits.iloc[0]["code"])
                county = str(hits.iloc[0]["county_code"])
        else:
            point = vrow.geometry
            precision = "village"
            township, county = str(vrow["township_code"]), str(vrow["county_code"])
        serves = edit.get("serves_place_id")
        if serves is not None:
            ref = self.lookup(i, edit, serves)
            if ref is None:
                return
            if self.get(ref, "type") != "public_place":
                self.fail(i, edit, f"serves_place_id {serves!r} is not a public_place")
                return
        level = edit.get("level")
        if level is None and ftype == "fitness":
            level = "village" if village is not None else "township"
        row = {
            "facility_id": fid,
            "year": self.year,
            "type": ftype,
            "name": edit.get("name") or f"{label(ftype)}（情景新增 {i + 1}）",
            "tier": edit.get("tier", "basic") if ftype == "child_home" else None,
            "level": level,
            "capacity": edit.get("capacity"),
            "is_inclusive": edit.get("is_inclusive", False) if ftype == "childcare" else None,
            "has_reading_area": edit.get("has_reading_area", False)
            if ftype == "community_library"
            else None,
            "place_kind": edit.get("place_kind"),
            "building_area_m2": edit.get("building_area_m2"),
            "daily_visitors": edit.get("daily_visitors"),
            "serves_place_id": serves,
            "county_code": county,
            "township_code": township,
            "village_code": village or "",
            "address": edit.get("address", ""),
            "location_precision": precision,
            "provenance": SCENARIO_PROVENANCE,
            "scenario": self.sc.name,
            "geometry": point,
        }
        self.added[fid] = row

    def _far_from_village(self, point: Point, vrow: Any, township: str) -> str | None:
        """Why a point cannot be the stated village's (outside its township), else None (#14)."""
        from layers._validate import POINT_TOLERANCE_M
        from layers.settings import WORKING_CRS

        twp = self.ds.townships[self.ds.townships["code"].astype(str) == township]
        if twp.empty:
            return None
        pts = gpd.GeoSeries([point, vrow.geometry], crs=STORAGE_CRS).to_crs(WORKING_CRS)
        d_twp = float(twp.to_crs(WORKING_CRS).distance(pts.iloc[0]).min())
        if d_twp <= POINT_TOLERANCE_M:
            return None
        d_vil = float(pts.iloc[0].distance(pts.iloc[1]))
        return (f"point ({point.x:.6f}, {point.y:.6f}) lies {d_vil / 1000:,.1f} km from its stated village "
                f"{vrow['name']} ({vrow.name}) and outside that village's township ({d_twp / 1000:,.1f} km): "
                "fix the point or the village")

    def close_facility(self, i: int, edit: Edit) -> None:
        fid = edit.get("facility_id")
        ref = self.lookup(i, edit, fid)
        if ref is None:
            return
        if isinstance(ref, dict):
            del self.added[fid]
        self.closed[fid] = i + 1

    def upgrade_facility(self, i: int, edit: Edit) -> None:
        fid = edit.get("facility_id")
        tier = edit.get("tier", "demonstration")
        ref = self.lookup(i, edit, fid)
        if ref is None:
            return
        ftype = self.get(ref, "type")
        if ftype != "child_home":
            self.fail(i, edit, f"facility {fid!r} is a {ftype}, only a child_home has a tier")
            return
        if self.get(ref, "tier") == tier:
            self.fail(i, edit, f"facility {fid!r} is already {tier}")
            return
        self.set(ref, "tier", tier)

    def set_capacity(self, i: int, edit: Edit) -> None:
        fid = edit.get("facility_id")
        ref = self.lookup(i, edit, fid)
        if ref is None:
            return
        ftype = self.get(ref, "type")
        if ftype not in CAPACITY_TYPES:
            self.fail(i, edit, f"facility {fid!r} is a {ftype}, which has no capacity")
            return
        self.set(ref, "capacity", int(edit.get("capacity")))

    def scale_population(self, i: int, edit: Edit) -> None:
        county = edit.get("county")
        if county not in self.county_codes:
            self.fail(i, edit, f"unknown county {county!r}")
            return
        factor = float(edit.get("factor"))
        proj = edit.get("projection_year")
        cty, tws, vil = self.ds.counties, self.ds.townships, self.ds.villages
        c_mask = (cty["code"].astype(str) == county).to_numpy()
        t_pos = np.flatnonzero((tws["county_code"].astype(str) == county).to_numpy())
        t_codes = tws["code"].astype(str).to_numpy()[t_pos]
        v_town = vil["township_code"].astype(str).to_numpy()
        v_groups = {t: np.flatnonzero(v_town == t) for t in t_codes}
        for col in POPULATION_COLUMNS:
            if col not in cty.columns:
                continue
            c_old = int(pd.to_numeric(cty.loc[c_mask, col]).sum())
            c_new = int(round(c_old * factor))
            cty.loc[c_mask, col] = c_new
            if col not in tws.columns:
                continue
            t_vals = pd.to_numeric(tws[col], errors="coerce").fillna(0).to_numpy(float)
            t_old = t_vals[t_pos]
            t_total = c_new if int(t_old.sum()) == c_old else int(round(t_old.sum() * factor))
            t_new = apportion(t_total, t_old)
            t_vals[t_pos] = t_new
            tws[col] = t_vals.astype(np.int64)
            if col not in vil.columns:
                continue
            v_vals = pd.to_numeric(vil[col], errors="coerce").fillna(0).to_numpy(float)
            for t_code, old_t, new_t in zip(t_codes, t_old, t_new):
                pos = v_groups[t_code]
                if not len(pos):
                    continue
                v_old = v_vals[pos]
                v_total = int(new_t) if int(v_old.sum()) == int(old_t) else int(round(v_old.sum() * factor))
                v_vals[pos] = apportion(v_total, v_old)
            vil[col] = v_vals.astype(np.int64)
        t_mask = tws["county_code"].astype(str) == county
        v_mask_all = vil["county_code"].astype(str) == county
        for frame, mask in ((cty, cty["code"].astype(str) == county), (tws, t_mask), (vil, v_mask_all)):
            if "pop_provenance" in frame.columns:
                frame.loc[mask, "pop_provenance"] = "estimated"
            if proj is not None:
                if "pop_projection_year" not in frame.columns:
                    frame["pop_projection_year"] = pd.array([pd.NA] * len(frame), dtype="Int64")
                frame.loc[mask, "pop_projection_year"] = int(proj)
            if "scenario" not in frame.columns:
                frame["scenario"] = ""
            frame.loc[mask, "scenario"] = self.sc.name

    def override_target(self, i: int, edit: Edit) -> None:
        tid = edit.get("target")
        pos = [k for k, t in enumerate(self.targets) if getattr(t, "id", None) == tid]
        if not pos:
            self.fail(i, edit, f"unknown target {tid!r}")
            return
        kwargs = {k: edit.get(k) for k in ("threshold", "band") if edit.get(k) is not None}
        try:
            self.targets[pos[0]] = self.targets[pos[0]].with_overrides(**kwargs)
        except (TypeError, ValueError) as exc:
            self.fail(i, edit, f"target {tid!r} does not accept {kwargs}: {exc}")

    # ------------------------------------------------------------------ run
    def run(self) -> tuple[Dataset, list[Any]]:
        if self.year not in self.ds.years:
            raise self.sc.error(
                f"year {self.year} is not an inventory year of the dataset ({self.ds.years})"
            )
        for i, edit in enumerate(self.sc.edits):
            getattr(self, edit.op)(i, edit)
        if self.problems:
            raise ScenarioError(
                f"{self.sc.source}: {len(self.problems)} bad edit(s) in scenario "
                f"{self.sc.name!r}:\n" + "\n".join(self.problems)
            )
        fac = self.fac
        drop = [self.year_index[f] for f in self.closed if f in self.year_index]
        fac = fac.drop(index=drop)
        if self.added:
            new = gpd.GeoDataFrame(list(self.added.values()), geometry="geometry", crs=STORAGE_CRS)
            for col in fac.columns:
                if col not in new.columns:
                    new[col] = None
            new = new[list(fac.columns)]
            fac = pd.concat([fac, new.astype({"year": fac["year"].dtype})], ignore_index=True)
            fac = gpd.GeoDataFrame(fac, geometry="geometry", crs=STORAGE_CRS)
        self.ds.facilities = fac.reset_index(drop=True)
        self.ds.revision += 1
        return self.ds, self.targets


def apply_scenario(
    scenario: Scenario, ds: Dataset, targets: Sequence[Any] | None = None
) -> tuple[Dataset, list[Any]]:
    """Apply ``scenario`` to copies of ``ds`` and ``targets``.

    Parameters
    ----------
    scenario : Scenario
    ds : Dataset
        The base dataset; it is not modified.
    targets : sequence of PlanTarget, optional
        The base targets; ``override_target`` edits replace entries of a copy of the list.

    Returns
    -------
    (Dataset, list)
        The edited dataset copy (facilities of the scenario year changed; the year is
        ``scenario.year`` or the dataset's latest) and the edited list of targets.

    Raises
    ------
    ScenarioError
        Every bad edit, listed together, naming the scenario file and each edit.
    """
    return _Editor(scenario, ds, targets).run()
