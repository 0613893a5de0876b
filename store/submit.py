"""Yearly submissions: a member unit's list → preview (new / changed / missing / rejected) → batch.

``preview_submission`` runs today's importer (:func:`layers.importers.import_facilities`:
headers, CRS, name matching, validation) and matches each accepted row to the store's state of
that year **within the row's county only**: by ``facility_id`` when the file carries one the
county holds, else by type + township + name (``match_score`` = similarity of the names,
1.0 for equal names; ≥ 0.8 counts as a match). Rows of another county than ``--county``, of a
type the source does not keep, or carrying another county's id are rejected with the reason.
Only the fields the file has are compared (a file without 地址 never blanks addresses).
``apply_submission`` writes one batch (file name, SHA-256, time, submitter) in one
transaction; ``FacilityStore.rollback`` undoes it.
"""

from __future__ import annotations

import difflib
import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import pandas as pd
from sqlalchemy import insert, or_, update

import store.changes as C
from layers.importers import import_facilities
from layers.names import normalise_name
from store._errors import ConflictError, StoreError
from store.migrations import now_iso
from store.schema import ATTRIBUTE_COLUMNS, db_value
from store.sources import source_types

MATCH_THRESHOLD = 0.8
#: file fields (importers_table canonical names) → store attributes they set
_FIELD_ATTRS: dict[str, tuple[str, ...]] = {
    "name": ("name",), "type": ("type",), "tier": ("tier", "level"), "level": ("level", "tier"),
    "capacity": ("capacity",), "address": ("address",), "is_inclusive": ("is_inclusive",),
    "has_reading_area": ("has_reading_area",), "building_area_m2": ("building_area_m2",),
    "daily_visitors": ("daily_visitors",), "place_kind": ("place_kind",),
    "serves_place_id": ("serves_place_id",),
}
_LOCATION_FIELDS = {"county", "township", "village", "county_code", "township_code", "village_code",
                    "lon", "lat", "coords"}
_MOVE_DEG = 5e-6    # ≈ 0.5 m: coordinates closer than this are the same point


@dataclass
class SubmissionPreview:
    """What a submission would do. DataFrames hold one row per facility/row."""

    year: int
    source: str
    counties: list[str]
    file_name: str
    file_sha256: str
    new: gpd.GeoDataFrame            # rows to add (FACILITY_COLUMNS + source_row)
    changed: pd.DataFrame            # facility_id, fid, version, match, match_score, source_row,
                                     # name, fields, old, new
    unchanged: pd.DataFrame          # facility_id, match, match_score, source_row
    missing: gpd.GeoDataFrame        # the county's records of the source's types not in the file
    rejected: pd.DataFrame           # 源文件行号, 字段, 原因, reason
    flagged: pd.DataFrame
    notes: list[str] = field(default_factory=list)
    compared: tuple[str, ...] = ()

    def summary(self) -> str:
        return (f"{self.file_name} ({self.source}, {self.year}, {', '.join(self.counties) or '-'}): "
                f"新增 new {len(self.new)}, 变更 changed {len(self.changed)}, "
                f"未变 unchanged {len(self.unchanged)}, 缺失 missing {len(self.missing)}, "
                f"拒绝 rejected {len(self.rejected)}")


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()



def _county_code(units, county: str | None) -> str | None:
    if not county:
        return None
    c = units.counties
    hit = c[(c["code"] == county) | (c["name"] == county)]
    if hit.empty:
        raise StoreError(f"--county {county!r}: no such county / 无此县（市、区）")
    return str(hit.iloc[0]["code"])


def _reject(rows: list, src_row: int, fld: str, zh: str, en: str) -> None:
    rows.append({"源文件行号": src_row, "字段": fld, "原因": zh, "reason": en})


def _same(a, b) -> bool:
    blank_a = a is None or a is pd.NA or (isinstance(a, float) and a != a) or (isinstance(a, str) and a == "")
    blank_b = b is None or b is pd.NA or (isinstance(b, float) and b != b) or (isinstance(b, str) and b == "")
    if blank_a or blank_b:
        return blank_a and blank_b
    return not C._differs(a, b)


def preview_submission(st, path: Path | str, year: int, source: str, *, county: str | None = None,
                       crs: str = "wgs84", sheet: str | None = None,
                       provenance: str = "real") -> SubmissionPreview:
    """Read ``path`` and compare it with the store's state of ``year`` (nothing is written)."""
    path = Path(path)
    units = st.units()
    types = source_types(source)
    ccode = _county_code(units, county)
    res = import_facilities(path, units, crs=crs, year=int(year), provenance=provenance, sheet=sheet)
    present = set(res.fields)
    compared = sorted({a for f in present for a in _FIELD_ATTRS.get(f, ())})
    locates = bool(present & _LOCATION_FIELDS)
    has_xy = bool(present & {"lon", "lat", "coords"})
    rejected = [dict(r) for r in res.rejects[["源文件行号", "字段", "原因", "reason"]].to_dict("records")] \
        if len(res.rejects) else []
    imp = res.facilities
    if ccode:
        other = imp["county_code"] != ccode
        for r in imp[other].itertuples():
            _reject(rejected, r.source_row, "county", f"属于其他县（{r.county_code}），本次报送为 {ccode}",
                    f"row is in county {r.county_code}, the submission is for {ccode}")
        imp = imp[~other]
    wrong_type = ~imp["type"].isin(list(types))
    for r in imp[wrong_type].itertuples():
        _reject(rejected, r.source_row, "type", f"{source} 不报送此类设施（{r.type}）",
                f"{source} does not submit facilities of type {r.type}")
    imp = imp[~wrong_type]
    counties = sorted({ccode} if ccode else set(imp["county_code"]))
    state = st.facilities(int(year), statuses=None)
    in_scope = state[state["county_code"].isin(counties)]
    cur_geom = dict(zip(in_scope["facility_id"], in_scope.geometry.to_numpy()))
    by_id = {r["facility_id"]: r for r in in_scope.drop(columns="geometry").to_dict("records")}
    foreign_ids = set(state.loc[~state["county_code"].isin(counties), "facility_id"])
    pool: dict[tuple[str, str], list[tuple[str, str]]] = {}
    kept = in_scope[in_scope["type"].isin(list(types))]
    for fid_, typ, twp, nm in zip(kept["facility_id"], kept["type"], kept["township_code"], kept["name"]):
        pool.setdefault((typ, twp), []).append((fid_, normalise_name(nm)))
    used: set[str] = set()
    new_rows, changed, unchanged = [], [], []
    geoms = imp.geometry.to_numpy()
    for i, r in enumerate(imp.to_dict("records")):
        geom = geoms[i]
        fid, match, score = r["facility_id"], "", 0.0
        if fid in by_id and fid not in used:
            match, score = "id", 1.0
        elif fid in foreign_ids:
            _reject(rejected, r["source_row"], "facility_id", f"编号 {fid} 属于其他县，不能在此报送中修改",
                    f"id {fid} belongs to another county; a submission never changes another county")
            continue
        else:
            cands = pool.get((r["type"], r["township_code"]))
            best, best_s = None, 0.0
            if cands is not None:
                key = normalise_name(r["name"])
                for cid, cname in cands:
                    if cid in used:
                        continue
                    s = difflib.SequenceMatcher(None, key, cname).ratio()
                    if s > best_s:
                        best, best_s = cid, s
            if best is not None and best_s >= MATCH_THRESHOLD:
                fid, match, score = best, "name", round(best_s, 3)
        if not match:
            new_rows.append(i)
            continue
        used.add(fid)
        cur = by_id[fid]
        cur_pt = cur_geom[fid]
        old_v, new_v = {}, {}
        for a in compared:
            if not _same(cur[a], r[a]):
                old_v[a], new_v[a] = cur[a], r[a]
        if locates:
            for a in ("county_code", "township_code", "village_code"):
                if not _same(cur[a], r[a]):
                    old_v[a], new_v[a] = cur[a], r[a]
        if has_xy and geom is not None and cur_pt is not None and \
                max(abs(geom.x - cur_pt.x), abs(geom.y - cur_pt.y)) > _MOVE_DEG:
            old_v.update(lon=cur_pt.x, lat=cur_pt.y)
            new_v.update(lon=geom.x, lat=geom.y, location_precision=r["location_precision"])
        if cur["status"] == "closed":
            old_v["status"], new_v["status"] = "closed", "open"
        entry = {"facility_id": fid, "fid": int(cur["fid"]), "version": int(cur["version"]),
                 "match": match, "match_score": score, "source_row": int(r["source_row"]),
                 "name": r["name"]}
        if new_v:
            if cur["provenance"] != r["provenance"]:
                old_v["provenance"], new_v["provenance"] = cur["provenance"], r["provenance"]
            changed.append({**entry, "fields": ",".join(sorted(new_v)), "old": old_v, "new": new_v})
        else:
            unchanged.append(entry)
    missing = in_scope[in_scope["type"].isin(list(types)) & ~in_scope["facility_id"].isin(used)
                       & (in_scope["status"] != "closed")]
    new = imp.iloc[new_rows].copy()
    clash = new["facility_id"].isin(set(state["facility_id"]))
    for r in new[clash].itertuples():
        _reject(rejected, r.source_row, "facility_id", f"编号 {r.facility_id} 已存在（与名称不符）",
                f"id {r.facility_id} already exists for another facility")
    new = new[~clash]
    return SubmissionPreview(
        year=int(year), source=source, counties=counties, file_name=path.name,
        file_sha256=_sha256(path), new=new,
        changed=pd.DataFrame(changed, columns=["facility_id", "fid", "version", "match", "match_score",
                                               "source_row", "name", "fields", "old", "new"]),
        unchanged=pd.DataFrame(unchanged, columns=["facility_id", "fid", "version", "match",
                                                   "match_score", "source_row", "name"]),
        missing=missing.reset_index(drop=True),
        rejected=pd.DataFrame(rejected, columns=["源文件行号", "字段", "原因", "reason"]).sort_values(
            "源文件行号", kind="stable").reset_index(drop=True),
        flagged=res.flagged, notes=list(res.notes), compared=tuple(compared))


def apply_submission(st, pv: SubmissionPreview, *, user: str, close_missing: bool = False,
                     reason: str = "") -> int:
    """Write the preview as one batch; return its id.

    Refused with ConflictError (nothing written) when a matched record changed since the preview.
    """
    t, f = st.t, st.t.facilities.c
    y = pv.year
    with st.engine.begin() as conn:
        bid = C.new_batch(conn, st, "submission", user, year=y, source=pv.source,
                          county_code=",".join(pv.counties), file_name=pv.file_name,
                          file_sha256=pv.file_sha256, note=reason,
                          n_new=len(pv.new), n_changed=len(pv.changed),
                          n_closed=len(pv.missing) if close_missing else 0)
        ends = [(int(r.fid), r.facility_id) for r in pv.changed.itertuples()]
        closing = pv.missing if close_missing else pv.missing.iloc[0:0]
        ends += [(int(r.fid), r.facility_id) for r in closing.itertuples()]
        old = {int(r.fid): r for r in _records(st, conn, [e[0] for e in ends]).itertuples()}
        for k in range(0, len(ends), 500):
            part = [e[0] for e in ends[k:k + 500]]
            n = conn.execute(update(t.facilities).where(
                f.fid.in_(part), f.valid_from <= y, or_(f.valid_to.is_(None), f.valid_to > y))
                .values(valid_to=y)).rowcount
            if n != len(part):
                raise ConflictError(f"some facilities of {pv.file_name} were changed since the preview; "
                                    "preview again / 预览后数据已被修改，请重新预览")
        rows, audits = [], []
        for ch in pv.changed.itertuples():
            rec = old[int(ch.fid)]
            vals = {a: getattr(rec, a) for a in ATTRIBUTE_COLUMNS}
            vals["status"] = rec.status
            vals["lon"], vals["lat"] = rec.geometry.x, rec.geometry.y
            vals.update(ch.new)
            rows.append(_row(st, ch.facility_id, y, rec.valid_to, vals, int(rec.version) + 1, bid))
            audits.append(dict(action="update", facility_id=ch.facility_id, old=ch.old, new=ch.new,
                               old_fid=int(ch.fid), old_valid_to=_int(rec.valid_to)))
        for m in closing.itertuples():
            rec = old[int(m.fid)]
            vals = {a: getattr(rec, a) for a in ATTRIBUTE_COLUMNS}
            vals.update(status="closed", lon=rec.geometry.x, lat=rec.geometry.y)
            rows.append(_row(st, m.facility_id, y, rec.valid_to, vals, int(rec.version) + 1, bid))
            audits.append(dict(action="close", facility_id=m.facility_id, old={"status": rec.status},
                               new={"status": "closed"}, old_fid=int(m.fid), old_valid_to=_int(rec.valid_to)))
        for r in pv.new.to_dict("records"):
            g = r["geometry"]
            vals = {a: r[a] for a in ATTRIBUTE_COLUMNS}
            vals.update(status="open", lon=g.x, lat=g.y)
            rows.append(_row(st, r["facility_id"], y, None, vals, 1, bid))
            audits.append(dict(action="create", facility_id=r["facility_id"], old=None,
                               new={k: v for k, v in vals.items() if v not in ("", None)},
                               old_fid=None, old_valid_to=None))
        fids: list[int] = []
        for k in range(0, len(rows), 1000):
            res = conn.execute(insert(t.facilities).returning(f.fid, sort_by_parameter_order=True),
                               rows[k:k + 1000])
            fids += [int(x) for x in res.scalars()]
        now = now_iso()
        arows = [{"batch_id": bid, "at": now, "user_name": user, "outcome": "ok", "year": y,
                  "new_fid": nf, "old_values": C.dumps(a["old"]), "new_values": C.dumps(a["new"]),
                  "reason": reason or pv.file_name, "action": a["action"], "facility_id": a["facility_id"],
                  "old_fid": a["old_fid"], "old_valid_to": a["old_valid_to"]}
                 for a, nf in zip(audits, fids)]
        for k in range(0, len(arows), 1000):
            conn.execute(insert(t.audit), arows[k:k + 1000])
        st.ensure_year(conn, y)
        st.bump(conn)
    return bid


def _int(v):
    return None if v is None or pd.isna(v) else int(v)


def _records(st, conn, fids: list[int]) -> gpd.GeoDataFrame:
    frames = [st._frame(st.t.facilities.c.fid.in_(fids[k:k + 500]), conn) for k in range(0, len(fids), 500)]
    if not frames:
        return st._frame(st.t.facilities.c.fid == -1, conn)
    return pd.concat(frames, ignore_index=True)


def _row(st, facility_id: str, year: int, valid_to, vals: dict, version: int, bid: int) -> dict:
    from shapely import Point

    row = {a: db_value(a, vals.get(a)) for a in ATTRIBUTE_COLUMNS}
    row.update(facility_id=facility_id, valid_from=int(year), valid_to=_int(valid_to),
               status=vals.get("status") or "open", version=version, batch_id=bid,
               geom=st.t.geom_value(Point(float(vals["lon"]), float(vals["lat"]))))
    return row
