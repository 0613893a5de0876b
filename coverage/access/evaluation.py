"""``access`` targets → result rows: the share of residents within walking reach, per unit.

:func:`access_params` reads a target's ``[access]`` table (distance or minutes, demand,
snapping bound, detour factor); :func:`access_result` runs the nearest-facility pass of
:mod:`coverage.access.nearest` on the target's facilities and demand points and rolls it up
per unit; :func:`evaluate_access_target` returns rows in the schema of
:data:`coverage.targets.rows.RESULT_COLUMNS` (``ctx`` is a
:class:`coverage.targets.engine.EvalContext`, used by duck typing so this module does not
import :mod:`coverage.targets`).
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd

from coverage._errors import NetworkError
from coverage.access.graph import (
    WalkNetwork,
)
from coverage.access.nearest import (
    DEFAULT_DETOUR_FACTOR,
    DEFAULT_DISTANCE_M,
    DEFAULT_MAX_SNAP_M,
    DEFAULT_SPEED_M_PER_MIN,
    METHOD_NETWORK,
    METHOD_STRAIGHT,
    coverage_by_unit,
    demand_points,
    nearest_facility,
)
from layers import settings


# ---------------------------------------------------------------------- targets
def access_params(target) -> dict:
    """The target's ``[access]`` parameters with defaults (distance in metres).

    Reads ``target.access`` (a :class:`coverage.targets.AccessSpec` or a mapping).
    When a ``time_min`` is given, ``distance_m = time_min × speed_m_per_min``.
    """
    raw = getattr(target, "access", None)
    if raw is None:
        raw = {}
    elif not isinstance(raw, dict):
        raw = {k: getattr(raw, k) for k in dir(raw) if not k.startswith("_")
               and not callable(getattr(raw, k))}
    speed = float(raw.get("speed_m_per_min") or DEFAULT_SPEED_M_PER_MIN)
    if raw.get("time_min") is not None:
        distance = float(raw["time_min"]) * speed
    else:
        distance = float(raw.get("distance_m") or DEFAULT_DISTANCE_M)
    if not (distance > 0 and speed > 0):
        raise NetworkError(f"target {getattr(target, 'id', '?')}: [access] distance_m and "
                           "speed_m_per_min must be positive")
    return {
        "distance_m": distance,
        "speed_m_per_min": speed,
        "demand": str(raw.get("demand") or "urban"),
        "population": str(raw.get("population") or getattr(target, "population", None)
                          or "pop_total"),
        "max_snap_m": float(raw.get("max_snap_m") or DEFAULT_MAX_SNAP_M),
        "detour_factor": float(raw.get("detour_factor") or DEFAULT_DETOUR_FACTOR),
        "snap": str(raw.get("snap") or "edge"),
    }


def select_facilities(facilities: gpd.GeoDataFrame, spec, default_type: str) -> gpd.GeoDataFrame:
    """Facilities matching a selector (``type``, optional ``tier`` and ``level``)."""
    get = spec.get if isinstance(spec, dict) else (lambda k, d=None: getattr(spec, k, d))
    ftype = (get("type") if spec is not None else None) or default_type
    sel = facilities[facilities["type"] == ftype]
    for key in ("tier", "level"):
        want = get(key) if spec is not None else None
        if want and want != "same" and key in sel.columns:
            sel = sel[sel[key].isin([want] if isinstance(want, str) else list(want))]
    return sel


def context_network(ctx) -> WalkNetwork | None:
    """The walking network of an evaluation context (loaded once per file, see load_network)."""
    from coverage.access.osm import load_network

    net = getattr(ctx, "network", None)
    if isinstance(net, WalkNetwork) or net is None and getattr(ctx.dataset, "network_path", None) is None:
        return net
    path = net if net is not None else ctx.dataset.network_path
    prov = (getattr(ctx.dataset, "layer_provenance", None) or {}).get("network")
    return load_network(path, provenance=prov)


def _values(frame: pd.DataFrame, col: str, default: str) -> str:
    vals = sorted(set(frame[col].astype(str))) if col in frame.columns and len(frame) else []
    return "|".join(vals) or default


def unit_rows_base(target, ctx, level: str) -> pd.DataFrame:
    """Units of one level with the identity columns of a result row.

    ``township_code`` is the township's own code for townships, the parent for villages
    and empty above; ``county_code`` is empty for the city.
    """
    ds = ctx.dataset
    cnames = dict(zip(ds.counties["code"].astype(str), ds.counties["name"].astype(str)))
    if level == "city":
        df = pd.DataFrame({"unit_code": [settings.CITY_CODE], "unit_name": [settings.CITY_NAME],
                           "county_code": [""], "township_code": [""]})
    else:
        g = {"county": ds.counties, "township": ds.townships, "village": ds.villages}[level]
        code = g["code"].astype(str).to_numpy()
        df = pd.DataFrame({"unit_code": code, "unit_name": g["name"].astype(str).to_numpy()})
        df["county_code"] = code if level == "county" else g["county_code"].astype(str).to_numpy()
        df["township_code"] = (code if level == "township" else g["township_code"].astype(str)
                               .to_numpy() if level == "village" else "")
    df["county_name"] = df["county_code"].map(cnames).fillna("")
    df.insert(0, "unit_level", level)
    df.insert(0, "kind", getattr(target, "kind", ""))
    df.insert(0, "target_id", getattr(target, "id", ""))
    df["year"] = int(getattr(ctx, "year", 0) or 0)
    df["is_plan_level"] = level in tuple(getattr(target, "plan_levels", ()) or ())
    df["clause"] = str(getattr(target, "clause", "") or "")
    df["source_lines"] = str(getattr(target, "source_lines", "") or "")
    return df


def target_levels(target) -> tuple[str, ...]:
    levels = tuple(getattr(target, "unit_levels", ()) or ())
    return levels or (getattr(target, "unit_level", "township") or "township",)


def _condition_masks(target, ctx, level: str, codes: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """(applicable, no_data) masks of the target's unit ``condition`` (all applicable if none)."""
    cond = getattr(target, "condition", None)
    n = len(codes)
    if cond is None:
        return np.ones(n, dtype=bool), np.zeros(n, dtype=bool)
    ds = ctx.dataset
    if level == "city":
        table = pd.DataFrame([ds.city])
    else:
        layer = {"county": ds.counties, "township": ds.townships, "village": ds.villages}[level]
        table = pd.DataFrame(layer).drop(columns="geometry", errors="ignore")
    table = table.set_index(table["code"].astype(str)).reindex(codes.astype(str).to_numpy())
    applicable = np.asarray(cond.mask(table), dtype=bool)
    nodata = table[sorted(cond.fields)].isna().any(axis=1).to_numpy()
    return applicable & ~nodata, nodata


def access_result(target, ctx) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    """Per-demand-point results and per-unit coverage of an ``access`` target.

    Returns ``(points, units, info)``: points with ``distance_m``, ``nearest_facility_id``,
    ``status``; :func:`coverage_by_unit` rows; and ``info`` with the parameters, the
    method, the network (or None), the facilities used and the provenance string.
    """
    ds = ctx.dataset
    prm = access_params(target)
    facilities = getattr(ctx, "facilities", None)
    if facilities is None:
        facilities = ds.facilities_for(getattr(ctx, "year", None))
    fac = select_facilities(facilities, getattr(target, "facility", None), "fitness")
    net = context_network(ctx)
    pts = demand_points(ds, prm["demand"], prm["population"])
    near = nearest_facility(pts, fac, network=net, limit_m=prm["distance_m"],
                            max_snap_m=prm["max_snap_m"], detour_factor=prm["detour_factor"],
                            snap=prm["snap"])
    points = pd.concat([pd.DataFrame(pts.drop(columns="geometry")), near], axis=1)
    points["lon"], points["lat"] = pts.geometry.x.to_numpy(), pts.geometry.y.to_numpy()
    units = coverage_by_unit(points, ds, pop_col=prm["population"])
    provenance = (f"facilities={_values(fac, 'provenance', 'none')};"
                  f"population={_values(pts, 'pop_provenance', 'estimated')};"
                  f"village_points={_values(pts, 'provenance', 'unknown')};"
                  f"network={net.provenance if net is not None else 'none'}")
    info = dict(prm, method=METHOD_NETWORK if net is not None else METHOD_STRAIGHT,
                network=net, facilities=fac, provenance=provenance)
    return points, units, info


def evaluate_access_target(target, ctx) -> pd.DataFrame:
    """Result rows (docs/ARCHITECTURE.md schema) of an ``access`` target.

    One row per unit of each of ``target.unit_levels``. ``required`` and ``actual`` are
    covered shares (0–1) of the demand population; ``shortfall`` is the number of people
    still to bring within the walking distance to reach ``required`` (unreachable
    residents count as not covered). Units without resident points of the target's demand
    (e.g. rural townships for ``demand = "urban"``) are ``not_applicable``; units whose
    resident points are all farther than ``max_snap_m`` from the network are ``no_data``.

    Raises
    ------
    coverage._errors.EvaluationError
        The network cannot be used with this data (the engine then reports ``no_data``).
    """
    from coverage._errors import EvaluationError
    from layers.glossary import label

    try:
        _points, units, info = access_result(target, ctx)
    except NetworkError as exc:
        raise EvaluationError(f"{getattr(target, 'id', '?')}: {exc}") from exc
    threshold = getattr(target, "threshold", None)
    required = float(threshold) if threshold is not None else 1.0
    d = int(round(info["distance_m"]))
    ftype = label(str(info["facilities"]["type"].iloc[0])) if len(info["facilities"]) else "设施"
    frames = []
    for level in target_levels(target):
        base = unit_rows_base(target, ctx, level)
        u = units[units["unit_level"] == level].set_index("unit_code")
        u = u.reindex(base["unit_code"].to_numpy())
        pop = u["pop_demand"].fillna(0).to_numpy(float)
        cov = u["pop_covered"].fillna(0).to_numpy(float)
        unr = u["pop_unreachable"].fillna(0).to_numpy(float)
        share = np.divide(cov, pop, out=np.full(len(pop), np.nan), where=pop > 0)
        applicable = pop > 0
        nodata = applicable & (unr >= pop)
        cond_ok, cond_nodata = _condition_masks(target, ctx, level, base["unit_code"])
        nodata = (nodata & cond_ok) | cond_nodata
        applicable = (applicable & cond_ok) | cond_nodata
        met = applicable & ~nodata & (share + 1e-12 >= required)
        status = np.where(~applicable, "not_applicable",
                          np.where(nodata, "no_data", np.where(met, "met", "not_met")))
        need = np.maximum(0.0, np.ceil(required * pop - cov - 1e-9))
        need = np.where(status == "not_met", need, 0.0)
        actions = []
        for st, p, c, r in zip(status, pop, cov, unr):
            if st == "not_applicable":
                actions.append("无城镇居民点，不适用" if info["demand"] == "urban" else "无居民点，不适用")
            elif st == "no_data":
                actions.append(f"居民点距路网均超过{info['max_snap_m']:.0f}米，需补充路网数据")
            elif st == "met":
                actions.append("")
            else:
                txt = f"步行{d}米内未覆盖{int(round(p - c))}人，建议在未覆盖社区增设{ftype}"
                if r > 0:
                    txt += f"（其中{int(round(r))}人距路网超过{info['max_snap_m']:.0f}米）"
                actions.append(txt)
        base["status"] = status
        base["required"] = required
        base["actual"] = np.where(status == "no_data", np.nan, share)
        base["shortfall"] = need
        base["shortfall_unit"] = "people"
        base["action"] = actions
        base["provenance"] = info["provenance"]
        base["method"] = info["method"]
        frames.append(base)
    return pd.concat(frames, ignore_index=True)
