"""Rules of the synthetic facility inventory: village and township networks.

Each rule adds :class:`~layers.build.facilities.Fac` records to a
:class:`~layers.build.facilities.Context`. ``s`` is the county strength (0.45 景宁 … 0.95
莲都, :data:`~layers.build.facilities.COUNTY_STRENGTH`); ``p`` below is the probability of a
village *having* the facility in 2024, and for township facilities the share of a county's
townships that have it (a seeded pick of round(p × n) townships, so small counties get their
share too). Opening years are drawn so that a fixed share of the 2024 stock existed in 2020
and in 2022.

* **儿童之家 child_home**: each village with p = 0.80 + 0.15·s; opened so that a share
  0.70 + 0.10·s of the 2024 homes existed in 2020 (60 % of the rest by 2022). One 示范型 in a
  share 0.50 + 0.35·s of the townships (seeded pick; the home of the most populous village),
  then more 示范型 in those townships until the county share reaches 0.09 + 0.10·s; a 示范型
  is an upgrade from 基础型 in 2022 or 2024 unless it already was one in 2020 (35 %); 3 % of
  the other homes are 特色型.
* **体育健身设施 fitness**: village level in each village with p = 0.86 + 0.10·s (plus a
  second 健身点 in 60 % of the 居委会); township level with p = 0.80 + 0.20·s; one
  county-level 体育中心 per county; one city-level in 莲都.
* **居家养老服务中心**: per township p = 0.88 + 0.12·s.
* **残疾人之家**: townships of ≥ 10,000 people p = 0.60 + 0.40·s, smaller ones 0.25 + 0.30·s.
* **未成年人保护工作站**: per township p = 0.70 + 0.30·s, mostly opened since 2021.
* **家庭综合服务中心**: per township p = 0.25 + 0.40·s.
* **家长学校**: per township p = 0.85; village 家庭教育指导服务站 p = 0.25 + 0.20·s.
* **社区图书馆**: per township p = 0.75 + 0.25·s, per 居委会 0.30 + 0.40·s; a 亲子阅读区 in 2024
  with p = 0.72 + 0.22·s, added over the years.
"""

from __future__ import annotations

import numpy as np

from layers.build.facilities import Context, draw_year


def _villages_by_township(ctx: Context, county: str):
    for tcode in sorted(ctx.villages_of):
        if tcode[:6] == county:
            yield tcode, ctx.villages_of[tcode]


def add_child_homes(ctx: Context) -> None:
    """儿童之家 per village, with tiers and upgrades (rule in the module table)."""
    for county in ctx.counties["code"]:
        s = ctx.strength(county)
        homes_of: dict[str, list] = {}
        for tcode, sub in _villages_by_township(ctx, county):
            homes = []
            for v in sub.itertuples():
                rng = ctx.rng(v.code, "child_home")
                if rng.random() >= 0.80 + 0.15 * s:
                    continue
                opened = draw_year(rng, 0.70 + 0.10 * s, 0.70 + 0.10 * s + 0.6 * (0.30 - 0.10 * s))
                exact = rng.random() < 0.7
                point = ctx.jitter(*ctx.village_point(v.code), tcode, rng, 120.0) if exact \
                    else ctx.village_point(v.code)
                fac = ctx.add("CH", v.code, "child_home", f"{ctx.short[v.code]}儿童之家", tcode, v.code,
                              point, "exact" if exact else "village", opened=opened,
                              base={"tier": "basic"})
                homes.append((int(v.pop_total), fac))
            if homes:
                homes_of[tcode] = homes
        # townships with a 示范型 home: the share 0.50 + 0.35·s of them, chosen by a seeded draw
        order = sorted(homes_of, key=lambda t: (ctx.rng(t, "child_home_demo").random(), t))
        demo_towns = set(order[: int(round((0.50 + 0.35 * s) * len(order)))])
        n_homes = sum(len(h) for h in homes_of.values())
        others = []
        for tcode in sorted(homes_of):
            homes = homes_of[tcode]
            if tcode in demo_towns:
                demo = max(homes, key=lambda h: (h[0], h[1].facility_id))[1]
                _make_demo(ctx, demo)
                others += [f for _, f in homes if f is not demo]
            else:
                for _, fac in homes:
                    if ctx.rng(fac.village_code, "child_home_extra").random() > 0.97:
                        fac.base["tier"] = "featured"
        n_extra = max(0, int(round((0.09 + 0.10 * s) * n_homes)) - len(demo_towns))
        keyed = sorted(others, key=lambda f: (ctx.rng(f.village_code, "child_home_extra").random(),
                                              f.facility_id))
        for k, fac in enumerate(keyed):
            if k < n_extra:
                _make_demo(ctx, fac)
            elif ctx.rng(fac.village_code, "child_home_featured").random() > 0.97:
                fac.base["tier"] = "featured"


def _make_demo(ctx: Context, fac) -> None:
    rng = ctx.rng(fac.village_code, "child_home_upgrade")
    since = max(fac.opened, draw_year(rng, 0.35, 0.65))
    if since == fac.opened:
        fac.base["tier"] = "demonstration"
    else:
        fac.changes.append((since, {"tier": "demonstration"}))


def add_fitness(ctx: Context) -> None:
    """体育健身设施 at village, township, county and city level."""
    for v in ctx.villages.itertuples():
        s = ctx.strength(v.county_code)
        rng = ctx.rng(v.code, "fitness")
        if rng.random() < 0.86 + 0.10 * s:
            point = ctx.jitter(*ctx.village_point(v.code), v.township_code, rng, 250.0)
            ctx.add("FT", v.code, "fitness", f"{ctx.short[v.code]}全民健身广场", v.township_code,
                    v.code, point, "exact", opened=draw_year(rng, 0.75, 0.9),
                    base={"level": "village"})
        if v.committee_type == "residents_committee" and rng.random() < 0.6:
            point = ctx.jitter(*ctx.village_point(v.code), v.township_code, rng, 600.0)
            ctx.add("FT", v.code, "fitness", f"{ctx.short[v.code]}健身点", v.township_code,
                    v.code, point, "exact", opened=draw_year(rng, 0.5, 0.8),
                    base={"level": "village"})
    for t in ctx.townships.itertuples():
        s = ctx.strength(t.county_code)
        rng = ctx.rng(t.code, "fitness")
        if rng.random() < 0.80 + 0.20 * s:
            point = ctx.jitter(t.seat_lon, t.seat_lat, t.code, rng, 800.0)
            ctx.add("FT", t.code, "fitness", f"{ctx.township_short(t.code)}全民健身中心", t.code, "",
                    point, "exact", opened=draw_year(rng, 0.65, 0.85), base={"level": "township"})
    for county, name in ctx.county_name.items():
        tcode = ctx.seat_township[county]
        rng = ctx.rng(county, "fitness")
        point = ctx.jitter(*ctx.seat_point(tcode), tcode, rng, 1500.0)
        ctx.add("FT", county, "fitness", f"{name}体育中心", tcode, "", point, "exact",
                base={"level": "county"})
    tcode = ctx.seat_township["331102"]
    rng = ctx.rng("331100", "fitness")
    point = ctx.jitter(*ctx.seat_point(tcode), tcode, rng, 2000.0)
    ctx.add("FT", "331100", "fitness", "丽水市体育中心", tcode, "", point, "exact",
            base={"level": "city"})


def _township_network(ctx: Context, prefix: str, ftype: str, suffix: str, stream: str,
                      prob, shares: tuple[float, float], radius_m: float = 700.0) -> None:
    """One facility near the seat of a share ``prob(t, s)`` of the townships.

    Townships of a county with the same ``prob`` form a group; in each group the
    round(prob × n) townships with the lowest seeded draw get the facility, so every county
    gets its intended share (no lottery on small groups).
    """
    groups: dict[tuple[str, float], list[str]] = {}
    for t in ctx.townships.itertuples():
        p = round(float(prob(t, ctx.strength(t.county_code))), 9)
        groups.setdefault((t.county_code, p), []).append(t.code)
    chosen: set[str] = set()
    for (_county, p), codes in sorted(groups.items()):
        order = sorted(codes, key=lambda c: (ctx.rng(c, stream + "_pick").random(), c))
        chosen.update(order[: int(round(p * len(codes)))])
    for t in ctx.townships.itertuples():
        if t.code not in chosen:
            continue
        rng = ctx.rng(t.code, stream)
        at_seat = rng.random() < 0.15
        point = (round(t.seat_lon, 6), round(t.seat_lat, 6)) if at_seat else \
            ctx.jitter(t.seat_lon, t.seat_lat, t.code, rng, radius_m)
        ctx.add(prefix, t.code, ftype, f"{t.name}{suffix}", t.code, "", point,
                "township" if at_seat else "exact", opened=draw_year(rng, *shares))


def add_township_services(ctx: Context) -> None:
    """居家养老, 残疾人之家, 未成年人保护工作站, 家庭综合服务中心, 家长学校 per township."""
    _township_network(ctx, "EC", "elderly_care_centre", "居家养老服务中心", "elderly",
                      lambda t, s: 0.88 + 0.12 * s, (0.8, 0.92))
    _township_network(ctx, "DH", "disability_home", "残疾人之家", "disability",
                      lambda t, s: (0.60 + 0.40 * s) if t.pop_total >= 10000 else 0.25 + 0.30 * s,
                      (0.6, 0.85))
    _township_network(ctx, "MPS", "minor_protection_station", "未成年人保护工作站", "minor_protection",
                      lambda t, s: 0.70 + 0.30 * s, (0.2, 0.68))
    _township_network(ctx, "FSC", "family_service_centre", "家庭综合服务中心", "family_service",
                      lambda t, s: 0.25 + 0.40 * s, (0.4, 0.75))
    _township_network(ctx, "PS", "parent_school", "家长学校", "parent_school",
                      lambda t, s: 0.85, (0.7, 0.9))
    for v in ctx.villages.itertuples():
        s = ctx.strength(v.county_code)
        rng = ctx.rng(v.code, "parent_school")
        if rng.random() < 0.25 + 0.20 * s:
            point = ctx.jitter(*ctx.village_point(v.code), v.township_code, rng, 150.0)
            ctx.add("PS", v.code, "parent_school", f"{ctx.short[v.code]}家庭教育指导服务站",
                    v.township_code, v.code, point, "exact", opened=draw_year(rng, 0.5, 0.8))


def add_libraries(ctx: Context) -> None:
    """社区图书馆 per township and in urban communities, with the 亲子阅读区 flag over time."""
    sites = [(t.code, t.code, "", f"{ctx.township_short(t.code)}图书分馆", 0.75)
             for t in ctx.townships.itertuples()]
    sites += [(v.code, v.township_code, v.code, f"{ctx.short[v.code]}社区图书馆", 0.30)
              for v in ctx.villages.itertuples() if v.committee_type == "residents_committee"]
    for unit, tcode, vcode, name, p0 in sites:
        s = ctx.strength(tcode[:6])
        rng = ctx.rng(unit, "library")
        p = p0 + (0.25 if not vcode else 0.40) * s
        if rng.random() >= p:
            continue
        if vcode:
            point = ctx.jitter(*ctx.village_point(vcode), tcode, rng, 300.0)
        else:
            point = ctx.jitter(*ctx.seat_point(tcode), tcode, rng, 600.0)
        opened = draw_year(rng, 0.6, 0.85)
        fac = ctx.add("LIB", unit, "community_library", name, tcode, vcode, point, "exact",
                      opened=opened, base={"has_reading_area": False})
        if rng.random() < 0.72 + 0.22 * s:
            since = max(opened, draw_year(rng, 0.5, 0.8))
            if since == opened:
                fac.base["has_reading_area"] = True
            else:
                fac.changes.append((since, {"has_reading_area": True}))


def pick_village(rng: np.random.Generator, villages, weight_col: str = "pop_total"):
    """One village row drawn with probability proportional to ``weight_col``."""
    w = villages[weight_col].to_numpy(float)
    return villages.iloc[int(rng.choice(len(villages), p=w / w.sum()))]
