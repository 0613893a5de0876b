"""Benchmark: the facility store against the GeoJSON files it replaces.

1. **Evaluate a year** (2024, every non-access target) from the GeoPackage store
   (``FacilityStore.dataset()``: units from data/, facilities read from ``inventory.gpkg``)
   versus from today's files (``layers.load_dataset``: units and three facility GeoJSONs).
   * ``cold``: a fresh process state — every dataset cache and the evaluation caches cleared,
     a new store object (new engine);
   * ``warm``: the dataset already loaded (both sides return their cached object: the store
     checks its revision with one query), evaluation caches cleared, so the evaluation
     itself is recomputed — what a map click after an edit elsewhere costs;
   * ``load only``: the dataset part of ``cold`` (reading and validating).
2. **A 5,000-row submission**: an .xlsx of 5,000 facilities (all counties, 2024 export, 250
   capacities and 250 names edited, 100 rows new) through ``preview_submission`` +
   ``apply_submission`` into a copy of the store, versus the file path for the same file:
   ``layers.import_facilities`` + writing the GeoJSON and reports (``covplan import``).

Goal: the store at most 1.5× the file path. Run: ``python bench/bench_store.py``
(``--repeat N``). Ratios are store ÷ files (below 1 = the store is faster).
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import openpyxl

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from coverage.targets import engine as ev  # noqa: E402
from coverage.targets import load_targets  # noqa: E402
from layers import load_dataset  # noqa: E402
from layers.importers import import_facilities  # noqa: E402
from layers.load import clear_cache  # noqa: E402
import store.core as store_core  # noqa: E402
from store import FacilityStore, build_store  # noqa: E402
from store.inventory_xlsx import HEADERS, inventory_rows  # noqa: E402
from store.submit import apply_submission, preview_submission  # noqa: E402

YEAR = 2024


def _median(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def _clear_all() -> None:
    clear_cache()
    store_core._DATASETS.clear()
    ev.clear_cache()
    ev.clear_result_cache()


def bench_evaluate(gpkg: Path, repeat: int) -> dict[str, tuple[float, float]]:
    targets = [t for t in load_targets() if t.kind not in ("access", "linkage")]

    def files_load():
        _clear_all()
        return load_dataset()

    def store_load():
        _clear_all()
        st = FacilityStore(gpkg)
        ds = st.dataset()
        st.engine.dispose()
        return ds

    def files_cold():
        ev.evaluate(files_load(), targets, YEAR)

    def store_cold():
        ev.evaluate(store_load(), targets, YEAR)

    st = FacilityStore(gpkg)
    load_dataset()
    st.dataset()

    def files_warm():
        ev.clear_cache()
        ev.clear_result_cache()
        ev.evaluate(load_dataset(), targets, YEAR)

    def store_warm():
        ev.clear_cache()
        ev.clear_result_cache()
        ev.evaluate(st.dataset(), targets, YEAR)

    out = {
        "load only (cold)": (_median(files_load, repeat), _median(store_load, repeat)),
        "evaluate 2024, cold": (_median(files_cold, repeat), _median(store_cold, repeat)),
        "evaluate 2024, warm": (_median(files_warm, repeat), _median(store_warm, repeat)),
        "dataset, warm (cached object)": (_median(load_dataset, repeat * 5),
                                          _median(st.dataset, repeat * 5)),
    }
    st.engine.dispose()
    return out


def make_submission(st: FacilityStore, path: Path, n: int = 5000) -> Path:
    units = st.units()
    rows = []
    for code in units.counties["code"]:
        rows += inventory_rows(st, code, YEAR)[2]
    rows = rows[:n - 100]
    for k, r in enumerate(rows[:500]):
        if k % 2:
            r[1] = r[1] + "（更名）"
        else:
            r[10] = (r[10] or 0) + 10 if r[2] in ("托育机构", "幼儿园") else r[10]
            if r[2] not in ("托育机构", "幼儿园"):
                r[17] = (r[17] or "") + "（新址）"
    for k in range(100):
        base = list(rows[k * 7])
        base[0] = ""
        base[1] = f"新增设施{k:03d}"
        rows.append(base)
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(list(HEADERS))
    for r in rows:
        ws.append(r)
    wb.save(path)
    return path


def bench_submission(gpkg: Path, tmp: Path, repeat: int) -> tuple[float, float, str]:
    st = FacilityStore(gpkg)
    xlsx = make_submission(st, tmp / "submission_5000.xlsx")
    st.engine.dispose()
    units = load_dataset()
    summary = ""

    def files():
        res = import_facilities(xlsx, units, year=YEAR)
        res.write(tmp / "imported.geojson")

    def store_path():
        nonlocal summary
        copy = tmp / "copy.gpkg"
        shutil.copyfile(gpkg, copy)
        s = FacilityStore(copy)
        t0 = time.perf_counter()
        pv = preview_submission(s, xlsx, YEAR, "妇儿工委办")
        apply_submission(s, pv, user="bench")
        summary = pv.summary()
        s.engine.dispose()
        return time.perf_counter() - t0

    f = _median(files, repeat)
    s = statistics.median([store_path() for _ in range(repeat)])
    return f, s, summary


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="covplan-bench-store-") as d:
        tmp = Path(d)
        gpkg = tmp / "inventory.gpkg"
        t0 = time.perf_counter()
        build_store(gpkg).engine.dispose()
        print(f"store built from data/ in {time.perf_counter() - t0:.2f} s ({gpkg.stat().st_size / 1e6:.1f} MB)")
        print(f"\n{'':32}{'files s':>10}{'store s':>10}{'ratio':>8}")
        for name, (f, s) in bench_evaluate(gpkg, args.repeat).items():
            print(f"{name:32}{f:>10.4f}{s:>10.4f}{s / f:>8.2f}")
        f, s, summary = bench_submission(gpkg, tmp, args.repeat)
        print(f"{'5,000-row submission':32}{f:>10.3f}{s:>10.3f}{s / f:>8.2f}   "
              "(files: import + write; store: preview + apply)")
        print(f"  {summary}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
