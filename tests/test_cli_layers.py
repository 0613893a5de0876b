"""``covplan info`` and ``covplan import`` on the mini dataset."""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest

from covplan.cli import main

HERE = Path(__file__).resolve().parent
MINI = HERE / "data" / "mini"
IMPORTS = HERE / "data" / "imports"


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(["--data", str(MINI), *argv])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_info_table_labels_provenance(capsys) -> None:
    code, out, _ = run(capsys, "info")
    assert code == 0
    assert "数据集 / Dataset: mini" in out
    lines = {ln.split()[0]: ln for ln in out.splitlines() if ln and not ln.startswith(" ")}
    assert lines["villages"].split()[2] == "8" and "真实数据 / Real" in lines["villages"]
    assert lines["townships"].split()[2] == "3" and "合成演示数据 / Synthetic (demo)" in lines["townships"]
    assert lines["facilities_2024"].split()[2] == "11"
    assert "真实数据 / Real: villages" in out
    assert "合成演示数据 / Synthetic (demo): counties, townships, facilities_2022, facilities_2024, indicators" in out
    assert "Synthetic layers are demo data, not real records" in out
    row = next(ln for ln in out.splitlines() if "child_home" in ln)
    assert row.split()[-2:] == ["2", "3"]  # 2022, 2024 (README table)
    assert "villages: 真实数据/real 1, 合成演示数据/synthetic 7" in out
    pop = out.split("常住人口 / Residents — 数据来源性质 / Provenance:")[1]
    assert "counties: 合成演示数据/synthetic 1" in pop and "villages: 合成演示数据/synthetic 8" in pop


def test_info_json(capsys) -> None:
    code, out, _ = run(capsys, "info", "--json")
    assert code == 0
    info = json.loads(out)
    assert info["name"] == "mini" and info["years"] == [2022, 2024]
    assert {k: v["count"] for k, v in info["layers"].items()} == {
        "counties": 1, "townships": 3, "villages": 8, "facilities_2022": 8, "facilities_2024": 11, "indicators": 9}
    assert info["layers"]["townships"]["provenance_zh"] == "合成演示数据"
    assert info["facilities_by_year_and_type"]["2024"] == {
        "child_home": 3, "childcare": 1, "community_library": 1, "elderly_care_centre": 1, "fitness": 1,
        "kindergarten": 1, "mch_institution": 1, "mother_baby_room": 1, "public_place": 1}
    assert sum(info["facilities_by_year_and_type"]["2022"].values()) == 8
    assert info["city"]["pop_total"] == 17800
    assert info["record_provenance"]["villages"] == {"real": 1, "synthetic": 7}
    assert info["population_provenance"]["townships"] == {"synthetic": 3}


def test_import_facilities_command(capsys, tmp_path: Path) -> None:
    out_path = tmp_path / "inv.geojson"
    code, out, err = run(capsys, "import", "facilities", str(IMPORTS / "inventory_gbk.csv"), "-o", str(out_path))
    assert code == 0, err
    assert "输入 / input rows 15 → 导入 / imported 7, 拒绝 / rejected 8, 标记 / flagged 3" in out
    assert f"拒绝报告 / rejects report: {tmp_path / 'inv.rejects.csv'} (8)" in out
    assert len(gpd.read_file(out_path)) == 7
    assert len(pd.read_csv(tmp_path / "inv.rejects.csv", encoding="utf-8-sig")) == 8
    assert len(pd.read_csv(tmp_path / "inv.flags.csv", encoding="utf-8-sig")) == 3


def test_import_gcj_suggestion_and_crs_option(capsys, tmp_path: Path) -> None:
    src = str(IMPORTS / "inventory_gcj02.csv")
    code, out, _ = run(capsys, "import", "facilities", src, "-o", str(tmp_path / "a.geojson"))
    assert code == 0 and "re-import with --crs gcj02" in out
    code, out, _ = run(capsys, "import", "facilities", src, "--crs", "gcj02", "-o", str(tmp_path / "b.geojson"))
    assert code == 0 and "imported 4, 拒绝 / rejected 0" in out and "--crs gcj02" not in out


def test_import_everything_rejected_exits_1(capsys, tmp_path: Path) -> None:
    p = tmp_path / "bad.csv"
    p.write_text("名称,类型,经度,纬度\n甲,游泳馆,119.86,28.47\n", encoding="utf-8")
    code, out, _ = run(capsys, "import", "facilities", str(p), "-o", str(tmp_path / "o.geojson"))
    assert code == 1 and "imported 0, 拒绝 / rejected 1" in out


def test_import_boundaries_command(capsys, tmp_path: Path) -> None:
    code, out, _ = run(capsys, "import", "boundaries", str(MINI / "boundaries" / "townships.geojson"),
                       "--level", "township", "-o", str(tmp_path / "t.gpkg"))
    assert code == 0 and "匹配 / matched units 3" in out
    assert len(gpd.read_file(tmp_path / "t.gpkg")) == 3
    assert (tmp_path / "t.report.csv").exists()
    code, out, _ = run(capsys, "import", "boundaries", str(MINI / "boundaries" / "townships.geojson"),
                       "--level", "township", "--merge", "--provenance", "estimated", "-o", str(tmp_path / "m.geojson"))
    assert code == 0 and "完整单位图层 / full unit layer" in out
    merged = gpd.read_file(tmp_path / "m.geojson")
    assert {"seat_lon", "pop_total", "township_type"} <= set(merged.columns)
    assert merged["boundary_method"].str.startswith("imported from townships.geojson").all()
    code, _, err = run(capsys, "import", "boundaries", str(MINI / "boundaries" / "townships.geojson"),
                       "--level", "village", "--merge", "-o", str(tmp_path / "v.geojson"))
    assert code == 2 and "village units are points" in err


def test_errors_are_one_line_exit_2(capsys, tmp_path: Path) -> None:
    code, out, err = run(capsys, "import", "facilities", str(tmp_path / "missing.csv"), "-o", str(tmp_path / "o.geojson"))
    assert code == 2 and out == ""
    assert err.startswith("covplan: error: ") and "missing.csv: file not found" in err
    assert "Traceback" not in err
    blocker = tmp_path / "file"
    blocker.write_text("x", encoding="utf-8")
    code, _, err = run(capsys, "import", "facilities", str(IMPORTS / "inventory_gbk.csv"), "-o",
                       str(blocker / "sub" / "o.geojson"))  # parent is a file
    assert code == 2 and "cannot write the output" in err and "Traceback" not in err
    code = main(["--data", str(tmp_path), "info"])
    err = capsys.readouterr().err
    assert code == 2 and "no manifest.toml" in err


@pytest.mark.parametrize("bad", [["import", "facilities", "x.csv"], ["import", "boundaries", "x.shp", "-o", "o.geojson"]])
def test_argument_errors(capsys, bad: list[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(bad)
    assert exc.value.code == 2
    assert "required" in capsys.readouterr().err
