"""Accounts, roles and per-user scenarios of the city server, on a real database (SQLite file).

The same code runs on PostGIS in tests/test_server_live.py; here each rule is checked
directly: argon2 hashes, 10 wrong passwords lock, passwd unlocks and ends sessions,
county rights, scenarios never overwritten by another user.
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from dashapp.server import accounts as acc
from dashapp.server.accounts import Accounts
from dashapp.server.roles import AccessDenied, Actor
from dashapp.server.user_scenarios import UserScenarios
from layers._errors import CovplanError
from scenarios._errors import ScenarioError

PW = "correct horse 1"


@pytest.fixture()
def accts(tmp_path):
    a = Accounts(sa.create_engine(f"sqlite:///{tmp_path / 'store.db'}"))
    a.create_schema()
    return a


def test_password_is_stored_as_an_argon2id_hash(accts):
    accts.add("admin", "city-admin", PW)
    with accts.engine.connect() as con:
        stored = con.execute(sa.select(acc.users.c.password_hash)).scalar_one()
    assert stored.startswith("$argon2id$") and PW not in stored
    assert accts.authenticate("admin", PW).reason == "ok"
    assert accts.authenticate("admin", PW + "x").reason == "bad"


def test_role_and_county_rules(accts):
    with pytest.raises(CovplanError, match="--county"):
        accts.add("ed", "county-editor", PW)
    with pytest.raises(CovplanError, match="takes no --county"):
        accts.add("vw", "viewer", PW, county="331127")
    with pytest.raises(CovplanError, match="role"):
        accts.add("vw", "root", PW)
    with pytest.raises(CovplanError, match="at least 10"):
        accts.add("vw", "viewer", "short")
    ed = accts.add("jn", "county-editor", PW, county="331127").actor
    assert ed.may_edit_county("331127") and ed.may_edit_county("331127001")
    assert not ed.may_edit_county("331102") and not ed.may_edit_county(None)
    with pytest.raises(AccessDenied, match="county 331102"):
        ed.require_county("331102", "edit facility X")
    assert Actor("a", "city-admin").may_edit_county("331102")
    viewer = accts.add("look", "viewer", PW).actor
    assert not viewer.can_write and not viewer.may_edit_county("331127")
    with pytest.raises(CovplanError, match="exists"):
        accts.add("look", "viewer", PW)


def test_ten_wrong_passwords_lock_and_passwd_unlocks(accts):
    accts.add("ed", "county-editor", PW, county="331102")
    reasons = [accts.authenticate("ed", f"wrong-{i}", "127.0.0.9").reason for i in range(acc.MAX_FAILED_LOGINS)]
    assert reasons == ["bad"] * (acc.MAX_FAILED_LOGINS - 1) + ["locked"]
    assert accts.authenticate("ed", PW).reason == "locked"  # even the right password
    assert accts.count_events(acc.LOCKED, user_name="ed") == 1
    assert accts.count_events(acc.LOGIN_FAILED, ip="127.0.0.9") == acc.MAX_FAILED_LOGINS
    epoch = accts.get("ed").session_epoch
    accts.set_password("ed", "a new password 2")
    user = accts.get("ed")
    assert not user.locked() and user.session_epoch == epoch + 1
    assert accts.authenticate("ed", "a new password 2").reason == "ok"


def test_a_right_password_resets_the_count(accts):
    accts.add("ed", "viewer", PW)
    for i in range(acc.MAX_FAILED_LOGINS - 1):
        accts.authenticate("ed", f"wrong-{i}")
    assert accts.authenticate("ed", PW).reason == "ok"
    assert accts.get("ed").failed_logins == 0
    assert accts.authenticate("ed", "wrong again").reason == "bad"


def test_disabled_account_and_unknown_user(accts):
    accts.add("gone", "viewer", PW)
    accts.set_disabled("gone")
    assert accts.authenticate("gone", PW).reason == "disabled"
    assert accts.authenticate("nobody", PW).reason == "bad"
    with pytest.raises(CovplanError, match="no such user"):
        accts.set_disabled("nobody")


def test_signing_secret_is_created_once(accts):
    first = accts.signing_secret()
    assert len(first) == 64 and accts.signing_secret() == first


def _scenario(name: str, n: int):
    from scenarios.model import Scenario

    edits = [{"op": "close_facility", "facility_id": f"CH-331102001001-0{i + 1}"} for i in range(n)]
    return Scenario.from_edits(name, edits, year=2024, source="<test>")


def test_scenarios_belong_to_their_author_and_are_shared_read_only(accts):
    repo = UserScenarios(accts.engine)
    repo.save_as("ann", _scenario("plan", 1), "plan")
    repo.save_as("bob", _scenario("plan", 2), "plan")  # same name: bob's own row
    assert len(repo.load_for("ann", "ann", "plan").edits) == 1
    assert len(repo.load_for("bob", "bob", "plan").edits) == 2
    with pytest.raises(ScenarioError, match="not shared"):
        repo.load_for("bob", "ann", "plan")
    assert [r["owner"] for r in repo.visible("bob")] == ["bob"]
    repo.set_shared("ann", "plan", True)
    assert len(repo.load_for("bob", "ann", "plan").edits) == 1
    assert [(r["owner"], r["name"]) for r in repo.visible("bob")] == [("bob", "plan"), ("ann", "plan")]
    repo.save_as("bob", _scenario("plan", 3), "plan")  # bob saving again touches only his row
    assert len(repo.load_for("ann", "ann", "plan").edits) == 1
    with pytest.raises(ScenarioError):
        repo.save_as("bob", _scenario("x", 1), "../ann/plan")
