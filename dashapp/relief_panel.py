"""Relief in the township panel: flat vs minutes-on-slopes coverage of a walking-access target.

For an ``access`` target stated in minutes (``fitness_10min_circle``: ``max_minutes = 10``)
the details panel of a township shows the people covered on the flat (network distance)
and on slopes (Tobler minutes on the DEM), and how many gain or lose coverage when relief
is counted — the numbers of ``covplan access --target ID --dem FILE --json``
(:func:`coverage.access.relief.relief_units`). Townships outside the DEM say that flat
time is used (``dem_coverage = none``, flagged), partly covered ones say so too.

**Where the DEM comes from.** The repository does not ship a DEM (the SRTM tile of the
south of Lishui is 25 MB): ``covplan app --dem FILE`` (or ``COVPLAN_DEM=FILE`` for
``covplan serve`` workers) names an SRTM ``.hgt`` or GeoTIFF; without one the panel says
that walking time is flat and how to add a DEM.

**Cost.** The DEM and the directed minutes graph are computed once per file and network
(:func:`coverage.access.relief.cached_terrain`, ≈ 0.6 s on the embedded network); each
(year, scenario) then costs the two nearest-facility passes (≈ 0.3 s), cached here. The
start-up warm-up thread computes the latest year (:func:`warm`), so app start-up never waits.
"""

from __future__ import annotations

import os
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Sequence

from dashapp.cache import LRU
from dashapp.labels import t
from dashapp.state import edits_key
from layers._errors import CovplanError

ENV_DEM = "COVPLAN_DEM"

_DEM_PATH: Path | None = None
_UNITS = LRU(8)


def configure(path: str | Path | None) -> None:
    """Use ``path`` as the app's DEM (``covplan app --dem``); None → ``$COVPLAN_DEM`` or none."""
    global _DEM_PATH
    _DEM_PATH = Path(path) if path else None


def dem_path() -> Path | None:
    """The DEM the app uses: ``configure``'s, else ``$COVPLAN_DEM``, else None."""
    if _DEM_PATH is not None:
        return _DEM_PATH
    env = os.environ.get(ENV_DEM, "").strip()
    return Path(env) if env else None


def units_for(target_id: str, year: Any, edits: Sequence[dict[str, Any]] = ()) -> tuple[Any, dict, int]:
    """``(units, terrain summary, year)`` of :func:`coverage.access.relief.relief_units` for
    the data shown (scenario edits applied), cached per (dataset, year, edits, target, DEM)."""
    from coverage.access.relief import dem_key, relief_units
    from dashapp.service import get_service

    path = dem_path()
    if path is None:
        raise CovplanError("no DEM configured")
    svc = get_service()
    yr = svc.year(year)
    key = (svc._ds_key(), yr, edits_key(list(edits)), str(target_id), dem_key(path))

    def compute() -> tuple[Any, dict]:
        ds, targets = svc.scenario_data(edits, yr)
        tg = svc.target(target_id, targets)
        ctx = SimpleNamespace(dataset=ds, year=yr, facilities=ds.facilities_for(yr), network=svc._network())
        return relief_units(tg, ctx, path)

    units, summary = _UNITS.get_or_compute(key, compute)
    return units, summary, yr


def township_relief(code: str, target_id: Any, year: Any, edits: Sequence[dict[str, Any]],
                    lang: str) -> dict[str, Any] | None:
    """What the panel shows for one township, or None when the target is not in minutes.

    ``{"title", "state": "no_dem" | "not_applicable" | "none" | "partial" | "full",
    "message", "rows": [(label, flat text, terrain text)], "gained", "lost", "source"}``;
    numbers formatted by :mod:`coverage.outputs.formatting`.
    """
    from coverage.access.relief import is_minutes_target, township_relief as _one
    from coverage.outputs.formatting import format_number
    from dashapp.service import get_service

    svc = get_service()
    try:
        tg = svc.target(target_id)
    except CovplanError:
        return None
    if not is_minutes_target(tg):
        return None
    minutes = tg.access.max_minutes
    out: dict[str, Any] = {"title": t("relief_title", lang).format(m=f"{minutes:g}"), "rows": [],
                           "gained": "", "lost": "", "source": "", "message": ""}
    path = dem_path()
    if path is None:
        return dict(out, state="no_dem", message=t("relief_no_dem", lang))
    units, _summary, _yr = units_for(tg.id, year, edits)
    one = _one(units, code)
    if one is None or not one["applicable"]:
        return dict(out, state="not_applicable", message=t("relief_not_applicable", lang))
    cnt = lambda v: format_number(v, "count", lang)  # noqa: E731
    pct = lambda v: format_number(v, "percent", lang)  # noqa: E731
    state = one["dem_coverage"]
    msg = {"none": t("relief_outside_dem", lang), "partial": t("relief_partial_dem", lang)}.get(state, "")
    if edits:
        msg = (msg + " " + t("relief_scenario_note", lang)).strip()
    return dict(
        out, state=state, message=msg, numbers=one,
        rows=[(t("pop_demand", lang), cnt(one["pop_demand"]), cnt(one["pop_demand"])),
              (t("relief_covered", lang), cnt(one["pop_covered_flat"]), cnt(one["pop_covered_terrain"])),
              (t("relief_share", lang), pct(one["covered_share_flat"]), pct(one["covered_share_terrain"]))],
        gained=cnt(one["pop_gained"]), lost=cnt(one["pop_lost"]),
        dem_label={"full": t("dem_full", lang), "partial": t("dem_partial", lang),
                   "none": t("dem_none", lang)}.get(state, ""),
        source=t("relief_source", lang).format(dem=path.name),
    )


def warm() -> None:
    """Compute the latest year of every minutes target (start-up thread; errors surface later)."""
    from coverage.access.relief import is_minutes_target
    from dashapp.service import get_service

    if dem_path() is None:
        return
    svc = get_service()
    try:
        for tg in svc.targets:
            if is_minutes_target(tg):
                units_for(tg.id, None, ())
    except CovplanError:
        pass
