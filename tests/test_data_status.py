"""Per-county facility data status (issue 12, provenance): once a county's real list is
submitted, the gap model, the exports, the report and the app say which counties are real
and which are still demo, per county.

A GeoPackage store seeded from the embedded data (``tests/store_helpers.py``) receives, for
2025:

* the 妇儿工委办's complete real list of 莲都区 — two facilities, every other record of the
  county closed (``close_missing``) → 莲都区 is **real**;
* 民政局's list of one new 儿童之家 in 缙云县 (nothing closed) → 缙云县 is **partial**;
* nothing for the seven other counties → **demo**.

Expected counts are read from the store's own records (``FacilityStore.facilities``), not
from the code under test.
"""

from __future__ import annotations

import io

import openpyxl
import pandas as pd
import pytest

from coverage.outputs import export_bytes, township_gaps
from coverage.outputs.data_status import county_data_status
from coverage.outputs.display import display_headers
from coverage.outputs.report import render_report
from coverage.targets import evaluate, load_targets
from layers import load_dataset
from store.submit import apply_submission, preview_submission
from tests.store_helpers import gpkg_copy

LIANDU, JINYUN = "331102", "331122"
YEAR = 2025
TARGETS = ("demo_child_home_per_township", "child_home_every_village")


def _write_csv(path, rows):
    header = ["名称", "类型", "等级", "县市区", "乡镇（街道）", "村（社区）", "经度", "纬度"]
    path.write_text("\n".join([",".join(header)] + [",".join(str(v) for v in r) for r in rows]) + "\n",
                    encoding="utf-8-sig")


def _row(ds, village, name):
    v = ds.villages.set_index("code").loc[village]
    town = ds.townships.set_index("code").loc[v["township_code"], "name"]
    county = ds.counties.set_index("code").loc[v["county_code"], "name"]
    return [name, "儿童之家", "示范型", county, town, v["name"], v.geometry.x, v.geometry.y]


@pytest.fixture(scope="module")
def submitted(tmp_path_factory):
    """The store after the two submissions, its 2025 dataset and evaluation."""
    root = tmp_path_factory.mktemp("status")
    from store import build_store

    seed = root / "seed.gpkg"
    build_store(seed).engine.dispose()
    st = gpkg_copy(seed, root / "inventory.gpkg")
    ds0 = load_dataset()
    vil = ds0.villages
    ld = vil[vil["county_code"] == LIANDU]["code"].tolist()
    jy = vil[vil["county_code"] == JINYUN]["code"].tolist()
    real = root / "莲都区_妇儿工委办_2025.csv"
    _write_csv(real, [_row(ds0, ld[0], "莲都区真实儿童之家甲"), _row(ds0, ld[7], "莲都区真实儿童之家乙")])
    pv = preview_submission(st, real, YEAR, "妇儿工委办", county="莲都区")
    assert len(pv.new) == 2 and len(pv.rejected) == 0
    apply_submission(st, pv, user="tester", close_missing=True)
    mz = root / "缙云县_民政局_2025.csv"
    _write_csv(mz, [_row(ds0, jy[3], "缙云县新建儿童之家")])
    pv = preview_submission(st, mz, YEAR, "民政局", county="缙云县")
    assert len(pv.new) == 1
    apply_submission(st, pv, user="tester", close_missing=False)
    ds = st.dataset()
    targets = [t for t in load_targets() if t.id in TARGETS]
    res = evaluate(ds, targets, YEAR)
    yield st, ds, targets, res
    st.engine.dispose()


def test_county_status_follows_the_records_of_the_year(submitted):
    st, ds, _, _ = submitted
    rec = st.facilities(YEAR)
    per = county_data_status(ds, YEAR)
    for code, v in per.items():
        mine = rec[rec["county_code"] == code]["provenance"]
        assert (v["n_real"], v["n_other"]) == (int((mine == "real").sum()), int((mine != "real").sum())), code
    assert (per[LIANDU]["status"], per[LIANDU]["n_real"], per[LIANDU]["n_other"]) == ("real", 2, 0)
    assert per[LIANDU]["sources"] == "妇儿工委办@2025"
    assert (per[JINYUN]["status"], per[JINYUN]["n_real"], per[JINYUN]["sources"]) == ("partial", 1, "民政局@2025")
    assert {v["status"] for c, v in per.items() if c not in (LIANDU, JINYUN)} == {"synthetic"}
    # 2024 is untouched by the 2025 lists: every county still demo
    assert {v["status"] for v in county_data_status(ds, 2024).values()} == {"synthetic"}


def test_exports_say_which_counties_are_real_per_county(submitted):
    _, ds, targets, res = submitted
    gaps = township_gaps(res, ds, targets=targets)
    want = {LIANDU: "真实台账（妇儿工委办 2025年提交）",
            JINYUN: "部分为真实台账（民政局 2025年提交），其余为演示数据（合成）"}
    demo = "演示数据（合成，非真实数据）"
    heads = display_headers("zh")
    csv = pd.read_csv(io.BytesIO(export_bytes(gaps, "csv", dataset=ds, result=res, targets=targets)),
                      encoding="utf-8-sig", dtype=str, keep_default_na=False)
    rows = csv[csv[heads["county_code"]] != ""]
    assert set(rows[heads["county_code"]]) >= {LIANDU, JINYUN, "331121"}  # gaps in real, partial, demo
    for code, status in zip(rows[heads["county_code"]], rows[heads["data_status"]]):
        assert status == want.get(code, demo), code
    # the provenance statement of every row names the real counties and the demo rest
    statement = csv.iloc[0, -1]
    assert "各县设施数据：莲都区：真实台账（妇儿工委办 2025年提交）（真实2处，演示0处）" in statement
    assert "缙云县：部分为真实台账（民政局 2025年提交），其余为演示数据（合成）（真实1处，演示" in statement
    assert "其余7个县（市、区）：演示数据（合成，非真实数据）" in statement
    assert "设施数据（2025年）：部分为真实台账（见各县设施数据）" in statement
    # the xlsx: the 汇总 sheet's statement and the column on each level sheet (a county's file)
    wb = openpyxl.load_workbook(io.BytesIO(export_bytes(
        township_gaps(res, ds, county="莲都区", targets=targets), "xlsx", dataset=ds, result=res, targets=targets)))
    summary = " ".join(str(c.value) for row in wb.worksheets[0].iter_rows() for c in row if c.value)
    assert "莲都区：真实台账（妇儿工委办 2025年提交）" in summary
    for ws in wb.worksheets[1:4]:
        head = [c.value for c in ws[1]]
        col = head.index(heads["data_status"])
        values = {r[col].value for r in ws.iter_rows(min_row=2)}
        assert values <= {want[LIANDU]}, ws.title
    # English: the same statuses, translated (the source by its member unit)
    en = pd.read_csv(io.BytesIO(export_bytes(gaps, "csv", dataset=ds, result=res, targets=targets, lang="en")),
                     encoding="utf-8-sig", dtype=str, keep_default_na=False)
    h = display_headers("en")
    by = dict(zip(en[h["county_code"]], en[h["data_status"]]))
    assert by[LIANDU] == "Real inventory (Women and Children's Committee office, submitted 2025)"
    assert by[JINYUN] == "Partly real inventory (Civil affairs, submitted 2025), the rest demo data (synthetic)"
    assert by["331121"] == "Demo data (synthetic, not real)"


def test_report_and_app_card_say_it_too(submitted, monkeypatch):
    st, ds, targets, res = submitted
    page = render_report(ds, res, None, targets=targets, year=YEAR)
    banner = page[page.index('class="banner"'):page.index("</div>", page.index('class="banner"'))]
    assert "莲都区：真实台账（妇儿工委办 2025年提交）" in banner and "其余7个县（市、区）" in banner
    # the app on this store: the summary card of a county and of the city
    from dashapp import service, workspace
    from store.active import forget_stores

    monkeypatch.setenv("COVPLAN_STORE", str(st.url if hasattr(st, "url") else st))
    forget_stores()
    service.configure(None)
    try:
        card = workspace.target_summary(TARGETS[0], LIANDU, YEAR, (), "zh")
        assert card["data_status"] == "设施数据来源: 真实台账（妇儿工委办 2025年提交）"
        card = workspace.target_summary(TARGETS[0], "331121", YEAR, (), "en")
        assert card["data_status"] == "Facility data: Demo data (synthetic, not real)"
        city = workspace.target_summary(TARGETS[0], "", YEAR, (), "zh")["data_status"]
        assert city.startswith("各县设施数据：莲都区：真实台账") and "缙云县：部分为真实台账" in city
    finally:
        forget_stores()
        service.configure(None)
