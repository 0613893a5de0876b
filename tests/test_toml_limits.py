"""Size and nesting limits on TOML from outside (#14): target files and the server's saved scenarios.

Before: a target file nested a few hundred levels deep raised RecursionError out of
``load_targets`` (a traceback in ``covplan evaluate``, HTTP 500 in the app), a target or
scenario file of any size was read whole, and the city server's per-user scenarios were
parsed with bare ``tomllib`` (no size or nesting limit). Now each is refused with an error
naming the file (or saved scenario) and the key.
"""

from __future__ import annotations

import tomllib

import pytest
import sqlalchemy as sa

from coverage._errors import TargetSpecError
from coverage.targets import load_targets
from coverage.targets.spec import MAX_TARGET_BYTES
from layers.settings import REPO_ROOT
from layers.toml_guard import TomlLimitError, loads_guarded, nesting_problem
from scenarios._errors import ScenarioError
from scenarios.model import MAX_SCENARIO_BYTES, Scenario, load_scenario

TARGETS = REPO_ROOT / "data" / "targets"
GOOD = "child_home_1_plus_n.toml"


# ----------------------------------------------------------------------------- the guard
def test_inline_nesting_is_refused_before_parsing_naming_key_and_line():
    text = 'id = "x"\n\n[source]\nnote = ' + "[" * 100_000 + "]" * 100_000 + "\n"
    with pytest.raises(TomlLimitError, match=r"^key 'note' \(line 4\): nested more than 8 levels deep$"):
        loads_guarded(text, max_bytes=10**6, max_depth=8)
    deep_table = "x = " + "{a = " * 20 + "1" + "}" * 20 + "\n"
    with pytest.raises(TomlLimitError, match=r"key 'x' \(line 1\)"):
        loads_guarded(deep_table, max_bytes=10**6, max_depth=8)


def test_dotted_keys_nest_without_brackets_and_are_caught_after_parsing():
    text = "a.b.c.d.e.f.g.h.i.j = 1\n"
    assert tomllib.loads(text)  # valid TOML, 10 tables deep
    with pytest.raises(TomlLimitError, match=r"^key 'a\.b\.c\.d\.e\.f\.g\.h': nested more than 8 levels deep$"):
        loads_guarded(text, max_bytes=10**6, max_depth=8)


def test_brackets_in_strings_comments_and_headers_do_not_count():
    text = ('[source]  # [[[[[[[[[[[[\n'
            'title = "[[[[[[[[[[[[[[ {{{{{{{{{{{"\n'
            "lit = '[[[[[[[[[[[[[[[['\n"
            'multi = """\n[[[[[[[[[[[[[\n"""\n'
            'esc = "\\"[[[[[[[[[[[[[["\n'
            '[[rows]]\n'
            'm = [\n  [1, [2, [3]]],\n  [4],\n]\n')
    doc = loads_guarded(text, max_bytes=10**6, max_depth=8)
    assert doc["source"]["title"].startswith("[[[") and doc["rows"][0]["m"][0] == [1, [2, [3]]]
    # exactly at the limit passes; one more level is refused (7 brackets + the document and the key's
    # table: the parsed check counts the top table as level 0)
    ok = "v = " + "[" * 7 + "]" * 7 + "\n"
    assert loads_guarded(ok, max_bytes=10**6, max_depth=8)
    with pytest.raises(TomlLimitError):
        loads_guarded("v = " + "[" * 8 + "]" * 8 + "\n", max_bytes=10**6, max_depth=8)


def test_nesting_problem_names_the_path():
    doc = {"edits": [{"op": "x", "p": {"q": [[[[[[[1]]]]]]]}}]}
    assert nesting_problem(doc, 8) == "key 'edits[0].p.q[0][0][0][0]': nested more than 8 levels deep"
    assert nesting_problem(doc, 12) is None


def test_oversized_text_is_refused():
    with pytest.raises(TomlLimitError, match=r"^1,001 bytes, above the limit of 1,000 bytes$"):
        loads_guarded("#" * 1000 + "\n", max_bytes=1000)
    # bytes, not characters: 400 Chinese characters are 1,200 bytes of UTF-8
    with pytest.raises(TomlLimitError, match="^1,207 bytes"):  # 5 + 400 × 3 + 2
        loads_guarded('t = "' + "中" * 400 + '"\n', max_bytes=1000)


# ----------------------------------------------------------------------------- target files
def _folder_with(tmp_path, name: str, text: str):
    folder = tmp_path / "targets"
    folder.mkdir()
    (folder / GOOD).write_text((TARGETS / GOOD).read_text(encoding="utf-8"), encoding="utf-8")
    (folder / name).write_text(text, encoding="utf-8")
    return folder


def test_a_deeply_nested_target_file_names_the_file_and_key(tmp_path):
    good = (TARGETS / GOOD).read_text(encoding="utf-8")
    hostile = good.replace('id = "child_home_1_plus_n"', 'id = "deep"') + "\n[extra]\nx = " + "[" * 20_000 + "]" * 20_000 + "\n"
    line = hostile[:hostile.index("\nx = ")].count("\n") + 2
    folder = _folder_with(tmp_path, "deep.toml", hostile)
    with pytest.raises(TargetSpecError, match=rf"^deep\.toml: key 'x' \(line {line}\): nested more than 8 levels deep$"):
        load_targets(folder)
    dotted = good.replace('id = "child_home_1_plus_n"', 'id = "dotted"') + "\nz.a.b.c.d.e.f.g.h = 1\n"  # lands in the last table, [source]
    (folder / "deep.toml").unlink()
    (folder / "dotted.toml").write_text(dotted, encoding="utf-8")
    with pytest.raises(TargetSpecError, match=r"^dotted\.toml: key 'source\.z\.a\.b\.c\.d\.e\.f': nested more than 8"):
        load_targets(folder)


def test_an_oversized_target_file_is_refused_before_it_is_read(tmp_path):
    good = (TARGETS / GOOD).read_text(encoding="utf-8").replace('id = "child_home_1_plus_n"', 'id = "big"')
    text = good + ("# padding\n" * (MAX_TARGET_BYTES // 10 + 1))
    folder = _folder_with(tmp_path, "big.toml", text)
    size = len(text.encode("utf-8"))
    assert size > MAX_TARGET_BYTES
    with pytest.raises(TargetSpecError, match=rf"^big\.toml: {size:,} bytes, above the limit of 65,536 bytes$"):
        load_targets(folder)
    (folder / "big.toml").write_text(good, encoding="utf-8")  # the same target without padding loads
    assert sorted(t.id for t in load_targets(folder)) == ["big", "child_home_1_plus_n"]


# ----------------------------------------------------------------------------- scenarios
def test_an_oversized_scenario_file_is_refused(tmp_path):
    p = tmp_path / "huge.toml"
    p.write_text('name = "x"\n' + "# padding\n" * (MAX_SCENARIO_BYTES // 10 + 1), encoding="utf-8")
    with pytest.raises(ScenarioError, match=r"huge\.toml: not a scenario: [\d,]+ bytes, above the limit of 1,048,576"):
        load_scenario(p)


@pytest.fixture()
def repo(tmp_path):
    from dashapp.server.accounts import Accounts
    from dashapp.server.user_scenarios import UserScenarios

    engine = sa.create_engine(f"sqlite:///{tmp_path / 'store.db'}")
    Accounts(engine).create_schema()
    yield UserScenarios(engine)
    engine.dispose()


def test_the_servers_saved_scenarios_keep_the_limits(repo, monkeypatch):
    import scenarios.model as model
    from store.server_schema import user_scenarios

    edits = [{"op": "close_facility", "facility_id": f"CH-331102001001-{i:02d}"} for i in range(1, 40)]
    sc = Scenario.from_edits("规划", edits, year=2024, source="<test>")
    assert repo.save_as("ann", sc, "plan") == "ann/plan"
    with repo.engine.connect() as con:
        size = len(con.execute(sa.select(user_scenarios.c.toml)).scalar_one().encode("utf-8"))
    monkeypatch.setattr(model, "MAX_SCENARIO_BYTES", size - 1)  # the same scenario, one byte over
    with pytest.raises(ScenarioError, match=rf"^ann/big: not a scenario: {size:,} bytes, above the limit"):
        repo.save_as("ann", sc, "big")
    with pytest.raises(ScenarioError, match="ann/plan: not a scenario"):  # an over-limit row is not opened
        repo.load_for("ann", "ann", "plan")
    monkeypatch.undo()
    assert [r["name"] for r in repo.visible("ann")] == ["plan"]  # the refused save wrote nothing
    assert len(repo.load_for("ann", "ann", "plan").edits) == 39
    # a hostile row (written around the app) is refused by name and key, never a RecursionError
    with repo.engine.begin() as con:
        con.execute(user_scenarios.insert().values(owner="ann", name="deep", toml='name = "x"\nnote = '
                                                   + "[" * 100_000 + "]" * 100_000 + "\n",
                                                   n_edits=0, shared=False, created_at=0, updated_at=0))
    with pytest.raises(ScenarioError, match=r"^ann/deep: not a scenario: key 'note' \(line 2\): nested more than 8"):
        repo.load_for("ann", "ann", "deep")
