"""Place imported facility rows: unit names → codes, coordinates → WGS84 and checks.

Used by :func:`layers.importers.import_facilities`. A :class:`Locator` holds the dataset's
unit tables (name indexes, township polygons in EPSG:4549) and, for a batch of parsed rows,
fills ``lon``/``lat`` (WGS84), ``county_code``/``township_code``/``village_code`` and
``location_precision``, appending reject reasons or flags to each row (see the decisions
listed in :mod:`layers.importers`). The point-in-township test is one vectorised spatial join;
only disagreeing rows are examined one by one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pyproj
import shapely

from layers.crs import to_wgs84
from layers.dataset import Dataset
from layers.names import NameMatch, UnitNameIndex, normalise_name
from layers.settings import CITY_NAME, LISHUI_BBOX, STORAGE_CRS, WORKING_CRS

_PUNCT_RE = re.compile(r"[\s\u3000/\\|,，、·-]+")

__all__ = ["Issue", "Locator", "in_bbox"]

_LABEL = {"wgs84": "WGS84", "gcj02": "GCJ-02（高德）", "bd09": "BD-09（百度）", "cgcs2000": "CGCS2000"}
_CLI = {"wgs84": "wgs84", "gcj02": "gcj02", "bd09": "bd09", "cgcs2000": "cgcs2000"}
#: a point this close (m) to its village's real point once read in another CRS, and more than
#: 250 m from it as declared, is flagged as probably being in that other CRS
_VILLAGE_MATCH_M = 50.0


def in_bbox(lon, lat, bbox=LISHUI_BBOX) -> np.ndarray:
    """True where lon/lat (degrees) lie in ``bbox`` = (min lon, min lat, max lon, max lat)."""
    lon = np.asarray(lon, dtype=float)
    lat = np.asarray(lat, dtype=float)
    return (lon >= bbox[0]) & (lon <= bbox[2]) & (lat >= bbox[1]) & (lat <= bbox[3])


@dataclass(frozen=True)
class Issue:
    """A reason to reject or flag a row: the field concerned, in Chinese and English."""

    field: str
    zh: str
    en: str

    def __str__(self) -> str:
        return f"[{self.field}] {self.zh} / {self.en}"


def _issue(field: str, zh: str, en: str) -> Issue:
    return Issue(field, zh, en)


class Locator:
    """Resolve locations of imported rows against one dataset.

    Parameters
    ----------
    dataset : Dataset
        Units in EPSG:4326.
    tolerance_m : float
        Allowed distance (m, EPSG:4549) of a point outside its stated township.
    prefer_point : bool
        Keep the point (flagged) when it disagrees with the stated township.
    """

    def __init__(self, dataset: Dataset, tolerance_m: float = 50.0, prefer_point: bool = False) -> None:
        self.tolerance_m = tolerance_m
        self.prefer_point = prefer_point
        self.notes: list[str] = []
        c, t, v = dataset.counties, dataset.townships, dataset.villages
        self.county_names = dict(zip(c["code"], c["name"]))
        self.township_names = dict(zip(t["code"], t["name"]))
        self.township_county = dict(zip(t["code"], t["county_code"]))
        self.village_township = dict(zip(v["code"], v["township_code"]))
        self.village_names = dict(zip(v["code"], v["name"]))
        ctx = {**self.county_names, **self.township_names}
        self.counties_idx = UnitNameIndex(c, "county")
        self.townships_idx = UnitNameIndex(t, "township", ctx)
        self.villages_idx = UnitNameIndex(v, "village", ctx)
        self.townships = t[["code", t.geometry.name]].reset_index(drop=True)
        self._to_m = pyproj.Transformer.from_crs(STORAGE_CRS, WORKING_CRS, always_xy=True)
        tw = t.to_crs(WORKING_CRS)
        self.twp_m = dict(zip(tw["code"], tw.geometry.values))
        for g in self.twp_m.values():
            shapely.prepare(g)
        self.village_xy = {code: (g.x, g.y) for code, g in zip(v["code"], v.geometry.values)}
        real = v["provenance"] == "real" if "provenance" in v else np.zeros(len(v), bool)
        self.village_real = set(v.loc[real, "code"])
        seat_prov = t["seat_provenance"] if "seat_provenance" in t else ["estimated"] * len(t)
        self.seat_real = {code for code, prov in zip(t["code"], seat_prov) if prov == "real"}
        seats = {}
        for code, geom, slon, slat in zip(
            t["code"], t.geometry.values,
            t["seat_lon"] if "seat_lon" in t else [np.nan] * len(t),
            t["seat_lat"] if "seat_lat" in t else [np.nan] * len(t),
        ):
            if np.isfinite(slon) and np.isfinite(slat):
                seats[code] = (float(slon), float(slat))
            else:
                rp = geom.representative_point()
                seats[code] = (rp.x, rp.y)
        self.seats = seats
        # written prefix → unit codes, in table order: a name is split by looking up its
        # leading 1…n characters, never by scanning every unit (#14: linear in the rows)
        self._county_prefixes = self._prefix_index(self.county_names, "county")
        self._township_prefixes = self._prefix_index(self.township_names, "township")

    @staticmethod
    def _prefix_index(names: dict[str, str], level: str) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for code, name in names.items():
            for form in {name, normalise_name(name, level)}:
                if form:
                    out.setdefault(form, []).append(code)
        return out

    @staticmethod
    def _longest_prefix(index: dict[str, list[str]], rest: str, ok) -> tuple[str, str] | None:
        """(code, prefix) of the longest written unit name that starts ``rest`` (and is shorter)."""
        for n in range(len(rest) - 1, 0, -1):
            for code in index.get(rest[:n], ()):
                if ok(code):
                    return code, rest[:n]
        return None

    # ------------------------------------------------------------------ names
    def _split_prefix(self, text: str) -> list[tuple[str | None, str | None, str]]:
        """Readings of a written unit name with leading 浙江省/丽水市, county, township removed.

        ``莲都区紫金街道永晖社区`` → [(331102, None, 紫金街道永晖社区), (331102, 331102001,
        永晖社区)]. Used only when the name as written matched nothing.
        """
        rest = _PUNCT_RE.sub("", text)
        for head in ("浙江省", "浙江", CITY_NAME, CITY_NAME[:-1]):
            if rest.startswith(head):
                rest = rest[len(head):]
        county = None
        hit = self._longest_prefix(self._county_prefixes, rest, lambda c: True)
        if hit:
            county, rest = hit[0], rest[len(hit[1]):]
        out = [(county, None, rest)] if county else []
        hit = self._longest_prefix(self._township_prefixes, rest,
                                   lambda c: not county or self.township_county[c] == county)
        if hit:
            code = hit[0]
            out.append((county or self.township_county[code], code, rest[len(hit[1]):]))
        return out

    def _match_unit(self, index: UnitNameIndex, text: str, county: str | None,
                    township: str | None = None) -> tuple[NameMatch, str | None, str | None]:
        """Match a written name; on failure retry without leading county/township names."""
        m = index.match(text, county=county, township=township)
        if m.status != "unknown":
            return m, county, township
        for p_county, p_township, rest in self._split_prefix(text):
            if county not in (None, p_county) or (township and p_township and township != p_township):
                continue
            m2 = index.match(rest, county=p_county, township=township or p_township)
            if m2.status != "unknown":
                return m2, p_county, township or p_township
        return m, county, township

    def _match(self, rec: dict, pend: list) -> None:
        """Codes from code columns or names; name problems go to ``pend``."""
        county = rec["stated_county_code"] or None
        if county and county not in self.county_names:
            pend.append(_issue("county_code", f"县代码 {county} 不存在", f"unknown county code {county}"))
            county = None
        stated_county = rec["stated_county"]
        if normalise_name(stated_county, "county") in (CITY_NAME, CITY_NAME[:-1]):
            stated_county = ""  # 丽水市 written in the county column says nothing more
        if not county and stated_county:
            m = self.counties_idx.match(stated_county)
            county = self._take(m, "county", stated_county, pend)
        rec["m_county"] = county
        twp = rec["stated_township_code"] or None
        if twp and twp not in self.township_names:
            pend.append(_issue("township_code", f"乡镇代码 {twp} 不存在", f"unknown township code {twp}"))
            twp = None
        if not twp and rec["stated_township"]:
            m, county_hint, _ = self._match_unit(self.townships_idx, rec["stated_township"], county)
            twp = self._take(m, "township", rec["stated_township"], pend)
            county = county or (county_hint if twp else None)
        if twp and county and self.township_county[twp] != county:
            pend.append(_issue("township", f"乡镇 {self.township_names[twp]} 不属于 {self.county_names[county]}",
                               f"township {twp} is not in county {county}"))
            twp = None
        rec["m_township"] = twp
        vil = rec["stated_village_code"] or None
        if vil and vil not in self.village_names:
            pend.append(_issue("village_code", f"村代码 {vil} 不存在", f"unknown village code {vil}"))
            vil = None
        rec["m_village_cands"] = ()
        if not vil and rec["stated_village"]:
            m, _, _ = self._match_unit(self.villages_idx, rec["stated_village"], county, twp)
            if m.status == "ambiguous":
                rec["m_village_cands"] = m.candidates
            vil = self._take(m, "village", rec["stated_village"], pend)
        if vil and twp and self.village_township[vil] != twp:
            pend.append(_issue("village", f"村 {self.village_names[vil]} 不属于 {self.township_names[twp]}",
                               f"village {vil} is not in township {twp}"))
            vil = None
        rec["m_village"] = vil

    @staticmethod
    def _take(m: NameMatch, level: str, text: str, pend: list) -> str | None:
        if m.ok:
            return m.code
        zh = {"county": "县（市、区）", "township": "乡镇（街道）", "village": "村（社区）"}[level]
        if m.status == "ambiguous":
            cands = "; ".join(f"{name} {code} [{ctx}]" for code, name, ctx in m.candidates[:8])
            pend.append(_issue(level, f"{zh}名称“{text}”不唯一，请补充县或乡镇；候选：{cands}",
                               f"ambiguous {level} name {text!r}; add the county/township; candidates: {cands}"))
        else:
            sugg = "、".join(m.suggestions) if m.suggestions else "无"
            pend.append(_issue(level, f"{zh}名称“{text}”未找到；最接近的名称：{sugg}",
                               f"unknown {level} name {text!r}; closest names: "
                               f"{', '.join(m.suggestions) if m.suggestions else 'none'}"))
        return None

    # ------------------------------------------------------------------ geometry
    def _dist_m(self, lon: float, lat: float, code: str) -> float:
        x, y = self._to_m.transform(lon, lat)
        return float(shapely.distance(shapely.Point(x, y), self.twp_m[code]))

    def _alternative(self, rec: dict, target: str) -> str | None:
        """A CRS other than the declared one that puts the raw point in ``target`` township."""
        declared = "wgs84" if rec["crs"] == "cgcs2000" else rec["crs"]
        for alt in ("gcj02", "bd09", "wgs84"):
            if alt == declared:
                continue
            lon, lat = to_wgs84(rec["lon_raw"], rec["lat_raw"], alt)
            if self._dist_m(lon, lat, target) <= self.tolerance_m:
                return alt
        return None

    def _village_offset(self, rec: dict) -> str | None:
        """A CRS that brings the point onto the *real* point of its stated village."""
        vil = rec["m_village"]
        if not vil or vil not in self.village_real:
            return None
        vx, vy = self._to_m.transform(*self.village_xy[vil])
        x, y = self._to_m.transform(rec["lon"], rec["lat"])
        d0 = float(np.hypot(x - vx, y - vy))
        if d0 <= 250.0:
            return None
        declared = "wgs84" if rec["crs"] == "cgcs2000" else rec["crs"]
        for alt in ("gcj02", "bd09", "wgs84"):
            if alt == declared:
                continue
            ax, ay = self._to_m.transform(*to_wgs84(rec["lon_raw"], rec["lat_raw"], alt))
            d1 = float(np.hypot(ax - vx, ay - vy))
            if d1 < _VILLAGE_MATCH_M and d1 < d0 / 4:
                return alt
        return None

    def _locate_points(self, lon: np.ndarray, lat: np.ndarray) -> tuple[list, np.ndarray]:
        """Containing (or nearest within tolerance) township of each point; distance if outside."""
        n = len(lon)
        pts = gpd.GeoDataFrame({"_i": np.arange(n)}, geometry=gpd.points_from_xy(lon, lat), crs=STORAGE_CRS)
        joined = gpd.sjoin(pts, self.townships, how="left", predicate="intersects")
        found = joined.dropna(subset=["code"]).groupby("_i")["code"].first()
        out = [found.get(i) for i in range(n)]
        dist = np.zeros(n)
        missing = [i for i in range(n) if out[i] is None]
        if missing:
            sub = pts.iloc[missing].to_crs(WORKING_CRS)
            twm = self.townships.to_crs(WORKING_CRS)
            near = gpd.sjoin_nearest(sub, twm, how="left", distance_col="_d")
            near = near.groupby("_i")[["code", "_d"]].first()
            for i in missing:
                d = float(near.at[i, "_d"])
                dist[i] = d
                if d <= self.tolerance_m:
                    out[i] = near.at[i, "code"]
        return out, dist

    # ------------------------------------------------------------------ main
    def locate(self, table, records: list[dict], rejects: list[list], flags: list[list]) -> None:
        """Fill location fields of every record in place (see module docstring)."""
        n = len(records)
        pending: list[list] = [[] for _ in range(n)]
        for i, rec in enumerate(records):
            self._match(rec, pending[i])
        has_pt = [i for i in range(n) if records[i]["lon_raw"] is not None]
        # swapped lat/lon and conversion to WGS84
        for i in has_pt:
            rec = records[i]
            lo, la = rec["lon_raw"], rec["lat_raw"]
            if not in_bbox(lo, la) and in_bbox(la, lo):
                rec["lon_raw"], rec["lat_raw"] = la, lo
                flags[i].append(_issue("lon", f"经纬度填反（经度{lo:.10g}、纬度{la:.10g}），已自动互换",
                                       f"lat/lon looked swapped (lon {lo:.10g}, lat {la:.10g}); swapped back"))
            rec["lon"], rec["lat"] = to_wgs84(rec["lon_raw"], rec["lat_raw"], rec["crs"])
        inside = [i for i in has_pt if in_bbox(records[i]["lon"], records[i]["lat"])]
        for i in sorted(set(has_pt) - set(inside)):
            r = records[i]
            metres = abs(r["lon_raw"]) > 180 or abs(r["lat_raw"]) > 90
            hint_zh = "；数值像是投影坐标（米），请换算为经纬度" if metres else ""
            hint_en = "; the values look like projected metres, not degrees" if metres else ""
            rejects[i].append(_issue("lon", f"坐标（{r['lon_raw']:.10g}, {r['lat_raw']:.10g}）不在丽水市范围内{hint_zh}",
                                     f"point ({r['lon_raw']:.10g}, {r['lat_raw']:.10g}) is outside Lishui "
                                     f"(bbox {LISHUI_BBOX}){hint_en}"))
        located, dist = self._locate_points(
            np.array([records[i]["lon"] for i in inside]), np.array([records[i]["lat"] for i in inside]))
        loc = {i: (located[k], dist[k]) for k, i in enumerate(inside)}
        n_alt: dict[str, int] = {}
        for i in range(n):
            rec = records[i]
            if i in loc:
                self._reconcile_point(rec, loc[i], pending[i], rejects[i], flags[i], n_alt)
            elif rec["lon_raw"] is None:
                if any(r.field in ("lon", "lat", "coords") for r in rejects[i]):
                    rejects[i].extend(pending[i])  # unreadable coordinates: do not place by name
                else:
                    self._place_by_name(rec, pending[i], rejects[i], flags[i])
            else:
                rejects[i].extend(pending[i])
        for alt, count in n_alt.items():
            self.notes.append(
                f"{count} row(s) fit their stated unit only when read as {_LABEL[alt]}: the coordinates "
                f"look {_LABEL[alt]} rather than the declared system; re-import with --crs {_CLI[alt]} "
                f"/ 有 {count} 行坐标疑似 {_LABEL[alt]}，请使用 --crs {_CLI[alt]} 重新导入")

    def _reconcile_point(self, rec, loc, pend, rej, flg, n_alt) -> None:
        located, dist = loc
        if located is None:
            rej.append(_issue("lon", f"坐标不在数据集的县域范围内（距最近乡镇 {dist:,.0f} 米）",
                              f"point lies outside the dataset's counties ({dist:,.0f} m from the nearest township)"))
            return
        stated = rec["m_township"] or (self.village_township[rec["m_village"]] if rec["m_village"] else None)
        village = rec["m_village"]
        if stated and stated != located and self._dist_m(rec["lon"], rec["lat"], stated) > self.tolerance_m:
            d = self._dist_m(rec["lon"], rec["lat"], stated)
            alt = self._alternative(rec, stated)
            sname, lname = self.township_names[stated], self.township_names[located]
            if alt is not None:
                n_alt[alt] = n_alt.get(alt, 0) + 1
                rej.append(_issue("lon", f"坐标在{lname}，距所填{sname} {d:,.0f} 米；按 {_LABEL[alt]} 解读则落在{sname}内，"
                                         f"疑似 {_LABEL[alt]} 坐标，请用 --crs {_CLI[alt]} 导入",
                                  f"point lies in {lname} ({located}), {d:,.0f} m from the stated township {sname} "
                                  f"({stated}); read as {alt} it falls inside: the coordinates look {alt}; "
                                  f"re-import with --crs {_CLI[alt]}"))
                return
            if not self.prefer_point:
                rej.append(_issue("lon", f"坐标位于{lname}，不在所填{sname}内（相距 {d:,.0f} 米）",
                                  f"point lies in {lname} ({located}), {d:,.0f} m outside the stated township "
                                  f"{sname} ({stated})"))
                return
            flg.append(_issue("township", f"坐标位于{lname}，与所填{sname}不符，以坐标为准",
                              f"point lies in {lname} ({located}), not in the stated {sname} ({stated}); "
                              "the point was kept"))
            stated, village = located, None
        twp = stated or located
        cands = rec["m_village_cands"]
        if village is None and cands:
            inside = [c for c in cands if self.village_township.get(c[0]) == twp]
            if len(inside) == 1:
                village = inside[0][0]
                pend = [p for p in pend if p.field != "village"]
        county = self.township_county[twp]
        if rec["m_county"] and rec["m_county"] != county:
            rej.append(_issue("county", f"坐标所在乡镇属于{self.county_names[county]}，与所填县不符",
                              f"point lies in county {county}, not in the stated county {rec['m_county']}"))
            return
        flg.extend(pend)
        rec["m_village"] = village
        alt = self._village_offset(rec)
        if alt is not None:
            n_alt[alt] = n_alt.get(alt, 0) + 1
            flg.append(_issue("lon", f"坐标距所填村的实测点位较远，按 {_LABEL[alt]} 解读则重合，疑似 {_LABEL[alt]} 坐标",
                              f"point is far from its village's real point but matches it when read as {alt}: "
                              f"looks {alt}; consider --crs {_CLI[alt]}"))
        rec.update(county_code=county, township_code=twp, village_code=village or "",
                   location_precision="exact")

    def _place_by_name(self, rec, pend, rej, flg) -> None:
        if pend:
            rej.extend(pend)
            return
        vil, twp = rec["m_village"], rec["m_township"]
        if vil:
            lon, lat = self.village_xy[vil]
            twp = self.village_township[vil]
            real = vil in self.village_real
            flg.append(_issue("lon", "无坐标，按村（社区）名称定位到村委会点位" + ("" if real else "（该点位为合成示意点）"),
                              "no coordinates; placed at the village point" + ("" if real else " (a synthetic point)")))
            precision = "village"
        elif twp:
            lon, lat = self.seats[twp]
            real = twp in self.seat_real
            flg.append(_issue("lon", "无坐标，按乡镇（街道）名称定位到乡镇驻地" + ("" if real else "（驻地为估算位置）"),
                              "no coordinates; placed at the township seat" + ("" if real else " (an estimated seat)")))
            precision = "township"
        else:
            rej.append(_issue("lon", "既无坐标也无村（社区）或乡镇（街道）名称，无法定位",
                              "no coordinates and no village or township name: cannot be placed"))
            return
        rec.update(lon=lon, lat=lat, county_code=self.township_county[twp], township_code=twp,
                   village_code=vil or "", location_precision=precision)
