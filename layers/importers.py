"""Import a planner's facility inventory (.xlsx / .csv) into a validated facility layer.

:func:`import_facilities` reads the table (:mod:`layers.importers_table`), maps headers and
values onto the contract, converts coordinates declared as WGS84/CGCS2000/GCJ-02/BD-09 to
WGS84, places rows without coordinates at their village point or township seat (matched by
name, :mod:`layers.names`) and checks each row against the dataset's units. Outcome per row:

* **imported** - written to the layer; possibly with *flags* (``import_flags`` column and the
  ``.flags.csv`` report): coordinates found swapped and fixed, location taken from a
  village/township, generated id, possible duplicate, coordinates that look GCJ-02 …
* **rejected** - written, with its original cells and a Chinese + English reason naming the
  field, to the ``.rejects.csv`` report next to the output.

Nothing is dropped: ``imported + rejected == input rows`` (blank rows are counted apart).

Decisions (documented here and in the reports):

* lat/lon swapped (``经度≈28, 纬度≈119``): Lishui's lon and lat ranges do not overlap, so the
  swap is unambiguous; it is fixed and flagged ``swapped_fixed``.
* a point outside Lishui (bounding box, then the dataset's county outlines) is rejected.
* a point more than ``tolerance_m`` outside the township it names is rejected; if reading
  it as GCJ-02 (or BD-09, or WGS84 when another CRS was declared) puts it inside, the reason
  says so and suggests ``--crs gcj02``. With ``prefer_point=True`` the point wins instead and
  the row is flagged.
* a point ~500 m from the *real* point of the village it names, but within ~150 m once read
  as GCJ-02, is imported and flagged ``looks_gcj02``; the summary repeats the suggestion.
* unknown/ambiguous unit names reject a row only when the row has no coordinates (then it
  cannot be placed); with coordinates the name is flagged and the point decides. Names
  written with their parents (``莲都区紫金街道``, ``丽水市莲都区紫金街道永晖社区``) are understood.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from layers import _validate as V
from layers import importers_table as T
from layers._errors import CovplanError, ImportInputError
from layers.crs import normalise_crs_name
from layers.dataset import Dataset
from layers.import_locate import Issue, Locator
from layers.load import coerce_layer
from layers.names import clean_text
from layers.settings import STORAGE_CRS
from layers.vocab import FACILITY_COLUMNS, FACILITY_TYPES, PROVENANCE_VALUES

__all__ = ["FacilityImport", "Issue", "import_facilities", "write_report"]

EXTRA_COLUMNS: tuple[str, ...] = ("source_file", "source_row", "import_flags")


@dataclass
class FacilityImport:
    """Result of :func:`import_facilities`.

    Attributes
    ----------
    source : Path
        The input file.
    facilities : GeoDataFrame
        Imported rows, contract columns + ``source_file``, ``source_row``, ``import_flags``,
        EPSG:4326, validated against the dataset.
    rejects : DataFrame
        One row per rejected input row: source row, fields, zh/en reasons, original cells.
    flagged : DataFrame
        One row per imported row that carries flags, same layout.
    n_input, n_blank : int
        Non-blank data rows read; blank rows skipped.
    notes : list of str
        File-level notes (defaults applied, CRS suspicion, unused columns).
    """

    source: Path
    facilities: gpd.GeoDataFrame
    rejects: pd.DataFrame
    flagged: pd.DataFrame
    n_input: int
    n_blank: int = 0
    notes: list[str] = field(default_factory=list)
    #: canonical fields (importers_table.FIELD_ALIASES keys) the file's headers map to
    fields: tuple[str, ...] = ()

    @property
    def n_imported(self) -> int:
        return len(self.facilities)

    @property
    def n_rejected(self) -> int:
        return len(self.rejects)

    @property
    def n_flagged(self) -> int:
        return len(self.flagged)

    def summary(self) -> str:
        """Bilingual counts and notes, as printed by ``covplan import facilities``."""
        lines = [
            f"{self.source.name}: 输入 / input rows {self.n_input} → 导入 / imported {self.n_imported}, "
            f"拒绝 / rejected {self.n_rejected}, 标记 / flagged {self.n_flagged}"
            + (f" (空行 / blank rows skipped: {self.n_blank})" if self.n_blank else "")
        ]
        if self.n_imported:
            counts = self.facilities["type"].value_counts().sort_index()
            lines.append("  " + ", ".join(f"{k} {v}" for k, v in counts.items()))
        lines += [f"  注意 / note: {n}" for n in self.notes]
        return "\n".join(lines)

    def write(self, out: Path | str) -> dict[str, Path]:
        """Write the layer (``.geojson``/``.gpkg``) and its reports next to it.

        Returns
        -------
        dict
            ``layer``, ``rejects`` and ``flags`` paths (reports are UTF-8 with BOM; each is
            written even when empty, so an old report never lingers).
        """
        out = Path(out)
        driver = {".geojson": "GeoJSON", ".json": "GeoJSON", ".gpkg": "GPKG"}.get(out.suffix.lower())
        if driver is None:
            raise ImportInputError(f"{out}: output must end in .geojson or .gpkg / 输出格式须为 .geojson 或 .gpkg")
        paths = {
            "layer": out,
            "rejects": out.with_name(out.stem + ".rejects.csv"),
            "flags": out.with_name(out.stem + ".flags.csv"),
        }
        try:
            out.parent.mkdir(parents=True, exist_ok=True)
            if out.exists():
                out.unlink()
            # nullable booleans are written as JSON true/false/null (GeoPackage: 1/0/NULL)
            self.facilities.to_file(out, driver=driver, engine="pyogrio")
            write_report(self.rejects, paths["rejects"])
            write_report(self.flagged, paths["flags"])
        except Exception as exc:  # OSError, pyogrio's DataSourceError …
            raise ImportInputError(f"{out}: cannot write the output ({exc}) / 无法写入输出文件") from exc
        return paths


def write_report(df: pd.DataFrame, path: Path) -> None:
    """Write a rejects/flags report as CSV, UTF-8 with BOM (opens cleanly in Excel)."""
    df.to_csv(path, index=False, encoding="utf-8-sig")


REPORT_HEAD = ("源文件行号", "字段", "原因", "reason")


def _report_frame(entries: list[tuple[int, list[Issue], dict[str, str]]], headers: list[str]) -> pd.DataFrame:
    # header cells come from the user's file: neutralised like the cells (CSV injection)
    cols = list(REPORT_HEAD) + [T.safe_cell(h if h not in REPORT_HEAD else f"{h}（原表）") for h in headers]
    rows = []
    for row_no, issues, original in entries:
        rec = [
            row_no,
            ";".join(dict.fromkeys(i.field for i in issues)),
            "；".join(i.zh for i in issues),
            "; ".join(i.en for i in issues),
        ] + [T.safe_cell(original.get(h, "")) for h in headers]
        rows.append(rec)
    return pd.DataFrame(rows, columns=cols)


def _facility_id(ftype: str, name: str, county: str, township: str, village: str) -> str:
    key = "|".join([ftype, clean_text(name), county, township, village])
    return "imp-" + hashlib.sha1(key.encode("utf-8")).hexdigest()[:12]


def import_facilities(
    path: Path | str,
    dataset: Dataset,
    *,
    crs: str = "wgs84",
    facility_type: str | None = None,
    year: int | None = None,
    provenance: str = "real",
    sheet: str | None = None,
    tolerance_m: float = V.POINT_TOLERANCE_M,
    prefer_point: bool = False,
) -> FacilityImport:
    """Import a facility inventory against ``dataset``'s units.

    Parameters
    ----------
    path : path
        ``.xlsx`` or ``.csv`` (UTF-8, UTF-8 with BOM, GBK/GB18030), Chinese or English headers.
    dataset : Dataset
        Supplies counties, townships and villages (EPSG:4326) for name matching and checks.
    crs : str
        System of the coordinates in the file: ``wgs84``, ``cgcs2000``, ``gcj02`` (高德) or
        ``bd09`` (百度); a ``坐标系`` column overrides it per row.
    facility_type : str, optional
        Type id (or Chinese name) for rows whose type cell is blank or for a file without a
        type column.
    year : int, optional
        Inventory year for rows without a ``年份`` cell; default: the dataset's latest year.
    provenance : str
        Provenance of the records (``real`` unless stated otherwise).
    sheet : str, optional
        Worksheet of an .xlsx (default: the first).
    tolerance_m : float
        How far (m, EPSG:4549) a point may lie outside its stated township.
    prefer_point : bool
        When a point and its stated township disagree, keep the point (flagged) instead of
        rejecting the row.

    Raises
    ------
    ImportInputError
        File-level problems: missing/empty/oversized/unreadable file, no header row, a
        required column missing (名称/name; 类型/type unless ``facility_type``; a location:
        经度+纬度, 经纬度, 村(社区) or 乡镇(街道)), bad options.
    """
    path = Path(path)
    try:
        crs_name = normalise_crs_name(crs)
    except CovplanError as exc:
        raise ImportInputError(str(exc)) from exc
    if provenance not in PROVENANCE_VALUES:
        raise ImportInputError(f"provenance {provenance!r} must be one of {', '.join(PROVENANCE_VALUES)}")
    default_type = None
    if facility_type:
        default_type = facility_type if facility_type in FACILITY_TYPES else T.parse_type(facility_type)
        if default_type is None:
            raise ImportInputError(f"--type {facility_type!r} is not a facility type ({', '.join(FACILITY_TYPES)})")
    table = T.read_table(path, sheet=sheet)
    cols = table.columns
    missing = []
    if "name" not in cols:
        missing.append("名称/name")
    if "type" not in cols and default_type is None:
        missing.append("类型/type (or --type)")
    has_xy = ("lon" in cols and "lat" in cols) or "coords" in cols
    if not has_xy and not ({"village", "township", "village_code", "township_code"} & set(cols)):
        missing.append("经度+纬度/lon+lat, 经纬度, 村(社区)/village or 乡镇(街道)/township")
    if ("lon" in cols) != ("lat" in cols) and "coords" not in cols:
        missing.append("经度/lon and 纬度/lat must come together")
    if missing:
        msg = (f"{path}: required column(s) missing / 缺少必需字段: {'; '.join(missing)}. "
               f"Headers found: {', '.join(table.headers)}")
        raise ImportInputError(msg)

    notes: list[str] = []
    default_year = year if year is not None else dataset.latest_year
    if "year" not in cols:
        if default_year is None:
            raise ImportInputError(f"{path}: no 年份/year column; pass --year")
        notes.append(f"no 年份/year column: every row is given year {default_year}")
    notes += table.notes
    if table.other_sheets:
        notes.append("other worksheets not imported (use --sheet) / 其他工作表未导入: " + ", ".join(table.other_sheets))
    unused = [h for j, h in enumerate(table.headers) if j not in cols.values()]
    if unused:
        notes.append("columns not used / 未使用的列: " + ", ".join(unused))

    locator = Locator(dataset, tolerance_m=tolerance_m, prefer_point=prefer_point)
    n = len(table.rows)
    rejects: list[list[Issue]] = [[] for _ in range(n)]
    flags: list[list[Issue]] = [[] for _ in range(n)]
    records: list[dict] = [{} for _ in range(n)]
    for i in range(n):
        _parse_row(table, i, records[i], rejects[i], flags[i], default_type, default_year,
                   provenance, crs_name)
    locator.locate(table, records, rejects, flags)
    notes += locator.notes

    # ids, duplicates and links among the rows still alive
    seen: dict[tuple[int, str], int] = {}
    for i in range(n):
        rec = records[i]
        if rejects[i]:
            continue
        if not rec["facility_id"]:
            rec["facility_id"] = _facility_id(rec["type"], rec["name"], rec["county_code"],
                                              rec["township_code"], rec["village_code"])
            key = (rec["year"], rec["facility_id"])
            if key in seen:
                first = table.row_numbers[seen[key]]
                rec["facility_id"] += f"-{table.row_numbers[i]}"
                flags[i].append(Issue("name", f"可能与第{first}行重复（类型、名称、所在单位相同）",
                                      f"possible duplicate of row {first} (same type, name and unit)"))
        key = (rec["year"], rec["facility_id"])
        if key in seen:
            first = table.row_numbers[seen[key]]
            rejects[i].append(Issue("facility_id", f"编号重复，与第{first}行相同",
                                    f"duplicate id {rec['facility_id']!r}, first used in row {first}"))
            continue
        seen[key] = i
    places = {(records[i]["year"], records[i]["facility_id"]) for i in range(n)
              if not rejects[i] and records[i].get("type") == "public_place"}
    for i in range(n):
        rec = records[i]
        link = rec.get("serves_place_id", "")
        if not rejects[i] and link and (rec["year"], link) not in places:
            flags[i].append(Issue("serves_place_id",
                                  f"服务场所编号 {link} 在本文件中不存在，已清空",
                                  f"serves_place_id {link!r} is not a public place in this file; cleared"))
            rec["serves_place_id"] = ""
    result = _assemble(path, table, records, rejects, flags, dataset, tolerance_m, notes)
    result.fields = tuple(table.columns)
    return result


def _parse_row(table: T.RawTable, i: int, rec: dict, rej: list[Issue], flg: list[Issue],
               default_type: str | None, default_year: int | None, provenance: str,
               crs_name: str) -> None:
    """Text → typed values for one row; problems go to ``rej``/``flg``."""
    val = lambda f: table.value(i, f)  # noqa: E731
    _bad_cells(table, i, rej)
    rec["facility_id"] = clean_text(val("facility_id"))
    rec["name"] = clean_text(val("name"))
    if not rec["name"]:
        rej.append(Issue("name", "名称为空", "name is empty"))
    raw_type = val("type")
    ftype = T.parse_type(raw_type) if raw_type else default_type
    if ftype is None:
        if raw_type:
            rej.append(Issue("type", f"未知设施类型“{raw_type}”", f"unknown facility type {raw_type!r}"))
        else:
            rej.append(Issue("type", "设施类型为空", "facility type is empty"))
    rec["type"] = ftype or ""
    rec["tier"] = rec["level"] = ""
    for fld in ("tier", "level"):
        text = val(fld)
        if text:
            parsed = T.parse_tier_or_level(text)
            if parsed is None:
                rej.append(Issue(fld, f"无法识别的等级/级别“{text}”", f"unknown tier/level {text!r}"))
            else:
                rec[parsed[0]] = parsed[1]
    if rec["tier"] and ftype and ftype != "child_home":
        flg.append(Issue("tier", "等级仅适用于儿童之家，已忽略", f"tier applies to child_home only; ignored for {ftype}"))
        rec["tier"] = ""
    text = val("place_kind")
    rec["place_kind"] = ""
    if text:
        kind = T.parse_place_kind(text)
        if kind is None:
            rej.append(Issue("place_kind", f"无法识别的场所类型“{text}”", f"unknown place kind {text!r}"))
        else:
            rec["place_kind"] = kind
    for fld, zh in (("capacity", "托位/学位"), ("building_area_m2", "建筑面积"), ("daily_visitors", "日客流量")):
        try:
            num = T.parse_number(val(fld))
        except ValueError:
            rej.append(Issue(fld, f"{zh}“{val(fld)}”不是数字", f"{fld} {val(fld)!r} is not a number"))
            num = None
        if num is not None and num < 0:
            rej.append(Issue(fld, f"{zh}为负数", f"{fld} is negative ({num:g})"))
        rec[fld] = np.nan if num is None else num
    for fld, zh in (("is_inclusive", "普惠"), ("has_reading_area", "亲子阅读区")):
        try:
            rec[fld] = T.parse_bool(val(fld))
        except ValueError:
            rej.append(Issue(fld, f"{zh}“{val(fld)}”应为是/否", f"{fld} {val(fld)!r} is not yes/no"))
            rec[fld] = None
    rec["year"] = default_year
    if "year" in table.columns and not val("year"):
        flg.append(Issue("year", f"年份为空，按 {default_year} 年处理", f"year is empty; taken as {default_year}"))
    if val("year"):
        try:
            y = T.parse_number(val("year"))
            if y is None or not float(y).is_integer() or not 1990 <= y <= 2100:
                raise ValueError
            rec["year"] = int(y)
        except ValueError:
            rej.append(Issue("year", f"年份“{val('year')}”无效", f"invalid year {val('year')!r}"))
    rec["provenance"] = provenance
    if val("provenance"):
        p = clean_text(val("provenance")).lower()
        if p in PROVENANCE_VALUES:
            rec["provenance"] = p
        else:
            rej.append(Issue("provenance", f"数据性质“{val('provenance')}”无效", f"invalid provenance {p!r}"))
    rec["address"] = clean_text(val("address"))
    rec["serves_place_id"] = clean_text(val("serves_place_id"))
    rec["crs"] = crs_name
    if val("crs"):
        try:
            rec["crs"] = normalise_crs_name(val("crs"))
        except CovplanError:
            rej.append(Issue("crs", f"无法识别的坐标系“{val('crs')}”", f"unknown coordinate system {val('crs')!r}"))
    rec["lon_raw"] = rec["lat_raw"] = None
    lon_txt, lat_txt = val("lon"), val("lat")
    if not (lon_txt or lat_txt) and val("coords"):
        parts = _split_pair(val("coords"))
        if len(parts) == 2:
            lon_txt, lat_txt = parts
        else:
            rej.append(Issue("coords", f"经纬度“{val('coords')}”应为“经度,纬度”",
                             f"coordinates {val('coords')!r} must be 'lon,lat'"))
    if lon_txt or lat_txt:
        try:
            lon = T.parse_coordinate(lon_txt)
            lat = T.parse_coordinate(lat_txt)
            if lon is None or lat is None:
                missing = "lat" if lon is not None else "lon"
                rej.append(Issue(missing, "经度、纬度只填了一个", "only one of lon/lat is given"))
            elif not (np.isfinite(lon) and np.isfinite(lat)):
                rej.append(Issue("lon", "坐标不是有限数值", "coordinates are not finite numbers"))
            else:
                rec["lon_raw"], rec["lat_raw"] = lon, lat
        except ValueError as exc:
            fld = "lon" if lon_txt and _bad_coord(lon_txt) else "lat"
            rej.append(Issue(fld, f"坐标无法识别：{exc}", f"invalid coordinate: {exc}"))
    for fld in ("county", "township", "village", "county_code", "township_code", "village_code"):
        rec["stated_" + fld] = clean_text(val(fld))


def _split_pair(text: str) -> list[str]:
    """``"119.9,28.4"``, ``"119.9 28.4"``, ``"(119°55′E, 28°27′N)"`` → the two cells, as written."""
    body = text.strip().strip("()（）[]【】").strip()
    parts = [p.strip() for p in re.split(r"[,，;；]+", body) if p.strip()]
    if len(parts) != 2:
        parts = body.split()
    return parts


def _bad_cells(table: T.RawTable, i: int, rej: list[Issue]) -> None:
    """Reject a row whose used cells hold an Excel error or a formula without a value."""
    fields = {j: f for f, j in table.columns.items()}
    for j in sorted(fields):
        kind = table.bad_cells.get((i, j))
        if kind is None:
            continue
        name = table.cell_name(i, j)
        if kind == "formula":
            rej.append(Issue(fields[j], f"单元格 {name} 是没有计算结果的公式：请先在 Excel/WPS 中打开并保存文件",
                             f"cell {name} is a formula without a computed value: open and save the file "
                             "in Excel/WPS first"))
        else:
            rej.append(Issue(fields[j], f"单元格 {name} 为错误值 {kind}", f"cell {name} holds the error value {kind}"))


def _bad_coord(text: str) -> bool:
    try:
        T.parse_coordinate(text)
        return False
    except ValueError:
        return True


def _assemble(path: Path, table: T.RawTable, records: list[dict], rejects: list[list[Issue]],
              flags: list[list[Issue]], dataset: Dataset, tolerance_m: float,
              notes: list[str]) -> FacilityImport:
    """Build the layer, run the loader's validation on it as a safety net, and the reports."""
    keep = [i for i in range(len(records)) if not rejects[i]]
    rows = []
    for i in keep:
        rec = records[i]
        row = {c: rec.get(c, "") for c in FACILITY_COLUMNS}
        row["source_file"] = path.name
        row["source_row"] = table.row_numbers[i]
        row["import_flags"] = "; ".join(f"{f.field}: {f.en}" for f in flags[i])
        rows.append(row)
    geoms = [shapely.Point(records[i]["lon"], records[i]["lat"]) for i in keep]
    df = pd.DataFrame(rows, columns=[*FACILITY_COLUMNS, *EXTRA_COLUMNS])
    gdf = gpd.GeoDataFrame(df, geometry=gpd.GeoSeries(geoms, crs=STORAGE_CRS), crs=STORAGE_CRS)
    gdf = coerce_layer(gdf, "facilities")
    gdf["source_row"] = gdf["source_row"].astype("int64")
    if len(gdf):
        rep = V.Report()
        for yr, part in gdf.groupby("year", sort=True):
            pos = np.flatnonzero((gdf["year"] == yr).to_numpy())
            sub = V.Report()
            V.check_facilities(part.reset_index(drop=True), str(path), int(yr), dataset.townships,
                               dataset.villages, dataset.counties, sub, tolerance_m)
            for p in sub.problems:
                rep.problems.append(V.Problem(p.file, int(pos[p.row - 1]) + 1 if p.row else None,
                                              p.id, p.field, p.message))
        bad = set()
        for p in rep.problems:
            if p.row is None:
                raise ImportInputError(f"{path}: {p}")
            i = keep[p.row - 1]
            rejects[i].append(Issue(p.field, "数据校验未通过", p.message))
            bad.add(p.row - 1)
        if bad:
            gdf = gdf.drop(index=sorted(bad)).reset_index(drop=True)
            keep = [k for j, k in enumerate(keep) if j not in bad]
    rej_entries = [(table.row_numbers[i], rejects[i], table.original(i)) for i in range(len(records)) if rejects[i]]
    flag_entries = [(table.row_numbers[i], flags[i], table.original(i)) for i in keep if flags[i]]
    return FacilityImport(
        source=path,
        facilities=gdf,
        rejects=_report_frame(rej_entries, table.headers),
        flagged=_report_frame(flag_entries, table.headers),
        n_input=len(records),
        n_blank=table.n_blank,
        notes=notes,
    )
