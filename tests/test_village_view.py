"""Village view (dashapp/village_view.py): the villages a township lacks for a village target.

Expected values come from ``coverage.targets.evaluate`` on the embedded data, independently of
the app's cached service and map view.
"""

from __future__ import annotations

from contextvars import copy_context

import pytest
from dash._callback_context import context_value
from dash._utils import AttributeDict

TARGET = "child_home_every_village"


@pytest.fixture(scope="module")
def embedded():
    from dashapp import service

    svc = service.configure(None)
    yield svc
    service.configure(None)


@pytest.fixture(scope="module")
def truth(embedded):
    from coverage.targets import evaluate, load_targets
    from layers.load import load_dataset

    ds = load_dataset()
    res = evaluate(ds, [t for t in load_targets() if t.id == TARGET], ds.latest_year)
    return res.units[res.units["unit_level"] == "village"]


def test_lacking_villages_of_a_township_are_the_evaluated_not_met_ones(embedded, truth):
    from dashapp import village_view

    lack = truth[truth["status"].isin(["not_met", "no_data"])]
    town = lack["township_code"].astype(str).value_counts().index[0]
    want = lack[lack["township_code"].astype(str) == town]
    data = village_view.lacking_villages(TARGET, town, None, [], "zh")
    assert {r["code"] for r in data["rows"]} == set(want["unit_code"].astype(str))
    evaluated = truth[(truth["township_code"].astype(str) == town) & (truth["status"] != "not_applicable")]
    assert data["n_villages"] == len(evaluated)
    names = dict(zip(embedded.ds.villages["code"].astype(str), embedded.ds.villages["name"].astype(str)))
    for r in data["rows"]:
        assert r["name"] == names[r["code"]]
        # 儿童之家 per village: 0 present of 1 required, shown as the gap model's texts
        assert (r["status_label"], r["actual"], r["required"]) == ("未达标", "0", "1")
    # the panel section lists them as buttons, one row each
    section = village_view.section(TARGET, town, None, [], "zh")
    rows = section[2].children[1].children
    assert [row.to_plotly_json()["props"]["data-village"] for row in rows] == [r["code"] for r in data["rows"]]


def test_a_township_target_has_no_village_view(embedded):
    from dashapp import village_view

    town = str(embedded.ds.townships["code"].iloc[0])
    assert village_view.lacking_villages("demo_child_home_per_township", town, None, [], "zh") is None
    assert village_view.section("demo_child_home_per_township", town, None, [], "zh") == []


def test_picking_a_village_flies_to_its_point_and_rings_it(embedded, truth):
    from dashapp.callbacks import village_cb

    code = str(truth["unit_code"].iloc[0])
    pt = embedded.ds.villages.set_index("code").loc[code].geometry

    def run():
        context_value.set(AttributeDict(triggered_inputs=[
            {"prop_id": '{"code":"%s","type":"village-pick"}.n_clicks' % code, "value": 1}]))
        return village_cb.pick_village([None, 1])

    viewport, mark = copy_context().run(run)
    assert viewport["center"] == pytest.approx([pt.y, pt.x], abs=1e-6) and viewport["zoom"] == 14
    assert [f["properties"]["code"] for f in mark["features"]] == [code]
    assert mark["features"][0]["geometry"]["coordinates"] == pytest.approx([pt.x, pt.y], abs=1e-6)
