"""The 2SFCA context layer of the app (dashapp/fca_layer.py) and its export, on the embedded data.

Expected values are computed here a second way: the (home, site, cost) pairs of the walking
network go through PySAL's ``access`` package (2SFCA and E2SFCA with the 1/0.68/0.22 steps),
and the township values are population-weighted means of the village values over the villages
on the network, summed with pandas. The layer's colours, tooltips and panel rows must show
those numbers.
"""

from __future__ import annotations

import io
import json
import warnings

import numpy as np
import pandas as pd
import pytest

from coverage.outputs.formatting import format_number
from dashapp import fca_layer
from dashapp.fca_layer import NO_VALUE_COLOUR, colour_for

access = pytest.importorskip("access")

BUDGET_BYTES = 300_000


@pytest.fixture(scope="module")
def svc():
    from dashapp import service

    return service.configure(None, None)


@pytest.fixture(scope="module")
def independent(svc) -> tuple[pd.DataFrame, pd.Series]:
    """Village E2SFCA/2SFCA per 1,000 from PySAL access, and township E2SFCA by pandas."""
    from coverage.access.nearest import DEFAULT_MAX_SNAP_M
    from coverage.access.route import pair_costs

    ds = svc.ds
    net = svc._network()
    yr = ds.latest_year
    fac = ds.facilities_for(yr)
    fac = fac[(fac["type"] == "childcare") & fac["capacity"].notna()]
    vil = ds.villages
    hs = net.snap_points(net.project(vil.geometry.x.to_numpy(), vil.geometry.y.to_numpy()))
    fs = net.snap_points(net.project(fac.geometry.x.to_numpy(), fac.geometry.y.to_numpy()))
    h_ok, f_ok = hs.leg_m <= DEFAULT_MAX_SNAP_M, fs.leg_m <= DEFAULT_MAX_SNAP_M
    d0 = fca_layer.CATCHMENT_M
    h, s, c = pair_costs(net, hs, fs, limit=d0, home_ok=h_ok, cand_ok=f_ok)
    pop = vil["pop_under3"].to_numpy(float)
    demand = pd.DataFrame({"geoid": np.arange(len(pop)), "pop": pop})
    supply = pd.DataFrame({"geoid": np.arange(len(fac)), "cap": fac["capacity"].to_numpy(float)})
    costs = pd.DataFrame({"origin": h, "dest": s, "cost": c})
    with warnings.catch_warnings():  # PySAL access uses pandas' deprecated inplace= calls
        warnings.simplefilter("ignore")
        acc = access.Access(demand_df=demand, demand_index="geoid", demand_value="pop",
                            supply_df=supply, supply_index="geoid", supply_value="cap",
                            cost_df=costs, cost_origin="origin", cost_dest="dest", cost_name="cost")
        two = acc.two_stage_fca(name="two", max_cost=d0)["two_cap"]
        enh = acc.enhanced_two_stage_fca(
            name="enh", max_cost=d0,
            weight_fn=access.weights.step_fn({d0 / 3: 1, 2 * d0 / 3: 0.68, d0: 0.22}))["enh_cap"]
    v = pd.DataFrame({
        "code": vil["code"].astype(str).to_numpy(), "township_code": vil["township_code"].astype(str).to_numpy(),
        "pop": pop, "on": h_ok,
        "two": two.reindex(np.arange(len(pop))).fillna(0).to_numpy() * 1000,
        "enh": enh.reindex(np.arange(len(pop))).fillna(0).to_numpy() * 1000,
    })
    on = v[v["on"]]
    wsum = (on["enh"] * on["pop"]).groupby(on["township_code"]).sum()
    psum = on["pop"].groupby(on["township_code"]).sum()
    town = (wsum / psum.where(psum > 0)).reindex(sorted(set(v["township_code"])))
    return v, town


def test_colour_breaks_by_hand() -> None:
    assert colour_for(None) == colour_for(float("nan")) == NO_VALUE_COLOUR
    assert colour_for(0.0) == colour_for(25.0) == "#f1eef6"
    assert colour_for(25.01) == "#bdc9e1"
    assert colour_for(150.0) == "#74a9cf" and colour_for(299.9) == "#2b8cbe"
    assert colour_for(1e6) == "#045a8d"


def test_layer_values_equal_pysal_access(svc, independent) -> None:
    v_ind, town = independent
    hide = fca_layer.hideout(None, [], "none", "zh")
    assert set(hide["colour"]) == set(town.index)
    assert town.notna().sum() > 40 and (town.dropna() > 0).sum() > 20  # a map with something on it
    for code, want in town.items():
        assert hide["colour"][code] == colour_for(want), code
        text = format_number(want, "ratio") if np.isfinite(want) else "—"
        assert f"增强两步移动搜索法可达性（每千人） {text} ·" in hide["tip"][code], code
    # the table behind the layer, unrounded: equal within 1e-9 per village
    v, tw, _yr = fca_layer.tables(None, [])
    mine = v.set_index("code")
    ind = v_ind.set_index("code")
    on = ind["on"].to_numpy()
    np.testing.assert_allclose(mine.loc[ind.index[on], "fca_e2sfca"], ind.loc[on, "enh"], atol=1e-9)
    np.testing.assert_allclose(mine.loc[ind.index[on], "fca_2sfca"], ind.loc[on, "two"], atol=1e-9)
    assert mine.loc[ind.index[~on], "fca_e2sfca"].isna().all()  # off the network: no value
    np.testing.assert_allclose(tw.set_index("township_code")["fca_e2sfca"].reindex(town.index), town,
                               atol=1e-9)


def test_panel_rows_are_the_villages_of_the_township(svc, independent) -> None:
    v_ind, town = independent
    code = town.dropna().index[0]
    info = fca_layer.township_fca(code, None, [], "en")
    assert info["township"]["fca_e2sfca"] == format_number(town[code], "ratio")
    mine = v_ind[v_ind["township_code"] == code].sort_values("code")
    assert [r["fca_2sfca"] for r in info["villages"]] == [
        format_number(x, "ratio") if on else "—" for x, on in zip(mine["two"], mine["on"])]
    assert "synthetic" in info["note"] and "not a plan target" in info["note"]


def test_layer_payload_and_values_only_on_change(svc) -> None:
    off = fca_layer.layer_view(False, None, [], "none", "zh", None)
    assert off["data"]["features"] == [] and off["legend"] == []
    first = fca_layer.layer_view(True, None, [], "none", "zh", None)
    size = len(json.dumps([first["data"], first["hideout"], first["legend"], first["note"]],
                          ensure_ascii=False, separators=(",", ":")).encode())
    assert size < BUDGET_BYTES, size
    assert len(first["data"]["features"]) == len(svc.ds.townships)
    again = fca_layer.layer_view(True, None, [], "none", "en", first["hideout"])
    assert again["data"] is None  # the browser has the outlines: values only
    assert len(json.dumps(again["hideout"], ensure_ascii=False).encode()) < 40_000
    labels = [e["label"] for e in again["legend"]]
    assert labels[0] == "0–25 per 1,000" and labels[-1].startswith("No value")
    assert {e["section"] for e in first["legend"]} == {"托位可达性（两步移动搜索法）"}
    assert "合成演示数据" in first["note"] and "不是规划目标" in first["note"]


def test_scenario_facility_raises_its_township(svc) -> None:
    _v, tw, yr = fca_layer.tables(None, [])
    none = tw[(tw["fca_e2sfca"] == 0) & (tw["pop_on_network"] > 0)]
    assert len(none), "a township with children on the network and no place within reach"
    code = str(none["township_code"].iloc[0])
    vil = svc.ds.villages
    village = str(vil[(vil["township_code"] == code)].sort_values("pop_under3")["code"].iloc[-1])
    edits = [{"op": "add_facility", "type": "childcare", "village": village, "capacity": 30,
              "facility_id": "APP-1", "name": "新托育点"}]
    _v2, tw2, _ = fca_layer.tables(yr, edits)
    assert float(tw2.set_index("township_code").loc[code, "fca_e2sfca"]) > 0


def test_export_csv_and_xlsx(svc) -> None:
    from openpyxl import load_workbook

    data, name = fca_layer.export("csv", None, [], "zh")
    assert name.endswith(".csv") and data.startswith(b"\xef\xbb\xbf")
    df = pd.read_csv(io.BytesIO(data), encoding="utf-8-sig", dtype=str)
    assert {"乡镇（街道）", "3岁以下婴幼儿", "两步移动搜索法可达性（每千人）", "数据集说明"} <= set(df.columns)
    assert len(df) == len(svc.ds.townships)
    assert df["数据集说明"].str.contains("合成演示数据").all()
    assert not df.isin(["nan", "None"]).any().any()
    xbytes, xname = fca_layer.export("xlsx", None, [], "zh")
    wb = load_workbook(io.BytesIO(xbytes))
    assert wb.sheetnames == ["说明", "乡镇（街道）", "村（社区）"]
    assert wb["村（社区）"].max_row == len(svc.ds.villages) + 1


def test_export_is_formula_safe() -> None:
    from coverage.outputs.fca_export import fca_bytes

    t = pd.DataFrame({"township_code": ["331102001"], "county_code": ["331102"], "unit_name": ["=HYPERLINK(1)"],
                      "pop": [10.0], "pop_on_network": [10.0], "fca_2sfca": [12.345], "fca_e2sfca": [np.nan],
                      "facility_type": ["childcare"], "catchment_m": [1500.0],
                      "provenance": ["facilities=synthetic;population=estimated"]})
    out = pd.read_csv(io.BytesIO(fca_bytes("csv", t.iloc[0:0], t)), encoding="utf-8-sig", dtype=str)
    assert out.loc[0, "乡镇（街道）"] == "'=HYPERLINK(1)"
    assert out.loc[0, "两步移动搜索法可达性（每千人）"] == "12.35"
    assert pd.isna(out.loc[0, "增强两步移动搜索法可达性（每千人）"])  # empty cell, never "nan"


def test_callback_sends_outlines_once_then_values(svc) -> None:
    from dash import no_update

    from dashapp.callbacks import access_cb

    data, hide, legend, note = access_cb.fca_layer_view(["on"], None, None, "none", "en", None)
    assert len(data["features"]) == len(svc.ds.townships) and hide["geom"] == "none"
    assert legend.children[0].children == "Childcare places within walking reach (2SFCA)"  # no 2nd heading
    assert "synthetic" in note
    data2, hide2, _l, _n = access_cb.fca_layer_view(["on"], None, None, "none", "zh", hide)
    assert data2 is no_update and hide2["tip"] != hide["tip"]  # zh tooltips, same outlines
    off = access_cb.fca_layer_view([], None, None, "none", "zh", hide2)
    assert off[0]["features"] == [] and off[1] == {} and off[2] == []
