"""dashapp.state and dashapp.labels: Store values ⇄ typed state, validation, labels."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from dashapp.labels import has_term, shortfall_text, t, target_clause
from dashapp.state import (
    MAX_EDITS,
    ScenarioState,
    Selection,
    StateError,
    ViewState,
    edits_key,
    validate_edit,
    validate_scenario_name,
)
from scenarios._errors import ScenarioError

ADD = {"op": "add_facility", "type": "child_home", "tier": "demonstration", "lon": 119.9, "lat": 28.5,
       "crs": "wgs84", "facility_id": "APP-001"}


def test_scenario_state_round_trip_keeps_edits_in_order():
    state = ScenarioState("方案一", ()).with_edit(ADD).with_edit({"op": "close_facility", "facility_id": "F002"})
    data = state.to_json()
    assert data["name"] == "方案一"
    assert [e["op"] for e in data["edits"]] == ["add_facility", "close_facility"]
    back = ScenarioState.from_json(data)
    assert back == state
    assert back.key == state.key != ""
    assert back.without_last().edits == state.edits[:1]


def test_edits_key_is_stable_and_distinguishes_edits():
    a = [dict(ADD)]
    b = [dict(ADD, lon=119.91)]
    assert edits_key(a) == edits_key([dict(reversed(list(ADD.items())))])  # key order does not matter
    assert edits_key(a) != edits_key(b)
    assert edits_key([]) == ""


@pytest.mark.parametrize(
    ("edit", "fragment"),
    [
        ({"op": "demolish", "facility_id": "F1"}, "unknown op"),
        ({"op": "close_facility"}, "missing key 'facility_id'"),
        ({"op": "close_facility", "facility_id": "F1", "evil": 1}, "unknown key 'evil'"),
        ({"op": "add_facility", "type": "spaceport", "lon": 119.9, "lat": 28.5}, "unknown facility type"),
        ({"op": "add_facility", "type": "child_home"}, "give a location"),
        ({"op": "add_facility", "type": "childcare", "lon": 119.9, "lat": 28.5}, "needs a capacity"),
        ("not a dict", "must be a table"),
    ],
)
def test_bad_edits_from_the_browser_are_rejected_with_the_reason(edit, fragment):
    with pytest.raises(StateError, match=re.escape(fragment)):
        validate_edit(edit, 0)
    with pytest.raises(StateError):
        ScenarioState.from_json({"name": "", "edits": [edit]})


def test_store_shape_errors_name_the_field():
    with pytest.raises(StateError, match="edits"):
        ScenarioState.from_json({"name": "x", "edits": "oops"})
    with pytest.raises(StateError, match="name"):
        ScenarioState.from_json({"name": 5, "edits": []})
    with pytest.raises(StateError, match="at most"):
        ScenarioState.from_json({"name": "x", "edits": [ADD] * (MAX_EDITS + 1)})
    assert ScenarioState.from_json(None) == ScenarioState()


@pytest.mark.parametrize("name", ["方案_1", "plan-2024", "A"])
def test_valid_scenario_names(name):
    assert validate_scenario_name(f" {name} ") == name


@pytest.mark.parametrize("name", ["", "../evil", "a/b", "a b", "x.toml", "-x", "a" * 65, "..", "a\\b"])
def test_invalid_scenario_names_never_reach_the_file_system(name):
    with pytest.raises(ScenarioError):
        validate_scenario_name(name)


def test_selection_and_view_parsing():
    assert Selection.from_json({"township_code": "331102007"}).township_code == "331102007"
    with pytest.raises(StateError, match="township_code"):
        Selection.from_json({"township_code": "<script>"})
    view = ViewState.from_json({"target_id": "x", "year": "2024", "lang": "fr", "basemap": "google"})
    assert (view.year, view.lang, view.basemap) == (2024, "zh", "none")
    with pytest.raises(StateError, match="year"):
        ViewState.from_json({"year": "soon"})


def test_labels_come_from_the_glossary_in_both_languages():
    assert t("met", "zh") == "达标" and t("met", "en") == "Met"
    assert t("not_met", "xx") == "未达标"  # unknown language falls back to Chinese
    assert shortfall_text(3, "facilities", "zh") == "缺口量: 3个设施"
    assert shortfall_text(2.5, "pp", "en") == "Shortfall: 2.50 percentage points"
    assert shortfall_text(0, "facilities", "zh") == ""


def test_every_label_key_used_by_the_app_is_a_glossary_term():
    """Scan the app's source for t("key", …) calls: each key must be in layers/glossary.py."""
    root = Path(__file__).resolve().parent.parent / "dashapp"
    keys = set()
    for path in root.rglob("*.py"):
        keys |= set(re.findall(r"""\bt\(\s*["']([a-z_0-9]+)["']""", path.read_text(encoding="utf-8")))
    assert len(keys) > 40
    missing = sorted(k for k in keys if not has_term(k))
    assert missing == []


def test_target_clause_quotes_the_clause_and_lines():
    class Src:
        clause = "每个乡镇（街道）建有1家以上示范型儿童之家"
        lines = (721, 945)

    class Tg:
        source = Src()

    assert target_clause(Tg()) == "每个乡镇（街道）建有1家以上示范型儿童之家（L721, L945）"


def test_lru_computes_a_value_once_for_concurrent_callers_and_evicts_the_oldest():
    import threading
    import time

    from dashapp.service import LRU

    cache = LRU(2)
    calls = []

    def slow():
        calls.append(1)
        time.sleep(0.2)
        return 42

    results = []
    threads = [threading.Thread(target=lambda: results.append(cache.get_or_compute("k", slow))) for _ in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert results == [42] * 4 and len(calls) == 1
    cache.get_or_compute("a", lambda: 1)
    cache.get_or_compute("b", lambda: 2)
    assert len(cache) == 2 and cache.get_or_compute("k", lambda: 7) == 7  # "k" was evicted

    def boom():
        raise ValueError("bad")

    with pytest.raises(ValueError):
        cache.get_or_compute("x", boom)
    assert cache.get_or_compute("x", lambda: 3) == 3  # a failed computation is not cached
