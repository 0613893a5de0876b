"""Print layout and county atlas (coverage/outputs/atlas.py, covplan atlas)."""

from __future__ import annotations

import re

import geopandas as gpd
import pytest
from shapely.geometry import box

from coverage.outputs.atlas import PageSpec, atlas_html, map_svg


@pytest.fixture(scope="module")
def evaluated():
    from coverage.targets import evaluate, load_targets
    from layers.load import load_dataset

    ds = load_dataset()
    targets = load_targets()
    return ds, targets, evaluate(ds, targets, ds.latest_year)


def test_scale_bar_and_ratio_are_true_to_the_working_crs():
    # a 20 km × 10 km box in EPSG:4549 drawn into 100 mm × 100 mm with 6 mm padding
    gdf = gpd.GeoDataFrame({"code": ["1"], "name": ["x"]}, geometry=[box(500000, 3100000, 520000, 3110000)],
                           crs="EPSG:4549")
    svg, info = map_svg(gdf, {"1": "met"}, None, 100, 100)
    mm_per_m = (100 - 12) / 20000
    assert info["scale"] == round(1000 / mm_per_m, -3)  # 1:227,000
    bar = re.search(r'<rect x="[\d.]+" y="[\d.]+" width="([\d.]+)" height="1.6" fill="#222"/>', svg)
    assert float(bar.group(1)) * 2 == pytest.approx(info["bar_km"] * 1000 * mm_per_m, abs=0.02)
    assert f'{info["bar_km"]:g} km' in svg and ">N<" in svg


def test_county_atlas_has_a_page_per_target_with_gaps(evaluated):
    ds, targets, res = evaluated
    u = res.units
    code = str(ds.counties.loc[ds.counties["name"] == "景宁畲族自治县", "code"].iloc[0])
    mine = (u["unit_code"].astype(str).str.startswith(code) & (u["status"] == "not_met")
            & u["unit_level"].isin(["township", "village", "county"]))
    expected = set(u.loc[mine, "target_id"])
    hostile = "<b>制图</b>"
    doc, pages = atlas_html(ds, res, targets, "景宁畲族自治县", ds.latest_year,
                            PageSpec(author=hostile, date="2026-12-01"))
    assert set(pages) == expected and len(pages) == len(expected)
    assert doc.count('<section class="page">') == 1 + len(expected)
    assert "&lt;b&gt;制图&lt;/b&gt;" in doc and hostile not in doc
    assert doc.count("制图单位：") == 1 + len(expected) and "2026-12-01" in doc
    assert "数据来源" in doc or "provenance" in doc.lower()
    assert "http://" not in doc.replace('xmlns="http://www.w3.org/2000/svg"', "") and "https://" not in doc
    # every township of the county is drawn on each map page
    n_town = int((ds.townships["county_code"].astype(str) == code).sum())
    first = doc.split('<section class="page">')[2]
    assert first.count("data-code=") == n_town


def test_cli_writes_the_atlas_html(tmp_path):
    from covplan.cli import main

    out = tmp_path / "jn.html"
    assert main(["atlas", "--county", "景宁畲族自治县", "--target", "demo_child_home_per_township",
                 "--author", "丽水市", "-o", str(out)]) == 0
    text = out.read_text(encoding="utf-8")
    assert text.count('<section class="page">') == 2 and "丽水市" in text
    assert main(["atlas", "--county", "nowhere", "-o", str(tmp_path / "x.html")]) == 2
    assert main(["atlas", "--county", "景宁畲族自治县", "-o", str(tmp_path / "x.docx")]) == 2
