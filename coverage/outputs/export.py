"""Export the township gap list: Excel, CSV, GeoJSON and GeoPackage, with Chinese headers.

Every export states where its data come from (``Dataset.layer_provenance``): synthetic demo
data are called synthetic and "非真实数据" in the file itself, never only in a README.

* ``.xlsx`` — sheet 汇总 first (city-wide or county summary per target, under a prominent
  provenance statement), one sheet per level (县市级, 乡镇级, 村级; 合计 row per county block;
  real numbers with number formats) and a 乡镇宽表 sheet (one row per township, one column
  per target). Frozen header rows, autofilter, column widths fit for print (long text wraps),
  A4 landscape fit to one page wide with the header row repeated; the page footer repeats the
  provenance (:mod:`coverage.outputs.export_xlsx`).
* ``.csv`` — UTF-8 with BOM, one clean table (every section, ``缺口类别`` tells them apart;
  the numbers as the app shows them: 80.6%, 11,511);
  the dataset provenance statement is the last column (``数据集说明``) of every row, so the
  file stays a plain table that Excel/WPS opens directly.
* ``.geojson`` — a FeatureCollection of the gap rows with their unit polygons (EPSG:4326);
  the provenance statement is also a top-level ``provenance`` member.
* ``.gpkg`` — layers ``gaps`` (county/city and township rows, polygons), ``gaps_village``
  (village rows, points), ``wide`` (township polygons) and a non-spatial ``metadata``
  table (key/value: scope, year, provenance of every layer).

:func:`export_bytes` returns the bytes that :func:`write_gap_list` writes, so the Dash app's
download buttons hand out exactly the files ``covplan gaps`` writes.
"""

from __future__ import annotations

import io
import json
import os
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from coverage.outputs.columns import SUMMARY_HEADERS, WIDE_FIXED
from coverage.outputs.data_status import county_data_status, data_status_lines
from coverage.outputs.display import display_headers, gap_display_frame
from coverage.outputs.formatting import provenance_text, safe_text
from coverage.outputs.export_xlsx import workbook_bytes
from coverage.outputs.gap_summary import summary_table
from coverage.outputs.gaps import gaps_wide, target_labels
from coverage.outputs.model import county_totals
from layers._errors import CovplanError
from layers.glossary import label
from layers.settings import CITY_NAME

__all__ = [
    "FORMATS", "ExportError", "display_gaps", "display_summary", "display_wide", "export_bytes",
    "metadata_table", "provenance_lines", "provenance_statement", "write_gap_list",
]

#: supported file extensions (without the dot)
FORMATS: tuple[str, ...] = ("xlsx", "csv", "geojson", "gpkg")

_PROVENANCE_ORDER = ("real", "derived", "estimated", "synthetic")
_LAYER_KEYS = ("counties", "townships", "villages", "facilities", "indicators", "network")


class ExportError(CovplanError):
    """A gap list cannot be exported (unknown format, unwritable path)."""


# --------------------------------------------------------------------------- provenance
def _layer_groups(dataset: Any, lang: str) -> dict[str, list[str]]:
    """Provenance value → display names of the layers (and population) that have it."""
    groups: dict[str, list[str]] = {}
    years_by_prov: dict[str, list[str]] = {}
    for name, prov in (getattr(dataset, "layer_provenance", None) or {}).items():
        if name.startswith("facilities_"):
            years_by_prov.setdefault(str(prov), []).append(name.removeprefix("facilities_"))
            continue
        key = f"data_layer_{name}"
        text = label(key, lang) if name in _LAYER_KEYS else name
        groups.setdefault(str(prov), []).append(text)
    for prov in list(years_by_prov):  # a year whose counties are partly real: "mixed"
        for y in list(years_by_prov[prov]):
            if prov != "real" and _mixed_year(dataset, y):
                years_by_prov[prov].remove(y)
                years_by_prov.setdefault("mixed", []).append(y)
        if not years_by_prov[prov]:
            del years_by_prov[prov]
    for prov, years in years_by_prov.items():
        yrs = "、".join(sorted(years)) if lang == "zh" else ", ".join(sorted(years))
        text = f"{label('data_layer_facilities', lang)}（{yrs}年）" if lang == "zh" else (
            f"{label('data_layer_facilities', lang)} ({yrs})"
        )
        groups.setdefault(prov, []).append(text)
    towns = getattr(dataset, "townships", None)
    if towns is not None and "pop_provenance" in towns.columns and len(towns):
        for prov in pd.unique(towns["pop_provenance"].astype(str)):
            groups.setdefault(prov, []).append(label("data_layer_population", lang))
    return groups


def _mixed_year(dataset: Any, year: str) -> bool:
    """Whether some (not all) counties' records of an inventory year are real."""
    try:
        per = county_data_status(dataset, int(year))
    except (ValueError, KeyError, AttributeError):
        return False
    return any(v["n_real"] for v in per.values()) and any(v["n_other"] for v in per.values())


def provenance_lines(dataset: Any, lang: str = "zh", year: int | None = None) -> list[str]:
    """One line per provenance value: which layers are real, estimated, synthetic…, then (once
    a county's real list is in) the facility data status per county of ``year`` (default:
    the latest inventory year)."""
    groups = _layer_groups(dataset, lang)
    order = [p for p in _PROVENANCE_ORDER if p in groups] + sorted(
        p for p in groups if p not in _PROVENANCE_ORDER
    )
    sep = "、" if lang == "zh" else ", "
    colon = "：" if lang == "zh" else ": "
    lines = []
    for prov in order:
        line = f"{sep.join(groups[prov])}{colon}{label('facilities_mixed' if prov == 'mixed' else prov, lang)}"
        if prov == "synthetic":
            line += ("，" if lang == "zh" else ", ") + label("not_real_data", lang)
        lines.append(line)
    villages = getattr(dataset, "villages", None)
    if villages is not None and "provenance" in villages.columns and len(villages):
        counts = villages["provenance"].astype(str).value_counts()
        if counts.get("synthetic", 0):
            if lang == "zh":
                lines.append(
                    f"村（社区）点位：{int(counts.get('real', 0))}个为真实位置，"
                    f"{int(counts['synthetic'])}个为合成位置"
                )
            else:
                lines.append(
                    f"Village points: {int(counts.get('real', 0))} real locations, "
                    f"{int(counts['synthetic'])} synthetic"
                )
    lines += data_status_lines(dataset, year, lang)
    if "synthetic" in groups:
        lines.append(label("demo_only_warning", lang))
    return lines


def provenance_statement(dataset: Any, lang: str = "zh", year: int | None = None) -> str:
    """The provenance lines joined into one sentence (CSV column, CLI line, metadata)."""
    lines = provenance_lines(dataset, lang, year)
    head = label("provenance_statement", lang) + ("：" if lang == "zh" else ": ")
    return head + ("；" if lang == "zh" else "; ").join(lines) + ("。" if lang == "zh" else ".")


def _short_footer(dataset: Any, lang: str) -> str:
    groups = _layer_groups(dataset, lang)
    if "synthetic" not in groups:
        return ""
    sep, colon, comma = ("、", "：", "，") if lang == "zh" else (", ", ": ", ", ")
    text = f"{sep.join(groups['synthetic'])}{colon}{label('synthetic', lang)}{comma}{label('not_real_data', lang)}"
    return text[:200]  # Excel caps a header/footer at 255 characters


# --------------------------------------------------------------------------- display tables
def _number(value: Any) -> Any:
    """A number for display: integral floats as int, others rounded to 4 decimals."""
    if value is None or value is pd.NA:
        return None
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        if np.isnan(value):
            return None
        return int(value) if float(value).is_integer() else round(float(value), 4)
    return str(value)


def _numbers(series: pd.Series) -> pd.Series:
    """:func:`_number` over a column, kept as ``object`` so 2 stays 2 beside 0.15."""
    return pd.Series([_number(v) for v in series], index=series.index, dtype=object)


def _translate_provenance(text: Any, lang: str) -> str:
    return provenance_text(text, "township", lang)


def display_gaps(gaps: pd.DataFrame, dataset: Any, lang: str = "zh", *,
                 labels: dict[str, str] | None = None) -> pd.DataFrame:
    """The gap rows as the CSV/GeoJSON/GeoPackage hold them: formatted text, translated headers.

    Built by :func:`coverage.outputs.display.gap_display_frame` (what the app shows too),
    plus the dataset provenance statement in the last column.
    """
    df = gap_display_frame(gaps, lang, numbers="text", labels=labels)
    df = df.rename(columns=display_headers(lang))
    df[label("dataset_provenance", lang)] = safe_text(provenance_statement(dataset, lang, gaps.attrs.get("year")))
    return df.reset_index(drop=True)


def display_summary(summary: pd.DataFrame, lang: str = "zh") -> pd.DataFrame:
    """The summary table with translated values and headers."""
    df = summary[list(SUMMARY_HEADERS)].astype(object).copy()
    df["unit_level"] = df["unit_level"].map(
        lambda s: "/".join(label(p, lang) for p in str(s).split("/") if p)
    )
    df["shortfall_unit"] = df["shortfall_unit"].map(lambda s: label(str(s), lang) if s else "")
    df["plan_status"] = df["plan_status"].map(lambda s: label(str(s), lang) if s else "—")
    df["shortfall"] = [
        f"{label('max_of_units', lang)}{_number(v)}" if is_max else _number(v)
        for v, is_max in zip(summary["shortfall"], summary["shortfall_is_max"])
    ]
    df["provenance"] = df["provenance"].map(lambda p: _translate_provenance(p, lang))
    return df.rename(columns={c: label(k, lang) for c, k in SUMMARY_HEADERS.items()})


def display_wide(wide: pd.DataFrame, labels: dict[str, str], lang: str = "zh") -> pd.DataFrame:
    """The wide view with status labels and target labels as headers."""
    targets = list(wide.attrs.get("target_ids", []))
    df = pd.DataFrame(wide[list(WIDE_FIXED) + targets + ["n_not_met"]]).astype(object).copy()
    for tid in targets:
        if wide.attrs.get("value") == "shortfall":
            df[tid] = _numbers(df[tid])
        else:
            df[tid] = df[tid].map(lambda s: label(str(s), lang) if isinstance(s, str) else "")
    headers = {c: label(k, lang) for c, k in WIDE_FIXED.items()}
    seen: set[str] = set(headers.values())
    for tid in targets:
        head = labels.get(tid, tid)
        headers[tid] = head if head not in seen else f"{head}（{tid}）"
        seen.add(headers[tid])
    headers["n_not_met"] = label("targets_not_met", lang)
    return df.rename(columns=headers)


def metadata_table(gaps: pd.DataFrame, dataset: Any, lang: str = "zh") -> pd.DataFrame:
    """Key/value rows: scope, year, targets, the provenance statement and every layer's."""
    scope = gaps.attrs.get("county_name") or CITY_NAME
    rows = [
        (label("selection", lang), scope),
        (label("inventory_year", lang), _number(gaps.attrs.get("year")) or ""),
        (label("target_id", lang), ", ".join(gaps.attrs.get("target_ids", []))),
        (label("provenance_statement", lang), provenance_statement(dataset, lang, gaps.attrs.get("year"))),
    ]
    for name, prov in sorted((getattr(dataset, "layer_provenance", None) or {}).items()):
        rows.append((f"{label('provenance', lang)}: {name}", label(str(prov), lang)))
    rows.append((label("generated_by", lang), "covplan (coverage.outputs.export)"))
    return pd.DataFrame(rows, columns=["key", "value"])


def _title(gaps: pd.DataFrame, lang: str) -> str:
    scope = gaps.attrs.get("county_name") or CITY_NAME
    year = gaps.attrs.get("year")
    if lang == "zh":
        return f"{scope}{label('gap_table', lang)}" + (f"（{year}年）" if year else "")
    return f"{label('gap_table', lang)}: {scope}" + (f" ({year})" if year else "")


# --------------------------------------------------------------------------- formats
def _csv_bytes(gaps: pd.DataFrame, dataset: Any, lang: str) -> bytes:
    text = display_gaps(gaps, dataset, lang).map(safe_text).to_csv(index=False, lineterminator="\n")
    return text.encode("utf-8-sig")


def _json_value(value: Any) -> Any:
    if isinstance(value, float) and np.isnan(value):
        return None
    if isinstance(value, np.generic):
        return value.item()
    return value


def _geojson_bytes(gaps: gpd.GeoDataFrame, dataset: Any, lang: str) -> bytes:
    import shapely

    table = display_gaps(gaps, dataset, lang).map(safe_text)
    geoms = shapely.to_geojson(np.asarray(gaps.geometry.values, dtype=object))
    dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
    features = []
    for row, geom in zip(table.to_dict("records"), geoms):
        props = dumps({k: _json_value(v) for k, v in row.items()})
        features.append(f'{{"type":"Feature","properties":{props},"geometry":{geom or "null"}}}')
    head = dumps({"type": "FeatureCollection", "name": _title(gaps, lang),
                  "provenance": provenance_statement(dataset, lang, gaps.attrs.get("year")),
                  "crs_note": "EPSG:4326 (WGS84 lon/lat)"})
    return (head[:-1] + ',"features":[' + ",".join(features) + "]}").encode("utf-8")


def _gpkg_bytes(gaps: gpd.GeoDataFrame, dataset: Any, lang: str, wide: gpd.GeoDataFrame,
                labels: dict[str, str]) -> bytes:
    gaps_tbl = display_gaps(gaps, dataset, lang).map(safe_text)
    is_village = (gaps["unit_level"] == "village").to_numpy() if len(gaps) else np.zeros(0, bool)
    gaps_gdf = gpd.GeoDataFrame(gaps_tbl[~is_village], geometry=gaps.geometry.values[~is_village],
                                crs="EPSG:4326")
    village_gdf = gpd.GeoDataFrame(gaps_tbl[is_village], geometry=gaps.geometry.values[is_village],
                                   crs="EPSG:4326")
    wide_gdf = gpd.GeoDataFrame(
        display_wide(wide, labels, lang).map(safe_text), geometry=wide.geometry.values, crs="EPSG:4326"
    )
    import pyogrio

    with tempfile.TemporaryDirectory(prefix="covplan-gpkg-") as tmp:
        path = Path(tmp) / "gaps.gpkg"
        gaps_gdf.to_file(path, layer="gaps", driver="GPKG", geometry_type="MultiPolygon",
                         promote_to_multi=True)
        village_gdf.to_file(path, layer="gaps_village", driver="GPKG", geometry_type="Point")
        wide_gdf.to_file(path, layer="wide", driver="GPKG", geometry_type="MultiPolygon",
                         promote_to_multi=True)
        pyogrio.write_dataframe(metadata_table(gaps, dataset, lang).map(safe_text), path, layer="metadata")
        return path.read_bytes()


def export_bytes(
    gaps: gpd.GeoDataFrame,
    fmt: str,
    *,
    dataset: Any,
    result: Any,
    lang: str = "zh",
    targets: Iterable[Any] | None = None,
    wide: gpd.GeoDataFrame | None = None,
) -> bytes:
    """The gap list as the bytes of one file format.

    Parameters
    ----------
    gaps : GeoDataFrame
        Output of :func:`coverage.outputs.gaps.township_gaps` (its ``attrs`` carry the selection).
    fmt : {"xlsx", "csv", "geojson", "gpkg"}
        File format (a leading dot is accepted).
    dataset : Dataset
        For the provenance statement and the county sheets.
    result : EvaluationResult or DataFrame
        For the summary sheet and the wide view.
    lang : {"zh", "en"}
        Language of headers and labels (plan text and names stay Chinese).
    targets : iterable of PlanTarget, optional
        Display labels of the targets.
    wide : GeoDataFrame, optional
        Wide view; computed with :func:`coverage.outputs.gaps.gaps_wide` for the same selection
        when omitted.
    """
    fmt = str(fmt).lower().lstrip(".")
    if fmt not in FORMATS:
        msg = f"unknown export format {fmt!r}; use one of: {', '.join('.' + f for f in FORMATS)}"
        raise ExportError(msg)
    if lang not in ("zh", "en"):
        msg = f"unknown language {lang!r}; use 'zh' or 'en'"
        raise ExportError(msg)
    labels = target_labels(result, targets, lang)
    if lang != "zh" and len(gaps):  # target labels in the export's language
        attrs = dict(gaps.attrs)
        gaps = gaps.assign(target_label=gaps["target_id"].map(labels).fillna(gaps["target_label"]))
        gaps.attrs.update(attrs)
    if fmt == "csv":
        return _csv_bytes(gaps, dataset, lang)
    if fmt == "geojson":
        return _geojson_bytes(gaps, dataset, lang)
    if wide is None:
        wide = gaps_wide(
            result, dataset, county=gaps.attrs.get("county_code"),
            target=gaps.attrs.get("target_ids") or None, year=gaps.attrs.get("year"),
        )
    if fmt == "gpkg":
        return _gpkg_bytes(gaps, dataset, lang, wide, labels)
    county = None
    if gaps.attrs.get("county_code"):
        county = (gaps.attrs["county_code"], gaps.attrs.get("county_name") or "")
    summary = summary_table(result, targets, target=gaps.attrs.get("target_ids") or None,
                            county=county, year=gaps.attrs.get("year"))
    totals = county_totals(gaps, result, dataset)
    rows = _with_totals(gaps, totals)
    return workbook_bytes(
        title=_title(gaps, lang),
        provenance=provenance_lines(dataset, lang, gaps.attrs.get("year")),
        footer=_short_footer(dataset, lang),
        summary=display_summary(summary, lang),
        raw=gap_display_frame(rows, lang, numbers="raw", labels=labels if lang != "zh" else None),
        sections=rows["section"].tolist(),
        wide_table=display_wide(wide, labels, lang),
        lang=lang,
    )


def _with_totals(gaps: pd.DataFrame, totals: pd.DataFrame) -> pd.DataFrame:
    """Gap rows with each 合计 row placed right after its (section, target, county) block."""
    frame = pd.DataFrame(gaps).drop(columns="geometry", errors="ignore").reset_index(drop=True)
    if totals.empty:
        return frame
    key = frame["section"].astype(str) + "|" + frame["target_id"].astype(str) + "|" + frame["county_code"].astype(str)
    last = {k: i for i, k in enumerate(key)}
    tkey = totals["section"].astype(str) + "|" + totals["target_id"].astype(str) + "|" + totals["unit_code"].astype(str)
    pos = pd.concat([pd.Series(range(len(frame)), dtype=float), tkey.map(last).astype(float) + 0.5],
                    ignore_index=True)
    both = pd.concat([frame, totals[frame.columns.intersection(totals.columns)]], ignore_index=True)
    return both.assign(_pos=pos.to_numpy()).sort_values("_pos", kind="stable").drop(columns="_pos").reset_index(drop=True)


def _county_list(dataset: Any, gaps: pd.DataFrame) -> list[tuple[str, str]]:
    pairs = list(zip(dataset.counties["code"].astype(str), dataset.counties["name"].astype(str)))
    chosen = gaps.attrs.get("county_code")
    return [p for p in pairs if chosen is None or p[0] == chosen]


def write_gap_list(
    gaps: gpd.GeoDataFrame,
    path: str | os.PathLike,
    *,
    dataset: Any,
    result: Any,
    lang: str = "zh",
    targets: Iterable[Any] | None = None,
    wide: gpd.GeoDataFrame | None = None,
) -> Path:
    """Write the gap list to ``path``; the format follows the extension.

    Parameters
    ----------
    gaps : GeoDataFrame
        Output of :func:`coverage.outputs.gaps.township_gaps` (EPSG:4326).
    path : path
        ``.xlsx``, ``.csv``, ``.geojson`` or ``.gpkg``; its folder must exist.
    dataset, result, lang, targets, wide
        As for :func:`export_bytes`, whose bytes are written.

    Returns
    -------
    Path
        The file written, atomically (a temporary file in the same folder, renamed), mode
        0644. Unknown extension or missing folder → :class:`ExportError`.
    """
    path = Path(path)
    fmt = path.suffix.lower().lstrip(".")
    if fmt not in FORMATS:
        msg = (f"cannot export {path.name!r}: unknown extension {path.suffix or '(none)'!r}; "
               f"use one of: {', '.join('.' + f for f in FORMATS)}")
        raise ExportError(msg)
    data = export_bytes(gaps, fmt, dataset=dataset, result=result, lang=lang,
                        targets=targets, wide=wide)
    _atomic_write(path, data)
    return path


def _atomic_write(path: Path, data: bytes) -> None:
    if not path.parent.exists():
        msg = f"cannot write {path}: the folder {path.parent} does not exist"
        raise ExportError(msg)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with io.open(fd, "wb") as fh:
            fh.write(data)
        os.chmod(tmp, 0o644)  # mkstemp creates 0600; an export is meant to be shared
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
