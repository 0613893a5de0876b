"""Hostile names through import → gap, scenario and siting exports: no cell is a formula.

Names such as ``=HYPERLINK("http://x","点击")`` come in through a facility inventory import
(``layers.import_facilities``), a scenario name and unit names (as an imported boundary file
could carry them); every file written afterwards is reopened and scanned (OWASP CSV
injection: a cell starting with ``=``, ``+``, ``-``, ``@``, tab or CR).
"""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import openpyxl
import pandas as pd
import pyogrio
import pytest

from coverage.outputs import township_gaps, write_gap_list
from coverage.targets import evaluate, load_targets
from layers import import_facilities
from layers.load import load_dataset
from scenarios import Scenario, apply_scenario, run_scenario

MINI = Path(__file__).parent / "data" / "mini"
HOSTILE = ['=HYPERLINK("http://x","点击")', "+SUM(1,1)", "@cmd", "-2+3", "\t=1+1", "=1+1"]
_FORMULA = re.compile(r"^[=+@\t\r]|^-(?!\d+(\.\d+)?$)")


def _cells_ok(values, where: str) -> list[str]:
    return [f"{where}: {v!r}" for v in values if isinstance(v, str) and _FORMULA.match(v)]


def _scan_xlsx(path: Path) -> list[str]:
    bad = []
    wb = openpyxl.load_workbook(path)
    for ws in wb.worksheets:
        bad += _cells_ok([ws.title], f"{path.name} sheet title")
        for row in ws.iter_rows():
            for c in row:
                if c.data_type == "f":
                    bad.append(f"{path.name}!{ws.title}!{c.coordinate}: formula {c.value!r}")
                bad += _cells_ok([c.value], f"{path.name}!{ws.title}!{c.coordinate}")
    return bad


def _scan_csv(path: Path) -> list[str]:
    df = pd.read_csv(path, encoding="utf-8-sig", dtype=str, keep_default_na=False)
    return _cells_ok(list(df.columns) + [v for col in df.columns for v in df[col]], path.name)


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    """The mini dataset with hostile unit names, and a scenario of hostile imported facilities."""
    tmp = tmp_path_factory.mktemp("hostile")
    ds = load_dataset(MINI).copy()
    town = ds.townships["code"].astype(str).iloc[0]
    ds.townships.loc[ds.townships["code"].astype(str) == town, "name"] = HOSTILE[0]
    ds.villages.loc[ds.villages.index[:3], "name"] = HOSTILE[1:4]
    ds.revision += 1
    inv = tmp / "清单.csv"
    lines = ["名称,类型,级别,经度,纬度"] + [f'"{n.replace(chr(34), chr(34) * 2)}",儿童之家,示范型,119.875,28.545'
                                        for n in HOSTILE]
    inv.write_text("\n".join(lines) + "\n", encoding="utf-8-sig")
    res = import_facilities(inv, ds, provenance="real")
    assert len(res.facilities) == len(HOSTILE)  # the names are data, imported as they are
    assert set(res.facilities["name"]) == {n.strip() for n in HOSTILE}  # surrounding blanks trimmed
    edits = [{"op": "add_facility", "type": "child_home", "tier": "demonstration", "name": str(r.name),
              "lon": float(r.geometry.x), "lat": float(r.geometry.y)} for r in res.facilities.itertuples()]
    sc = Scenario.from_edits(HOSTILE[0], edits, year=2024)
    return ds, sc, tmp


def test_gap_exports_hold_no_formula(hostile):
    ds, _, tmp = hostile
    targets = load_targets()
    res = evaluate(ds, targets, year=2024)
    gaps = township_gaps(res, ds, targets=targets)
    assert (gaps["unit_name"].isin(HOSTILE)).any()  # the hostile names did reach the gap list
    bad = []
    for lang in ("zh", "en"):
        for ext in ("xlsx", "csv", "geojson", "gpkg"):
            path = write_gap_list(gaps, tmp / f"gaps_{lang}.{ext}", dataset=ds, result=res, lang=lang,
                                  targets=targets)
            if ext == "xlsx":
                bad += _scan_xlsx(path)
            elif ext == "csv":
                bad += _scan_csv(path)
            elif ext == "geojson":
                doc = json.loads(path.read_text(encoding="utf-8"))
                bad += _cells_ok([v for f in doc["features"] for v in f["properties"].values()], path.name)
            else:
                for layer, _ in pyogrio.list_layers(path):
                    df = pyogrio.read_dataframe(path, layer=layer, read_geometry=False)
                    bad += _cells_ok([v for c in df.columns for v in df[c]], f"{path.name}:{layer}")
    assert bad == []
    # the text stays readable: the apostrophe-prefixed name is in the file
    text = (tmp / "gaps_zh.csv").read_text(encoding="utf-8-sig")
    assert "'=HYPERLINK(\"\"http://x\"\",\"\"点击\"\")" in text


def test_scenario_and_siting_exports_hold_no_formula(hostile):
    ds, sc, tmp = hostile
    targets = load_targets()
    diff = run_scenario(sc, ds, targets, year=2024)
    bad = _scan_xlsx(diff.write(tmp / "diff.xlsx")) + _scan_csv(diff.write(tmp / "diff.csv"))
    from coverage.siting.proposals import propose_for_target

    ds2, targets2 = apply_scenario(sc, ds, targets)
    tg = [t for t in targets2 if t.id == "child_home_every_village"][0]
    ps = propose_for_target(ds2, tg, year=2024)
    assert len(ps.actions) > 0
    bad += _scan_csv(ps.write_csv(tmp / "proposals.csv"))
    assert bad == []
    assert "'=HYPERLINK" in (tmp / "diff.csv").read_text(encoding="utf-8-sig")
