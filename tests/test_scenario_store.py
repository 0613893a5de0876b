"""Saved scenarios: TOML writer round trip, name validation, atomic writes, confinement."""

from __future__ import annotations

import os
import tomllib
from pathlib import Path

import pytest

from scenarios import store
from scenarios._errors import ScenarioError
from scenarios._toml import dumps, quote_string
from scenarios.model import Scenario, load_scenario

TRICKY = 'a "quoted" \\ back\\slash, tab\t, newline\n, 中文名称「示范」, ctrl\x01, del\x7f'


def _scenario(name: str = "plan_一") -> Scenario:
    return Scenario.from_edits(
        name,
        [
            {"op": "add_facility", "type": "child_home", "tier": "demonstration",
             "village": "331102001002", "name": TRICKY},
            {"op": "add_facility", "type": "childcare", "capacity": 80, "lon": 119.9,
             "lat": 28.45, "crs": "gcj02", "is_inclusive": True},
            {"op": "close_facility", "facility_id": 'F"1\\'},
            {"op": "scale_population", "county": "331102", "factor": 1.035, "projection_year": 2025},
            {"op": "override_target", "target": "childcare_slots_per_1000", "threshold": 5.5},
            {"op": "override_target", "target": "women_community_committee_50", "band": [0.4, 0.6]},
        ],
        year=2024,
        description=TRICKY,
    )


def test_quote_string_escapes_and_reads_back():
    assert quote_string('a"b\\c') == '"a\\"b\\\\c"'
    assert quote_string("\x01") == '"\\u0001"'
    assert tomllib.loads(f"x = {quote_string(TRICKY)}")["x"] == TRICKY


def test_dumps_round_trips_every_value_kind():
    doc = {"name": TRICKY, "n": 3, "f": 0.1, "big": 1e300, "b": False, "l": [1.5, 2.0],
           "key with space": "v", "edits": [{"op": "x", "v": -7, "s": "中"}, {"op": "y"}]}
    assert tomllib.loads(dumps(doc)) == doc
    assert tomllib.loads(dumps({"name": "n", "edits": []})) == {"name": "n", "edits": []}
    with pytest.raises(TypeError):
        dumps({"x": {"nested": 1}})


def test_save_load_round_trip_identical_edits(tmp_path: Path):
    sc = _scenario()
    path = store.save_scenario(sc, root=tmp_path)
    assert path == (tmp_path / "saved" / "plan_一.toml").resolve()
    back = store.load_saved("plan_一", root=tmp_path)
    assert back.to_dict() == sc.to_dict()
    assert back.edits[0].get("name") == TRICKY
    assert back.edits[5].get("band") == (0.4, 0.6)
    # and the file is plain TOML that tomllib reads to the same dict
    assert tomllib.loads(path.read_text(encoding="utf-8")) == sc.to_dict()
    listed = store.list_saved(root=tmp_path)
    assert [(e["name"], e["n_edits"], e["year"], e["error"]) for e in listed] == [
        ("plan_一", 6, 2024, None)
    ]


def test_display_name_with_quotes_backslashes_and_chinese(tmp_path: Path):
    sc = _scenario(name=TRICKY)
    path = store.save_scenario(sc, name="tricky", root=tmp_path)
    assert store.load_saved("tricky", root=tmp_path).name == TRICKY
    assert tomllib.loads(path.read_text(encoding="utf-8"))["name"] == TRICKY
    with pytest.raises(ScenarioError, match="scenario name"):  # but not as a file name
        store.save_scenario(sc, root=tmp_path)


def test_save_under_user_path_inside_root(tmp_path: Path):
    root = tmp_path / "scenarios"
    root.mkdir()
    path = store.save_scenario(_scenario(), path="scenarios/proposals-1.toml", root=root)
    assert path == (root / "proposals-1.toml").resolve()
    assert load_scenario(path).to_dict() == _scenario().to_dict()


@pytest.mark.parametrize(
    "bad", ["", "../evil", "a/b", "a\\b", "..", ".hidden", "-x", "name with space", "x" * 65, "a.b"]
)
def test_bad_names_are_refused(tmp_path: Path, bad: str):
    with pytest.raises(ScenarioError, match="scenario name"):
        store.save_scenario(_scenario(), name=bad, root=tmp_path)
    assert not (tmp_path / "saved").exists() or not any((tmp_path / "saved").iterdir())


def test_paths_outside_root_are_refused(tmp_path: Path):
    root = tmp_path / "scenarios"
    (root / "saved").mkdir(parents=True)
    outside = tmp_path / "outside"
    outside.mkdir()
    with pytest.raises(ScenarioError, match=r"'\.\.' is not allowed"):
        store.save_scenario(_scenario(), path="scenarios/../escape.toml", root=root)
    with pytest.raises(ScenarioError, match=r"'\.\.' is not allowed"):
        store.save_scenario(_scenario(), path="saved/../../x.toml", root=root)
    with pytest.raises(ScenarioError, match="only saved under"):
        store.save_scenario(_scenario(), path=outside / "abs.toml", root=root)
    # a symlinked file inside saved/ pointing outside
    target = outside / "victim.toml"
    target.write_text("keep", encoding="utf-8")
    (root / "saved" / "victim.toml").symlink_to(target)
    with pytest.raises(ScenarioError, match="symlink"):
        store.save_scenario(_scenario(), name="victim", root=root)
    assert target.read_text(encoding="utf-8") == "keep"
    # a symlinked folder inside the root pointing outside
    (root / "linkdir").symlink_to(outside, target_is_directory=True)
    with pytest.raises(ScenarioError, match="only saved under"):
        store.save_scenario(_scenario(), path="scenarios/linkdir/x.toml", root=root)
    assert sorted(p.name for p in outside.iterdir()) == ["victim.toml"]
    with pytest.raises(ScenarioError, match=r"\.toml"):
        store.save_scenario(_scenario(), path="scenarios/x.txt", root=root)


def test_atomic_write_leaves_old_file_when_writing_fails(tmp_path: Path, monkeypatch):
    path = store.save_scenario(_scenario(), name="keep", root=tmp_path)
    before = path.read_bytes()

    def boom(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError, match="disk full"):
        store.save_scenario(_scenario("other"), name="keep", root=tmp_path)
    assert path.read_bytes() == before
    assert sorted(p.name for p in path.parent.iterdir()) == ["keep.toml"]  # no temp left


def test_no_overwrite_and_load_errors(tmp_path: Path):
    store.save_scenario(_scenario(), name="once", root=tmp_path)
    with pytest.raises(ScenarioError, match="exists"):
        store.save_scenario(_scenario(), name="once", root=tmp_path, overwrite=False)
    with pytest.raises(ScenarioError, match="no saved scenario"):
        store.load_saved("missing", root=tmp_path)
    with pytest.raises(ScenarioError, match="scenario name"):
        store.load_saved("../once", root=tmp_path)
    (tmp_path / "saved" / "broken.toml").write_text("name = ", encoding="utf-8")
    entries = {e["name"]: e for e in store.list_saved(root=tmp_path)}
    assert "not valid TOML" in entries["broken"]["error"]
    assert entries["once"]["error"] is None
