"""Side-panel queries: one township (every target, its facilities, its trend) or one facility."""

from __future__ import annotations

from typing import Any, Sequence


from dashapp.labels import t, target_label
from dashapp.maps import _clean
from dashapp.queries import _combined
from dashapp.queries_gaps import township_targets
from dashapp.service import get_service


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
    result = svc.evaluation(year_i, edits, None)
    # each row names the unit its value belongs to: the township, its villages or its county
    target_rows = township_targets(result, ds, list(targets), str(code), county, lang)
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
        "years": [str(y) for y in svc.trend().years],
        "trend": township_trend(str(code), county, lang),
    }


def township_trend(code: str, county: str, lang: str) -> list[dict[str, Any]]:
    """Status of each target for one township in each inventory year (base data).

    From :func:`coverage.targets.trends.trend` (cached): the township's own row of each target,
    else its villages (not met if any is), else its county's row. ``flag`` is
    ``预计达标困难`` when the trend projects the unit (or any of its villages) to miss the
    target by the plan's horizon.
    """
    svc = get_service()
    tr = svc.trend()
    u = tr.units
    codes = u["unit_code"].astype(str)
    mine = u[((u["unit_level"] == "township") & (codes == code))
             | ((u["unit_level"] == "village") & (u["township_code"].astype(str) == code))
             | ((u["unit_level"] == "county") & (codes == county))]
    labels = {tg.id: target_label(tg, lang) for tg in svc.targets}
    order = {"township": 0, "village": 1, "county": 2}
    out = []
    for tid, grp in mine.groupby("target_id", sort=False):
        level = min(grp["unit_level"], key=order.get)
        rows = grp[grp["unit_level"] == level]
        row: dict[str, Any] = {"target_id": tid, "target_label": labels.get(tid, tid)}
        for y in tr.years:
            row[str(y)] = t(_combined(rows[f"status_{y}"].replace("", "no_data")), lang)
        row["flag"] = t("trend_flag", lang) if bool(rows["at_risk"].any()) else ""
        out.append(row)
    out.sort(key=lambda r: list(labels).index(r["target_id"]) if r["target_id"] in labels else 0)
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
