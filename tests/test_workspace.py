"""Workspace queries on the embedded dataset: trend chart, summary KPIs and links, target card."""

from __future__ import annotations

import pytest

from dashapp import service, workspace

TARGET = "demo_child_home_per_township"


@pytest.fixture(scope="module", autouse=True)
def embedded():
    service.configure(None)
    yield


@pytest.fixture(scope="module")
def per_year():
    """Each inventory year evaluated on its own (the values a trend must show)."""
    from coverage.targets import evaluate, load_targets
    from layers.load import load_dataset

    ds = load_dataset()
    tg = [t for t in load_targets() if t.id == TARGET]
    return ds, {y: evaluate(ds, tg, y).units for y in ds.years}


def test_trend_chart_shows_the_value_of_each_year_and_the_requirement(per_year):
    ds, units = per_year
    code = str(ds.townships["code"].iloc[0])
    fig = workspace.trend_figure(TARGET, code, "zh")
    expected = []
    for y in ds.years:
        u = units[y]
        row = u[(u["unit_level"] == "township") & (u["unit_code"].astype(str) == code)].iloc[0]
        expected.append(float(row["actual"]))
    assert fig["data"][0]["x"] == list(ds.years)
    assert fig["data"][0]["y"] == pytest.approx(expected)
    assert fig["layout"]["shapes"][0]["y0"] == 1.0  # at least one 示范型 home
    # the projection continues from the last year to the plan horizon with a least-squares line
    import numpy as np

    slope, intercept = np.polyfit(ds.years, expected, 1)
    assert fig["data"][1]["x"] == [ds.years[-1], 2025]
    assert fig["data"][1]["y"][1] == pytest.approx(slope * 2025 + intercept)
    assert workspace.trend_figure("no_such_target", code, "zh") is None


def test_summary_kpis_and_click_links(per_year):
    ds, _ = per_year
    from coverage.targets import evaluate, load_targets

    targets = load_targets()
    res = evaluate(ds, targets, ds.latest_year)
    city = res.rollup[res.rollup["level"] == "city"]
    kpis = {k["key"]: k["value"] for k in workspace.summary_kpis(None, [], "zh")}
    assert kpis["targets"] == len(targets)
    assert kpis["met"] == int((city["plan_status"] == "met").sum())
    assert kpis["not_met"] == int((city["plan_status"] == "not_met").sum())
    code = str(ds.counties["code"].iloc[2])
    name = str(ds.counties["name"].iloc[2])
    link = workspace.map_link_from_summary({"points": [{"x": name}]}, None, 2022, "en")
    assert link == f"/?lang=en&year=2022&county={code}"
    assert workspace.map_link_from_summary(None, {"target_id": TARGET}, None, "zh") == \
        f"/?lang=zh&year={ds.latest_year}&target={TARGET}"
    assert workspace.map_link_from_summary({"points": [{"x": "nowhere"}]}, None, None, "zh") is None
    assert workspace.map_link_from_summary(None, {"target_id": "<x>"}, None, "zh") is None


def test_target_card_counts_match_an_independent_evaluation(per_year):
    ds, units = per_year
    u = units[ds.latest_year]
    tw = u[u["unit_level"] == "township"]
    card = workspace.target_summary(TARGET, "", None, [], "zh")
    assert card["counts"]["not_met"] == int((tw["status"] == "not_met").sum())
    assert card["counts"]["met"] == int((tw["status"] == "met").sum())
    county = str(ds.counties["code"].iloc[0])
    mine = tw[tw["unit_code"].astype(str).str.startswith(county)]
    card = workspace.target_summary(TARGET, county, None, [], "zh")
    assert card["counts"]["not_met"] == int((mine["status"] == "not_met").sum())
    assert card["scope"] == str(ds.counties["name"].iloc[0])
