"""Per-county facility data status: which counties' inventories are real, which still demo.

Once a county's real list is submitted (``covplan submit`` / the app's 报送台账, written by
the facility store as a batch), its records carry ``provenance = "real"`` and the batch id.
:func:`county_data_status` reads the records of one inventory year: a county is ``real`` when
every record is real, ``partial`` when some are, ``synthetic`` when none is (the embedded demo
data). ``sources`` names the submission batches its real records come from
(``民政局@2025``, joined by ``;``), read from ``dataset.layer_info["facilities_<year>"]
["submissions"]`` (set by :meth:`store.core.FacilityStore.dataset`; absent for the files).

The gap model (:func:`coverage.outputs.model.township_gaps`) copies the status of each row's
county into ``data_status`` / ``data_sources`` (the city row: all counties together);
:func:`coverage.outputs.formatting.data_status_text` turns them into text, and
:func:`data_status_lines` into the per-county lines of the exports' provenance statement.
"""

from __future__ import annotations

import weakref
from typing import Any

import pandas as pd

from coverage.outputs.formatting import data_status_text
from layers.glossary import label

__all__ = ["city_status", "county_data_status", "data_status_lines"]

_CACHE: dict[tuple, tuple[Any, dict[str, dict[str, Any]]]] = {}


def _year(dataset: Any, year: int | None) -> int | None:
    years = list(getattr(dataset, "years", []) or [])
    if year is not None and int(year) in years:
        return int(year)
    return years[-1] if years else None


def county_data_status(dataset: Any, year: int | None = None) -> dict[str, dict[str, Any]]:
    """County code → ``{"status", "n_real", "n_other", "sources"}`` for ``year``'s records.

    ``status``: ``real`` / ``partial`` / ``synthetic`` (no real record, or no record at all).
    Cached per (dataset object, revision, year).
    """
    y = _year(dataset, year)
    key = (id(dataset), getattr(dataset, "revision", 0), y)
    hit = _CACHE.get(key)
    if hit is not None and hit[0]() is dataset:  # (an id can be reused once a dataset is gone)
        return hit[1]
    codes = dataset.counties["code"].astype(str).tolist()
    fac = dataset.facilities_for(y) if y is not None else dataset.facilities.iloc[0:0]
    info = (getattr(dataset, "layer_info", None) or {}).get(f"facilities_{y}", {}) or {}
    subs = info.get("submissions") or {}

    def column(name: str, default: Any) -> pd.Series:
        return fac[name] if name in fac.columns else pd.Series(default, index=fac.index, dtype=object)

    is_real = (column("provenance", "").astype(str) == "real").to_numpy()
    cc = column("county_code", "").astype(str).to_numpy()
    batches = column("batch_id", None)
    out: dict[str, dict[str, Any]] = {}
    for code in codes:
        mine = cc == code
        n_real = int((mine & is_real).sum())
        n_other = int(mine.sum()) - n_real
        ids = pd.unique(batches[mine & is_real].dropna())
        items = sorted({f"{subs[int(b)]['source']}@{subs[int(b)]['year']}" for b in ids
                        if int(b) in subs and subs[int(b)].get("source")})
        status = "synthetic" if n_real == 0 else ("real" if n_other == 0 else "partial")
        out[code] = {"status": status, "n_real": n_real, "n_other": n_other, "sources": ";".join(items)}
    if len(_CACHE) > 16:
        _CACHE.clear()
    _CACHE[key] = (weakref.ref(dataset), out)
    return out


def city_status(per_county: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The city's status: every county together."""
    n_real = sum(v["n_real"] for v in per_county.values())
    n_other = sum(v["n_other"] for v in per_county.values())
    sources = sorted({s for v in per_county.values() for s in v["sources"].split(";") if s})
    status = "synthetic" if n_real == 0 else ("real" if n_other == 0 else "partial")
    return {"status": status, "n_real": n_real, "n_other": n_other, "sources": ";".join(sources)}


def data_status_lines(dataset: Any, year: int | None = None, lang: str = "zh",
                      county: str | None = None) -> list[str]:
    """Lines for a provenance statement once any county has real records (else ``[]``):
    each such county with its status, sources and record counts, then the demo ones together.
    ``county`` (a code) keeps that county's line only."""
    per = county_data_status(dataset, year)
    if county:
        per = {c: v for c, v in per.items() if c == str(county)}
    if not any(v["status"] != "synthetic" for v in per.values()):
        return []
    names = dict(zip(dataset.counties["code"].astype(str), dataset.counties["name"].astype(str)))
    lines = []
    for code, v in per.items():
        if v["status"] == "synthetic":
            continue
        lines.append(label("data_status_counts", lang).format(
            name=names.get(code, code), text=data_status_text(v["status"], v["sources"], lang),
            n_real=f"{v['n_real']:,d}", n_other=f"{v['n_other']:,d}"))
    demo = [c for c, v in per.items() if v["status"] == "synthetic"]
    if demo:
        lines.append(label("data_status_others", lang).format(
            n=len(demo), text=data_status_text("synthetic", "", lang)))
    head = label("county_data_status", lang) + ("：" if lang == "zh" else ": ")
    return [head + ("；" if lang == "zh" else "; ").join(lines)]
