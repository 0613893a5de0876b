"""The app's service layer: cached pure functions keyed by ids, calling ``coverage/``.

Callbacks never hold data: they pass ids and parameters (target id, year, the edit list
of a scenario) to one function of this module, which returns plain values. Every cache
here is keyed by ``(dataset identity, year, edits hash, target id, …)``: a pure function
of those, so two browser sessions with different scenarios share nothing but results
that are equal for both.

The base dataset is loaded once (:func:`layers.load.load_dataset` caches it too) and is
never modified: scenarios are applied to a copy by :func:`scenarios.apply_scenario`.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import geopandas as gpd
import pandas as pd

from dashapp import maps
from dashapp.cache import LRU
from dashapp.state import DEFAULT_TARGET, edits_key
from layers._errors import CovplanError

#: scenario name used when the planner has not named the scenario yet
UNNAMED_SCENARIO: str = "未命名情景"
#: simplification tolerance of the merged service areas drawn on the map, metres (EPSG:4549);
#: tests/test_geopack.py checks the drawing stays within it of the computed areas
AREA_TOLERANCE_M: float = 20.0
#: bound on the distance between the drawn and the computed service area (either way), metres:
#: Douglas–Peucker bounds the removed vertices, the merged region drifts a little more (≈ 26 m)
AREA_DRAWN_WITHIN_M: float = 1.5 * AREA_TOLERANCE_M


Edits = Sequence[dict[str, Any]]


@dataclass
class AppService:
    """Holds the configuration (dataset folder, targets folder) and the caches.

    Parameters
    ----------
    data_dir : Path, optional
        Dataset folder; None → the embedded Lishui dataset.
    targets_dir : Path, optional
        Plan-target folder; None → the embedded targets.
    """

    data_dir: Path | None = None
    targets_dir: Path | None = None

    def __post_init__(self) -> None:
        self._scenarios = LRU(16)
        self._evals = LRU(48)
        self._static = LRU(32)

    # ------------------------------------------------------------------ base data
    @property
    def ds(self):
        """The base dataset (shared, never modified)."""
        from store.active import load_inventory

        return load_inventory(self.data_dir)

    @property
    def targets(self) -> list[Any]:
        from coverage.targets import load_targets

        return self._static.get_or_compute(
            ("targets", str(self.targets_dir)), lambda: list(load_targets(self.targets_dir))
        )

    def target(self, target_id: str | None, targets: Sequence[Any] | None = None) -> Any:
        """The target with ``target_id`` (the first target when None)."""
        pool = list(targets if targets is not None else self.targets)
        if not pool:
            raise CovplanError("no plan targets are defined")
        if target_id is None:
            return pool[0]
        for t in pool:
            if t.id == target_id:
                return t
        raise CovplanError(f"unknown target id {target_id!r}")

    def year(self, year: int | None) -> int:
        """``year`` if it is an inventory year, else the latest one."""
        years = self.ds.years
        if year is not None and int(year) in years:
            return int(year)
        if not years:
            raise CovplanError("the dataset has no facility inventory year")
        return years[-1]

    def _ds_key(self) -> tuple:
        ds = self.ds
        return (id(ds), ds.revision)

    # ------------------------------------------------------------------ scenarios
    def scenario_data(self, edits: Edits, year: int | None) -> tuple[Any, list[Any]]:
        """``(dataset, targets)`` with the edits applied (the base ones when no edit)."""
        year = self.year(year)
        if not edits:
            return self.ds, self.targets
        key = (self._ds_key(), year, edits_key(list(edits)))

        def compute() -> tuple[Any, list[Any]]:
            from scenarios import Scenario, apply_scenario

            sc = Scenario.from_edits(UNNAMED_SCENARIO, list(edits), year=year, source="<app>")
            return apply_scenario(sc, self.ds, self.targets)

        return self._scenarios.get_or_compute(key, compute)

    # ------------------------------------------------------------------ evaluation
    def evaluation(self, year: int | None, edits: Edits = (), target_id: str | None = None) -> Any:
        """Evaluation result of one target (``target_id``) or of all (None), base or scenario.

        A single target is cut from the full evaluation when that one is cached already,
        else evaluated alone (what a map click needs: fast).
        """
        from coverage.targets import evaluate

        year = self.year(year)
        ekey = edits_key(list(edits))
        full_key = (self._ds_key(), year, ekey, None)
        if target_id is not None:
            with self._evals._lock:
                full = self._evals._data.get(full_key)
            if full is not None:
                return _subset(full, target_id)

        def compute() -> Any:
            ds, targets = self.scenario_data(edits, year)
            if not edits:
                return evaluate(ds, targets if target_id is None else [self.target(target_id, targets)], year)
            affected = self.affected_targets(edits, year, targets)
            if target_id is None:
                return self._evaluate_scenario(ds, targets, year, affected)
            tg = self.target(target_id, targets)
            if tg.id not in affected:
                return self.evaluation(year, (), tg.id)  # the edits cannot change its rows
            if any(e.get("op") == "scale_population" for e in edits):
                return evaluate(ds, [tg], year)
            return self._evaluate_one_on_base_units(ds, tg, year)

        return self._evals.get_or_compute((self._ds_key(), year, ekey, target_id), compute)

    def affected_targets(self, edits: Edits, year: int, targets: Sequence[Any]) -> set[str]:
        """Ids of the targets whose rows a list of edits can change.

        A facility edit changes the targets that count facilities of its type (a
        母婴室 or 公共场所 edit both, as the mother-baby-room rule reads the pair); a
        threshold override changes its target; a population change, or a facility whose
        type cannot be told, changes every target. Targets that count no facility
        (indicators) are unchanged by facility edits.
        """
        all_ids = {tg.id for tg in targets}
        base_types = self._facility_types(year)
        added = {str(e.get("facility_id")): str(e.get("type")) for e in edits
                 if e.get("op") == "add_facility" and e.get("facility_id")}
        types: set[str] = set()
        ids: set[str] = set()
        for e in edits:
            op = e.get("op")
            if op == "add_facility":
                types.add(str(e.get("type")))
            elif op in ("close_facility", "upgrade_facility", "set_capacity"):
                fid = str(e.get("facility_id"))
                ftype = added.get(fid) or base_types.get(fid)
                if ftype is None:
                    return all_ids
                types.add(ftype)
            elif op == "override_target":
                ids.add(str(e.get("target")))
            else:  # scale_population and anything new: everything may change
                return all_ids
        paired = {"public_place", "mother_baby_room"}
        if types & paired:
            types |= paired
        for tg in targets:
            sel = getattr(tg, "facility", None)
            if sel is None:
                if tg.kind not in ("indicator",):
                    ids.add(tg.id)  # a kind that may read facilities without a selector
                continue
            if sel.type in types or (sel.type in paired and types & paired):
                ids.add(tg.id)
        return ids

    def _facility_types(self, year: int) -> dict[str, str]:
        key = ("facility_types", self._ds_key(), year)

        def compute() -> dict[str, str]:
            fac = self.ds.facilities_for(year)
            return dict(zip(fac["facility_id"].astype(str), fac["type"].astype(str)))

        return self._static.get_or_compute(key, compute)

    def _evaluate_scenario(self, ds: Any, targets: Sequence[Any], year: int, affected: set[str]) -> Any:
        """Every target under a scenario: the affected ones evaluated on the scenario data,
        the others taken from the (cached) base evaluation, in the order of ``targets``.
        Equal to ``evaluate(ds, targets, year)`` (tested), at the cost of the affected ones.
        """
        from coverage.targets import EvaluationResult, evaluate

        base = self.evaluation(year, (), None)
        changed = [tg for tg in targets if tg.id in affected]
        new = evaluate(ds, changed, year) if changed else None
        frames = {tid: grp for tid, grp in base.units.groupby("target_id", sort=False)}
        errors = {k: v for k, v in base.errors.items() if k[0] not in affected}
        if new is not None:
            frames.update({tid: grp for tid, grp in new.units.groupby("target_id", sort=False)})
            errors.update(new.errors)
        parts = [frames[tg.id] for tg in targets if tg.id in frames]
        units = pd.concat(parts, ignore_index=True) if parts else base.units.iloc[0:0]
        return EvaluationResult(units=units, targets=list(targets), years=[int(year)], errors=errors)

    def _evaluate_one_on_base_units(self, ds: Any, tg: Any, year: int) -> Any:
        """:func:`coverage.targets.engine.evaluate` of one target on a scenario dataset whose units
        are those of the base (the edits change facilities or thresholds only).

        Same rows as ``evaluate(ds, [tg], year)``: the context is built from the public
        pieces (``EvalContext``, ``year_index``, ``unit_tables``) with the base dataset's
        cached unit tables, so a click rebuilds only the facility index of its year.
        """
        from coverage.targets import EvalContext, EvaluationResult, evaluate_target, no_data_rows
        from coverage._errors import EvaluationError
        from coverage.targets import unit_tables, year_index

        ctx = EvalContext(dataset=ds, year=int(year), index=year_index(ds, int(year)),
                          units=unit_tables(self.ds))
        errors: dict[tuple[str, int], str] = {}
        try:
            rows = evaluate_target(tg, ctx)
        except EvaluationError as exc:
            errors[(tg.id, int(year))] = str(exc)
            rows = no_data_rows(tg, ctx, str(exc))
        return EvaluationResult(units=rows.reset_index(drop=True), targets=[tg], years=[int(year)], errors=errors)

    def facility_features(self, year: int, lang: str) -> dict[str, dict[str, Any]]:
        """Facility id → GeoJSON feature of the base inventory of ``year`` (cached)."""
        key = ("facility_features", self._ds_key(), year, lang)

        def compute() -> dict[str, dict[str, Any]]:
            fc = maps.facility_geojson(self.ds.facilities_for(year), lang)
            return {f["properties"]["facility_id"]: f for f in fc["features"]}

        return self._static.get_or_compute(key, compute)

    def township_table(self) -> pd.DataFrame:
        """Townships as text columns ``name``, ``county_code``, ``county_name``, indexed by code.

        Scenarios never change townships, so the base table serves every scenario.
        """
        key = ("township_table", self._ds_key())

        def compute() -> pd.DataFrame:
            tw = self.ds.townships
            cols = [c for c in ("name", "county_code", "county_name") if c in tw.columns]
            out = pd.DataFrame({c: tw[c].astype(str).to_numpy() for c in cols},
                               index=pd.Index(tw["code"].astype(str).to_numpy(), name="code"))
            return out

        return self._static.get_or_compute(key, compute)

    def unit_bounds(self, level: str) -> dict[str, list[list[float]]]:
        """Unit code → Leaflet bounds ``[[south, west], [north, east]]`` (degrees), per level."""
        key = ("bounds", self._ds_key(), level)

        def compute() -> dict[str, list[list[float]]]:
            from layers.settings import CITY_CODE

            ds = self.ds
            gdf = {"county": ds.counties, "village": ds.villages}.get(level, ds.townships)
            b = gdf.geometry.bounds
            out = {str(c): [[float(s), float(w)], [float(n), float(e)]]
                   for c, w, s, e, n in zip(gdf["code"], b["minx"], b["miny"], b["maxx"], b["maxy"])}
            minx, miny, maxx, maxy = ds.counties.total_bounds
            out[CITY_CODE] = [[float(miny), float(minx)], [float(maxy), float(maxx)]]
            return out

        return self._static.get_or_compute(key, compute)

    # ------------------------------------------------------------------ access targets
    def service_areas(self, target_id: str, year: int, edits: Edits = ()) -> gpd.GeoDataFrame:
        """Service-area polygons (EPSG:4326) of the facilities an access target counts.

        Areas of base facilities are computed once per (year, target); a scenario only
        adds the areas of the facilities it adds and drops those it closes.
        """
        from coverage.access import service_areas

        ds, targets = self.scenario_data(edits, year)
        tg = self.target(target_id, targets)
        spec = tg.access
        net = self._network()

        def areas_of(fac: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
            if fac.empty:
                return gpd.GeoDataFrame({"facility_id": []}, geometry=[], crs="EPSG:4326")
            out = service_areas(fac, network=net, distance_m=float(spec.distance_m))
            out["name"] = fac["name"].astype(str).to_numpy()
            return out[out.geometry.notna()]

        def selected(d: Any) -> gpd.GeoDataFrame:
            fac = d.facilities_for(year)
            sel = tg.facility
            mask = fac["type"] == sel.type
            if sel.tier:
                mask &= fac["tier"] == sel.tier
            if sel.level and sel.level != "same":
                mask &= fac["level"] == sel.level
            return fac[mask]

        base = self._static.get_or_compute(
            ("areas", self._ds_key(), year, target_id), lambda: areas_of(selected(self.ds))
        )
        if not edits:
            return base
        now = selected(ds)
        ids = set(now["facility_id"].astype(str))
        kept = base[base["facility_id"].astype(str).isin(ids)]
        new = now[~now["facility_id"].astype(str).isin(set(base["facility_id"].astype(str)))]
        if new.empty:
            return kept
        return pd.concat([kept, areas_of(new)], ignore_index=True)

    def _network(self) -> Any:
        path = self.ds.network_path
        if path is None:
            return None
        from coverage.access import load_network

        return load_network(path)

    def service_area_geojson(self, target_id: str, year: int, edits: Edits = ()) -> dict[str, Any]:
        """Service areas of an access target as display GeoJSON (EPSG:4326).

        The areas of the base facilities still open are merged into one feature
        (overlaps dissolved in EPSG:4549, simplified by 20 m) and cached; a scenario adds
        one feature per facility it adds, so a click never re-merges the base areas
        unless it closes one of them.
        """
        from dashapp.labels import t

        areas = self.service_areas(target_id, year, edits)
        base_ids = set(self.service_areas(target_id, year, ()).get("facility_id", pd.Series(dtype=str)).astype(str))
        ids = areas["facility_id"].astype(str) if len(areas) else pd.Series(dtype=str)
        from_base = ids.isin(base_ids)
        closed = base_ids - set(ids)
        tg = self.target(target_id)
        text = f"{t('layer_service_areas', 'zh')}（{int(tg.access.distance_m)} m）"

        def merged(frame: gpd.GeoDataFrame) -> dict[str, Any]:
            if frame.empty:
                return maps.feature_collection([])
            geom = frame.geometry.to_crs(maps.WORKING_CRS).union_all().simplify(AREA_TOLERANCE_M, preserve_topology=True)
            one = gpd.GeoDataFrame({"label": [text]}, geometry=[geom], crs=maps.WORKING_CRS).to_crs("EPSG:4326")
            return maps.polygon_geojson(one, ["label"], tolerance_m=0.0)

        if closed:
            base_gj = merged(areas[from_base.to_numpy()])
        else:
            base_gj = self._static.get_or_compute(
                ("areas_gj", self._ds_key(), year, target_id),
                lambda: merged(self.service_areas(target_id, year, ())),
            )
        extra = areas[~from_base.to_numpy()] if len(areas) else areas
        extra_gj = maps.polygon_geojson(extra, ["name"], tolerance_m=15.0) if len(extra) else maps.feature_collection([])
        return maps.feature_collection(base_gj["features"] + extra_gj["features"])

    def access_layers(self, target_id: str, year: int, edits: Edits, basemap: str,
                      lang: str) -> tuple[dict[str, Any], dict[str, Any]]:
        """``(service areas, uncovered people)`` GeoJSON of an access target for the map.

        Uncovered people are read from the evaluation rows (shortfall in ``people`` of
        each village/community row), drawn at the village points.
        """
        from dashapp.labels import t

        areas_gj = self.service_area_geojson(target_id, year, edits)
        result = self.evaluation(year, edits, target_id)
        rows = result.units[(result.units["unit_level"] == "village") & (result.units["status"] == "not_met")]
        ds, _ = self.scenario_data(edits, year)
        vil = ds.villages[["code", "name", "geometry"]]
        pts = vil.merge(
            rows[["unit_code", "shortfall"]].astype({"unit_code": str}),
            left_on="code", right_on="unit_code",
        )
        pts = gpd.GeoDataFrame(pts, geometry="geometry", crs=ds.villages.crs)
        pts["label"] = [f"{n} · {t('layer_uncovered', lang)} {int(round(v))} {t('people', lang)}"
                        for n, v in zip(pts["name"], pts["shortfall"].fillna(0))]
        unc = maps.point_geojson(pts, ["label"], value_col="shortfall")
        return maps.for_basemap(areas_gj, basemap), maps.for_basemap(unc, basemap)

    def trend(self) -> Any:
        """:func:`coverage.targets.trends.trend` of every target on the base data (cached)."""
        from coverage.targets import trend

        return self._static.get_or_compute(("trend", self._ds_key()), lambda: trend(self.ds, self.targets))

    def warm(self) -> None:
        """Fill the caches a planner hits first: display geometry, the default target,
        every target of the latest year, the access layers, the trend; then every target
        and the access layers of the other inventory years (the year switch).

        Run in a background thread at start-up; errors surface later in the callbacks.
        """
        try:
            self.township_display("none")
            self.county_display("none")
            if any(tg.id == DEFAULT_TARGET for tg in self.targets):
                self.evaluation(None, (), DEFAULT_TARGET)  # what the first page asks for
            self.evaluation(None, (), None)
            for tg in self.targets:
                if tg.kind == "access":
                    self.access_layers(tg.id, self.year(None), (), "none", "zh")
            self.trend()
            # then the other inventory years, so a first year switch (walking access too) is quick
            for year in reversed(self.ds.years[:-1]):
                self.evaluation(year, (), None)
                for tg in self.targets:
                    if tg.kind == "access":
                        self.access_layers(tg.id, year, (), "none", "zh")
        except CovplanError:
            pass

    # ------------------------------------------------------------------ display geometry
    def township_display(self, basemap: str = "none") -> dict[str, Any]:
        """Simplified township polygons for the map (sent once per basemap)."""
        key = ("townships", self._ds_key(), basemap)
        return self._static.get_or_compute(
            key, lambda: maps.for_basemap(maps.township_geojson(self.ds.townships), basemap)
        )

    def county_display(self, basemap: str = "none") -> dict[str, Any]:
        key = ("counties", self._ds_key(), basemap)
        return self._static.get_or_compute(
            key, lambda: maps.for_basemap(maps.county_geojson(self.ds.counties), basemap)
        )


def _subset(result: Any, target_id: str) -> Any:
    """A result restricted to one target (same class; roll-ups recomputed lazily)."""
    import dataclasses

    units = result.units[result.units["target_id"] == target_id]
    targets = [tg for tg in getattr(result, "targets", []) if tg.id == target_id]
    errors = {k: v for k, v in getattr(result, "errors", {}).items() if k[0] == target_id}
    return dataclasses.replace(result, units=units, targets=targets, errors=errors)


_SERVICE: AppService | None = None
_SERVICE_LOCK = threading.Lock()


def configure(data_dir: Path | str | None = None, targets_dir: Path | str | None = None) -> AppService:
    """Set the dataset (and targets) the app serves; returns the new service."""
    global _SERVICE
    with _SERVICE_LOCK:
        _SERVICE = AppService(
            Path(data_dir) if data_dir is not None else None,
            Path(targets_dir) if targets_dir is not None else None,
        )
        return _SERVICE


def get_service() -> AppService:
    """The configured service (the embedded dataset if :func:`configure` was not called)."""
    global _SERVICE
    with _SERVICE_LOCK:
        if _SERVICE is None:
            _SERVICE = AppService()
        return _SERVICE


def install(svc: AppService) -> AppService:
    """Serve ``svc`` instead of the file-backed service (the city server's store-backed one)."""
    global _SERVICE
    with _SERVICE_LOCK:
        _SERVICE = svc
        return _SERVICE
