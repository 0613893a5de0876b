"""Relief in the township panel (dashapp/relief_panel.py) equals ``covplan access --dem --json``.

The DEM is the SRTM tile of the south of Lishui in the shared data folder
(``../shared/data/dem/N27E119.hgt``, public domain, see ``../shared/data/SOURCES.md``); it
is not shipped with the repository, so the DEM tests are skipped where it is absent.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dashapp import relief_panel

DEM = Path(__file__).resolve().parents[2] / "shared" / "data" / "dem" / "N27E119.hgt"
if not DEM.is_file():  # the worktrees sit beside /work/shared
    DEM = Path("/work/shared/data/dem/N27E119.hgt")
needs_dem = pytest.mark.skipif(not DEM.is_file(), reason="SRTM tile N27E119.hgt not present")
TARGET = "fitness_10min_circle"


@pytest.fixture()
def svc(monkeypatch: pytest.MonkeyPatch):
    from dashapp import service

    monkeypatch.delenv(relief_panel.ENV_DEM, raising=False)
    yield service.configure(None, None)
    relief_panel.configure(None)


@pytest.fixture(scope="module")
def cli_units() -> dict[tuple[str, str], dict]:
    """``covplan access --target fitness_10min_circle --dem N27E119.hgt --json`` rows."""
    import contextlib
    import io

    from covplan.cli import main

    if not DEM.is_file():
        pytest.skip("SRTM tile N27E119.hgt not present")
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        assert main(["access", "--target", TARGET, "--dem", str(DEM), "--json"]) == 0
    out = json.loads(buf.getvalue())
    return {(u["unit_level"], u["unit_code"]): u for u in out["units"]}


def _code(svc, name: str) -> str:
    tw = svc.ds.townships
    return str(tw.loc[tw["name"] == name, "code"].iloc[0])


@needs_dem
@pytest.mark.parametrize("name, state", [("左溪镇", "full"), ("紫金街道", "none")])
def test_panel_numbers_equal_cli_json(svc, cli_units, name: str, state: str) -> None:
    relief_panel.configure(DEM)
    code = _code(svc, name)
    cli = cli_units[("township", code)]
    info = relief_panel.township_relief(code, TARGET, None, [], "zh")
    assert info["state"] == state == cli["dem_coverage"]
    nums = info["numbers"]
    for key in ("pop_demand", "pop_covered_flat", "pop_covered_terrain", "pop_gained", "pop_lost"):
        assert nums[key] == pytest.approx(cli[key], abs=1e-9), key
    assert info["lost"] == f"{round(cli['pop_lost']):,d}" and info["gained"] == f"{round(cli['pop_gained']):,d}"
    assert info["rows"][1][1:] == (f"{round(cli['pop_covered_flat']):,d}", f"{round(cli['pop_covered_terrain']):,d}")
    if state == "none":  # outside the DEM: flat time, and the panel says so
        assert nums["pop_covered_terrain"] == nums["pop_covered_flat"] and nums["pop_lost"] == 0
        assert "不在高程数据范围内" in info["message"]
    else:
        assert cli["pop_lost"] > 0 and info["message"] == ""  # 左溪镇: the hills cost coverage
    assert "SRTM" in info["source"] and "合成演示数据" in info["source"]


@needs_dem
def test_panel_follows_a_scenario(svc) -> None:
    relief_panel.configure(DEM)
    code = _code(svc, "左溪镇")
    base = relief_panel.township_relief(code, TARGET, None, [], "en")["numbers"]
    vil = svc.ds.villages
    village = str(vil[(vil["township_code"] == code) & vil["is_urban"]]["code"].iloc[0])
    edits = [{"op": "add_facility", "type": "fitness", "level": "village", "village": village,
              "facility_id": "APP-1", "name": "new"}]
    info = relief_panel.township_relief(code, TARGET, None, edits, "en")
    assert info["numbers"]["pop_covered_terrain"] > base["pop_covered_terrain"]
    assert "scenario" in info["message"]


def test_without_a_dem_the_panel_says_how_to_add_one(svc) -> None:
    info = relief_panel.township_relief(_code(svc, "左溪镇"), TARGET, None, [], "zh")
    assert info["state"] == "no_dem" and "--dem" in info["message"] and info["rows"] == []


def test_only_minutes_targets_get_the_section(svc) -> None:
    assert relief_panel.township_relief(_code(svc, "左溪镇"), "demo_child_home_per_township", None, [], "zh") is None
    assert relief_panel.township_relief(_code(svc, "左溪镇"), "no_such_target", None, [], "zh") is None


def test_app_rejects_a_missing_dem(tmp_path, capsys: pytest.CaptureFixture) -> None:
    from covplan.cli import main

    assert main(["app", "--dem", str(tmp_path / "none.hgt"), "--port", "0"]) == 2
    assert "none.hgt: DEM file not found" in capsys.readouterr().err
