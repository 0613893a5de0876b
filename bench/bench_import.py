"""Importer under hostile input (#14), as ratios to peers measured in the same run.

* **zip bomb**: refusing a 345 KB-class workbook that inflates to 100 MB, against reading a
  normal one-row workbook (the peer): the refusal reads only the zip directory, so it
  costs about as much as opening a tiny file. Before #14 the same bomb took 74 s and 3.3 GB.
* **unknown names**: importing n and 4n rows whose township and village names are all
  unknown (every name distinct, so no memo helps) on the embedded dataset; the ratio of the
  per-row times is 1.0 for linear growth. Before #14 each unknown name scanned every unit
  through pandas (~45 ms per row on this machine).
* **row cap**: a 1,000,000-row CSV (6 MB) is refused at the 50,000-row cap.

Usage: ``python bench/bench_import.py [--rows N]``
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))


def _time(fn, reps: int = 5) -> float:
    best = float("inf")
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def _refused(fn) -> None:
    from layers._errors import ImportInputError

    try:
        fn()
    except ImportInputError:
        return
    raise AssertionError("not refused")


def _unknown_csv(path: Path, n: int, seed: int) -> Path:
    rnd = random.Random(seed)
    chars = "东西南北山水田林石岭溪坑口上下大小新塘湖桥头坪岙垟"
    lines = ["名称,类型,乡镇,村"]
    for i in range(n):
        nm = "".join(rnd.choice(chars) for _ in range(4)) + str(i)
        lines.append(f"设施{i},儿童之家,{nm}镇,{nm}村")
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=1000, help="n for the unknown-name rows (default 1000)")
    args = ap.parse_args()
    from layers import importers_table as T
    from layers import load_dataset
    from layers.importers import import_facilities
    from tests.hardening_inputs import bomb, small_workbook

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        b = bomb(tmp / "bomb.xlsx", 100)
        ok = tmp / "ok.xlsx"
        ok.write_bytes(small_workbook())
        t_bomb = _time(lambda: _refused(lambda: T.read_table(b)))
        t_ok = _time(lambda: T.read_table(ok))
        print(f"zip bomb ({b.stat().st_size / 1e3:.0f} KB → 100 MB): refused in {t_bomb * 1e3:.1f} ms; "
              f"a one-row workbook reads in {t_ok * 1e3:.1f} ms; ratio {t_bomb / t_ok:.2f}")

        big = tmp / "million.csv"
        big.write_text("name,type,township\n" + "a,b,c\n" * 1_000_000, encoding="utf-8")
        ds = load_dataset()
        t_cap = _time(lambda: _refused(lambda: import_facilities(big, ds)), reps=3)
        print(f"1,000,000-row CSV ({big.stat().st_size / 1e6:.0f} MB): refused at the row cap in {t_cap:.2f} s")

        n = args.rows
        small = _unknown_csv(tmp / "n.csv", n, 1)
        large = _unknown_csv(tmp / "4n.csv", 4 * n, 2)
        t1 = _time(lambda: import_facilities(small, ds), reps=2)
        t4 = _time(lambda: import_facilities(large, ds), reps=2)
        print(f"unknown names: {n} rows {t1:.2f} s ({t1 / n * 1e3:.2f} ms/row), {4 * n} rows {t4:.2f} s "
              f"({t4 / (4 * n) * 1e3:.2f} ms/row); growth ratio per row {t4 / 4 / t1:.2f} (1.0 = linear)")


if __name__ == "__main__":
    main()
