"""``covplan scenario`` and ``covplan site`` end to end on a copy of tests/data/mini.

The mini dataset (tests/data/mini/README.md): 莲都区 with 联城 (示范型 F001), 南明山 (basic F002
only) and 太平 (basic F009 only); one 托育 F005 with 80 slots for 17 800 residents.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest

from covplan.cli import main
from scenarios import store
from scenarios.model import load_scenario
from tests.target_texts import DEMO_CHILD_HOME_PER_TOWNSHIP

MINI = Path(__file__).resolve().parent / "data" / "mini"

TARGETS = {
    "demo_child_home_per_township.toml": DEMO_CHILD_HOME_PER_TOWNSHIP,
    "childcare_slots_per_1000.toml": '''
id = "childcare_slots_per_1000"
kind = "capacity_ratio"
label_zh = "每千人拥有3岁以下婴幼儿托位数达到4.5个"
label_en = "4.5 childcare slots per 1,000 residents"
plan = "children"
chapter = "儿童与健康"
unit_level = "county"
threshold = 4.5
facility = { type = "childcare" }
population = "pop_total"
per = 1000
[source]
plan = "丽水市儿童发展“十四五”规划"
clause = "每千人拥有3岁以下婴幼儿托位数达到4.5个"
lines = [564]
''',
}


@pytest.fixture()
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    data = tmp_path / "mini"
    shutil.copytree(MINI, data)
    (data / "targets").mkdir()
    for name, text in TARGETS.items():
        (data / "targets" / name).write_text(text, encoding="utf-8")
    root = tmp_path / "scenarios"
    (root / "saved").mkdir(parents=True)
    monkeypatch.setattr(store, "SCENARIOS_ROOT", root.resolve())
    return data, root


def test_site_then_scenario_run_round_trip(env, tmp_path: Path, capsys):
    data, root = env
    out = tmp_path / "proposals.csv"
    rc = main(["--data", str(data), "site", "--target", "demo_child_home_per_township",
               "-o", str(out), "--save-scenario", "scenarios/示范升级.toml"])
    assert rc == 0, capsys.readouterr().err
    table = pd.read_csv(out, encoding="utf-8-sig", dtype=str)
    assert out.read_bytes().startswith(b"\xef\xbb\xbf")
    # 南明山 and 太平 have only basic homes → upgrade each (no new build)
    assert table["设施编号"].tolist() == ["F002", "F009"]
    assert set(table["建议措施类型"]) == {"升级为示范型"}
    assert "数据来源性质" in table.columns and "估算费用（万元）" in table.columns
    saved = root / "示范升级.toml"
    assert saved.is_file()

    capsys.readouterr()
    diff_csv = tmp_path / "diff.csv"
    rc = main(["--data", str(data), "scenario", "run", str(saved), "-o", str(diff_csv)])
    text = capsys.readouterr().out
    assert rc == 0
    assert "demo_child_home_per_township" in text and "转为达标 2" in text
    d = pd.read_csv(diff_csv, encoding="utf-8-sig", dtype=str)
    flips = d[d["目标编号"] == "demo_child_home_per_township"]
    assert sorted(flips["统计代码"]) == ["331102008", "331102200"]
    assert set(flips["状态变化"]) == {"转为达标"} and set(flips["情景状态"]) == {"达标"}

    # without --data the scenario's own base (the dataset folder it was sited on) is used
    assert load_scenario(saved).base == str(data.resolve())
    xlsx = tmp_path / "diff.xlsx"
    assert main(["scenario", "run", str(saved), "-o", str(xlsx), "--json"]) == 0
    assert '"scenario": "示范升级"' in capsys.readouterr().out
    assert xlsx.is_file()


def test_site_capacity_and_joint(env, tmp_path: Path, capsys):
    data, _ = env
    out = tmp_path / "cap.csv"
    assert main(["--data", str(data), "site", "--target", "childcare_slots_per_1000", "-o", str(out)]) == 0
    t = pd.read_csv(out, encoding="utf-8-sig", dtype=str)
    # 17 800 × 4.5 / 1000 = 80.1 slots required, 80 present → 1 slot short. It goes to the
    # township with the largest deficit: 联城 (8 700 → 39.15, no 托育) rather than 南明山
    # (7 200 → 32.4 < F005's 80); 联城 has no site, so a new one at its most central village
    # by under-3 weight: 娄丰堰 (138 of 200 children under 3)
    assert t[["建议措施类型", "村（社区）代码", "新增托位"]].values.tolist() == [
        ["新建", "331102007001", "1"]]
    joint = tmp_path / "joint.csv"
    assert main(["--data", str(data), "site", "--all-targets", "-o", str(joint)]) == 0
    j = pd.read_csv(joint, encoding="utf-8-sig", dtype=str)
    # the joint model only asks for the county total: cheapest with the default costs is to
    # upgrade F002 and F009 (10 each) and add 1 slot at F005 (1.5)
    assert sorted(j["设施编号"]) == ["F002", "F005", "F009"]
    assert "optimal" in capsys.readouterr().out


def test_cli_errors_exit_2(env, tmp_path: Path, capsys):
    data, root = env
    bad = tmp_path / "bad.toml"
    bad.write_text('name = "bad"\n[[edits]]\nop = "close_facility"\nfacility_id = "NOPE"\n'
                   '[[edits]]\nop = "upgrade_facility"\nfacility_id = "F005"\n', encoding="utf-8")
    assert main(["--data", str(data), "scenario", "run", str(bad)]) == 2
    err = capsys.readouterr().err
    assert str(bad) in err and "edit #1 (close_facility): unknown facility_id 'NOPE'" in err
    assert "edit #2 (upgrade_facility)" in err
    assert main(["--data", str(data), "site", "--target", "nope", "-o", str(tmp_path / "x.csv")]) == 2
    assert "unknown target id 'nope'" in capsys.readouterr().err
    assert main(["--data", str(data), "site", "--target", "demo_child_home_per_township",
                 "-o", str(tmp_path / "x.csv"), "--save-scenario", "../evil.toml"]) == 2
    assert "'..' is not allowed" in capsys.readouterr().err
    assert not any(root.rglob("evil.toml")) and not (tmp_path / "x.csv").exists()
    assert main(["--data", str(data), "site", "--target", "demo_child_home_per_township", "--p", "3",
                 "-o", str(tmp_path / "x.csv")]) == 2
    assert "--p/--share apply to access targets" in capsys.readouterr().err
    assert main(["scenario", "list"]) == 0


# ---------------------------------------------------------------- the embedded Lishui dataset
EXAMPLES = Path(__file__).resolve().parent.parent / "scenarios" / "examples"


@pytest.fixture(scope="module")
def embedded():
    from coverage.targets import load_targets
    from layers.load import load_dataset

    return load_dataset(), load_targets()


def test_every_example_applies_to_the_embedded_data(embedded):
    from scenarios.apply import apply_scenario
    from scenarios.model import load_scenario

    ds, targets = embedded
    files = sorted(EXAMPLES.glob("*.toml"))
    assert len(files) >= 5
    n_before = len(ds.facilities)
    for f in files:
        sc = load_scenario(f)
        assert sc.base == "embedded" and sc.year in ds.years and sc.description
        ds2, t2 = apply_scenario(sc, ds, targets)
        assert len(ds2.facilities) >= n_before - 2
    assert len(ds.facilities) == n_before  # the cached base is untouched


def test_stricter_standard_example_end_to_end(embedded, tmp_path: Path, capsys):
    ds, _ = embedded
    # independent count: counties whose 托位 per 1,000 residents lie in [4.5, 5.5)
    fac = ds.facilities_for(2024)
    slots = fac[fac["type"] == "childcare"].groupby("county_code")["capacity"].sum()
    pop = ds.counties.set_index("code")["pop_total"]
    ratio = (slots.reindex(pop.index).fillna(0) / pop * 1000)
    expected = sorted(ratio[(ratio >= 4.5) & (ratio < 5.5)].index)
    assert expected  # the example is meaningful on this data
    out = tmp_path / "stricter.xlsx"
    assert main(["scenario", "run", str(EXAMPLES / "stricter_childcare_standard.toml"),
                 "--target", "childcare_slots_per_1000", "-o", str(out)]) == 0
    text = capsys.readouterr().out
    assert f"转为未达标 {len(expected)}" in text
    import openpyxl

    ws = openpyxl.load_workbook(out)["状态变化"]
    header = [c.value for c in ws[1]]
    rows = [dict(zip(header, r)) for r in ws.iter_rows(min_row=2, values_only=True)]
    flipped = sorted(r["统计代码"] for r in rows
                     if r["目标编号"] == "childcare_slots_per_1000" and r["层级"] == "县（市、区）")
    assert flipped == expected
    assert all(r["状态变化"] == "转为未达标" for r in rows)


def test_mclp_proposals_cover_the_people_they_claim(embedded):
    """Network coverage matrix vs the evaluation's own access computation, on the real network."""
    from coverage.siting import propose_access
    from scenarios.diff import people_newly_covered
    from scenarios.apply import apply_scenario
    from scenarios.model import Scenario

    ds, targets = embedded
    fit = next(t for t in targets if t.id == "fitness_10min_circle")
    ps = propose_access(ds, fit, p=3, year=2024)
    assert ps.method == "MCLP:network" and ps.status == "optimal" and len(ps.actions) == 3
    claimed = sum(a["people_covered"] for a in ps.actions)
    sc = Scenario.from_edits("mclp", ps.edits(), year=2024)
    ds2, t2 = apply_scenario(sc, ds, [fit])
    assert people_newly_covered(ds, ds2, [fit], t2, 2024) == {fit.id: pytest.approx(claimed)}
    assert ps.objective == pytest.approx(claimed)  # the MCLP objective: people newly covered


def test_site_on_embedded_data_closes_every_township_gap(embedded, tmp_path: Path, monkeypatch, capsys):
    ds, _ = embedded
    root = tmp_path / "scenarios"
    root.mkdir()
    monkeypatch.setattr(store, "SCENARIOS_ROOT", root.resolve())
    # independent count: townships without any 示范型 儿童之家 in 2024
    fac = ds.facilities_for(2024)
    demo = set(fac.loc[(fac["type"] == "child_home") & (fac["tier"] == "demonstration"), "township_code"])
    lacking = sorted(set(ds.townships["code"]) - demo)
    assert lacking
    out = tmp_path / "p.csv"
    assert main(["site", "--target", "demo_child_home_per_township", "-o", str(out),
                 "--save-scenario", "scenarios/demo.toml", "--no-progress"]) == 0
    table = pd.read_csv(out, encoding="utf-8-sig", dtype=str)
    assert sorted(table["乡镇代码"]) == lacking
    capsys.readouterr()
    diff = tmp_path / "d.csv"
    assert main(["scenario", "run", str(root / "demo.toml"), "--target", "demo_child_home_per_township",
                 "-o", str(diff)]) == 0
    d = pd.read_csv(diff, encoding="utf-8-sig", dtype=str)
    assert sorted(d["统计代码"]) == lacking and set(d["状态变化"]) == {"转为达标"}


def test_site_on_top_of_a_scenario(env, tmp_path: Path, capsys):
    data, root = env
    base_sc = tmp_path / "close.toml"
    base_sc.write_text('name = "关闭太平"\nyear = 2024\n[[edits]]\nop = "close_facility"\n'
                       'facility_id = "F009"\n', encoding="utf-8")
    out = tmp_path / "p.csv"
    assert main(["--data", str(data), "site", "--target", "demo_child_home_per_township", "--scenario",
                 str(base_sc), "-o", str(out), "--save-scenario", "scenarios/on_top.toml"]) == 0
    t = pd.read_csv(out, encoding="utf-8-sig", dtype=str)
    # 南明山 still upgrades F002; 太平 lost its only home, so a new 示范型 home at its more
    # central village by under-18 weight: 太平村 (176) rather than 城头村 (128)
    assert t[["建议措施类型", "乡镇代码"]].values.tolist() == [["升级为示范型", "331102008"],
                                                         ["新建", "331102200"]]
    assert t["村（社区）代码"].tolist()[1] == "331102200234"
    saved = load_scenario(root / "on_top.toml")
    assert [e.op for e in saved.edits] == ["close_facility", "upgrade_facility", "add_facility"]
    capsys.readouterr()
    assert main(["--data", str(data), "scenario", "run", str(root / "on_top.toml"),
                 "--target", "demo_child_home_per_township"]) == 0
    assert "转为达标 2" in capsys.readouterr().out
