"""Who gains and who loses walking coverage when relief is counted, per township (for the app).

:func:`coverage.access.slopes.access_with_terrain` compares, for an ``access`` target stated
in minutes (``[access] max_minutes``), the flat network distance with Tobler walking minutes
on a DEM. ``covplan access --dem`` prints it; the app shows it per township. This module
holds what the app needs on top, without Dash:

* :func:`cached_dem` and :func:`cached_terrain`: the DEM read once per file (path, size,
  modification time) and the directed minutes graph once per (network, DEM, speed, steps
  factor), so a scenario click only re-runs the two nearest-facility passes;
* :func:`relief_units`: the per-unit table (``TERRAIN_COLUMNS``) for a target and an
  evaluation context — the same numbers ``covplan access --dem … --json`` prints;
* :func:`township_relief`: one township's figures, with ``dem_coverage`` (``full`` /
  ``partial`` / ``none``: where the DEM is missing flat time is used, and flagged).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from coverage._errors import NetworkError
from coverage.access.terrain import Dem, Terrain, read_dem, terrain_cost

_LOCK = threading.Lock()
_DEMS: OrderedDict[tuple, Dem] = OrderedDict()
_TERRAINS: OrderedDict[tuple, Terrain] = OrderedDict()
_KEEP = 2


def is_minutes_target(target: Any) -> bool:
    """Whether a target is walking access stated in minutes (relief can change it)."""
    spec = getattr(target, "access", None)
    return getattr(target, "kind", "") == "access" and getattr(spec, "max_minutes", None) is not None


def dem_key(path: str | Path) -> tuple[str, int, int]:
    """(resolved path, size, mtime ns) of a DEM file; NetworkError when it is missing."""
    p = Path(path)
    if not p.is_file():
        raise NetworkError(f"{path}: DEM file not found")
    st = p.stat()
    return (str(p.resolve()), int(st.st_size), int(st.st_mtime_ns))


def _remember(store: OrderedDict, key: tuple, value: Any) -> Any:
    store[key] = value
    store.move_to_end(key)
    while len(store) > _KEEP:
        store.popitem(last=False)
    return value


def cached_dem(path: str | Path) -> Dem:
    """:func:`coverage.access.terrain.read_dem`, once per file version."""
    key = dem_key(path)
    with _LOCK:
        if key in _DEMS:
            return _DEMS[key]
    dem = read_dem(path)
    with _LOCK:
        return _remember(_DEMS, key, dem)


def cached_terrain(net: Any, dem_path: str | Path, flat_speed: float, steps_factor: float) -> Terrain:
    """:func:`coverage.access.terrain.terrain_cost`, once per (network, DEM, speed, steps)."""
    key = (id(net), net.source, net.n_edges, dem_key(dem_path), float(flat_speed), float(steps_factor))
    with _LOCK:
        if key in _TERRAINS:
            return _TERRAINS[key]
    terr = terrain_cost(net, cached_dem(dem_path), flat_speed, steps_factor=steps_factor)
    with _LOCK:
        return _remember(_TERRAINS, key, terr)


def relief_units(target: Any, ctx: Any, dem_path: str | Path) -> tuple[pd.DataFrame, dict]:
    """Per-unit flat and terrain coverage of a minutes target: ``(units, terrain summary)``.

    ``ctx`` is an evaluation context (``dataset``, ``year``, ``facilities``, ``network``).
    """
    from coverage.access.evaluation import context_network
    from coverage.access.slopes import _steps_factor, access_with_terrain, minutes_params

    if not is_minutes_target(target):
        raise NetworkError(f"{getattr(target, 'id', '?')}: not a walking-access target in minutes")
    net = context_network(ctx)
    if net is None:
        raise NetworkError("terrain access needs a walking network")
    _minutes, speed = minutes_params(target)
    terr = cached_terrain(net, dem_path, speed, _steps_factor(target))
    _pts, units, info = access_with_terrain(target, ctx, cached_dem(dem_path), terrain=terr)
    return units, dict(info["terrain"])


def township_relief(units: pd.DataFrame, code: str) -> dict[str, Any] | None:
    """One township's flat vs terrain figures (numbers; None when it has no row).

    Keys: ``pop_demand``, ``pop_covered_flat``, ``pop_covered_terrain``, ``pop_gained``,
    ``pop_lost``, ``covered_share_flat``, ``covered_share_terrain`` (NaN without demand),
    ``dem_coverage`` (``full``/``partial``/``none``).
    """
    row = units[(units["unit_level"] == "township") & (units["unit_code"].astype(str) == str(code))]
    if row.empty:
        return None
    r = row.iloc[0]
    out: dict[str, Any] = {k: float(r[k]) for k in (
        "pop_demand", "pop_covered_flat", "pop_covered_terrain", "pop_gained", "pop_lost",
        "covered_share_flat", "covered_share_terrain")}
    out["dem_coverage"] = str(r["dem_coverage"])
    out["applicable"] = bool(np.isfinite(out["pop_demand"]) and out["pop_demand"] > 0)
    return out
