"""Absurd scenario values and hostile scenario files (#14).

Before #14: ``factor = 1e300`` printed a ValueError traceback in the CLI and gave HTTP 500 in
the app; a factor of 1e9, a capacity of 1e300 and a point 60 km from its stated village were
accepted; deeply nested TOML raised RecursionError. Each is now a ScenarioError naming the
edit and the documented range.
"""

from __future__ import annotations

import base64
import re
from pathlib import Path

import pytest

from layers import load_dataset
from scenarios._errors import ScenarioError
from scenarios.apply import apply_scenario
from scenarios.model import MAX_DEPTH, NUMERIC_RANGES, Scenario, load_scenario

MINI = Path(__file__).resolve().parent / "data" / "mini"
VILLAGE = "331102007211"  # 青岗村委会, real point (119.884916, 28.494587)


@pytest.fixture(scope="module")
def ds():
    return load_dataset(MINI)


def _sc(*edits: dict) -> Scenario:
    return Scenario.from_edits("t", list(edits), year=2024)


@pytest.mark.parametrize(("edit", "message"), [
    ({"op": "scale_population", "county": "331102", "factor": 1e300}, "factor must lie between 0.1 and 10"),
    ({"op": "scale_population", "county": "331102", "factor": 1e9}, "factor must lie between 0.1 and 10"),
    ({"op": "scale_population", "county": "331102", "factor": 0.01}, "factor must lie between 0.1 and 10"),
    ({"op": "scale_population", "county": "331102", "factor": 1.1, "projection_year": 3000},
     "projection_year must lie between 2000 and 2100"),
    ({"op": "set_capacity", "facility_id": "F1", "capacity": 1e300}, "capacity must lie between 0 and 10000"),
    ({"op": "set_capacity", "facility_id": "F1", "capacity": 10_001}, "capacity must lie between 0 and 10000"),
    ({"op": "add_facility", "type": "public_place", "village": VILLAGE, "daily_visitors": 10**12},
     "daily_visitors must lie between 0 and 1000000"),
    ({"op": "add_facility", "type": "public_place", "village": VILLAGE, "building_area_m2": 1e300},
     "building_area_m2 must lie between 0 and 1000000"),
    ({"op": "add_facility", "type": "child_home", "lon": 1e300, "lat": 28.5}, "lon must lie between -180 and 180"),
    ({"op": "add_facility", "type": "child_home", "lon": 119.9, "lat": -1e300}, "lat must lie between -90 and 90"),
    ({"op": "override_target", "target": "x", "threshold": 1e300}, "threshold must lie between 0 and 1000000"),
    ({"op": "override_target", "target": "x", "band": [0.1, 1e300]}, "band must lie between 0 and 1000000"),
])
def test_numeric_edits_outside_their_documented_range_are_refused(edit: dict, message: str) -> None:
    with pytest.raises(ScenarioError, match=re.escape(f"edit #1 ({edit['op']}): {message}")):
        _sc(edit)


def test_every_numeric_key_has_a_range() -> None:
    assert set(NUMERIC_RANGES) == {"capacity", "daily_visitors", "building_area_m2", "projection_year", "factor",
                                   "threshold", "band", "lon", "lat"}


def test_values_inside_the_ranges_still_work(ds) -> None:
    sc = _sc({"op": "scale_population", "county": "331102", "factor": 10.0},
             {"op": "add_facility", "type": "childcare", "village": VILLAGE, "capacity": 10_000})
    ds2, _ = apply_scenario(sc, ds)
    assert int(ds2.counties["pop_total"].iloc[0]) == round(int(ds.counties["pop_total"].iloc[0]) * 10)


def test_a_point_60_km_from_its_stated_village_is_refused(ds) -> None:
    sc = _sc({"op": "add_facility", "type": "child_home", "village": VILLAGE, "lon": 120.5, "lat": 28.49})
    with pytest.raises(ScenarioError, match=r"edit #1 \(add_facility\): point \(120\.500000, 28\.490000\) lies "
                                            r"60\.\d km from its stated village 青岗村委会 \(331102007211\)"):
        apply_scenario(sc, ds)
    near = _sc({"op": "add_facility", "type": "child_home", "village": VILLAGE, "lon": 119.8851, "lat": 28.4947})
    ds2, _ = apply_scenario(near, ds)
    assert (ds2.facilities["village_code"] == VILLAGE).sum() >= 1


def _nested(tmp_path: Path, depth: int) -> Path:
    p = tmp_path / "deep.toml"
    p.write_text('name = "x"\nnote = ' + "[" * depth + "]" * depth + "\n", encoding="utf-8")
    return p


def test_deeply_nested_toml_is_a_clear_error(tmp_path) -> None:
    with pytest.raises(ScenarioError, match=r"deep.toml: not a scenario: key 'note' \(line 2\): nested more than 8"):
        load_scenario(_nested(tmp_path, 100_000))
    with pytest.raises(ScenarioError, match=f"nested more than {MAX_DEPTH} levels deep"):
        load_scenario(_nested(tmp_path, 50))


def test_the_cli_prints_one_line_for_absurd_and_nested_scenarios(tmp_path, capsys) -> None:
    from covplan.cli import main

    bad = tmp_path / "bad.toml"
    bad.write_text('name = "x"\n[[edits]]\nop = "scale_population"\ncounty = "331102"\nfactor = 1e300\n',
                   encoding="utf-8")
    assert main(["--data", str(MINI), "scenario", "run", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "factor must lie between 0.1 and 10" in err and "Traceback" not in err
    assert main(["--data", str(MINI), "scenario", "run", str(_nested(tmp_path, 100_000))]) == 2
    err = capsys.readouterr().err
    assert "key 'note' (line 2): nested more than 8 levels deep" in err and "Traceback" not in err


def test_the_app_upload_answers_with_a_message_not_a_500(tmp_path) -> None:
    from dashapp import queries_scenario as qs
    from dashapp import service
    from layers._errors import CovplanError

    service.configure(MINI)
    try:
        for text in ('name = "x"\n[[edits]]\nop = "scale_population"\ncounty = "331102"\nfactor = 1e300\n',
                     'name = "x"\nnote = ' + "[" * 100_000 + "]" * 100_000 + "\n"):
            upload = "data:application/toml;base64," + base64.b64encode(text.encode()).decode()
            with pytest.raises(CovplanError, match="factor must lie between|情景.toml: not a scenario: key 'note'"):
                qs.parse_upload(upload, "/home/someone/情景.toml")
    finally:
        service.configure(None)
