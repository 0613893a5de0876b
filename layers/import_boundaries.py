"""Import unit boundaries (GeoJSON, GeoPackage, Shapefile) and match them to the unit table.

:func:`import_boundaries` reads a polygon file, finds its text encoding (a Shapefile's
``.cpg``, else a UTF-8 test of the ``.dbf`` with a GBK/GB18030 fallback, as Chinese GIS
software writes), converts it to WGS84 (the file's CRS, or ``crs`` for files without one and
for GCJ-02/BD-09 sources, which carry no EPSG code), repairs invalid polygons, and matches
each feature to a township/county/village of the dataset by code, else by name (with the
county - from a county column, the code prefix, or the feature's location - to break ties).

The result lists the matched boundaries, the features that matched nothing (with the reason)
and the units of the covered counties left without a boundary; geometry repairs are reported.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from layers._errors import CovplanError, ImportInputError
from layers.crs import convert_geodataframe, convert_geometry, normalise_crs_name
from layers.crs_check import extent_problem, fitting_crs, parse_crs
from layers.dataset import Dataset
from layers.importers_table import check_size, normalise_header, safe_cell
from layers.names import UnitNameIndex, clean_text
from layers.settings import LISHUI_BBOX, STORAGE_CRS, WORKING_CRS
from layers.vocab import PROVENANCE_VALUES

__all__ = ["BoundaryImport", "detect_dbf_encoding", "import_boundaries"]

LEVELS: dict[str, int] = {"county": 6, "township": 9, "village": 12}
CODE_HEADERS = ("code", "adcode", "gb", "代码", "编码", "统计代码", "行政区划代码", "区划代码", "xzqdm",
                "乡镇代码", "township_code", "村代码", "village_code", "county_code", "县代码")
NAME_HEADERS = ("name", "名称", "乡镇名称", "乡镇街道", "乡镇", "村名称", "村社区", "xzqmc", "县名称",
                "township", "township_name", "village", "village_name", "county_name")
COUNTY_HEADERS = ("county", "县", "县市区", "所属县市区", "county_name", "county_code", "县代码")
REPORT_COLUMNS = ("类别", "要素序号", "统计代码", "名称", "原因", "reason", "原属性")


def detect_dbf_encoding(shp: Path) -> str:
    """Text encoding of a Shapefile's attributes: the ``.cpg`` if present, else a guess.

    The guess decodes the ``.dbf`` records as UTF-8 and falls back to GB18030 (a superset of
    GBK, the usual encoding of Chinese Shapefiles without a ``.cpg``).
    """
    cpg = shp.with_suffix(".cpg")
    if cpg.is_file():
        text = cpg.read_text(encoding="ascii", errors="ignore").strip()
        key = re.sub(r"[\s_\-]", "", text.upper())
        if key in {"936", "CP936", "ANSI936", "GBK", "GB2312", "GB18030"}:
            return "GB18030"
        if text:
            return text
    dbf = shp.with_suffix(".dbf")
    if not dbf.is_file():
        return "UTF-8"
    data = dbf.read_bytes()
    header_len = int.from_bytes(data[8:10], "little") if len(data) >= 10 else 0
    try:
        data[header_len:].decode("utf-8")
        return "UTF-8"
    except UnicodeDecodeError:
        return "GB18030"


@dataclass
class BoundaryImport:
    """Result of :func:`import_boundaries`.

    Attributes
    ----------
    boundaries : GeoDataFrame
        One polygon per matched unit (EPSG:4326): ``code``, ``name``, ``county_code``,
        ``township_code`` (villages), ``level``, ``provenance``, ``match_method``
        (``code``/``name``), ``source_feature`` (1-based feature numbers).
    report : DataFrame
        Rows of kind ``unmatched`` (feature matched no unit), ``misplaced`` (matched, but the
        polygon is not where the unit is: mostly outside its county, or away from its real
        seat/point; the distance is given), ``missing`` (a unit of a covered county without a
        boundary), ``repaired`` (geometry made valid) and ``merged``.
    """

    source: Path
    level: str
    boundaries: gpd.GeoDataFrame
    report: pd.DataFrame
    n_features: int
    encoding: str = ""
    notes: list[str] = field(default_factory=list)

    def count(self, kind: str) -> int:
        return int((self.report["类别"] == kind).sum())

    def summary(self) -> str:
        lines = [
            f"{self.source.name}: 要素 / features {self.n_features} → 匹配 / matched units "
            f"{len(self.boundaries)}, 未匹配要素 / unmatched features {self.count('unmatched')}, "
            f"缺边界单位 / units without boundary {self.count('missing')}, "
            f"位置错误 / misplaced {self.count('misplaced')}, "
            f"修复几何 / repaired geometries {self.count('repaired')}"
        ]
        lines += [f"  注意 / note: {n}" for n in self.notes]
        return "\n".join(lines)

    def merged_into(self, units: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
        """The dataset's unit table with the imported polygons in place of the matched units.

        Every column of ``units`` (names, seats, population …) is kept; matched rows get the
        imported geometry, this import's ``provenance`` and a ``boundary_method`` naming the
        file and features. Unmatched units keep their geometry and provenance, so the result
        can replace a dataset's ``townships`` (or ``counties``) layer; loading it re-checks
        that every village and facility lies in its township.
        """
        if self.level == "village":
            raise ImportInputError("village units are points: imported village polygons cannot replace them "
                                   "/ 村级单位为点图层，不能合并面边界")
        out = units.copy()
        geom = self.boundaries.set_index("code").geometry
        hit = out["code"].isin(geom.index).to_numpy()
        new = np.asarray(out.geometry.values, dtype=object).copy()
        new[hit] = geom.reindex(out.loc[hit, "code"]).to_numpy()
        out[out.geometry.name] = gpd.GeoSeries(new, index=out.index, crs=out.crs)
        prov = self.boundaries.set_index("code")["provenance"]
        out.loc[hit, "provenance"] = out.loc[hit, "code"].map(prov)
        feats = self.boundaries.set_index("code")["source_feature"]
        method = out.loc[hit, "code"].map(lambda c: f"imported from {self.source.name} (feature {feats[c]})")
        if "boundary_method" not in out.columns:
            out["boundary_method"] = ""
        out.loc[hit, "boundary_method"] = method
        return out

    def write(self, out: Path | str, units: gpd.GeoDataFrame | None = None) -> dict[str, Path]:
        """Write the boundaries (.geojson/.gpkg) and ``<stem>.report.csv`` (UTF-8 BOM).

        With ``units`` the written layer is :meth:`merged_into` ``units`` (a full unit
        layer) instead of the matched polygons alone.
        """
        out = Path(out)
        driver = {".geojson": "GeoJSON", ".json": "GeoJSON", ".gpkg": "GPKG"}.get(out.suffix.lower())
        if driver is None:
            raise ImportInputError(f"{out}: output must end in .geojson or .gpkg")
        report = out.with_name(out.stem + ".report.csv")
        try:
            out.parent.mkdir(parents=True, exist_ok=True)
            if out.exists():
                out.unlink()
            layer = self.boundaries if units is None else self.merged_into(units)
            layer.to_file(out, driver=driver, engine="pyogrio")
            self.report.to_csv(report, index=False, encoding="utf-8-sig")
        except Exception as exc:  # OSError, pyogrio's DataSourceError …
            raise ImportInputError(f"{out}: cannot write the output ({exc}) / 无法写入输出文件") from exc
        return {"layer": out, "report": report}


def _find_column(gdf: pd.DataFrame, headers: tuple[str, ...]) -> str | None:
    keys = {normalise_header(h) for h in headers}
    for col in gdf.columns:
        if col != gdf.geometry.name and normalise_header(col) in keys:
            return col
    return None


def _norm_code(value: object, digits: int) -> str:
    text = re.sub(r"\D", "", clean_text(value).split(".")[0])
    if text.startswith("156") and len(text) in (9, 12, 15):  # GB/T 2260 with country prefix
        text = text[3:]
    if len(text) > digits and set(text[digits:]) <= {"0"}:
        text = text[:digits]
    return text


def _read(path: Path, layer: str | None, encoding: str | None) -> tuple[gpd.GeoDataFrame, str]:
    enc = encoding or ""
    kwargs: dict = {"engine": "pyogrio"}
    if layer is not None:
        kwargs["layer"] = layer
    if path.suffix.lower() == ".shp":
        enc = encoding or detect_dbf_encoding(path)
        kwargs["encoding"] = enc
    try:
        return gpd.read_file(path, **kwargs), enc
    except Exception as exc:  # pyogrio DataSourceError and friends
        raise ImportInputError(f"{path}: cannot read as GeoJSON/GeoPackage/Shapefile: {exc}") from exc


def import_boundaries(
    path: Path | str,
    dataset: Dataset,
    level: str,
    *,
    crs: str | None = None,
    provenance: str = "real",
    layer: str | None = None,
    encoding: str | None = None,
) -> BoundaryImport:
    """Read a boundary file and match its polygons to ``dataset``'s units of ``level``.

    Parameters
    ----------
    path : path
        ``.geojson``/``.json``, ``.gpkg`` or ``.shp``.
    level : str
        ``county``, ``township`` or ``village``.
    crs : str, optional
        ``wgs84``/``cgcs2000``/``gcj02``/``bd09``: required when the file has no CRS; for
        GCJ-02/BD-09 sources (usually labelled EPSG:4326) it converts the vertices to WGS84.
    provenance : str
        Provenance of the imported boundaries.

    Raises
    ------
    ImportInputError
        Missing/empty/oversized/unreadable file, no features, no CRS and no ``crs``, no code
        or name column, bad options.
    """
    path = Path(path)
    if level not in LEVELS:
        raise ImportInputError(f"level {level!r} must be one of {', '.join(LEVELS)}")
    if provenance not in PROVENANCE_VALUES:
        raise ImportInputError(f"provenance {provenance!r} must be one of {', '.join(PROVENANCE_VALUES)}")
    check_size(path)
    override = crs_name = None
    try:
        if crs and re.fullmatch(r"(?i)\s*(epsg\s*:\s*)?\d+\s*|.*[\[+=].*", str(crs)):
            # an EPSG code, WKT or PROJ string replaces the file's own (wrong or missing) CRS
            override = parse_crs(re.sub(r"(?i)^\s*epsg\s*:\s*", "EPSG:", str(crs)))
        elif crs:
            crs_name = normalise_crs_name(crs)
    except (CovplanError, ValueError) as exc:
        raise ImportInputError(f"--crs {crs!r}: not wgs84|cgcs2000|gcj02|bd09 nor a CRS such as EPSG:4549 "
                               f"({exc}) / 无法识别的坐标系") from exc
    gdf, enc = _read(path, layer, encoding)
    if gdf.empty:
        raise ImportInputError(f"{path}: no features / 文件中没有要素")
    notes: list[str] = []
    if override is not None:
        gdf = gdf.set_crs(override, allow_override=True)
    if gdf.crs is None:
        if crs_name is None:
            raise ImportInputError(f"{path}: the file has no CRS; pass --crs wgs84|cgcs2000|gcj02|bd09 / 文件缺少坐标系")
        gdf = gdf.set_crs("EPSG:4490" if crs_name == "cgcs2000" else STORAGE_CRS)
    raw_bounds, raw_crs = gdf.total_bounds, gdf.crs
    if not gdf.crs.equals(STORAGE_CRS):
        notes.append(f"converted from {gdf.crs.to_string()} to EPSG:4326")
        gdf = gdf.to_crs(STORAGE_CRS)
    problem = extent_problem(raw_bounds, raw_crs, gdf.total_bounds, region=LISHUI_BBOX)
    if problem:
        fits = fitting_crs(raw_bounds, exclude=raw_crs.to_string())
        fix = f"--crs {fits[0][0]}" if fits else "--crs with the CRS of the data"
        raise ImportInputError(f"{path}: the polygons are not in Lishui: {problem}. Fix the .prj, or pass "
                               f"{fix} / 边界不在丽水市范围内，坐标系有误")
    if crs_name in ("gcj02", "bd09"):
        gdf = convert_geodataframe(gdf, crs_name)
        notes.append(f"vertices converted from {crs_name} to WGS84")
    gdf = gdf.reset_index(drop=True)

    code_col = _find_column(gdf, CODE_HEADERS)
    name_col = _find_column(gdf, NAME_HEADERS)
    county_col = _find_column(gdf, COUNTY_HEADERS)
    if code_col is None and name_col is None:
        cols = ", ".join(c for c in gdf.columns if c != gdf.geometry.name)
        raise ImportInputError(f"{path}: no code or name column (found: {cols}); expected e.g. code/代码 or name/名称")

    units = dataset.units(level)
    counties = dataset.counties
    ctx = dict(zip(counties["code"], counties["name"]))
    if level != "county":
        ctx.update(zip(dataset.townships["code"], dataset.townships["name"]))
    index = UnitNameIndex(units, level, ctx)
    county_index = UnitNameIndex(counties, "county")
    unit_codes = set(units["code"])
    unit_county = dict(zip(units["code"], units["county_code"])) if level != "county" else {
        c: c for c in units["code"]}

    report: list[dict] = []
    attrs = gdf.drop(columns=gdf.geometry.name)

    def add(kind, pos, code, name, zh, en):
        original = "; ".join(f"{k}={v}" for k, v in attrs.iloc[pos].items()) if pos is not None else ""
        report.append(dict(zip(REPORT_COLUMNS, (kind, "" if pos is None else pos + 1, code, safe_cell(name),
                                                zh, en, safe_cell(original)))))

    geoms = np.asarray(gdf.geometry.values, dtype=object)
    rep_pts = gpd.GeoSeries(shapely.point_on_surface(geoms), crs=STORAGE_CRS)
    in_county = gpd.sjoin(gpd.GeoDataFrame(geometry=rep_pts), counties[["code", counties.geometry.name]],
                          how="left", predicate="intersects")["code"]
    in_county = in_county[~in_county.index.duplicated()]
    matched: dict[str, list[int]] = {}
    method: dict[str, str] = {}
    for pos in range(len(gdf)):
        g = geoms[pos]
        label = clean_text(gdf.at[pos, name_col]) if name_col else ""
        if g is None or g.is_empty or g.geom_type not in ("Polygon", "MultiPolygon"):
            kind = "empty" if g is None or g.is_empty else g.geom_type
            add("unmatched", pos, "", label, f"几何不是面（{kind}）", f"geometry is not a polygon ({kind})")
            continue
        if not g.is_valid:
            reason = shapely.is_valid_reason(g)
            fixed = shapely.make_valid(g)
            polys = [p for p in shapely.get_parts(fixed) if p.geom_type in ("Polygon", "MultiPolygon")]
            geoms[pos] = shapely.union_all(polys) if polys else fixed
            add("repaired", pos, "", label, f"几何无效已修复（{reason}）", f"invalid geometry repaired ({reason})")
        code = _norm_code(gdf.at[pos, code_col], LEVELS[level]) if code_col else ""
        if code in unit_codes:
            matched.setdefault(code, []).append(pos)
            method.setdefault(code, "code")
            continue
        if not label:
            add("unmatched", pos, code, label, f"代码 {code or '（空）'} 不存在且无名称",
                f"code {code or '(empty)'} not in the {level} table and no name")
            continue
        county = None
        if county_col:
            cval = clean_text(gdf.at[pos, county_col])
            if re.fullmatch(r"\d{6,12}", cval):
                county = cval[:6]
            else:
                m = county_index.match(cval)
                county = m.code if m.ok else None
        if county is None and len(code) >= 6 and code[:6] in ctx:
            county = code[:6]
        m = index.match(label, county=county if level != "county" else None)
        if m.status == "ambiguous" and isinstance(in_county.get(pos), str):
            m = index.match(label, county=in_county.get(pos))
        if m.ok:
            matched.setdefault(m.code, []).append(pos)
            method.setdefault(m.code, "name")
            continue
        if m.status == "ambiguous":
            cands = "; ".join(f"{n} {c} [{x}]" for c, n, x in m.candidates[:8])
            add("unmatched", pos, code, label, f"名称“{label}”不唯一，请补充县代码；候选：{cands}",
                f"ambiguous name {label!r}; candidates: {cands}")
        else:
            sugg = ", ".join(m.suggestions) or "none"
            add("unmatched", pos, code, label, f"名称“{label}”未找到；最接近：{sugg}",
                f"no {level} named {label!r}; closest: {sugg}")

    for code, why in _misplaced(matched, geoms, units, level, counties).items():
        for pos in matched.pop(code):
            add("misplaced", pos, code, units.set_index("code").at[code, "name"], why[0], why[1])
    rows = []
    for code, positions in matched.items():
        geom = geoms[positions[0]] if len(positions) == 1 else shapely.union_all(geoms[positions])
        if len(positions) > 1:
            add("merged", positions[0], code, units.set_index("code").at[code, "name"],
                f"{len(positions)} 个要素合并为一个单位", f"{len(positions)} features merged into one unit "
                f"(features {', '.join(str(p + 1) for p in positions)})")
        rec = {"code": code, "name": units.set_index("code").at[code, "name"], "county_code": unit_county[code]}
        if level == "village":
            rec["township_code"] = units.set_index("code").at[code, "township_code"]
        rec.update(level=level, provenance=provenance, match_method=method[code],
                   source_feature=",".join(str(p + 1) for p in positions), geometry=geom)
        rows.append(rec)
    cols = ["code", "name", "county_code"] + (["township_code"] if level == "village" else []) + [
        "level", "provenance", "match_method", "source_feature", "geometry"]
    out = gpd.GeoDataFrame(pd.DataFrame(rows, columns=cols), geometry="geometry", crs=STORAGE_CRS)
    out = out.sort_values("code").reset_index(drop=True)

    covered = {unit_county[c] for c in matched}
    for _, u in units.sort_values("code").iterrows():
        if u["code"] not in matched and unit_county[u["code"]] in covered:
            add("missing", None, u["code"], u["name"], "该单位在文件中没有边界", "no boundary for this unit in the file")
    uncovered = sorted(set(counties["code"]) - covered)
    if uncovered and level != "county":
        notes.append(f"{len(uncovered)} county(ies) have no boundary at all in this file: "
                     + ", ".join(f"{ctx.get(c, c)} {c}" for c in uncovered))
    declared = crs_name or "wgs84"
    if declared in ("wgs84", "cgcs2000") and not out.empty:
        note = _datum_check(out, units, unit_county, counties)
        if note:
            notes.append(note)
    return BoundaryImport(path, level, out, pd.DataFrame(report, columns=list(REPORT_COLUMNS)),
                          n_features=len(gdf), encoding=enc, notes=notes)



def _iou(a, b) -> float:
    """Intersection over union of two polygons (areas in the units of their CRS)."""
    inter = shapely.intersection(a, b).area
    union = a.area + b.area - inter
    return float(inter / union) if union else 0.0


def _datum_check(out: gpd.GeoDataFrame, units: pd.DataFrame, unit_county: dict[str, str],
                 counties: gpd.GeoDataFrame) -> str | None:
    """A note when the boundaries fit the real county outlines better read as GCJ-02/BD-09.

    For every county whose units are all present, the union of the imported polygons is
    compared (intersection over union, EPSG:4549) with the dataset's county outline, as read
    and after a GCJ-02→WGS84 or BD-09→WGS84 correction. An offset datum shows as a clearly
    better fit after correction (≈0.93 → 0.98 for the Amap county fences).
    """
    per_county = pd.Series(list(unit_county.values()), index=list(unit_county.keys()))
    full = [c for c, codes in per_county.groupby(per_county).groups.items()
            if set(codes) <= set(out["code"])]
    if not full:
        return None
    # simplified to 50 m: the offsets tested are ~500-1,000 m, and exact IoU is slow on fences
    ref = counties.set_index("code").geometry.to_crs(WORKING_CRS).simplify(50.0)
    scores: dict[str, list[float]] = {"as read": [], "gcj02": [], "bd09": []}
    for county in full:
        geoms = out.loc[out["code"].map(unit_county) == county].geometry
        merged = shapely.union_all(np.asarray(geoms.values))
        merged = shapely.make_valid(merged) if not merged.is_valid else merged
        merged = shapely.simplify(merged, 0.0004)  # ≈40 m, before the per-vertex conversions
        target = ref[county]
        for key in scores:
            g = merged if key == "as read" else convert_geometry(merged, key)
            g_m = gpd.GeoSeries([g], crs=STORAGE_CRS).to_crs(WORKING_CRS).iloc[0]
            scores[key].append(_iou(g_m, target))
    mean = {k: float(np.mean(v)) for k, v in scores.items()}
    best = max(("gcj02", "bd09"), key=lambda k: mean[k])
    if mean[best] > mean["as read"] + 0.01:
        return (f"the polygons fit the county outlines better read as {best} (IoU {mean['as read']:.3f} → "
                f"{mean[best]:.3f} over {len(full)} county(ies)): they look {best}; re-import with --crs {best} "
                f"/ 边界疑似 {best} 坐标，请使用 --crs {best} 重新导入")
    return None


#: a unit's imported polygon must have this share of its area inside its county's outline
MIN_COUNTY_OVERLAP: float = 0.5
#: and a real township seat / village point must lie inside it or this close (m, EPSG:4549)
SEAT_TOLERANCE_M: float = 2_000.0


def _misplaced(matched: dict[str, list[int]], geoms: np.ndarray, units: pd.DataFrame, level: str,
               counties: gpd.GeoDataFrame) -> dict[str, tuple[str, str]]:
    """Matched units whose polygon is not where the unit is: (zh, en) reason with distances.

    A polygon must lie mostly (``MIN_COUNTY_OVERLAP``) inside the dataset's outline of its
    county, and contain (within ``SEAT_TOLERANCE_M``) the unit's seat (townships) or point
    (villages) where that location is real, not estimated.
    """
    if not matched:
        return {}
    u = units.set_index("code")
    outline = counties.set_index("code").geometry.to_crs(WORKING_CRS).simplify(50.0)
    out: dict[str, tuple[str, str]] = {}
    codes = list(matched)
    polys = [geoms[p[0]] if len(p) == 1 else shapely.union_all(geoms[p]) for p in matched.values()]
    poly_m = gpd.GeoSeries(polys, crs=STORAGE_CRS).to_crs(WORKING_CRS).values
    for code, g in zip(codes, poly_m):
        county = code[:6]
        name = u.at[code, "name"]
        ref = outline.get(county)
        if ref is None or g is None or g.is_empty or g.area <= 0:
            continue
        share = float(shapely.intersection(g, ref).area / g.area)
        if share < MIN_COUNTY_OVERLAP:
            d = float(shapely.distance(g, ref))
            cname = counties.set_index("code").at[county, "name"]
            out[code] = (f"位置错误：仅 {share:.0%} 在所属{cname}内，距该县边界 {d / 1000:,.1f} 公里",
                         f"misplaced: only {share:.0%} of the polygon lies in its county {cname} ({county}); "
                         f"it is {d / 1000:,.1f} km from the county outline")
            continue
        point = None
        if level == "township" and "seat_lon" in u and u.at[code, "seat_provenance"] == "real":
            point = (u.at[code, "seat_lon"], u.at[code, "seat_lat"])
        elif level == "village" and u.at[code, "provenance"] == "real":
            pt = u.at[code, "geometry"]
            point = (pt.x, pt.y)
        if point is not None and np.all(np.isfinite(point)):
            pm = gpd.GeoSeries([shapely.Point(*point)], crs=STORAGE_CRS).to_crs(WORKING_CRS).iloc[0]
            d = float(shapely.distance(g, pm))
            if d > SEAT_TOLERANCE_M:
                what_zh, what_en = ("驻地", "seat") if level == "township" else ("村委会点位", "point")
                out[code] = (f"位置错误：{name}的{what_zh}在该边界外 {d / 1000:,.1f} 公里",
                             f"misplaced: the {what_en} of {name} ({code}) lies {d / 1000:,.1f} km outside "
                             "the polygon")
    return out
