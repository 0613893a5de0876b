"""Scenario-mode queries: build edits from clicks, diff against the base, save/open/upload,
propose sites and accept proposals.

Edits are checked twice before they reach a Store: by the scenario file rules
(:func:`dashapp.state.validate_edit`) and by applying them to the dataset
(:func:`scenarios.apply_scenario` via the service), so a click outside Lishui or on no
township gives a message instead of a broken scenario. Applying also warms the cache the
map callback reads next.
"""

from __future__ import annotations

import base64
import binascii
from pathlib import Path
from typing import Any, Sequence

from dashapp.labels import format_number, t, target_label
from dashapp.service import UNNAMED_SCENARIO, get_service
from dashapp.state import ScenarioState, StateError, validate_scenario_name
from layers._errors import CovplanError, ImportInputError
from layers.settings import MAX_UPLOAD_BYTES

#: facility types whose new facilities need a capacity (托位 / 学位)
CAPACITY_TYPES: frozenset[str] = frozenset({"childcare", "kindergarten"})
#: longest facility name accepted from the browser
MAX_NAME_CHARS: int = 100


def _apply_check(state: ScenarioState, year: Any) -> ScenarioState:
    """Raise the ScenarioError of the edits, if any, by applying them (cached)."""
    svc = get_service()
    svc.scenario_data(list(state.edits), svc.year(year))
    return state


def _edits_with_ids(sc: Any) -> list[dict[str, Any]]:
    """Edits of a loaded scenario with the ids of added facilities made explicit.

    A file may leave ``facility_id`` out; the id it would get depends on the scenario's
    name (:func:`scenarios.new_facility_id`). Writing it into the edit keeps the id stable
    whatever the session calls the scenario later.
    """
    from scenarios import new_facility_id as file_facility_id

    out = []
    for i, edit in enumerate(sc.edits):
        d = edit.to_dict()
        if d["op"] == "add_facility" and not d.get("facility_id"):
            d["facility_id"] = file_facility_id(sc.name, i)
        out.append(d)
    return out


def new_facility_id(edits: Sequence[dict[str, Any]]) -> str:
    """An id for a facility added in the browser: ``APP-<n>``, unique within the edits."""
    used = {str(e.get("facility_id")) for e in edits if e.get("facility_id")}
    n = len(edits) + 1
    while f"APP-{n:03d}" in used:
        n += 1
    return f"APP-{n:03d}"


def add_facility(scenario: Any, latlng: dict[str, float] | None, ftype: str, tier: str | None,
                 capacity: Any, name: str | None, basemap: str, year: Any) -> dict[str, Any]:
    """The Store value after adding a facility where the map was clicked.

    ``latlng`` is the clicked point in the map's display datum: GCJ-02 on 高德 tiles
    (the edit then says ``crs = "gcj02"`` and is converted back to WGS84 when applied),
    WGS84 otherwise.
    """
    state = ScenarioState.from_json(scenario)
    if not latlng or "lat" not in latlng or "lng" not in latlng:
        raise StateError("map click: no position")
    edit: dict[str, Any] = {
        "op": "add_facility",
        "type": ftype,
        "facility_id": new_facility_id(list(state.edits)),
        "lon": round(float(latlng["lng"]), 7),
        "lat": round(float(latlng["lat"]), 7),
        "crs": "gcj02" if basemap == "amap" else "wgs84",
    }
    if ftype == "child_home":
        edit["tier"] = tier or "basic"
    if ftype in CAPACITY_TYPES:
        try:
            edit["capacity"] = int(capacity if capacity not in (None, "") else 0)
        except (TypeError, ValueError) as exc:
            raise StateError(f"capacity {capacity!r}: not a whole number") from exc
    if name and str(name).strip():
        edit["name"] = str(name).strip()[:MAX_NAME_CHARS]
    return _apply_check(state.with_edit(edit), year).to_json()


def change_facility(scenario: Any, facility_id: str | None, op: str, year: Any) -> dict[str, Any]:
    """The Store value after closing (``close``) or upgrading (``upgrade``) a facility."""
    state = ScenarioState.from_json(scenario)
    if not facility_id:
        raise StateError("no facility selected")
    if op == "close":
        edit = {"op": "close_facility", "facility_id": str(facility_id)}
    elif op == "upgrade":
        edit = {"op": "upgrade_facility", "facility_id": str(facility_id), "tier": "demonstration"}
    else:
        raise StateError(f"unknown facility action {op!r}")
    return _apply_check(state.with_edit(edit), year).to_json()


def undo(scenario: Any) -> dict[str, Any]:
    return ScenarioState.from_json(scenario).without_last().to_json()


def clear(scenario: Any) -> dict[str, Any]:
    return ScenarioState(ScenarioState.from_json(scenario).name, ()).to_json()


def describe_edit(edit: dict[str, Any], lang: str) -> str:
    """One line of text for an edit (names are text; the UI renders them as text nodes)."""
    op = edit.get("op", "")
    if op == "add_facility":
        what = t(str(edit.get("type")), lang)
        if edit.get("tier"):
            what += f"（{t(str(edit['tier']), lang)}）"
        where = edit.get("village") or (
            f"{format_number(edit.get('lon'), 5)}, {format_number(edit.get('lat'), 5)}" if "lon" in edit else ""
        )
        name = f" “{edit['name']}”" if edit.get("name") else ""
        cap = f" {t('capacity', lang)} {edit['capacity']}" if edit.get("capacity") is not None else ""
        return f"{t('add_facility', lang)}: {what}{name} @ {where}{cap}"
    if op == "close_facility":
        return f"{t('close_facility', lang)}: {edit.get('facility_id')}"
    if op == "upgrade_facility":
        return f"{t('upgrade_facility', lang)}: {edit.get('facility_id')}"
    if op == "set_capacity":
        return f"{t('set_capacity', lang)}: {edit.get('facility_id')} → {edit.get('capacity')}"
    if op == "scale_population":
        return f"{t('scale_population', lang)}: {edit.get('county')} × {edit.get('factor')}"
    if op == "override_target":
        return f"{t('override_target', lang)}: {edit.get('target')} → {edit.get('threshold', edit.get('band'))}"
    return str(op)


def scenario_diff(edits: Sequence[dict[str, Any]], year: Any, lang: str) -> dict[str, Any]:
    """Units whose status changed between the base and the scenario, for every target.

    Returns ``{"up": n, "down": n, "rows": [{target_label, unit_name, change}, …]}``
    (``up`` = not met → met). Uses :func:`scenarios.diff.compare_units` on the two cached
    full evaluations.
    """
    from scenarios.diff import FLIP_DOWN, FLIP_UP, compare_units

    if not edits:
        return {"up": 0, "down": 0, "rows": []}
    svc = get_service()
    year_i = svc.year(year)
    before = svc.evaluation(year_i, (), None).units
    after = svc.evaluation(year_i, edits, None).units
    changes = compare_units(before, after)
    flips = changes[changes["change"] != ""]
    labels = {tg.id: target_label(tg, lang) for tg in svc.targets}
    name_col = "unit_name" if "unit_name" in flips.columns else "unit_code"
    rows = []
    for r in flips.itertuples(index=False):
        change = getattr(r, "change")
        text = (t("flipped_to_met", lang) if change == FLIP_UP else
                t("flipped_to_not_met", lang) if change == FLIP_DOWN else str(change))
        rows.append({"target_label": labels.get(r.target_id, r.target_id),
                     "unit_name": str(getattr(r, name_col)), "change": text, "direction": change})
    return {
        "up": int((flips["change"] == FLIP_UP).sum()),
        "down": int((flips["change"] == FLIP_DOWN).sum()),
        "rows": rows,
    }


def save(name: str, scenario: Any, year: Any) -> str:
    """Save the session's scenario as ``scenarios/saved/<name>.toml``; return the path."""
    from dashapp.saved_scenarios import repository
    from scenarios import Scenario

    stem = validate_scenario_name(name)
    state = ScenarioState.from_json(scenario)
    svc = get_service()
    sc = Scenario.from_edits(stem, list(state.edits), year=svc.year(year), source="<app>")
    return repository().save(sc, stem)


def open_saved(name: str) -> dict[str, Any]:
    """The Store value of a saved scenario (name validated; never a path)."""
    from dashapp.saved_scenarios import repository

    sc = repository().load(str(name or ""))
    state = ScenarioState(sc.name[:64], ()).with_edits(_edits_with_ids(sc))
    return _apply_check(state, sc.year).to_json()


def parse_upload(contents: str | None, filename: str | None) -> dict[str, Any]:
    """The Store value of an uploaded scenario file (``.toml`` only, size-capped)."""
    from scenarios import Scenario
    from scenarios.model import loads_toml

    fname = _base_name(filename)
    if not fname.lower().endswith(".toml"):
        raise StateError(f"{fname or 'upload'}: only .toml scenario files are accepted")
    if not contents or "," not in contents:
        raise StateError(f"{fname}: empty upload")
    payload = contents.split(",", 1)[1]
    if len(payload) > MAX_UPLOAD_BYTES * 4 // 3 + 4:
        raise StateError(f"{fname}: larger than {MAX_UPLOAD_BYTES} bytes")
    try:
        raw = base64.b64decode(payload, validate=True)
        doc = loads_toml(raw.decode("utf-8"), fname)  # syntax and nesting depth → ScenarioError
    except (binascii.Error, UnicodeDecodeError) as exc:
        raise StateError(f"{fname}: not a UTF-8 TOML file ({exc})") from exc
    sc = Scenario.from_dict(doc, source=fname)
    state = ScenarioState(sc.name[:64], ()).with_edits(_edits_with_ids(sc))
    return _apply_check(state, sc.year).to_json()


def _base_name(filename: Any) -> str:
    """The file name a browser sent, without any folder (``C:\\Users\\a\\清单.csv`` → ``清单.csv``)."""
    return str(filename or "upload").replace("\\", "/").rsplit("/", 1)[-1] or "upload"


def default_name(scenario: Any) -> str:
    return ScenarioState.from_json(scenario).name or UNNAMED_SCENARIO


def error_text(exc: CovplanError, lang: str) -> str:
    """Chinese by error family in zh, the detailed (English) message in en."""
    from dashapp.views import error_text as _error_text

    return _error_text(exc, lang)


# =========================================================================== siting
#: time budget of an access-target siting run started from the browser (seconds)
SITING_TIME_LIMIT_S: float = 20.0


def run_siting(target_id: str | None, year: Any, edits: Sequence[dict[str, Any]]) -> Any:
    """The :class:`coverage.siting.proposals.ProposalSet` closing the gaps of one target.

    Presence → upgrade or most central village; facility share → upgrades; capacity
    ratio → 托位 to add; access → set covering (LSCP) to the target's share on the
    network. Other kinds have no siting action (:class:`coverage._errors.SitingError`).
    """
    from coverage._errors import SitingError
    from coverage.siting import propose_facility_share, propose_presence
    from coverage.siting import propose_access, propose_capacity

    svc = get_service()
    year_i = svc.year(year)
    ds, targets = svc.scenario_data(edits, year_i)
    tg = svc.target(target_id, targets)
    units = svc.evaluation(year_i, edits, tg.id).units
    if tg.kind == "presence":
        return propose_presence(ds, tg, units, year=year_i)
    if tg.kind == "facility_share":
        return propose_facility_share(ds, tg, units, year=year_i)
    if tg.kind == "capacity_ratio":
        return propose_capacity(ds, tg, units, year=year_i)
    if tg.kind == "access":
        return propose_access(ds, tg, year=year_i, network=svc._network(), time_limit_s=SITING_TIME_LIMIT_S)
    raise SitingError(f"{tg.id}: no siting for targets of kind {tg.kind!r}")


def proposals(target_id: str | None, year: Any, county: str | None, edits: Sequence[dict[str, Any]],
              lang: str) -> dict[str, Any]:
    """Proposal rows for the table, their points for the map and the edits of each.

    Returns ``{"rows": [...], "points": FeatureCollection, "store": [{action_id, edits}],
    "notes": [...], "status": str}``; with a county chosen only its actions are kept.
    """
    from dashapp.maps import feature_collection

    svc = get_service()
    pset = run_siting(target_id, year, edits)
    ds, _ = svc.scenario_data(edits, svc.year(year))
    names = dict(zip(ds.townships["code"].astype(str), ds.townships["name"].astype(str)))
    rows, feats, store = [], [], []
    for a in pset.actions:
        if county and str(a.get("county_code") or "") != str(county):
            continue
        town = names.get(str(a.get("township_code") or ""), "")
        where = " ".join(x for x in (town, str(a.get("village_name") or "")) if x)
        ftype = str(a.get("facility_type") or "")
        row = {
            "action_id": str(a["action_id"]),
            "action_label": t(f"action_{a.get('action')}", lang),
            "type_label": t(ftype, lang) + (f"（{t(str(a['tier']), lang)}）" if a.get("tier") else ""),
            "where": where,
            "reason": str(a.get("reason") or ""),
        }
        rows.append(row)
        store.append({"action_id": row["action_id"], "edits": [dict(e) for e in a.get("edits", [])]})
        lon, lat = a.get("lon"), a.get("lat")
        if lon is not None and lat is not None and lon == lon and lat == lat:
            feats.append({"type": "Feature",
                          "properties": {"label": f"{row['action_label']} · {row['type_label']} · {where}"},
                          "geometry": {"type": "Point", "coordinates": [float(lon), float(lat)]}})
    return {"rows": rows, "points": feature_collection(feats), "store": store,
            "notes": list(pset.notes), "status": str(pset.status)}


def accept_proposals(scenario: Any, stored: Sequence[dict[str, Any]] | None,
                     selected: Sequence[dict[str, Any]] | None, year: Any) -> dict[str, Any]:
    """The Store value with the edits of the selected proposals appended (checked)."""
    state = ScenarioState.from_json(scenario)
    wanted = {str(r.get("action_id")) for r in (selected or [])}
    new = [e for p in (stored or []) if str(p.get("action_id")) in wanted for e in p.get("edits", [])]
    if not new:
        raise StateError("no proposal selected")
    return _apply_check(state.with_edits(new), year).to_json()


# =========================================================================== inventory upload
#: file types accepted for an inventory upload
INVENTORY_SUFFIXES: tuple[str, ...] = (".xlsx", ".csv")


def import_inventory(contents: str | None, filename: str | None, scenario: Any, year: Any,
                     lang: str) -> tuple[dict[str, Any], str]:
    """Import an uploaded facility inventory (.xlsx/.csv) into the session's scenario.

    The file goes through :func:`layers.importers.import_facilities` (header matching,
    coordinate systems, name matching, every rejected row with its reason); each imported
    facility becomes an ``add_facility`` edit at its WGS84 point, so the planner sees its
    effect on every target. Returns the new Store value and a summary text (imported,
    rejected with the first reasons). Scenario records are marked synthetic by the
    scenario engine: the upload is a what-if until it is imported with the CLI.
    """
    import tempfile

    from layers.importers import import_facilities

    fname = _base_name(filename)
    suffix = Path(fname).suffix.lower()
    if suffix == ".xls":
        raise StateError(f"{fname}: old .xls format; open it in Excel/WPS and save it as .xlsx "
                         "/ 旧版 .xls 格式，请另存为 .xlsx")
    if suffix not in INVENTORY_SUFFIXES:
        raise StateError(f"{fname}: only .xlsx or .csv inventories are accepted")
    if not contents or "," not in contents:
        raise StateError(f"{fname}: empty upload")
    payload = contents.split(",", 1)[1]
    if len(payload) > MAX_UPLOAD_BYTES * 4 // 3 + 4:
        size = len(payload) * 3 // 4
        raise StateError(f"{fname}: the file is {size / 1e6:.1f} MB, above the {MAX_UPLOAD_BYTES / 1e6:.0f} MB "
                         "limit; split it / 文件过大，请拆分后上传")
    try:
        raw = base64.b64decode(payload, validate=True)
    except binascii.Error as exc:
        raise StateError(f"{fname}: not a valid upload ({exc})") from exc
    svc = get_service()
    year_i = svc.year(year)
    with tempfile.TemporaryDirectory(prefix="covplan-upload-") as tmp:
        path = Path(tmp) / f"inventory{suffix}"
        path.write_bytes(raw)
        try:
            result = import_facilities(path, svc.ds, year=year_i)
        except CovplanError as exc:
            # messages name the user's file, never the server's temporary path (same error family)
            text = str(exc).replace(str(path), fname).replace(path.name, fname)
            raise (type(exc) if isinstance(exc, ImportInputError) else StateError)(text) from exc
    state = ScenarioState.from_json(scenario)
    edits = []
    fac = result.facilities
    fac = fac[fac["year"] == year_i] if "year" in fac.columns else fac
    for i, row in enumerate(fac.itertuples(index=False)):
        edit: dict[str, Any] = {"op": "add_facility", "type": str(row.type),
                                "facility_id": f"UP-{len(state.edits) + i + 1:04d}",
                                "name": str(row.name)[:MAX_NAME_CHARS],
                                "lon": float(row.geometry.x), "lat": float(row.geometry.y), "crs": "wgs84"}
        if row.type == "child_home":
            edit["tier"] = str(row.tier) if isinstance(row.tier, str) and row.tier else "basic"
        if row.type in CAPACITY_TYPES:
            cap = row.capacity
            edit["capacity"] = int(cap) if cap == cap and cap is not None else 0
        edits.append(edit)
    new_state = _apply_check(state.with_edits(edits), year_i) if edits else state
    reasons = [str(r) for r in result.rejects.iloc[:, 2].head(5)] if result.n_rejected else []
    text = (f"{fname}: {result.n_imported} → {t('scenario', lang)}; "
            f"{t('error', lang)} {result.n_rejected}" + (f" ({'; '.join(reasons)})" if reasons else ""))
    return new_state.to_json(), text
