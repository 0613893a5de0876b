"""``covplan evaluate``, ``covplan gaps`` and ``covplan report`` on the mini dataset.

The mini dataset (tests/data/mini: 莲都区, three townships, eight villages, inventories of
2022 and 2024) gets three target files written below. Expected values were counted by hand
from tests/data/mini/facilities/*.geojson:

* 2024 儿童之家 in 青岗村 (联城街道), 张村村 (南明山街道), 太平村 (太平乡) → 3 of 8 villages
  met; 示范型 only in 联城街道; 示范型 1 of 3 homes (33%) ≥ 15%.
* 2022 the same minus 太平村's home, and no 示范型 home at all.
"""

from __future__ import annotations

import io
import json
import re
import shutil
import unicodedata
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from covplan.cli import main
from tests.conftest import TEST_DATA
from tests.target_texts import DEMO_CHILD_HOME_PER_TOWNSHIP

TARGETS = {
    "child_home_every_village": """
id = "child_home_every_village"
kind = "presence"
label_zh = "儿童之家应建尽建"
label_en = "A children's home in every village and community"
plan = "children"
chapter = "儿童与福利"
unit_level = "village"
threshold = 1
facility = { type = "child_home" }
shortfall_unit = "facilities"
[source]
plan = "丽水市儿童发展“十四五”规划"
clause = "实现村（社区）基础型儿童之家应建尽建"
lines = [721, 945]
""",
    "demo_child_home_per_township": DEMO_CHILD_HOME_PER_TOWNSHIP,
    "demo_child_home_share_15": """
id = "demo_child_home_share_15"
kind = "facility_share"
label_zh = "示范型儿童之家达到儿童之家总数的15%以上"
label_en = "15% of children's homes are demonstration homes"
plan = "children"
chapter = "儿童与福利"
unit_level = ["county", "city"]
threshold = 0.15
facility = { type = "child_home" }
numerator = "tier == 'demonstration'"
[source]
plan = "丽水市儿童发展“十四五”规划"
clause = "示范型儿童之家达到儿童之家总数的15%以上"
lines = [721]
""",
}


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("cli") / "mini"
    shutil.copytree(TEST_DATA / "mini", root)
    (root / "targets").mkdir()
    for tid, text in TARGETS.items():
        (root / "targets" / f"{tid}.toml").write_text(text.lstrip(), encoding="utf-8")
    return root


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    out = capsys.readouterr()
    return code, out.out, out.err


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def test_evaluate_table(capsys, data_dir):
    code, out, err = run(capsys, "--data", data_dir, "evaluate")
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0].startswith("数据来源说明：") and "合成演示数据，非真实数据" in lines[0]
    assert lines[1] == "设施清单年份：2024；规划目标：3"
    table = lines[2:]
    cells = [re.split(r"\s{2,}", line.strip()) for line in table]
    assert cells[0] == ["目标编号", "层级", "评估单位数", "达标单位数", "未达标单位数", "无数据单位数",
                        "缺口量", "规划层面结论", "规划目标"]
    by_id = {c[0]: c[1:] for c in cells[1:]}
    assert by_id["child_home_every_village"] == ["村（社区）", "8", "3", "5", "0", "5个设施", "未达标", "儿童之家应建尽建"]
    assert by_id["demo_child_home_per_township"][:7] == ["乡镇（街道）", "3", "1", "2", "0", "2个设施", "未达标"]
    assert by_id["demo_child_home_share_15"][:7] == ["县（市、区）", "1", "1", "0", "0", "0", "达标"]
    # aligned: each numeric column ends at the same display column on every line
    for col in (2, 3, 4):
        ends = set()
        for line in table:
            parts = re.split(r"(\s{2,})", line)
            ends.add(_width("".join(parts[: 2 * col + 1])))
        assert len(ends) == 1, (col, ends)


def test_evaluate_json_target_and_year(capsys, data_dir):
    code, out, err = run(capsys, "--data", data_dir, "evaluate", "--json", "--year", "2022",
                         "--target", "demo_child_home_share_15", "--target", "child_home_every_village")
    assert code == 0, err
    doc = json.loads(out)
    assert doc["year"] == 2022 and doc["dataset"] == "mini"
    assert "非真实数据" in doc["provenance"]
    assert doc["layer_provenance"]["facilities_2022"] == "synthetic"
    rows = {r["target_id"]: r for r in doc["targets"]}
    assert set(rows) == {"demo_child_home_share_15", "child_home_every_village"}
    assert (rows["child_home_every_village"]["met"], rows["child_home_every_village"]["not_met"]) == (2, 6)
    share = rows["demo_child_home_share_15"]
    assert (share["n_units"], share["met"], share["not_met"], share["plan_status"]) == (1, 0, 1, "not_met")


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["evaluate", "--target", "nope"], "unknown target id 'nope'; valid ids: child_home_every_village"),
        (["evaluate", "--year", "2021"], "no inventory year 2021 in the dataset; years: 2022, 2024"),
        (["gaps", "--county", "青田县", "-o", "x.csv"], "unknown county '青田县'; valid counties: 莲都区（331102）"),
        (["gaps", "-o", "x.docx"], "unknown extension '.docx'"),
        (["report", "-o", "x.pdf"], "must end in .html"),
        (["--data", "x.missing", "evaluate"], "manifest"),
        (["gaps", "-o", "x.nowhere/g.csv"], "the folder"),
        (["report", "-o", "x.nowhere/r.html"], "does not exist"),
    ],
)
def test_errors_are_one_line_exit_2(capsys, data_dir, tmp_path, argv, message):
    argv = [str(tmp_path / a) if a.startswith("x.") else a for a in argv]
    data = [] if argv[0] == "--data" else ["--data", data_dir]
    code, out, err = run(capsys, *data, *argv)
    assert code == 2
    assert err.startswith("covplan: error: ") and message in err.splitlines()[0]
    assert not list(tmp_path.iterdir())


def test_gaps_files_equal_app_bytes(capsys, data_dir, tmp_path):
    from coverage.targets import evaluate
    from coverage.outputs import export_bytes
    from coverage.outputs import township_gaps
    from coverage.targets import load_targets
    from layers.load import load_dataset

    for ext in ("csv", "geojson", "xlsx", "gpkg"):
        code, _, err = run(capsys, "--data", data_dir, "gaps", "-o", tmp_path / f"g.{ext}")
        assert code == 0, err
    ds, targets = load_dataset(data_dir), load_targets(data_dir / "targets")
    res = evaluate(ds, targets)
    gaps = township_gaps(res, ds, targets=targets)
    for ext in ("csv", "geojson"):
        assert export_bytes(gaps, ext, dataset=ds, result=res, targets=targets) == (tmp_path / f"g.{ext}").read_bytes()
    app = openpyxl.load_workbook(io.BytesIO(export_bytes(gaps, "xlsx", dataset=ds, result=res, targets=targets)))
    cli = openpyxl.load_workbook(tmp_path / "g.xlsx")
    assert app.sheetnames == cli.sheetnames == ["汇总", "县市级", "乡镇级", "村级", "乡镇宽表"]
    for name in app.sheetnames:
        cells = [[c.value for c in r] for r in app[name].iter_rows()]
        assert cells == [[c.value for c in r] for r in cli[name].iter_rows()]

    # 2024, counted by hand: 2 townships without a 示范型 home, 5 villages without a 儿童之家
    # (联城街道 2, 南明山街道 2, 太平乡 1), each at its own level (no township repeats a village gap)
    df = pd.read_csv(tmp_path / "g.csv", encoding="utf-8-sig", dtype=str, keep_default_na=False)
    got = list(zip(df["单位名称"], df["乡镇（街道）"], df["目标编号"], df["缺口量"]))
    assert got == [
        ("南明山街道", "南明山街道", "demo_child_home_per_township", "1"),
        ("太平乡", "太平乡", "demo_child_home_per_township", "1"),
        ("娄丰堰社区居委会", "联城街道", "child_home_every_village", "1"),
        ("张村街村委会", "联城街道", "child_home_every_village", "1"),
        ("沙溪亭社区居委会", "南明山街道", "child_home_every_village", "1"),
        ("叶村村委会", "南明山街道", "child_home_every_village", "1"),
        ("城头村委会", "太平乡", "child_home_every_village", "1"),
    ]
    assert set(df["缺口类别"]) == {"乡镇（街道）缺口", "村（社区）缺口"}


def test_gaps_for_a_year_and_county(capsys, data_dir, tmp_path):
    code, _, err = run(capsys, "--data", data_dir, "gaps", "--county", "331102", "--year", "2022",
                       "-o", tmp_path / "g22.csv")
    assert code == 0, err
    # a county's list keeps its own county-level gap and leaves out the city's
    assert "1 county/city rows, 3 township rows, 6 village rows (2022)" in err
    df = pd.read_csv(tmp_path / "g22.csv", encoding="utf-8-sig", dtype=str, keep_default_na=False)
    county = df[df["缺口类别"] == "县市级缺口"]
    assert list(zip(county["统计代码"], county["目标编号"], county["缺口量"], county["缺口单位"])) == [
        ("331102", "demo_child_home_share_15", "1", "个升级")
    ]
    code, _, err = run(capsys, "--data", data_dir, "gaps", "--year", "2022", "-o", tmp_path / "all22.csv")
    assert "2 county/city rows, 3 township rows, 6 village rows (2022)" in err
    taiping = df[(df["乡镇（街道）"] == "太平乡") & (df["目标编号"] == "child_home_every_village")]
    assert sorted(taiping["单位名称"]) == ["城头村委会", "太平村委会"]


def test_report_html_with_trend(capsys, data_dir, tmp_path):
    code, _, err = run(capsys, "--data", data_dir, "report", "--county", "莲都区", "-o", tmp_path / "r.html")
    assert code == 0, err
    page = (tmp_path / "r.html").read_text(encoding="utf-8")
    assert "<h1>莲都区设施覆盖缺口报告（2024年）</h1>" in page
    assert "<th>2022</th><th>2024</th>" in page
    assert '<tr><td>儿童之家应建尽建</td><td class="num">2/8</td><td class="num">3/8</td>' in page
    assert '<tr><td>每个乡镇（街道）1家以上示范型儿童之家</td><td class="num">0/3</td><td class="num">1/3</td>' in page
    # counted like the summary: the county (its count level), not the city row too
    assert '<tr><td>示范型儿童之家达到儿童之家总数的15%以上</td><td class="num">0/1</td><td class="num">1/1</td>' in page
    # 预计达标困难: the five villages without a home in 2022 and 2024 stay at 0 (projection 0 < 1);
    # 太平村 went 0 → 1 and 青岗村, 张村村 stayed at 1
    risk = page[page.index("<h2>预计2025年达标困难的单位</h2>"):page.index("<footer>")]
    assert ("<tr><td>儿童之家应建尽建</td><td class=\"lvl\">村（社区）</td><td class=\"num\">5</td>"
            "<td>娄丰堰社区居委会、张村街村委会、沙溪亭社区居委会、叶村村委会、城头村委会</td></tr>") in risk


# --------------------------------------------------------------------------- embedded data
@pytest.fixture(scope="module")
def embedded():
    from coverage.targets import evaluate
    from coverage.targets import load_targets
    from layers.load import load_dataset

    ds, targets = load_dataset(), load_targets()
    return ds, targets, evaluate(ds, targets)


def test_embedded_gap_list_agrees_with_the_evaluation(embedded):
    from coverage.outputs import township_gaps

    ds, targets, res = embedded
    u = res.units
    gaps = township_gaps(res, ds, targets=targets)
    town = gaps[gaps["section"] == "township"]
    # level-true: every unmet row is one gap row at its own level, and nothing else
    for level, section in (("village", "village"), ("township", "township"), ("county", "county"),
                           ("city", "county")):
        want = u[(u["unit_level"] == level) & (u["status"] == "not_met")]
        got = gaps[gaps["unit_level"] == level]
        assert (got["section"] == section).all()
        assert set(zip(got["target_id"], got["unit_code"])) == set(zip(want["target_id"], want["unit_code"]))
        assert len(got) == len(want), level
    ch = u[(u["unit_level"] == "village") & (u["status"] == "not_met") & (u["target_id"] == "child_home_every_village")]
    assert gaps.loc[gaps["target_id"] == "child_home_every_village", "shortfall"].sum() == ch["shortfall"].sum()
    vil = gaps[gaps["section"] == "village"]
    assert (vil["unit_code"].str[:9] == vil["township_code"]).all()
    # names and counties come from the dataset
    names = dict(zip(ds.townships["code"], ds.townships["name"]))
    county_of = dict(zip(ds.townships["code"], ds.townships["county_name"]))
    assert all(names[c] == n for c, n in zip(town["unit_code"], town["unit_name"]))
    assert all(county_of[c] == n for c, n in zip(town["unit_code"], town["county_name"]))
    assert town.geometry.notna().all() and gaps.crs.to_epsg() == 4326


def test_embedded_summary_counts_by_a_second_method(embedded):
    from coverage.outputs import summary_table

    ds, targets, res = embedded
    mine = summary_table(res, targets).set_index("target_id")
    levels = res.summary().set_index("target_id")["count_level"]
    u = res.units
    assert set(mine.index) == {t.id for t in targets} == set(levels.index)
    for tid, level in levels.items():
        rows = u[(u["target_id"] == tid) & (u["unit_level"] == level)]
        counts = rows["status"].value_counts()
        got = mine.loc[tid]
        assert (got["met"], got["not_met"], got["no_data"]) == (
            counts.get("met", 0), counts.get("not_met", 0), counts.get("no_data", 0)), tid
        assert got["unit_level"] == level
    # 儿童之家应建尽建: one row per village of the dataset
    counts = mine.loc["child_home_every_village", ["met", "not_met", "no_data", "not_applicable"]]
    assert counts.sum() == len(ds.villages)


def test_embedded_xlsx_layout(embedded, tmp_path):
    from coverage.outputs import write_gap_list
    from coverage.outputs import township_gaps

    ds, targets, res = embedded
    gaps = township_gaps(res, ds, targets=targets)
    wb = openpyxl.load_workbook(write_gap_list(gaps, tmp_path / "g.xlsx", dataset=ds, result=res, targets=targets))
    assert wb.sheetnames == ["汇总", "县市级", "乡镇级", "村级", "乡镇宽表"]
    from coverage.outputs import county_totals

    tot = county_totals(gaps, res, ds)
    for sheet, section in (("县市级", "county"), ("乡镇级", "township"), ("村级", "village")):
        n = int((gaps["section"] == section).sum()) + int((tot["section"] == section).sum())
        assert wb[sheet].max_row == 1 + n, sheet
    assert wb["乡镇宽表"].max_row == 1 + len(ds.townships)
    summary = wb["汇总"]
    text = " ".join(str(c.value) for c in summary["A"] if c.value)
    assert "设施数据（2020、2022、2024年）" in text and "合成演示数据，非真实数据" in text
    assert "乡镇（街道）边界" in text and "估算数据" in text


def test_embedded_evaluate_prints_every_target(capsys):
    from coverage.targets import load_targets

    code, out, err = run(capsys, "evaluate")
    assert code == 0, err
    lines = out.splitlines()
    assert "合成演示数据，非真实数据" in lines[0]
    ids = [line.split()[0] for line in lines[3:]]
    assert ids == [t.id for t in load_targets()]


def test_evaluate_lists_targets_that_could_not_be_evaluated(capsys, data_dir, monkeypatch):
    import covplan.cmd_evaluate as cmd

    real = cmd._evaluate

    def with_error(ds, targets, year):
        res = real(ds, targets, year)
        res.errors[("demo_child_home_share_15", 2024)] = "layer 'facilities' lacks column 'tier'"
        return res

    monkeypatch.setattr(cmd, "_evaluate", with_error)
    code, out, _ = run(capsys, "--data", data_dir, "evaluate")
    assert code == 0
    assert out.splitlines()[-1] == "demo_child_home_share_15: 未能评估（无数据）: layer 'facilities' lacks column 'tier'"
    code, out, _ = run(capsys, "--data", data_dir, "evaluate", "--json")
    assert json.loads(out)["errors"] == {"demo_child_home_share_15": "layer 'facilities' lacks column 'tier'"}
