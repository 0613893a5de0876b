"""Side-panel queries: one township (every target, its facilities, its trend) or one facility."""

from __future__ import annotations

from typing import Any, Sequence

import pandas as pd

from dashapp.labels import t, target_label
from dashapp.maps import _clean
from dashapp.queries import township_rows
from dashapp.service import get_service


def _target_rows_for_township(units: pd.DataFrame, ds: Any, code: str, county: str) -> pd.DataFrame:
    """Rows of every target that concern township ``code``, one per target.

    Township rows as they are; village rows combined per township (see
    :func:`dashapp.queries.township_rows`); county rows of its county.
    """
    frames = []
    for (tid, level), grp in units.groupby(["target_id", "unit_level"], sort=False):
        if level == "township":
            sub = grp[grp["unit_code"].astype(str) == code]
        elif level == "village":
            sub = township_rows(grp[grp["township_code"].astype(str) == code], ds, "village")
        elif level == "county":
            sub = grp[grp["unit_code"].astype(str) == county]
        else:
            continue
        if not sub.empty:
            frames.append(sub.assign(target_id=tid, unit_level=level).iloc[:1])
    if not frames:
        return pd.DataFrame(columns=["target_id", "unit_level", "status"])
    return pd.concat(frames, ignore_index=True)


def township_detail(code: str, year: Any, edits: Sequence[dict[str, Any]], lang: str) -> dict[str, Any] | None:
    """Every target for one township, its facilities and its status over the inventory years.

    Returns None for an unknown township code. Scenario edits apply to the chosen year;
    the trend is always the base data of each inventory year.
    """
    svc = get_service()
    year_i = svc.year(year)
    ds, targets = svc.scenario_data(edits, year_i)
    towns = ds.townships[ds.townships["code"].astype(str) == str(code)]
    if towns.empty:
        return None
    town = towns.iloc[0]
    county = str(town["county_code"])
    labels = {tg.id: target_label(tg, lang) for tg in targets}
    result = svc.evaluation(year_i, edits, None)
    rows = _target_rows_for_township(result.units, ds, str(code), county)
    target_rows = []
    for r in rows.itertuples(index=False):
        target_rows.append(
            {
                "target_id": r.target_id,
                "target_label": labels.get(r.target_id, r.target_id),
                "unit_level": r.unit_level,
                "status": r.status,
                "actual": _clean(getattr(r, "actual", None)),
                "required": _clean(getattr(r, "required", None)),
                "shortfall": _clean(getattr(r, "shortfall", None)),
                "shortfall_unit": _clean(getattr(r, "shortfall_unit", None)) or "",
            }
        )
    fac = ds.facilities_for(year_i)
    fac = fac[fac["township_code"].astype(str) == str(code)]
    facilities = [
        {
            "facility_id": str(f.facility_id),
            "name": str(f.name),
            "type": str(f.type),
            "type_label": t(str(f.type), lang),
            "tier_label": t(str(f.tier), lang) if _clean(f.tier) else "",
        }
        for f in fac.itertuples(index=False)
    ]
    return {
        "code": str(code),
        "name": str(town["name"]),
        "county_name": str(town.get("county_name", "")),
        "targets": target_rows,
        "facilities": facilities,
        "years": [str(y) for y in svc.ds.years],
        "trend": township_trend(str(code), county, lang),
    }


def township_trend(code: str, county: str, lang: str) -> list[dict[str, Any]]:
    """Status of each target for one township in each inventory year (base data).

    The flag column marks targets not met in the latest year whose shortfall did not
    shrink since the first year (``预计达标困难``: the trend will not reach the target).
    """
    svc = get_service()
    ds = svc.ds
    per_year: dict[int, pd.DataFrame] = {}
    for y in ds.years:
        res = svc.evaluation(y, (), None)
        per_year[y] = _target_rows_for_township(res.units, ds, code, county)
    labels = {tg.id: target_label(tg, lang) for tg in svc.targets}
    out = []
    first, last = ds.years[0], ds.years[-1]
    for tid in labels:
        row: dict[str, Any] = {"target_id": tid, "target_label": labels[tid]}
        seen = False
        short: dict[int, float] = {}
        status_last = None
        for y, frame in per_year.items():
            hit = frame[frame["target_id"] == tid]
            if hit.empty:
                row[str(y)] = ""
                continue
            seen = True
            st = str(hit.iloc[0]["status"])
            row[str(y)] = t(st, lang)
            sf = _clean(hit.iloc[0].get("shortfall"))
            short[y] = float(sf) if sf is not None else 0.0
            if y == last:
                status_last = st
        if not seen:
            continue
        worsening = status_last == "not_met" and short.get(last, 0.0) >= short.get(first, 0.0)
        row["flag"] = t("trend_flag", lang) if worsening else ""
        out.append(row)
    return out


def facility_detail(fid: str, year: Any, edits: Sequence[dict[str, Any]], lang: str) -> dict[str, Any] | None:
    """One facility of the chosen year (base or scenario); None if it is not there."""
    svc = get_service()
    year_i = svc.year(year)
    ds, _ = svc.scenario_data(edits, year_i)
    fac = ds.facilities_for(year_i)
    hit = fac[fac["facility_id"].astype(str) == str(fid)]
    if hit.empty:
        return None
    f = hit.iloc[0]
    town = ds.townships[ds.townships["code"].astype(str) == str(f["township_code"])]
    return {
        "facility_id": str(f["facility_id"]),
        "name": str(f["name"]),
        "type": str(f["type"]),
        "tier": _clean(f.get("tier")),
        "level": _clean(f.get("level")),
        "capacity": _clean(f.get("capacity")),
        "township_code": str(f["township_code"]),
        "township_name": str(town.iloc[0]["name"]) if not town.empty else "",
        "provenance": str(f.get("provenance", "")),
    }
