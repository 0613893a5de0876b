"""Validation of dataset layers: collect every problem, then raise once.

Each ``check_*`` function appends :class:`Problem` records (file, row, id, field, message) to
a :class:`Report`; :meth:`Report.raise_if_problems` raises a single
:class:`~layers._errors.LayerValidationError` listing all of them. Invalid geometries are not
problems: :func:`repair_geometries` fixes them with :func:`shapely.make_valid` and records a
:class:`Repair`.

Points are checked against the polygon of the township they claim, vectorised with a spatial
join; the few points that fall outside are measured in EPSG:4549 and accepted within
``tolerance_m`` (50 m by default) of their township, for points sitting on a boundary.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from layers._errors import LayerValidationError
from layers.settings import WORKING_CRS
from layers.vocab import (
    CHILD_HOME_TIERS,
    COMMITTEE_TYPES,
    FACILITY_LEVELS,
    FACILITY_TYPES,
    INDICATORS,
    LOCATION_PRECISIONS,
    PROVENANCE_VALUES,
    PUBLIC_PLACE_KINDS,
)

__all__ = [
    "POINT_TOLERANCE_M",
    "Problem",
    "Repair",
    "Report",
    "check_counties",
    "check_facilities",
    "check_indicators",
    "check_points_in_townships",
    "check_townships",
    "check_villages",
    "repair_geometries",
]

#: a point may lie this far (m, EPSG:4549) outside its stated township and still pass
POINT_TOLERANCE_M: float = 50.0
TOWNSHIP_TYPES: tuple[str, ...] = ("街道", "镇", "乡")
#: indicators that are counts; every other indicator is a share in [0, 1]
COUNT_INDICATORS: tuple[str, ...] = ("child_social_workers",)
_MAX_LISTED = 400


@dataclass(frozen=True)
class Problem:
    """One validation problem: where (file, row, id, field) and what."""

    file: str
    row: int | None
    id: str | None
    field: str
    message: str

    def __str__(self) -> str:
        where = self.file
        if self.row is not None:
            where += f": row {self.row}"
        if self.id:
            where += f" (id {self.id})"
        return f"{where}: field '{self.field}': {self.message}"


@dataclass(frozen=True)
class Repair:
    """One geometry repaired with make_valid."""

    file: str
    row: int
    id: str
    reason: str

    def __str__(self) -> str:
        return f"{self.file}: row {self.row} (id {self.id}): geometry repaired ({self.reason})"


@dataclass
class Report:
    """Problems and repairs collected over a whole dataset."""

    problems: list[Problem] = field(default_factory=list)
    repairs: list[Repair] = field(default_factory=list)

    def add(self, file: str, row: int | None, id_: object, field_: str, message: str) -> None:
        self.problems.append(Problem(file, row, None if id_ is None else str(id_), field_, message))

    def add_rows(self, file: str, df: pd.DataFrame, mask: np.ndarray, id_col: str | None,
                 field_: str, message) -> None:
        """Add one problem per row where ``mask`` is true; ``message`` may be a callable(row)."""
        for pos in np.flatnonzero(np.asarray(mask, dtype=bool)):
            row = df.iloc[pos]
            text = message(row) if callable(message) else message
            ident = row[id_col] if id_col and id_col in df.columns else None
            self.add(file, int(pos) + 1, ident, field_, text)

    def raise_if_problems(self, where: str) -> None:
        """Raise one LayerValidationError listing every problem (capped at 400 lines)."""
        if not self.problems:
            return
        n = len(self.problems)
        lines = [f"{n} validation problem(s) in {where} / 数据校验发现 {n} 个问题:"]
        lines += [str(p) for p in self.problems[:_MAX_LISTED]]
        if n > _MAX_LISTED:
            lines.append(f"… and {n - _MAX_LISTED} more")
        err = LayerValidationError("\n".join(lines))
        err.problems = list(self.problems)  # type: ignore[attr-defined]
        raise err


# ---------------------------------------------------------------------------- helpers
def _blank(series: pd.Series) -> np.ndarray:
    """Missing or empty text (loaded layers are coerced: missing text is ``""``)."""
    if pd.api.types.is_string_dtype(series):
        return (series.isna() | (series == "")).to_numpy()
    return (series.isna() | (series.astype(str).str.strip() == "")).to_numpy()


def _check_unique(rep: Report, file: str, df: pd.DataFrame, col: str) -> None:
    dup = df[col].duplicated(keep=False).to_numpy() & ~_blank(df[col])
    rep.add_rows(file, df, dup, col, col, lambda r: f"duplicate id {r[col]!r} / 编号重复")


def _check_required(rep: Report, file: str, df: pd.DataFrame, cols: tuple[str, ...], id_col: str) -> bool:
    missing = [c for c in cols if c not in df.columns]
    for col in missing:
        rep.add(file, None, None, col, "required column missing / 缺少必需字段")
    return not missing


def _check_vocab(rep: Report, file: str, df: pd.DataFrame, col: str, allowed, id_col: str,
                 allow_blank: bool = True) -> None:
    if col not in df.columns:
        return
    values = df[col].astype(str)
    bad = ~values.isin(list(allowed)).to_numpy()
    if allow_blank:
        bad &= ~_blank(df[col])
    rep.add_rows(file, df, bad, id_col, col,
                 lambda r: f"value {r[col]!r} not in vocabulary ({', '.join(allowed)})")


def _check_codes(rep: Report, file: str, df: pd.DataFrame, col: str, digits: int, id_col: str) -> None:
    ok = df[col].astype(str).str.fullmatch(rf"\d{{{digits}}}").to_numpy()
    rep.add_rows(file, df, ~ok, id_col, col,
                 lambda r: f"code {r[col]!r} is not a {digits}-digit string / 统计代码格式错误")


def _check_geom_type(rep: Report, file: str, gdf: gpd.GeoDataFrame, kinds: tuple[str, ...],
                     id_col: str) -> None:
    geoms = gdf.geometry.values
    empty = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    rep.add_rows(file, gdf, empty, id_col, "geometry", "missing or empty geometry / 缺少几何")
    types = np.asarray(shapely.get_type_id(geoms))
    wanted = {"Point": 0, "Polygon": 3, "MultiPolygon": 6}
    allowed = [wanted[k] for k in kinds]
    bad = ~np.isin(types, allowed) & ~empty
    rep.add_rows(file, gdf, bad, id_col, "geometry",
                 lambda r: f"geometry type {r.geometry.geom_type} (expected {'/'.join(kinds)})")


def _check_provenance(rep: Report, file: str, df: pd.DataFrame, col: str, id_col: str) -> None:
    if col in df.columns:
        _check_vocab(rep, file, df, col, PROVENANCE_VALUES, id_col, allow_blank=False)
    else:
        rep.add(file, None, None, col, "required column missing / 缺少必需字段")


def repair_geometries(gdf: gpd.GeoDataFrame, file: str, id_col: str, rep: Report) -> gpd.GeoDataFrame:
    """Return ``gdf`` with invalid polygons made valid; each repair is added to ``rep``.

    Only the polygonal part of :func:`shapely.make_valid`'s output is kept (slivers that
    collapse to lines are dropped), so a polygon layer stays polygonal.
    """
    geoms = gdf.geometry.values
    present = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    invalid = present & ~shapely.is_valid(geoms)
    if not invalid.any():
        return gdf
    out = gdf.copy()
    new = np.asarray(out.geometry.values, dtype=object).copy()
    for pos in np.flatnonzero(invalid):
        reason = shapely.is_valid_reason(new[pos])
        fixed = shapely.make_valid(new[pos])
        if fixed.geom_type == "GeometryCollection":
            polys = [g for g in shapely.get_parts(fixed) if g.geom_type in ("Polygon", "MultiPolygon")]
            fixed = shapely.union_all(polys) if polys else fixed
        new[pos] = fixed
        rep.repairs.append(Repair(file, int(pos) + 1, str(out.iloc[pos][id_col]), reason))
    out[out.geometry.name] = gpd.GeoSeries(new, index=out.index, crs=out.crs)
    return out


# ---------------------------------------------------------------------------- layers
def check_counties(gdf: gpd.GeoDataFrame, file: str, rep: Report) -> None:
    """Unique 6-digit codes, names, polygon geometry, provenance."""
    if not _check_required(rep, file, gdf, ("code", "name"), "code"):
        return
    _check_codes(rep, file, gdf, "code", 6, "code")
    _check_unique(rep, file, gdf, "code")
    _check_geom_type(rep, file, gdf, ("Polygon", "MultiPolygon"), "code")
    _check_provenance(rep, file, gdf, "provenance", "code")


def check_townships(gdf: gpd.GeoDataFrame, file: str, counties: pd.DataFrame, rep: Report) -> None:
    """Unique 9-digit codes under an existing county, 街道/镇/乡 type, polygons, provenance."""
    if not _check_required(rep, file, gdf, ("code", "name", "county_code"), "code"):
        return
    _check_codes(rep, file, gdf, "code", 9, "code")
    _check_unique(rep, file, gdf, "code")
    known = set(counties["code"]) if "code" in counties else set()
    bad = ~gdf["county_code"].isin(known).to_numpy()
    rep.add_rows(file, gdf, bad, "code", "county_code",
                 lambda r: f"county {r['county_code']!r} not in the county table / 县代码不存在")
    prefix = gdf["code"].astype(str).str[:6] != gdf["county_code"].astype(str)
    rep.add_rows(file, gdf, prefix.to_numpy() & ~bad, "code", "code",
                 lambda r: f"code does not start with its county code {r['county_code']}")
    _check_vocab(rep, file, gdf, "township_type", TOWNSHIP_TYPES, "code")
    _check_geom_type(rep, file, gdf, ("Polygon", "MultiPolygon"), "code")
    _check_provenance(rep, file, gdf, "provenance", "code")


def check_villages(gdf: gpd.GeoDataFrame, file: str, townships: gpd.GeoDataFrame, rep: Report,
                   tolerance_m: float = POINT_TOLERANCE_M) -> None:
    """Unique 12-digit codes under an existing township, committee type, points in township."""
    if not _check_required(rep, file, gdf, ("code", "name", "township_code"), "code"):
        return
    _check_codes(rep, file, gdf, "code", 12, "code")
    _check_unique(rep, file, gdf, "code")
    twp_county = dict(zip(townships["code"], townships["county_code"]))
    bad = ~gdf["township_code"].isin(list(twp_county)).to_numpy()
    rep.add_rows(file, gdf, bad, "code", "township_code",
                 lambda r: f"township {r['township_code']!r} not in the township table / 乡镇代码不存在")
    prefix = (gdf["code"].astype(str).str[:9] != gdf["township_code"].astype(str)).to_numpy()
    rep.add_rows(file, gdf, prefix & ~bad, "code", "code",
                 lambda r: f"code does not start with its township code {r['township_code']}")
    if "county_code" in gdf.columns:
        expected = gdf["township_code"].map(twp_county)
        wrong = (~bad) & (expected != gdf["county_code"]).to_numpy()
        rep.add_rows(file, gdf, wrong, "code", "county_code",
                     lambda r: f"county {r['county_code']!r} differs from its township's "
                               f"{twp_county.get(r['township_code'])!r}")
    _check_vocab(rep, file, gdf, "committee_type", COMMITTEE_TYPES, "code")
    _check_geom_type(rep, file, gdf, ("Point",), "code")
    _check_provenance(rep, file, gdf, "provenance", "code")
    check_points_in_townships(gdf, file, townships, rep, "code", ~bad, tolerance_m)


def check_points_in_townships(points: gpd.GeoDataFrame, file: str, townships: gpd.GeoDataFrame,
                              rep: Report, id_col: str, mask: np.ndarray | None = None,
                              tolerance_m: float = POINT_TOLERANCE_M) -> None:
    """Each point must lie in (or within ``tolerance_m`` of) the township in ``township_code``.

    Vectorised: one spatial join finds the containing township of every point; only the
    mismatches are measured, in EPSG:4549.
    """
    if points.empty or townships.empty:
        return
    geoms = points.geometry.values
    usable = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    usable &= np.asarray(shapely.get_type_id(geoms)) == 0
    if mask is not None:
        usable &= np.asarray(mask, dtype=bool)
    pts = gpd.GeoDataFrame({"_pos": np.arange(len(points))}, geometry=np.asarray(geoms),
                           crs=points.crs)[usable]
    twp = townships[["code", townships.geometry.name]].rename(columns={"code": "_found"})
    joined = gpd.sjoin(pts, twp, how="left", predicate="intersects")
    stated = points["township_code"].to_numpy()
    hit = joined["_found"].to_numpy() == stated[joined["_pos"].to_numpy()]
    ok_pos = set(joined["_pos"].to_numpy()[hit])
    bad_pos = np.array(sorted(set(pts["_pos"]) - ok_pos), dtype=int)
    if bad_pos.size == 0:
        return
    found = joined.dropna(subset=["_found"]).groupby("_pos")["_found"].first()
    by_code = townships.set_index("code").geometry
    names = townships.set_index("code")["name"] if "name" in townships else None
    sub_pts = gpd.GeoSeries(np.asarray(geoms)[bad_pos], crs=points.crs).to_crs(WORKING_CRS)
    polys = gpd.GeoSeries(by_code.reindex(stated[bad_pos]).to_numpy(), crs=townships.crs).to_crs(WORKING_CRS)
    dist = shapely.distance(sub_pts.values, polys.values)
    for pos, d in zip(bad_pos, dist):
        if d <= tolerance_m:
            continue
        there = found.get(pos)
        where = "outside every township" if there is None else (
            f"inside {names.get(there, there) if names is not None else there} ({there})")
        code = stated[pos]
        label = names.get(code, code) if names is not None else code
        rep.add(file, int(pos) + 1, points.iloc[pos][id_col], "geometry",
                f"point is {d:,.0f} m outside its township {label} ({code}); it lies {where} "
                "/ 坐标不在所属乡镇范围内")


def check_facilities(gdf: gpd.GeoDataFrame, file: str, year: int | None, townships: gpd.GeoDataFrame,
                     villages: gpd.GeoDataFrame, counties: pd.DataFrame, rep: Report,
                     tolerance_m: float = POINT_TOLERANCE_M) -> None:
    """Ids, vocabularies, unit codes, year, serves_place_id links and point-in-township."""
    req = ("facility_id", "type", "township_code", "county_code")
    if not _check_required(rep, file, gdf, req, "facility_id"):
        return
    idc = "facility_id"
    blank_id = _blank(gdf[idc])
    rep.add_rows(file, gdf, blank_id, None, idc, "facility_id is empty / 设施编号为空")
    _check_unique(rep, file, gdf, idc)
    if year is not None and "year" in gdf.columns:
        wrong_year = (gdf["year"] != year).fillna(True).to_numpy(dtype=bool)
        rep.add_rows(file, gdf, wrong_year, idc, "year",
                     lambda r: f"year {r['year']} differs from the layer's year {year}")
    _check_vocab(rep, file, gdf, "type", FACILITY_TYPES, idc, allow_blank=False)
    _check_vocab(rep, file, gdf, "tier", CHILD_HOME_TIERS, idc)
    _check_vocab(rep, file, gdf, "level", FACILITY_LEVELS, idc)
    _check_vocab(rep, file, gdf, "place_kind", PUBLIC_PLACE_KINDS, idc)
    _check_vocab(rep, file, gdf, "location_precision", LOCATION_PRECISIONS, idc, allow_blank=False)
    _check_provenance(rep, file, gdf, "provenance", idc)
    for col in ("capacity", "building_area_m2", "daily_visitors"):
        if col in gdf.columns:
            neg = (pd.to_numeric(gdf[col], errors="coerce") < 0).fillna(False).to_numpy()
            rep.add_rows(file, gdf, neg, idc, col, lambda r, c=col: f"negative value {r[c]}")
    counties_known = set(counties["code"])
    twp_county = dict(zip(townships["code"], townships["county_code"]))
    vil_twp = dict(zip(villages["code"], villages["township_code"]))
    bad_c = ~gdf["county_code"].isin(counties_known).to_numpy()
    rep.add_rows(file, gdf, bad_c, idc, "county_code",
                 lambda r: f"county {r['county_code']!r} not in the county table / 县代码不存在")
    bad_t = ~gdf["township_code"].isin(list(twp_county)).to_numpy()
    rep.add_rows(file, gdf, bad_t, idc, "township_code",
                 lambda r: f"township {r['township_code']!r} not in the township table / 乡镇代码不存在")
    wrong_c = ~bad_t & ~bad_c & (gdf["township_code"].map(twp_county) != gdf["county_code"]).to_numpy()
    rep.add_rows(file, gdf, wrong_c, idc, "county_code",
                 lambda r: f"county {r['county_code']} is not the county of township {r['township_code']}")
    if "village_code" in gdf.columns:
        has_v = ~_blank(gdf["village_code"])
        bad_v = has_v & ~gdf["village_code"].isin(list(vil_twp)).to_numpy()
        rep.add_rows(file, gdf, bad_v, idc, "village_code",
                     lambda r: f"village {r['village_code']!r} not in the village table / 村代码不存在")
        wrong_v = has_v & ~bad_v & ~bad_t & (
            gdf["village_code"].map(vil_twp) != gdf["township_code"]).to_numpy()
        rep.add_rows(file, gdf, wrong_v, idc, "village_code",
                     lambda r: f"village {r['village_code']} is not in township {r['township_code']}")
    if "serves_place_id" in gdf.columns:
        places = set(gdf.loc[gdf["type"] == "public_place", idc])
        link = ~_blank(gdf["serves_place_id"]) & (gdf["type"] == "mother_baby_room").to_numpy()
        dangling = link & ~gdf["serves_place_id"].isin(places).to_numpy()
        rep.add_rows(file, gdf, dangling, idc, "serves_place_id",
                     lambda r: f"serves_place_id {r['serves_place_id']!r} is not a public_place of this year")
    _check_geom_type(rep, file, gdf, ("Point",), idc)
    check_points_in_townships(gdf, file, townships, rep, idc, ~bad_t, tolerance_m)


def check_indicators(df: pd.DataFrame, file: str, units: dict[str, set[str]], rep: Report) -> None:
    """Indicator ids, their unit level, existing unit codes, value ranges, provenance, duplicates."""
    req = ("year", "unit_level", "unit_code", "indicator", "value", "provenance")
    if not _check_required(rep, file, df, req, "unit_code"):
        return
    idc = "unit_code"
    known = df["indicator"].isin(list(INDICATORS)).to_numpy()
    rep.add_rows(file, df, ~known, idc, "indicator",
                 lambda r: f"unknown indicator {r['indicator']!r}")
    level_ok = df["unit_level"] == df["indicator"].map(INDICATORS)
    rep.add_rows(file, df, known & ~level_ok.to_numpy(), idc, "unit_level",
                 lambda r: f"{r['indicator']} is reported per {INDICATORS[r['indicator']]}, "
                           f"not per {r['unit_level']}")
    exists = np.array([code in units.get(lvl, set()) for lvl, code in zip(df["unit_level"], df["unit_code"])],
                      dtype=bool)
    rep.add_rows(file, df, ~exists, idc, "unit_code",
                 lambda r: f"no {r['unit_level']} with code {r['unit_code']!r} / 单位代码不存在")
    value = pd.to_numeric(df["value"], errors="coerce")
    rep.add_rows(file, df, value.isna().to_numpy() & ~_blank(df["value"]), idc, "value",
                 lambda r: f"value {r['value']!r} is not a number")
    share = ~df["indicator"].isin(list(COUNT_INDICATORS)).to_numpy() & known
    out_of_range = share & ((value < 0) | (value > 1)).fillna(False).to_numpy()
    rep.add_rows(file, df, out_of_range, idc, "value",
                 lambda r: f"share {r['value']} outside 0–1 (shares are fractions) / 比例应在0–1之间")
    negative = ~share & known & (value < 0).fillna(False).to_numpy()
    rep.add_rows(file, df, negative, idc, "value", lambda r: f"negative count {r['value']}")
    _check_provenance(rep, file, df, "provenance", idc)
    dup = df.duplicated(["year", "unit_code", "indicator"], keep=False).to_numpy()
    rep.add_rows(file, df, dup, idc, "indicator",
                 lambda r: f"duplicate row for {r['indicator']} {r['unit_code']} {r['year']}")
