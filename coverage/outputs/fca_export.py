"""Capacity-aware access (2SFCA / E2SFCA) as a file a person opens: xlsx or csv, Chinese headers.

The tables of :func:`coverage.access.fca.fca_for_dataset` (one row per township and per
village) become display tables with glossary headers (``lang``), numbers through
:mod:`coverage.outputs.formatting` (places per 1,000 as ``ratio``, people as ``count``) and
the provenance of every row in words (:func:`formatting.provenance_text`). Both writers
state what the values are: context for the capacity targets, not a plan target, on
synthetic demo facilities where the dataset's are synthetic.

* ``.xlsx``: sheets 说明 (the note, facility type, catchment, year, provenance),
  乡镇（街道）, 村（社区）; real numbers with number formats, frozen header, autofilter;
* ``.csv``: one level (townships by default), UTF-8 with BOM, the note in the last column
  (``数据集说明``) of every row, as the gap-list CSV does.

Every text cell and header goes through :func:`layers.safecells.safe_frame` (OWASP).
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pandas as pd

from coverage.outputs.formatting import EXCEL_FORMATS, format_number, provenance_text
from layers.glossary import label
from layers.safecells import safe_frame, safe_sheet_title, safe_text

#: display columns per level: (source column, glossary key, number format or None)
_COLUMNS: dict[str, tuple[tuple[str, str, str | None], ...]] = {
    "township": (
        ("county_name", "county_name", None), ("township_code", "township_code", None),
        ("unit_name", "township_name", None), ("pop", "@population", "count"),
        ("pop_on_network", "pop_on_network", "count"), ("fca_2sfca", "fca_2sfca", "ratio"),
        ("fca_e2sfca", "fca_e2sfca", "ratio"), ("facility_type", "facility_type", None),
        ("catchment_m", "catchment_m", "count"), ("provenance", "provenance", None),
    ),
    "village": (
        ("county_name", "county_name", None), ("township_name", "township_name", None),
        ("code", "village_code", None), ("unit_name", "village_name", None),
        ("pop", "@population", "count"), ("fca_2sfca", "fca_2sfca", "ratio"),
        ("fca_e2sfca", "fca_e2sfca", "ratio"), ("snap_m", "snap_m", "count"),
        ("facility_type", "facility_type", None), ("catchment_m", "catchment_m", "count"),
        ("provenance", "provenance", None),
    ),
}

FORMATS: tuple[str, ...] = (".xlsx", ".csv")


def fca_note(facility_type: str, catchment_m: float, provenance: str, lang: str = "zh") -> str:
    """What the values are and where they come from (one sentence per fact)."""
    sep, colon = ("；", "：") if lang == "zh" else ("; ", ": ")
    head = label("fca_context_note", lang).replace("{m}", f"{catchment_m:.0f}")
    return head + " " + sep.join([f"{label('facility_type', lang)}{colon}{label(facility_type, lang)}",
                                  f"{label('provenance', lang)}{colon}"
                                  f"{provenance_text(provenance, 'township', lang)}"])


def fca_display(frame: pd.DataFrame, level: str, ds=None, *, population: str = "pop_under3",
                lang: str = "zh", numbers: str = "text") -> pd.DataFrame:
    """Display table of one level: glossary headers, labels in ``lang``, formula-safe.

    ``numbers="text"`` formats numbers as text (csv); ``"raw"`` keeps them (xlsx).
    """
    df = frame.copy()
    if ds is not None:
        cnames = dict(zip(ds.counties["code"].astype(str), ds.counties["name"].astype(str)))
        tnames = dict(zip(ds.townships["code"].astype(str), ds.townships["name"].astype(str)))
        df["county_name"] = df["county_code"].astype(str).map(cnames).fillna("")
        df["township_name"] = df["township_code"].astype(str).map(tnames).fillna("")
    out = {}
    for src, key, fmt in _COLUMNS[level]:
        head = label(population, lang) if key == "@population" else label(key, lang)
        col = df[src] if src in df.columns else pd.Series([""] * len(df), index=df.index)
        if src == "facility_type":
            col = col.astype(str).map(lambda v: label(v, lang))
        elif src == "provenance":
            col = col.astype(str).map(lambda v: provenance_text(v, level, lang))
        elif fmt is not None:
            vals = pd.to_numeric(col, errors="coerce")
            if fmt == "count":
                vals = vals.round(0)
            col = vals.map(lambda v: format_number(v, fmt, lang)) if numbers == "text" else vals
        else:
            col = col.astype(str)
        out[head] = col.to_numpy()
    return safe_frame(pd.DataFrame(out))


def fca_bytes(fmt: str, villages: pd.DataFrame, townships: pd.DataFrame, ds=None, *,
              population: str = "pop_under3", year: int | None = None, lang: str = "zh",
              level: str = "township", note_extra: str = "") -> bytes:
    """The 2SFCA tables as the bytes of an ``.xlsx`` or ``.csv`` file (see the module doc)."""
    fmt = fmt if fmt.startswith(".") else "." + fmt
    if fmt not in FORMATS:
        from coverage._errors import NetworkError

        raise NetworkError(f"2SFCA export: {fmt} is not one of {', '.join(FORMATS)}")
    ref = townships if len(townships) else villages
    ftype = str(ref["facility_type"].iloc[0]) if len(ref) else ""
    catch = float(ref["catchment_m"].iloc[0]) if len(ref) else float("nan")
    prov = str(ref["provenance"].iloc[0]) if len(ref) else ""
    note = fca_note(ftype, catch, prov, lang) + (f" {note_extra}" if note_extra else "")
    if fmt == ".csv":
        df = fca_display(villages if level == "village" else townships, level, ds,
                         population=population, lang=lang)
        df[label("dataset_provenance", lang)] = safe_text(note)
        return df.to_csv(index=False).encode("utf-8-sig")
    return _xlsx(note, ftype, catch, prov, year, villages, townships, ds, population, lang)


def write_fca(path: str | Path, villages: pd.DataFrame, townships: pd.DataFrame, ds=None, **kw) -> Path:
    """Write :func:`fca_bytes` to ``path`` (format from its suffix)."""
    path = Path(path)
    path.write_bytes(fca_bytes(path.suffix.lower(), villages, townships, ds, **kw))
    return path


def _xlsx(note, ftype, catch, prov, year, villages, townships, ds, population, lang) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font

    wb = Workbook()
    used: set[str] = set()
    ws = wb.active
    ws.title = safe_sheet_title(label("fca_sheet_note", lang), used)
    rows = [(label("fca_layer", lang), ""), (label("dataset_provenance", lang), note),
            (label("facility_type", lang), label(ftype, lang)),
            (label("catchment_m", lang), f"{catch:.0f}"),
            (label("year", lang), "" if year is None else str(year)),
            (label("provenance", lang), provenance_text(prov, "township", lang))]
    for r, (k, v) in enumerate(rows, start=1):
        ws.cell(row=r, column=1, value=safe_text(k)).font = Font(bold=True)
        ws.cell(row=r, column=2, value=safe_text(v)).alignment = Alignment(wrap_text=True, vertical="top")
    ws.column_dimensions["A"].width = 22
    ws.column_dimensions["B"].width = 100
    for level, frame, key in (("township", townships, "fca_sheet_townships"),
                              ("village", villages, "fca_sheet_villages")):
        df = fca_display(frame, level, ds, population=population, lang=lang, numbers="raw")
        sh = wb.create_sheet(safe_sheet_title(label(key, lang), used))
        sh.append(list(df.columns))
        for c in sh[1]:
            c.font = Font(bold=True)
        fmts = [fmt for _s, _k, fmt in _COLUMNS[level]]
        for rec in df.itertuples(index=False):
            sh.append([None if isinstance(v, float) and not np.isfinite(v) else v for v in rec])
        for j, fmt in enumerate(fmts, start=1):
            if fmt is None:
                continue
            for (cell,) in sh.iter_rows(min_row=2, min_col=j, max_col=j):
                cell.number_format = EXCEL_FORMATS[fmt]
        for j, head in enumerate(df.columns, start=1):
            sh.column_dimensions[sh.cell(row=1, column=j).column_letter].width = max(10, min(40, 2 * len(head)))
        sh.freeze_panes = "A2"
        sh.auto_filter.ref = sh.dimensions
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
