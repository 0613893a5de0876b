"""One function per callback: ids and parameters in, plain values out.

Each function calls the cached :class:`dashapp.service.AppService` (which calls
``coverage/`` and ``scenarios/``) and shapes the answer for one callback; none of them
keeps state between calls. Layout-time helpers (dropdown options, the initial view) are
here too, so pages stay pure layout.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from typing import Any, Sequence

import pandas as pd

from dashapp import geopack, maps
from dashapp.labels import chapter_label, plan_label, t, target_clause, target_label
from dashapp.service import get_service
from dashapp.queries_gaps import gap_table_rows, level_layers
from dashapp.state import DEFAULT_TARGET
from layers.settings import MAX_UPLOAD_BYTES as _MAX_UPLOAD_BYTES
from layers.vocab import CHILD_HOME_TIERS, FACILITY_TYPES

MAX_UPLOAD_BYTES: int = _MAX_UPLOAD_BYTES
EMPTY_FC: dict[str, Any] = {"type": "FeatureCollection", "features": []}
BASEMAPS: tuple[str, ...] = ("none", "tianditu", "amap", "xyz")
#: 天地图 (CGCS2000 datum, Web-Mercator tiles) and 高德 (GCJ-02) tile templates
TIANDITU_URL = "https://t{s}.tianditu.gov.cn/vec_w/wmts?SERVICE=WMTS&REQUEST=GetTile&VERSION=1.0.0&LAYER=vec&STYLE=default&TILEMATRIXSET=w&FORMAT=tiles&TILEMATRIX={z}&TILEROW={y}&TILECOL={x}&tk="
TIANDITU_LABEL_URL = "https://t{s}.tianditu.gov.cn/cva_w/wmts?SERVICE=WMTS&REQUEST=GetTile&VERSION=1.0.0&LAYER=cva&STYLE=default&TILEMATRIXSET=w&FORMAT=tiles&TILEMATRIX={z}&TILEROW={y}&TILECOL={x}&tk="
AMAP_URL = "https://webrd0{s}.is.autonavi.com/appmaptile?lang=zh_cn&size=1&scale=1&style=8&x={x}&y={y}&z={z}"


# =========================================================================== layout helpers
def layer_provenance() -> dict[str, str]:
    """Layer name → provenance of the served dataset (for the banner)."""
    return dict(get_service().ds.layer_provenance)


def target_options(lang: str) -> list[dict[str, Any]]:
    """Dropdown options grouped by plan and chapter (group headers are disabled options)."""
    options: list[dict[str, Any]] = []
    targets = sorted(get_service().targets, key=lambda tg: (tg.plan != "women", str(tg.chapter)))
    group = None
    for tg in targets:
        key = (tg.plan, tg.chapter)
        if key != group:
            group = key
            options.append(
                {
                    "label": (f"【{plan_label(tg.plan, lang)} · {chapter_label(tg.chapter, lang)}】" if lang == "zh" else
                              f"[{plan_label(tg.plan, lang)} · {chapter_label(tg.chapter, lang)}]"),
                    "value": f"__group__{tg.plan}__{tg.chapter}",
                    "disabled": True,
                }
            )
        options.append(
            {
                "label": f"{target_label(tg, lang)}",
                "value": tg.id,
                "title": target_clause(tg),
                "search": f"{tg.id} {tg.label_zh} {tg.label_en}",
            }
        )
    return options


def target_clause_text(target_id: str | None, lang: str) -> str:
    """``条款: …（L721）`` of the chosen target, with its unit level."""
    svc = get_service()
    tg = svc.target(target_id)
    return f"{t('clause', lang)}: {target_clause(tg)}  [{t(tg.unit_level, lang)}]"


def county_options(lang: str) -> list[dict[str, str]]:
    ds = get_service().ds
    opts = [{"label": t("all_counties", lang), "value": ""}]
    for code, name in zip(ds.counties["code"].astype(str), ds.counties["name"].astype(str)):
        opts.append({"label": name, "value": code})
    return opts


def year_options() -> list[dict[str, Any]]:
    return [{"label": str(y), "value": y} for y in get_service().ds.years]


def tianditu_key() -> str:
    return os.environ.get("TIANDITU_KEY", "").strip()


def basemap_options(lang: str) -> list[dict[str, Any]]:
    return [
        {"label": t("basemap_none", lang), "value": "none"},
        {"label": t("basemap_tianditu", lang), "value": "tianditu", "disabled": not tianditu_key()},
        {"label": t("basemap_amap", lang), "value": "amap"},
    ]


def basemap_note(basemap: str, lang: str) -> str:
    notes = []
    if not tianditu_key():
        notes.append(t("basemap_tianditu_no_key", lang))
    if basemap == "amap":
        notes.append(t("basemap_amap_note", lang))
    return "；".join(notes) if lang == "zh" else "; ".join(notes)


def basemap_tiles(basemap: str) -> list[Any]:
    """Tile layers of a basemap (none → no tiles at all: nothing is fetched)."""
    import dash_leaflet as dl

    if basemap == "tianditu" and tianditu_key():
        key = tianditu_key()
        return [
            dl.TileLayer(url=TIANDITU_URL + key, subdomains="01234567", maxZoom=18,
                         attribution="天地图 © 国家地理信息公共服务平台"),
            dl.TileLayer(url=TIANDITU_LABEL_URL + key, subdomains="01234567", maxZoom=18),
        ]
    if basemap == "amap":
        return [dl.TileLayer(url=AMAP_URL, subdomains="1234", maxZoom=18, attribution="© 高德地图 (GCJ-02)")]
    return []


def facility_type_options(lang: str) -> list[dict[str, str]]:
    return [{"label": t(ft, lang), "value": ft} for ft in FACILITY_TYPES]


def tier_options(lang: str) -> list[dict[str, str]]:
    return [{"label": t(tier, lang), "value": tier} for tier in CHILD_HOME_TIERS]


def default_facility_types(target_id: str | None) -> list[str]:
    """Facility types a target counts (shown by default on the map)."""
    tg = get_service().target(target_id)
    sel = getattr(tg, "facility", None)
    types = [sel.type] if sel is not None and getattr(sel, "type", None) else []
    if tg.id.startswith("mother_baby") and "public_place" not in types:
        types.append("public_place")
    return types


def initial_view(target: str | None, county: str | None, year: Any, basemap: str | None) -> dict[str, Any]:
    """The view a URL asks for, with unknown values replaced by defaults."""
    svc = get_service()
    ids = [tg.id for tg in svc.targets]
    first = DEFAULT_TARGET if DEFAULT_TARGET in ids else (ids[0] if ids else None)
    target = target if target in ids else first
    codes = set(svc.ds.counties["code"].astype(str))
    county = county if county in codes else None
    try:
        year_i = svc.year(int(year)) if year not in (None, "") else svc.year(None)
    except (TypeError, ValueError):
        year_i = svc.year(None)
    basemap = basemap if basemap in BASEMAPS else "none"
    if basemap == "tianditu" and not tianditu_key():
        basemap = "none"
    return {"target": target, "county": county, "year": year_i, "basemap": basemap}


def _datum(basemap: str) -> str:
    """The display datum of a basemap: 高德 is GCJ-02, every other one WGS84/CGCS2000."""
    return "amap" if basemap == "amap" else "none"


def township_data(basemap: str) -> dict[str, Any]:
    return get_service().township_display(_datum(basemap))


def county_data(basemap: str) -> dict[str, Any]:
    return get_service().county_display(_datum(basemap))


def packed(fc: dict[str, Any]) -> dict[str, Any]:
    """A layer's GeoJSON as it crosses the network (:mod:`dashapp.geopack`; unpacked in the browser)."""
    return geopack.pack_cached(fc)


def empty_hideout() -> dict[str, Any]:
    return {"status": {}, "tip": {}, "colors": dict(maps.STATUS_COLORS), "county": "", "selected": ""}


def saved_options() -> list[dict[str, str]]:
    from dashapp.saved_scenarios import repository

    return repository().options()


def gap_columns(lang: str) -> list[dict[str, Any]]:
    """AG Grid column definitions of the gap table (headers from the glossary)."""
    cols = [
        ("unit_name", "unit_name", 150),
        ("unit_level", "evaluated_level", 90),
        ("township_name", "township_name", 110),
        ("county_name", "county_name", 110),
        ("unit_code", "unit_code", 110),
        ("target_label", "target_label", 220),
        ("required", "required", 90),
        ("actual", "actual", 90),
        ("shortfall", "shortfall", 90),
        ("shortfall_unit", "shortfall_unit", 90),
        ("action", "action", 240),
        ("is_plan_level", "is_plan_level", 90),
        ("provenance", "provenance", 200),
        ("data_status", "data_status", 200),
        ("clause", "clause", 260),
    ]
    out = []
    for field_, key, width in cols:
        col: dict[str, Any] = {"field": field_, "headerName": t(key, lang), "width": width}
        if field_ in ("required", "actual", "shortfall"):
            col["type"] = "rightAligned"
        out.append(col)
    return out


def proposal_columns(lang: str) -> list[dict[str, Any]]:
    return [
        {"field": "action_label", "headerName": t("proposal_kind", lang), "width": 120},
        {"field": "type_label", "headerName": t("facility_type", lang), "width": 110},
        {"field": "where", "headerName": t("township", lang), "width": 140},
        {"field": "reason", "headerName": t("reason", lang), "width": 200},
    ]


# =========================================================================== map view
@dataclass
class TargetView:
    """What the map and gap table show for one target (all plain JSON-able values)."""

    hideout: dict[str, Any]
    counts: dict[str, int]
    level: str
    gap_rows: list[dict[str, Any]]
    county_hideout: dict[str, Any] = field(default_factory=dict)
    note: str = ""
    city: dict[str, Any] = field(default_factory=dict)
    server_ms: float = 0.0


def _combined(statuses: pd.Series) -> str:
    """Township status of a village-level target: not_met if any village is not met."""
    present = set(statuses)
    for status in ("not_met", "no_data", "met"):
        if status in present:
            return status
    return "not_applicable"


def target_view(
    target_id: str | None,
    county: str | None,
    year: Any,
    edits: Sequence[dict[str, Any]],
    selected: str | None,
    basemap: str,
    lang: str,
) -> TargetView:
    """Evaluate one target (base or scenario) and shape it for the map and gap table.

    Only the chosen target is evaluated (cached per dataset, year, edits hash, target),
    and the township and county layers are restyled through their hideouts: no geometry is
    resent. The map is level-true (:func:`dashapp.queries_gaps.level_layers`); the table rows
    are the gap model's rows (:func:`dashapp.queries_gaps.gap_table_rows`), the export's text.
    """
    t0 = time.perf_counter()
    svc = get_service()
    year_i = svc.year(year)
    ds, targets = svc.scenario_data(edits, year_i)
    tg = svc.target(target_id, targets)
    result = svc.evaluation(year_i, edits, tg.id)
    layers = level_layers(result, ds, tg, county, selected, lang)
    gap_rows = gap_table_rows(result, ds, targets, tg, county, lang)
    return TargetView(
        hideout=layers["township_hideout"],
        counts=layers["counts"],
        level=layers["level"],
        gap_rows=gap_rows,
        county_hideout=layers["county_hideout"],
        note=layers["note"],
        city=layers["city"],
        server_ms=(time.perf_counter() - t0) * 1000.0,
    )


def point_layers(target_id: str | None, county: str | None, year: Any, edits: Sequence[dict[str, Any]],
                 basemap: str, lang: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """``(service areas, points)`` of one target, packed (:func:`packed`), in their own response.

    Access targets: the merged service areas and the uncovered people at village points;
    village targets: the villages coloured by status (code, status, colour; they take no
    click, so no tooltip text is sent); other targets: two empty layers.
    """
    svc = get_service()
    year_i = svc.year(year)
    ds, targets = svc.scenario_data(edits, year_i)
    tg = svc.target(target_id, targets)
    areas, points = EMPTY_FC, EMPTY_FC
    if tg.kind == "access":
        areas, points = svc.access_layers(tg.id, year_i, edits, basemap, lang)
    else:
        layers = level_layers(svc.evaluation(year_i, edits, tg.id), ds, tg, county, None, lang)
        if layers["level"] == "village":  # the tooltip text stays for the static map (exports)
            feats = [{**f, "properties": {k: v for k, v in f["properties"].items() if k != "label"}}
                     for f in layers["village_points"]["features"]]
            points = maps.for_basemap(maps.feature_collection(feats), basemap)
    return packed(areas), packed(points)


def facility_layer_key(types: Sequence[str], year: Any, edits: Sequence[dict[str, Any]], basemap: str,
                       lang: str) -> str:
    """What the base facility layer depends on: the types, year, basemap, language and the
    edits that change base facilities (closing, upgrading, capacities) — not additions."""
    from dashapp.state import edits_key

    changing = [dict(e) for e in edits if e.get("op") in ("close_facility", "upgrade_facility", "set_capacity")]
    return "|".join([",".join(sorted(types)), str(get_service().year(year)), basemap, lang, edits_key(changing)])


def facility_layers(types: Sequence[str] | None, year: Any, edits: Sequence[dict[str, Any]], basemap: str,
                    lang: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """``(facilities, scenario additions)`` GeoJSON of one year, base or scenario.

    Features of unchanged base facilities come from a per-(year, language) cache; only
    the facilities a scenario adds or changes are built anew. Added ones are drawn in
    their own layer (never clustered, always shown); upgraded ones are ringed.
    Coordinates are shifted to GCJ-02 for 高德 tiles.
    """
    svc = get_service()
    year_i = svc.year(year)
    wanted = set(types or [])
    base_feats = svc.facility_features(year_i, lang)
    if not edits:
        feats = [f for f in base_feats.values() if f["properties"]["type"] in wanted]
        return maps.for_basemap(maps.feature_collection(feats), basemap), EMPTY_FC
    ds, _ = svc.scenario_data(edits, year_i)
    fac = ds.facilities_for(year_i)
    ids = fac["facility_id"].astype(str)
    changed = {str(e.get("facility_id")) for e in edits if e.get("op") in ("upgrade_facility", "set_capacity")}
    is_added = ~ids.isin(set(base_feats))
    is_changed = ids.isin(changed) & ~is_added
    keep = ids[~is_added & ~is_changed & fac["type"].isin(wanted)]
    feats = [base_feats[i] for i in keep]
    feats += maps.facility_geojson(fac[is_changed], lang, types=wanted, scenario_ids=changed)["features"]
    added = maps.facility_geojson(fac[is_added], lang, scenario_ids=set(ids[is_added]))
    return maps.for_basemap(maps.feature_collection(feats), basemap), maps.for_basemap(added, basemap)


def find_row(rows: list[dict[str, Any]], row_id: Any) -> dict[str, Any] | None:
    """The gap-table row with ``row_id`` (None when absent)."""
    for row in rows:
        if row.get("row_id") == row_id:
            return row
    return None


def summary_columns(lang: str) -> list[dict[str, Any]]:
    """AG Grid columns of the city-wide summary table."""
    cols = [("target_label", "target_label", 300), ("count_level", "unit_level", 100),
            ("n_units", "n_units", 90), ("met", "units_met", 90), ("not_met", "units_not_met", 100),
            ("no_data", "no_data", 90), ("plan_status", "plan_status", 110), ("shortfall", "shortfall", 90),
            ("shortfall_unit", "shortfall_unit", 100)]
    return [{"field": f, "headerName": t(k, lang), "width": w} for f, k, w in cols]


def county_bounds(county: str | None) -> list[list[float]] | None:
    """Leaflet bounds of a county, or of the city when ``county`` is None."""
    from layers.settings import CITY_CODE

    return get_service().unit_bounds("county").get(str(county) if county else CITY_CODE)
