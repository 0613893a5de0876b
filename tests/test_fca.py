"""2SFCA and enhanced 2SFCA against PySAL's ``access`` package, on real OSM routes.

Routes: every demand–site pair within the catchment by :func:`pair_costs`, checked against
one nearest-facility pass per site (itself checked against networkx on split graphs in
test_snap.py). Real data: the OSM extracts of tests/data/osm (ODbL, © OpenStreetMap
contributors); populations and capacities are random test numbers.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from coverage.access import osm as cn
from coverage.access import load_network, nearest_on_network
from coverage.access.fca import fca_by_unit, step_decay, two_step_fca
from coverage.access.route import pair_costs
from layers import settings
from tests.test_network import MUNICH, OAKLAND, hand_network, points

access = pytest.importorskip("access")


@pytest.fixture(autouse=True)
def _private_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(settings, "CACHE_DIR", str(tmp_path_factory.mktemp("cache")))
    cn.clear_cache()


def pysal(home, site, cost, pop, cap, d0, weight_fn=None) -> tuple[np.ndarray, np.ndarray]:
    """PySAL access: 2SFCA and (with ``weight_fn``) E2SFCA per demand point."""
    demand = pd.DataFrame({"geoid": np.arange(len(pop)), "pop": pop})
    supply = pd.DataFrame({"geoid": np.arange(len(cap)), "cap": cap})
    costs = pd.DataFrame({"origin": home, "dest": site, "cost": cost})
    with warnings.catch_warnings():  # PySAL access uses pandas' deprecated inplace= calls
        warnings.simplefilter("ignore")
        acc = access.Access(demand_df=demand, demand_index="geoid", demand_value="pop",
                            supply_df=supply, supply_index="geoid", supply_value="cap",
                            cost_df=costs, cost_origin="origin", cost_dest="dest",
                            cost_name="cost")
        two = acc.two_stage_fca(name="two", max_cost=d0)["two_cap"]
        enh = acc.enhanced_two_stage_fca(name="enh", max_cost=d0, weight_fn=weight_fn)["enh_cap"]
    return (two.reindex(np.arange(len(pop))).fillna(0).to_numpy(),
            enh.reindex(np.arange(len(pop))).fillna(0).to_numpy())


@pytest.mark.parametrize("src", [OAKLAND, MUNICH], ids=["west_oakland", "munich"])
def test_fca_equals_pysal_access_on_network_routes(src) -> None:
    net = load_network(src)
    rng = np.random.default_rng(5)
    lo, hi = net.node_xy.min(0), net.node_xy.max(0)
    dem = lo + rng.random((150, 2)) * (hi - lo)
    sites = lo + rng.random((12, 2)) * (hi - lo)
    pop = rng.integers(10, 500, len(dem)).astype(float)
    cap = rng.integers(5, 80, len(sites)).astype(float)
    d0 = 400.0
    hs, fs = net.snap_points(dem), net.snap_points(sites)
    ok_h, ok_f = hs.leg_m <= 150, fs.leg_m <= 150
    h, s, c = pair_costs(net, hs, fs, limit=d0, home_ok=ok_h, cand_ok=ok_f)
    assert len(h) > 20 and len(np.unique(s)) > 3
    # every pair cost equals the one-facility nearest route (networkx-checked elsewhere)
    for j in np.unique(s):
        one = nearest_on_network(net, dem, sites[[j]], limit_m=d0, max_snap_m=150)
        mine = np.full(len(dem), np.inf)
        mine[h[s == j]] = c[s == j]
        np.testing.assert_allclose(mine, one.distance_m, atol=1e-6)
    assert not np.isin(np.flatnonzero(~ok_f), s).any()
    a2, _ = two_step_fca(h, s, c, pop, cap, max_cost=d0)
    ae, _ = two_step_fca(h, s, c, pop, cap, max_cost=d0, weight=step_decay(d0))
    r2, re = pysal(h, s, c, pop, cap, d0,
                   weight_fn=access.weights.step_fn({d0 / 3: 1, 2 * d0 / 3: 0.68, d0: 0.22}))
    np.testing.assert_allclose(a2, r2, rtol=0, atol=1e-9)
    np.testing.assert_allclose(ae, re, rtol=0, atol=1e-9)
    assert (a2 > 0).sum() > 10 and not np.allclose(a2, ae)


def test_fca_hand_worked() -> None:
    """Two sites, three homes: R = S / reached demand, A = Σ R (weights 1)."""
    home = np.array([0, 1, 1, 2])
    site = np.array([0, 0, 1, 1])
    cost = np.array([100.0, 200.0, 300.0, 900.0])  # the last pair is beyond d0 = 500
    pop = np.array([100.0, 300.0, 50.0])
    cap = np.array([20.0, 6.0])
    a, r = two_step_fca(home, site, cost, pop, cap, max_cost=500)
    # R0 = 20 / 400 = 0.05; R1 = 6 / 300 = 0.02; A = [0.05, 0.07, 0]
    np.testing.assert_allclose(r, [0.05, 0.02])
    np.testing.assert_allclose(a, [0.05, 0.07, 0.0])
    w = step_decay(600.0)
    np.testing.assert_allclose(w(np.array([0, 150, 200, 201, 450, 600, 601])),
                               [1, 1, 1, 0.68, 0.22, 0.22, 0])


def test_fca_by_unit_on_hand_network(tmp_path) -> None:
    net = hand_network(tmp_path)
    dem = points([(100, 10), (300, 10), (1000, 40)], code=["v1", "v2", "v3"],
                 township_code=["t1", "t1", "t2"], county_code=["c", "c", "c"],
                 pop_under3=[10, 30, 5])
    fac = points([(0, -10)], facility_id=["f"], capacity=[8])
    v, t = fca_by_unit(dem, fac, net, pop_col="pop_under3", d0=500)
    # routes: v1 10+100+10 = 120, v2 10+300+10 = 320, v3 beyond 500 m → R = 8 / 40
    np.testing.assert_allclose(v["fca_2sfca"], [200.0, 200.0, 0.0])  # per 1,000
    # E2SFCA: weights 1 (120 m) and 0.68 (320 m) → R = 8 / (10 + 0.68·30)
    r = 8 / (10 + 0.68 * 30)
    np.testing.assert_allclose(v["fca_e2sfca"], [r * 1000, 0.68 * r * 1000, 0.0])
    np.testing.assert_allclose(t.set_index("township_code").loc["t1", "fca_2sfca"], 200.0)
    from coverage._errors import NetworkError

    with pytest.raises(NetworkError, match="capacity"):
        fca_by_unit(dem, fac.assign(capacity=[None]), net, pop_col="pop_under3", d0=500)


def test_cli_fca_on_embedded_data(tmp_path, capsys: pytest.CaptureFixture) -> None:
    import json

    from covplan.cli import main

    assert main(["fca", "--json", "--catchment-m", "1000"]) == 0
    out = json.loads(capsys.readouterr().out)
    t = pd.DataFrame(out["units"])
    assert out["type"] == "childcare" and out["network"]["provenance"] == "synthetic"
    assert (t["fca_2sfca"].dropna() >= 0).all() and t["fca_2sfca"].notna().sum() > 20
    assert (t["pop_on_network"] <= t["pop"] + 1e-9).all()
    csv = tmp_path / "fca.csv"
    assert main(["fca", "-o", str(csv)]) == 0
    assert csv.read_bytes().startswith(b"\xef\xbb\xbf")
    table = pd.read_csv(csv, encoding="utf-8-sig")
    assert {"两步移动搜索法可达性（每千人）", "增强两步移动搜索法可达性（每千人）"} <= set(table.columns)
    assert table["数据集说明"].str.contains("合成演示数据").all()  # provenance on every row
    assert len(table) == len(out["units"])  # one row per township
    xlsx = tmp_path / "fca.xlsx"
    assert main(["fca", "-o", str(xlsx), "--catchment-m", "1000"]) == 0
    from openpyxl import load_workbook

    wb = load_workbook(xlsx)
    assert wb.sheetnames == ["说明", "乡镇（街道）", "村（社区）"]
    ws = wb["乡镇（街道）"]
    head = [c.value for c in ws[1]]
    got = {str(r[head.index("乡镇代码")]): r[head.index("两步移动搜索法可达性（每千人）")]
           for r in ws.iter_rows(min_row=2, values_only=True)}
    for u in out["units"]:  # the xlsx holds the same numbers as --json
        if u["fca_2sfca"] is None:
            assert got[u["township_code"]] is None
        else:
            assert got[u["township_code"]] == pytest.approx(u["fca_2sfca"], abs=1e-9)
    assert main(["fca", "--type", "fitness"]) == 2  # no capacities: a clear error
    assert "no facility of that type with a capacity" in capsys.readouterr().err
