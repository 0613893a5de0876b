"""Benchmark: evaluating every (non-access) plan target for every unit.

Datasets
--------
* ``lishui``: the embedded dataset (``data/``: 9 counties, 173 townships, 2,008 villages,
  about 5,900 facilities in 2024).
* ``province ×s``: a synthetic province generated here (all synthetic: codes, boxes,
  populations, facilities), at scale s = 0.25, 0.5 and 1; at s = 1 it has 90 counties,
  1,400 townships, 20,000 villages and 200,000 facilities in the evaluated year (plus a
  2020 baseline inventory for the kindergarten target).

Timings (wall-clock seconds, median of repeats, this machine)
-------------------------------------------------------------
* ``cold``: every cache cleared (unit tables, per-year facility indexes, results).
* ``warm recompute``: indexes cached, result rows recomputed — what a map click costs
  after a threshold override or for a target not evaluated before.
* ``warm cached``: a repeated click (result rows cached per target × dataset × year).
* ``roll-up``: ``res.rollup`` + ``res.summary()`` on top.
* ``naive peer``: what a straightforward script does, measured in the same run: per
  target, a spatial join of the selected facilities to the township polygons
  (geopandas ``sjoin``), then a Python loop over the units with a boolean mask per unit.
  It covers presence / facility_share / capacity_ratio targets at every level (county and
  city by attribute after the join); our time on the *same* target subset is shown beside
  it, so the ratio compares like with like. The peer is skipped where it would exceed
  ``--naive-cap`` seconds (estimated from the previous size).

Growth: time at each province scale ÷ time at s = 0.25, beside the size ratio (linear
growth → the two agree). Run: ``python bench/bench_evaluate.py`` (``--quick`` for scales
0.1 / 0.2 / 0.4).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from coverage.targets import engine as ev  # noqa: E402
from coverage.targets import load_targets  # noqa: E402
from layers.dataset import Dataset  # noqa: E402

#: facility mix per 1,000 villages of the synthetic province (about 10 per village)
MIX = {
    "child_home": 900, "fitness": 1100, "parent_school": 450, "kindergarten": 220, "childcare": 120,
    "community_library": 140, "disability_home": 50, "elderly_care_centre": 85, "family_service_centre": 50,
    "minor_protection_station": 80, "public_place": 46, "mother_baby_room": 32, "mch_institution": 5,
    "childcare_guidance_centre": 4, "minor_rescue_centre": 4, "women_children_centre": 4,
    "child_welfare_facility": 1, "mental_health_welfare": 1,
}
NAIVE_KINDS = ("presence", "facility_share", "capacity_ratio")


def synthetic_province(scale: float, seed: int = 7) -> Dataset:
    """A synthetic province: 90·s counties, 1,400·s townships, 20,000·s villages, 200,000·s facilities."""
    rng = np.random.default_rng(seed)
    n_cty, n_tw, n_vil, n_fac = (max(1, round(v * scale)) for v in (90, 1400, 20000, 200000))
    cty_codes = np.array([f"33{i + 1:04d}" for i in range(n_cty)], dtype=object)
    tw_cty = np.sort(rng.integers(0, n_cty, n_tw))
    tw_codes = np.array([f"{cty_codes[c]}{k:03d}" for c, k in zip(tw_cty, _ranks(tw_cty))], dtype=object)
    vil_tw = np.sort(rng.integers(0, n_tw, n_vil))
    vil_codes = np.array([f"{tw_codes[t]}{k:03d}" for t, k in zip(vil_tw, _ranks(vil_tw))], dtype=object)
    side = int(np.ceil(np.sqrt(n_tw)))
    x0, y0 = 118.0 + (np.arange(n_tw) % side) * 0.05, 27.0 + (np.arange(n_tw) // side) * 0.05
    tw_geom = shapely.box(x0, y0, x0 + 0.05, y0 + 0.05)
    vx, vy = x0[vil_tw] + rng.uniform(0.002, 0.048, n_vil), y0[vil_tw] + rng.uniform(0.002, 0.048, n_vil)
    vil_pop = rng.integers(300, 6000, n_vil)
    tw_pop = np.bincount(vil_tw, weights=vil_pop, minlength=n_tw).astype(int) + rng.integers(0, 3000, n_tw)
    cty_pop = np.bincount(tw_cty, weights=tw_pop, minlength=n_cty).astype(int)
    counties = gpd.GeoDataFrame({
        "code": cty_codes, "name": [f"县{i}" for i in range(n_cty)], "pop_total": cty_pop,
        "pop_provenance": "synthetic", "provenance": "synthetic",
    }, geometry=[shapely.union_all(tw_geom[tw_cty == c]) if (tw_cty == c).any() else shapely.box(0, 0, 0.01, 0.01)
                 for c in range(n_cty)], crs="EPSG:4326")
    townships = gpd.GeoDataFrame({
        "code": tw_codes, "name": [f"乡镇{i}" for i in range(n_tw)], "county_code": cty_codes[tw_cty],
        "county_name": [f"县{c}" for c in tw_cty], "township_type": rng.choice(["街道", "镇", "乡"], n_tw),
        "is_urban": rng.random(n_tw) < 0.3, "pop_total": tw_pop, "pop_provenance": "synthetic",
        "provenance": "synthetic",
    }, geometry=tw_geom, crs="EPSG:4326")
    villages = gpd.GeoDataFrame({
        "code": vil_codes, "name": [f"村{i}" for i in range(n_vil)], "township_code": tw_codes[vil_tw],
        "county_code": cty_codes[tw_cty[vil_tw]],
        "committee_type": np.where(rng.random(n_vil) < 0.2, "residents_committee", "villagers_committee"),
        "is_urban": rng.random(n_vil) < 0.25, "pop_total": vil_pop, "pop_provenance": "synthetic",
        "provenance": "synthetic",
    }, geometry=shapely.points(vx, vy), crs="EPSG:4326")
    fac = _facilities(rng, n_fac, vil_codes, vil_tw, tw_codes, tw_cty, cty_codes, vx, vy)
    base = fac.sample(frac=0.7, random_state=seed).assign(year=2020)
    base["capacity"] = base["capacity"] * 0.8
    facilities = gpd.GeoDataFrame(pd.concat([base, fac], ignore_index=True), geometry="geometry", crs="EPSG:4326")
    ind_rows = [
        pd.DataFrame({"year": 2024, "unit_level": "township", "unit_code": tw_codes, "indicator": name,
                      "value": rng.uniform(0.7, 1.0, n_tw), "provenance": "synthetic"})
        for name in ("immunisation_rate", "civilised_family_rate")
    ] + [
        pd.DataFrame({"year": 2024, "unit_level": "village", "unit_code": vil_codes,
                      "indicator": np.where(villages["committee_type"] == "residents_committee",
                                            "women_share_community_committee", "women_share_village_committee"),
                      "value": rng.uniform(0.1, 0.7, n_vil), "provenance": "synthetic"}),
        pd.DataFrame({"year": 2024, "unit_level": "township", "unit_code": tw_codes, "indicator": "child_social_workers",
                      "value": rng.integers(0, 3, n_tw).astype(float), "provenance": "synthetic"}),
    ] + [
        pd.DataFrame({"year": 2024, "unit_level": "county", "unit_code": cty_codes, "indicator": name,
                      "value": rng.uniform(0.6, 1.0, n_cty), "provenance": "synthetic"})
        for name in ("elderly_women_health_mgmt_rate", "developmental_screening_share", "preschool_gross_enrolment")
    ]
    prov = {k: "synthetic" for k in ("counties", "townships", "villages", "indicators", "facilities_2020",
                                     "facilities_2024")}
    return Dataset(root=Path("."), name=f"province_x{scale:g}", counties=counties, townships=townships,
                   villages=villages, facilities=facilities, indicators=pd.concat(ind_rows, ignore_index=True),
                   layer_provenance=prov)


def _ranks(group: np.ndarray) -> np.ndarray:
    """1-based rank of each element within its (sorted) group."""
    start = np.r_[0, np.flatnonzero(np.diff(group)) + 1]
    counts = np.diff(np.r_[start, len(group)])
    return np.arange(len(group)) - np.repeat(start, counts) + 1


def _facilities(rng, n, vil_codes, vil_tw, tw_codes, tw_cty, cty_codes, vx, vy) -> pd.DataFrame:
    types = np.array(list(MIX), dtype=object)
    p = np.array(list(MIX.values()), dtype=float)
    ftype = rng.choice(types, n, p=p / p.sum())
    v = rng.integers(0, len(vil_codes), n)
    tier = np.where(ftype == "child_home", rng.choice(["basic", "demonstration", "featured"], n, p=[0.8, 0.15, 0.05]), "")
    level = np.where(np.isin(ftype, ["fitness", "mch_institution", "childcare_guidance_centre", "minor_rescue_centre",
                                     "women_children_centre"]),
                     rng.choice(["city", "county", "township", "village"], n, p=[0.01, 0.09, 0.3, 0.6]), "")
    cap = np.where(ftype == "childcare", rng.integers(20, 150, n),
                   np.where(ftype == "kindergarten", rng.integers(90, 540, n), np.nan)).astype(float)
    fid = np.array([f"F{i:07d}" for i in range(n)], dtype=object)
    places = fid[ftype == "public_place"]
    serves = np.where(ftype == "mother_baby_room", rng.choice(places, n) if len(places) else "", "")
    return pd.DataFrame({
        "facility_id": fid, "year": 2024, "type": ftype, "name": fid, "tier": tier, "level": level,
        "capacity": cap, "is_inclusive": None, "has_reading_area": rng.random(n) < 0.85,
        "place_kind": "", "building_area_m2": rng.uniform(2000, 30000, n), "daily_visitors": rng.uniform(0, 30000, n),
        "serves_place_id": serves, "county_code": cty_codes[tw_cty[vil_tw[v]]], "township_code": tw_codes[vil_tw[v]],
        "village_code": vil_codes[v], "address": "", "location_precision": "village", "provenance": "synthetic",
        "geometry": shapely.points(vx[v], vy[v]),
    })


# ----------------------------------------------------------------------------- naive peer
def naive_evaluate(ds: Dataset, targets, year: int) -> int:
    """Per target: sjoin facilities → township polygons, then a Python loop over units.

    Returns the number of unit results, to check it covers the same rows as ours.
    """
    fac = ds.facilities[ds.facilities["year"] == year].copy()
    served = set(fac.loc[fac["type"] == "mother_baby_room", "serves_place_id"])
    fac["has_mother_baby_room"] = (fac["type"] == "public_place") & fac["facility_id"].isin(served)
    tw = ds.townships[["code", "county_code", "geometry"]]
    n = 0
    for t in targets:
        sel = fac[fac["type"] == t.facility.type]
        if t.facility.tier:
            sel = sel[sel["tier"] == t.facility.tier]
        joined = gpd.sjoin(sel, tw.rename(columns={"code": "tw_code", "county_code": "tw_county"}),
                           how="inner", predicate="intersects").drop_duplicates("facility_id")
        for level in t.unit_levels:
            units = ds.units(level)
            lv = level if t.facility.level == "same" else t.facility.level
            sub = joined if lv is None else joined[joined["level"] == lv]
            key = {"village": sub["village_code"], "township": sub["tw_code"], "county": sub["tw_county"]}.get(level)
            for _, unit in units.iterrows():
                mask = np.ones(len(sub), bool) if key is None else (key == unit["code"]).to_numpy()
                if t.kind == "presence":
                    _ = int(mask.sum()) >= t.threshold
                elif t.kind == "facility_share":
                    part = sub[mask]
                    if t.facility_condition is not None:
                        part = part[t.facility_condition.mask(part)]
                    den = len(part)
                    _ = den and t.numerator.mask(part).sum() / den >= t.threshold
                else:
                    pop = unit.get(t.population)
                    _ = pop and sub.loc[mask, "capacity"].fillna(0).sum() / pop * 1000 >= t.threshold
                n += 1
    return n


# ----------------------------------------------------------------------------- timing
def _time(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def measure(ds: Dataset, targets, naive_targets, *, run_naive: bool) -> dict:
    year = ds.latest_year

    def cold():
        ev.clear_cache()
        ev.evaluate(ds, targets, year)

    def recompute():
        ev.clear_result_cache()
        ev.evaluate(ds, targets, year)

    out = {"cold": _time(cold, 5), "recompute": _time(recompute, 5)}
    out["cached"] = _time(lambda: ev.evaluate(ds, targets, year), 5)
    res = ev.evaluate(ds, targets, year)
    out["rollup"] = _time(lambda: (ev.EvaluationResult(res.units, res.targets, res.years).rollup, res.summary()), 3)
    out["rows"] = len(res.units)

    def subset_cold():
        ev.clear_cache()
        ev.evaluate(ds, naive_targets, year)

    out["subset_cold"] = _time(subset_cold, 3)
    if run_naive:
        t0 = time.perf_counter()
        out["naive_rows"] = naive_evaluate(ds, naive_targets, year)
        out["naive"] = time.perf_counter() - t0
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="province scales 0.1, 0.2, 0.4")
    ap.add_argument("--naive-cap", type=float, default=150.0, help="skip the naive peer beyond this many seconds")
    args = ap.parse_args(argv)
    from layers.load import load_dataset

    targets = [t for t in load_targets() if t.kind not in ("access", "linkage")]
    naive_targets = [t for t in targets if t.kind in NAIVE_KINDS]
    scales = (0.1, 0.2, 0.4) if args.quick else (0.25, 0.5, 1.0)
    print(f"targets: {len(targets)} (access/linkage excluded: timed in bench_access.py); "
          f"naive-peer subset: {len(naive_targets)} presence/facility_share/capacity_ratio targets")
    rows = []
    t0 = time.perf_counter()
    lishui = load_dataset()
    print(f"embedded dataset loaded in {time.perf_counter() - t0:.1f} s")
    datasets = [("lishui", lambda: lishui, 0.0)] + [(f"province x{s:g}", lambda s=s: synthetic_province(s), s)
                                                      for s in scales]
    naive_prev = None
    for name, make, scale in datasets:
        ds = make()
        n_fac = int((ds.facilities["year"] == ds.latest_year).sum())
        run_naive = naive_prev is None or naive_prev[0] * (len(ds.villages) / naive_prev[1]) ** 2 <= args.naive_cap
        m = measure(ds, targets, naive_targets, run_naive=run_naive)
        if "naive" in m:
            naive_prev = (m["naive"], len(ds.villages))
        rows.append({"dataset": name, "scale": scale, "townships": len(ds.townships), "villages": len(ds.villages),
                     "facilities": n_fac, **m})
        print(f"  measured {name}: cold {m['cold']:.3f} s, warm recompute {m['recompute']:.3f} s", flush=True)
    df = pd.DataFrame(rows)
    print("\nAll non-access targets, latest year (seconds, median):")
    print(f"{'dataset':<15}{'townships':>10}{'villages':>10}{'facilities':>11}{'rows':>9}{'cold':>9}"
          f"{'warm recompute':>16}{'warm cached':>13}{'roll-up':>9}")
    for r in df.itertuples():
        print(f"{r.dataset:<15}{r.townships:>10,}{r.villages:>10,}{r.facilities:>11,}{r.rows:>9,}{r.cold:>9.3f}"
              f"{r.recompute:>16.3f}{r.cached:>13.4f}{r.rollup:>9.3f}")
    print("\nAgainst the naive peer (sjoin per target + per-unit loop), same target subset, same run:")
    print(f"{'dataset':<15}{'ours cold':>11}{'naive':>10}{'naive / ours':>14}")
    for r in df.itertuples():
        naive = getattr(r, "naive", np.nan)
        if naive == naive:
            print(f"{r.dataset:<15}{r.subset_cold:>11.3f}{naive:>10.2f}{naive / r.subset_cold:>14.1f}")
        else:
            print(f"{r.dataset:<15}{r.subset_cold:>11.3f}{'not run':>10}{'(> cap)':>14}")
    prov = df[df["scale"] > 0].reset_index(drop=True)
    print("\nGrowth with size (province, relative to the smallest scale; linear growth → time ratio ≈ size ratio):")
    print(f"{'dataset':<15}{'size ratio':>11}{'cold ratio':>11}{'recompute ratio':>16}")
    for r in prov.itertuples():
        size = r.facilities / prov.loc[0, "facilities"]
        print(f"{r.dataset:<15}{size:>11.2f}{r.cold / prov.loc[0, 'cold']:>11.2f}"
              f"{r.recompute / prov.loc[0, 'recompute']:>16.2f}")
    lishui_row = df.iloc[0]
    goal = 0.5
    print(f"\nLishui warm recompute {lishui_row['recompute']:.3f} s, warm cached {lishui_row['cached']:.4f} s "
          f"(goal < {goal} s: {'met' if lishui_row['recompute'] < goal else 'NOT met'})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
