"""A member unit's list submitted in the app: upload → preview → batch (like ``covplan submit``).

The upload stays in the browser's Upload component; preview and apply both decode it into a
temporary file named like the upload (the batch keeps that name and the SHA-256) and run
:func:`store.submit.preview_submission`; apply then writes the batch. On the city server a
county editor may submit only for their own county.
"""

from __future__ import annotations

import base64
import binascii
import re
import tempfile
from pathlib import Path

from dashapp.inventory import app_store, current_user, may_edit_county
from layers._errors import CovplanError
from layers.settings import MAX_UPLOAD_BYTES
from store.submit import apply_submission, preview_submission

SUFFIXES = (".xlsx", ".csv")
_SAFE = re.compile(r"[^\w.\-\u4e00-\u9fff（）()]+")


def _write_upload(contents: str, filename: str, tmp: Path) -> Path:
    name = _SAFE.sub("_", Path(str(filename or "upload")).name)[:120] or "upload"
    if Path(name).suffix.lower() not in SUFFIXES:
        raise CovplanError(f"{name}: only .xlsx or .csv lists are accepted / 仅接受 .xlsx 或 .csv")
    if not contents or "," not in contents:
        raise CovplanError(f"{name}: empty upload / 空文件")
    payload = contents.split(",", 1)[1]
    if len(payload) > MAX_UPLOAD_BYTES * 4 // 3 + 4:
        raise CovplanError(f"{name}: larger than {MAX_UPLOAD_BYTES} bytes")
    try:
        raw = base64.b64decode(payload, validate=True)
    except binascii.Error as exc:
        raise CovplanError(f"{name}: not a valid upload ({exc})") from exc
    path = tmp / name
    path.write_bytes(raw)
    return path


def preview(contents: str, filename: str, year: int, source: str, county: str | None, crs: str) -> dict:
    """Summary of what the submission would do (JSON-safe: counts and the first rows)."""
    st = app_store()
    if st is None:
        raise CovplanError("no facility store / 未启用设施库")
    with tempfile.TemporaryDirectory(prefix="covplan-submit-") as d:
        path = _write_upload(contents, filename, Path(d))
        pv = preview_submission(st, path, int(year), source, county=county or None, crs=crs or "wgs84")
    return _summary(pv)


def _summary(pv) -> dict:
    return {
        "summary": pv.summary(),
        "changed": [{"row": int(r.source_row), "facility_id": r.facility_id, "name": r.name, "match": r.match,
                     "score": float(r.match_score),
                     "changes": "; ".join(f"{k}: {r.old.get(k)} → {r.new.get(k)}" for k in sorted(r.new))}
                    for r in pv.changed.head(200).itertuples()],
        "new": [{"row": int(r.source_row), "name": r.name, "type": r.type, "township_code": r.township_code}
                for r in pv.new.head(200).itertuples()],
        "missing": [{"facility_id": r.facility_id, "name": r.name, "type": r.type}
                    for r in pv.missing.head(200).itertuples()],
        "rejected": [{"row": int(r[1]), "field": r[2], "reason": r[3]} for r in pv.rejected.head(200).itertuples()],
        "counts": {"new": len(pv.new), "changed": len(pv.changed), "unchanged": len(pv.unchanged),
                   "missing": len(pv.missing), "rejected": len(pv.rejected)},
        "counties": list(pv.counties),
    }


def apply(contents: str, filename: str, year: int, source: str, county: str | None, crs: str,
          close_missing: bool) -> tuple[int, dict]:
    """Preview again and write the batch; returns (batch id, summary)."""
    st = app_store()
    if st is None:
        raise CovplanError("no facility store / 未启用设施库")
    with tempfile.TemporaryDirectory(prefix="covplan-submit-") as d:
        path = _write_upload(contents, filename, Path(d))
        pv = preview_submission(st, path, int(year), source, county=county or None, crs=crs or "wgs84")
    if not all(may_edit_county(c) for c in pv.counties):
        st.write_audit(user=current_user(), action="submit", outcome="forbidden",
                       reason=f"{pv.file_name}: counties {', '.join(pv.counties)}")
        raise CovplanError("you may not submit for these counties / 无权报送这些县的台账")
    bid = apply_submission(st, pv, user=current_user(), close_missing=close_missing,
                           reason=f"app upload {pv.file_name}")
    return bid, _summary(pv)
