"""Rules of the synthetic facility inventory: capacities, public places, city/county institutions.

``s`` is the county strength (see :mod:`layers.build.facilities`).

* **托育机构 childcare.** 2024 托位 per 1,000 residents of a county = 2.7 + 2.2·s (3.7 景宁 …
  4.8 莲都, against the plan's 4.5). Institutions sit in urban communities (each with
  p = 0.35 + 0.30·s, so the ≥ 50 % urban-community coverage is missed in the weaker counties)
  and at the seats of half the 镇; raw sizes 20–120 托位 are scaled to the county total.
  Institutions from 2020 held 70 % of their 2024 托位 in 2020 and 85 % in 2022; 6 % of them
  closed again (gone from the 2022 or 2024 inventory); 普惠 with p = 0.50 + 0.20·s, some
  becoming 普惠 in 2022.
* **幼儿园 kindergarten.** 2020 学位 per township ≈ 0.95 × 1.2 × under-3 population (the 3–5
  cohort taken as 1.2 × the under-3 one), in 240-place kindergartens at the seat and in the
  largest villages. New kindergartens (2022/2024) in 街道 and 镇 and expansions of 20 % of
  the others add places, scaled so the city-wide addition 2020→2024 is
  :data:`KINDERGARTEN_ADDED_SHARE` of the plan's 16,740 (a bit short of it).
* **公共场所 and 母婴室.** Per county: a 客运中心 (and a 高铁站 in 莲都/青田/缙云), two
  commercial centres plus one in half the other 街道, the 人民医院 and 中医院, a 行政服务中心,
  one to three scenic sites in rural townships, and 卫生院 in 30 % of the 镇. A place qualifies
  (国卫指导发〔2016〕63号) if building area > 10,000 m² or > 10,000 visitors a day. A qualifying
  place has a 母婴室 in 2024 with p = 0.65 + 0.30·s, a non-qualifying one with p = 0.15.
* **City and county institutions** (``level`` = ``city`` / ``county``, the level that runs
  them; city-run ones sit in 莲都区, the city seat). 妇幼保健院 in every county and the city (2020);
  托育服务指导中心 in the city (2022) and in counties with s ≥ 0.6; 未成年人救助保护中心 in the
  city (2020) and counties with s > 0.45; 儿童福利院 of the city (2020) plus a second regional
  one in 龙泉 (2024); 精神卫生福利设施 of the city (2022); 妇女儿童活动中心 of the city (2020) and
  of the 6 strongest counties in 2024 (4 in 2020) — 6/9 stays short of the plan's 70 %.
"""

from __future__ import annotations

import numpy as np

from layers.build.facilities import Context, Fac, draw_year

CITY_COUNTY = "331102"  # city-run facilities sit in 莲都区 (the city seat)
KINDERGARTEN_PLAN_ADDED = 16740
KINDERGARTEN_ADDED_SHARE = 0.93


def _round_to(x: float, step: int, minimum: int) -> int:
    return max(minimum, int(round(x / step)) * step)


def add_childcare(ctx: Context) -> None:
    """托育机构 with 托位 and 普惠 (rule in the module docstring)."""
    for county in ctx.counties.itertuples():
        s = ctx.strength(county.code)
        target = (2.7 + 2.2 * s) * county.pop_total / 1000.0
        facs: list[tuple[Fac, float]] = []
        kinds = ("托育园", "婴幼儿照护服务中心", "托育中心", "育婴园")
        for v in ctx.villages[ctx.villages["county_code"] == county.code].itertuples():
            if not (str(v.urban_rural_code).startswith("1")
                    or (v.is_urban and v.committee_type == "residents_committee")):
                continue
            rng = ctx.rng(v.code, "childcare")
            if rng.random() >= 0.35 + 0.30 * s:
                continue
            point = ctx.jitter(*ctx.village_point(v.code), v.township_code, rng, 300.0)
            name = f"{ctx.short[v.code]}{kinds[int(rng.integers(len(kinds)))]}"
            fac = ctx.add("CC", v.code, "childcare", name, v.township_code, v.code, point, "exact",
                          opened=draw_year(rng, 0.45, 0.75))
            facs.append((fac, float(rng.uniform(20, 120))))
        for t in ctx.townships[(ctx.townships["county_code"] == county.code)
                               & (ctx.townships["township_type"] == "镇")].itertuples():
            rng = ctx.rng(t.code, "childcare")
            if rng.random() >= 0.5:
                continue
            point = ctx.jitter(t.seat_lon, t.seat_lat, t.code, rng, 800.0)
            fac = ctx.add("CC", t.code, "childcare", f"{ctx.township_short(t.code)}镇托育园", t.code, "",
                          point, "exact", opened=draw_year(rng, 0.45, 0.75))
            facs.append((fac, float(rng.uniform(20, 80))))
        for fac, _raw in facs:  # a few early institutions closed again (market churn)
            if fac.opened == 2020 and ctx.rng(fac.village_code or fac.township_code, "childcare_close").random() < 0.06:
                fac.closed = 2022 if ctx.rng(fac.village_code or fac.township_code, "childcare_close_year").random() < 0.5 else 2024
        scale = target / sum(raw for fac, raw in facs if fac.exists_in(2024))
        for fac, raw in facs:
            rng = ctx.rng(fac.village_code or fac.township_code, "childcare_cap")
            cap = max(10, int(round(raw * scale)))
            inclusive = bool(rng.random() < 0.50 + 0.20 * s)
            fac.base.update(capacity=cap, is_inclusive=inclusive)
            if fac.closed is not None:
                fac.base["capacity"] = max(10, int(round(cap * 0.70)))
            elif fac.opened == 2020 and rng.random() < 0.8:
                fac.base["capacity"] = max(10, int(round(cap * 0.70)))
                fac.changes.append((2022, {"capacity": max(10, int(round(cap * 0.85)))}))
                fac.changes.append((2024, {"capacity": cap}))
            elif fac.opened == 2022 and rng.random() < 0.5:
                fac.base["capacity"] = max(10, int(round(cap * 0.8)))
                fac.changes.append((2024, {"capacity": cap}))
            if inclusive and fac.opened < 2024 and rng.random() < 0.3:
                fac.base["is_inclusive"] = False
                fac.changes.append((2022 if fac.opened == 2020 else 2024, {"is_inclusive": True}))


def add_kindergartens(ctx: Context) -> None:
    """幼儿园 with 学位; additions 2020→2024 scaled to the documented city-wide figure."""
    additions: list[tuple[Fac, float, str, int]] = []  # (facility, raw added places, how, year)
    for t in ctx.townships.itertuples():
        s = ctx.strength(t.county_code)
        rng = ctx.rng(t.code, "kindergarten")
        places = 0.95 * 1.2 * t.pop_under3
        n = max(1, int(round(places / 240.0)))
        sub = ctx.villages_of[t.code].sort_values(["pop_total", "code"], ascending=[False, True])
        each = _round_to(places / n, 30, 60)
        for k in range(n):
            if k == 0:
                point = ctx.jitter(t.seat_lon, t.seat_lat, t.code, rng, 600.0)
                vcode, name = "", f"{ctx.township_short(t.code)}中心幼儿园"
            else:
                v = sub.iloc[(k - 1) % len(sub)]
                vcode = str(v["code"])
                point = ctx.jitter(*ctx.village_point(vcode), t.code, rng, 300.0)
                name = f"{ctx.short[vcode]}幼儿园" if k <= len(sub) else f"{ctx.short[vcode]}第{k}幼儿园"
            fac = ctx.add("KG", vcode or t.code, "kindergarten", name, t.code, vcode, point, "exact",
                          base={"capacity": each})
            if rng.random() < 0.2:
                year = 2022 if rng.random() < 0.5 else 2024
                additions.append((fac, float(rng.choice([60, 90, 120])), "expand", year))
        if t.township_type in ("街道", "镇") and rng.random() < 0.5 + 0.3 * s:
            point = ctx.jitter(t.seat_lon, t.seat_lat, t.code, rng, 1500.0)
            fac = ctx.add("KG", t.code, "kindergarten", f"{ctx.township_short(t.code)}新城幼儿园", t.code,
                          "", point, "exact", opened=2022 if rng.random() < 0.5 else 2024)
            additions.append((fac, float(rng.choice([180, 270, 360])), "new", fac.opened))
    goal = KINDERGARTEN_PLAN_ADDED * KINDERGARTEN_ADDED_SHARE
    scale = goal / sum(raw for _, raw, _, _ in additions)
    for fac, raw, how, year in additions:
        added = _round_to(raw * scale, 30, 30)
        if how == "new":
            fac.base["capacity"] = added
        else:
            fac.changes.append((year, {"capacity": int(fac.base["capacity"]) + added}))


def _place(ctx: Context, unit: str, tcode: str, name: str, kind: str, area: float, visitors: float,
           radius_m: float, rng: np.random.Generator, opened: int = 2020,
           centre: tuple[float, float] | None = None) -> None:
    """Add one public place and, with the qualifying-dependent probability, its 母婴室."""
    s = ctx.strength(tcode[:6])
    point = ctx.jitter(*(centre or ctx.seat_point(tcode)), tcode, rng, radius_m)
    place = ctx.add("PP", unit, "public_place", name, tcode, "", point, "exact", opened=opened,
                    base={"place_kind": kind, "building_area_m2": int(round(area, -2)),
                          "daily_visitors": int(round(visitors, -1))})
    qualifies = area > 10000 or visitors > 10000
    if rng.random() < ((0.65 + 0.30 * s) if qualifies else 0.15):
        year = max(opened, draw_year(rng, 0.5, 0.8))
        ctx.add("MB", unit, "mother_baby_room", f"{name}母婴室", tcode, "", point, "exact",
                opened=year, base={"serves_place_id": place.facility_id})


def add_public_places(ctx: Context) -> None:
    """公共场所 with area and visitors, and the 母婴室 serving them."""
    for county in ctx.counties.itertuples():
        cname = county.name
        seat = ctx.seat_township[county.code]
        rng = ctx.rng(county.code, "public_place")
        _place(ctx, county.code, seat, f"{cname}客运中心", "transport_hub",
               rng.uniform(6000, 22000), rng.uniform(3000, 14000), 2500, rng)
        if county.code in ("331102", "331121", "331122"):
            _place(ctx, county.code, seat, f"{cname.rstrip('区县')}高铁站", "transport_hub",
                   rng.uniform(15000, 40000), rng.uniform(8000, 30000), 3000, rng)
        _place(ctx, county.code, seat, f"{cname}人民医院", "hospital",
               rng.uniform(30000, 90000), rng.uniform(2500, 9000), 1500, rng)
        _place(ctx, county.code, seat, f"{cname}中医院", "hospital",
               rng.uniform(8000, 30000), rng.uniform(1000, 4000), 1500, rng)
        _place(ctx, county.code, seat, f"{cname}行政服务中心", "government",
               rng.uniform(6000, 25000), rng.uniform(800, 5000), 1500, rng)
        for k, label in enumerate(("购物中心", "商业步行街")):
            _place(ctx, county.code, seat, f"{ctx.township_short(seat)}{label}", "commercial",
                   rng.uniform(5000, 60000), rng.uniform(3000, 25000), 1200, rng,
                   opened=2020 if k == 0 else draw_year(rng, 0.6, 0.8))
        rural = ctx.townships[(ctx.townships["county_code"] == county.code)
                              & (ctx.townships["township_type"] != "街道")].sort_values("code")
        for t_idx in rng.choice(len(rural), size=int(rng.integers(1, 4)), replace=False):
            t = rural.iloc[int(t_idx)]
            _place(ctx, str(t["code"]), str(t["code"]), f"{ctx.township_short(t['code'])}景区", "scenic",
                   rng.uniform(1500, 15000), rng.uniform(1500, 16000), 3000, rng)
    for t in ctx.townships.itertuples():
        rng = ctx.rng(t.code, "public_place")
        if t.township_type == "街道" and t.code != ctx.seat_township[t.county_code] and rng.random() < 0.5:
            _place(ctx, t.code, t.code, f"{ctx.township_short(t.code)}商业中心", "commercial",
                   rng.uniform(4000, 40000), rng.uniform(2000, 15000), 1000, rng,
                   opened=draw_year(rng, 0.5, 0.8))
        if t.township_type == "镇" and rng.random() < 0.3:
            _place(ctx, t.code, t.code, f"{t.name}卫生院", "hospital",
                   rng.uniform(1500, 6000), rng.uniform(200, 1200), 500, rng)


def add_institutions(ctx: Context) -> None:
    """City- and county-run institutions (rule in the module docstring)."""
    city_seat = ctx.seat_township[CITY_COUNTY]
    rng = ctx.rng("331100", "institutions")

    def city(prefix: str, ftype: str, name: str, opened: int, township: str | None = None) -> None:
        tcode = township or city_seat
        point = ctx.jitter(*ctx.seat_point(tcode), tcode, rng, 2000.0)
        ctx.add(prefix, "331100", ftype, name, tcode, "", point, "exact", opened=opened,
                base={"level": "city"})

    city("MCH", "mch_institution", "丽水市妇幼保健院", 2020)
    city("CGC", "childcare_guidance_centre", "丽水市托育服务指导中心", 2022)
    city("MRC", "minor_rescue_centre", "丽水市未成年人救助保护中心", 2020)
    city("CWF", "child_welfare_facility", "丽水市儿童福利院", 2020)
    longquan_seat = ctx.seat_township["331181"]
    city("CWF", "child_welfare_facility", "丽水市西南区域儿童福利指导中心", 2024,
         township=longquan_seat)
    city("MHW", "mental_health_welfare", "丽水市精神卫生福利中心", 2022)
    city("WCC", "women_children_centre", "丽水市妇女儿童活动中心", 2020)
    ranked = sorted(ctx.counties["code"], key=lambda c: (-ctx.strength(c), c))
    for county in ctx.counties.itertuples():
        s = ctx.strength(county.code)
        seat = ctx.seat_township[county.code]
        crng = ctx.rng(county.code, "institutions")

        def add(prefix: str, ftype: str, suffix: str, opened: int) -> None:
            point = ctx.jitter(*ctx.seat_point(seat), seat, crng, 1500.0)
            ctx.add(prefix, county.code, ftype, f"{county.name}{suffix}", seat, "", point, "exact",
                    opened=opened, base={"level": "county"})

        add("MCH", "mch_institution", "妇幼保健院", 2020)
        if s >= 0.6:
            add("CGC", "childcare_guidance_centre", "托育服务指导中心", 2022 if s >= 0.8 else 2024)
        if s > 0.45:
            add("MRC", "minor_rescue_centre", "未成年人救助保护中心", 2020 if s >= 0.75 else 2022)
        rank = ranked.index(county.code)
        if rank < 6:
            add("WCC", "women_children_centre", "妇女儿童活动中心", 2020 if rank < 4 else 2022)
