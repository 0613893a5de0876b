"""The real city server: ``covplan serve`` (gunicorn, 2 workers) on loopback against PostGIS.

One server for the module on a PostGIS database seeded from the embedded dataset (the
``pg_cluster`` of tests/conftest.py), accounts made with the ``covplan user`` code. Every
check goes through HTTP as a browser or a forger would send it.
"""

from __future__ import annotations

import time

import pytest
from dashapp.server import accounts as acc
from dashapp.server.accounts import Accounts
from dashapp.server.harness import Client, ServerProcess

PW = {"admin": "admin password 1", "lishui_ed": "editor password 1", "jn_ed": "editor password 2",
      "look": "viewer password 1", "victim": "victim password 1"}
SAVE = "saved-scenarios.options"


@pytest.fixture(scope="module")
def store_url(request, pg_cluster):
    from tests.pg import fresh_database

    return fresh_database(pg_cluster, "server_live", template=request.getfixturevalue("_seeded_pg"))


@pytest.fixture(scope="module")
def store(store_url):
    from store import FacilityStore

    st = FacilityStore(store_url)
    yield st
    st.engine.dispose()


@pytest.fixture(scope="module")
def accounts(store, store_url):
    a = Accounts(store.engine)
    a.create_schema()
    a.add("admin", "city-admin", PW["admin"])
    a.add("lishui_ed", "county-editor", PW["lishui_ed"], county="331102")
    a.add("jn_ed", "county-editor", PW["jn_ed"], county="331127")
    a.add("look", "viewer", PW["look"])
    a.add("victim", "viewer", PW["victim"])
    return a


@pytest.fixture(scope="module")
def server(store_url, accounts, tmp_path_factory):
    srv = ServerProcess(store_url, tmp_path_factory.mktemp("serve") / "serve.log", workers=2, threads=2,
                        extra_args=["--proxy-hops", "1"],
                        extra_env={"COVPLAN_UPLOADS_PER_DAY": "3", "COVPLAN_MAX_REQUEST_MB": "1"})
    srv.start()
    yield srv
    srv.stop()


def login(server, name: str) -> Client:
    c = Client(server.url)
    r = c.login(name, PW[name])
    assert r.status_code == 302 and r.headers["Location"].endswith("/"), r.text
    return c


def save_values(name: str) -> dict:
    return {"save-scenario.n_clicks": 1, "scenario-name.value": name, "year-dropdown.value": 2024,
            "store-lang.data": "zh", "store-scenario.data": {"name": name, "edits": [
                {"op": "close_facility", "facility_id": "CH-331102001001-01"}]}}


@pytest.mark.parametrize("name,role,county", [("admin", "city-admin", None), ("lishui_ed", "county-editor", "331102"),
                                              ("look", "viewer", None)])
def test_each_role_logs_in_and_sees_the_map(server, name, role, county):
    c = login(server, name)
    me = c.get("/api/me").json()
    assert (me["name"], me["role"], me["county"]) == (name, role, county)
    page = c.get("/")
    assert page.status_code == 200 and "_dash-config" in page.text
    layout = c.get("/_dash-layout")
    assert layout.status_code == 200


def test_nothing_but_login_and_health_without_a_session(server):
    c = Client(server.url)
    assert c.get("/").status_code == 302 and c.get("/").headers["Location"].endswith("/login")
    assert c.get("/_dash-layout").status_code == 401
    assert c.get("/api/me").status_code == 401
    assert c.get("/healthz").json()["status"] == "ok"
    assert c.get("/readyz").json()["status"] == "ready"
    bad = c.login("admin", "not the password")
    assert bad.status_code == 401 and "用户名或密码错误" in bad.text and "not the password" not in bad.text


def test_security_headers_and_cookie_flags(server):
    c = Client(server.url)
    r = c.get("/login")
    h = r.headers
    csp = h["Content-Security-Policy"]
    assert "script-src 'self' 'sha256-" in csp and "unsafe-eval" not in csp and "frame-ancestors 'none'" in csp
    assert h["X-Content-Type-Options"] == "nosniff" and h["X-Frame-Options"] == "DENY"
    assert h["Referrer-Policy"] == "same-origin"
    session_cookie = [v for v in r.raw.headers.getlist("Set-Cookie") if v.startswith("covplan_session=")][0]
    assert "HttpOnly" in session_cookie and "SameSite=Lax" in session_cookie and "Secure" not in session_cookie
    # behind the TLS front end (X-Forwarded-Proto from the trusted proxy) the cookies are Secure
    r2 = Client(server.url).get("/login", headers={"X-Forwarded-Proto": "https"})
    cookies = r2.raw.headers.getlist("Set-Cookie")
    assert cookies and all("Secure" in v for v in cookies)
    assert r2.headers["Strict-Transport-Security"].startswith("max-age=")


def test_foreign_host_is_refused(server):
    assert Client(server.url, host="intranet.evil.example").get("/login").status_code == 400
    assert Client(server.url, host="localhost").get("/login").status_code == 200


def test_csrf_less_state_change_is_refused(server, accounts):
    c = login(server, "admin")
    before = accounts.count_events(acc.CSRF, user_name="admin")
    r = c.callback(SAVE, save_values("csrf_plan"), ["save-scenario.n_clicks"], csrf=False)
    assert r.status_code == 403
    r = c.post("/_dash-update-component", json={}, csrf=False, headers={"X-CSRF-Token": "forged"})
    assert r.status_code == 403
    assert accounts.count_events(acc.CSRF, user_name="admin") == before + 2
    assert c.post("/logout", csrf=False).status_code == 403
    ok = c.callback(SAVE, save_values("csrf_plan"), ["save-scenario.n_clicks"])
    assert ok.status_code == 200 and "admin/csrf_plan" in str(ok.json())


def test_viewer_cannot_save_and_the_attempt_is_audited(server, accounts):
    c = login(server, "look")
    before = accounts.count_events(acc.FORBIDDEN, user_name="look")
    r = c.callback(SAVE, save_values("viewer_plan"), ["save-scenario.n_clicks"])
    assert r.status_code == 403
    assert accounts.count_events(acc.FORBIDDEN, user_name="look") == before + 1
    assert "save_scenario" in accounts.recent_events(acc.FORBIDDEN, limit=1)[0]["detail"]


def test_scenarios_per_user_never_overwritten(server):
    ann, bob = login(server, "lishui_ed"), login(server, "jn_ed")
    assert ann.callback(SAVE, save_values("shared_name"), ["save-scenario.n_clicks"]).status_code == 200
    vals = save_values("shared_name")
    vals["store-scenario.data"]["edits"].append({"op": "close_facility", "facility_id": "CH-331102001001-02"})
    r = bob.callback(SAVE, vals, ["save-scenario.n_clicks"])
    assert r.status_code == 200 and "jn_ed/shared_name" in str(r.json())
    # each sees only their own in the open list; ann's still has one edit
    options = r.json()["response"]["saved-scenarios"]["options"]
    assert [o["value"] for o in options] == ["shared_name"]
    opened = ann.callback("scenario-name.value..", {"open-scenario.n_clicks": 1, "saved-scenarios.value": "shared_name",
                                                  "store-lang.data": "zh"}, ["open-scenario.n_clicks"])
    assert opened.status_code == 200
    assert len(opened.json()["response"]["store-scenario"]["data"]["edits"]) == 1
    forged = bob.callback("scenario-name.value..", {"open-scenario.n_clicks": 1,
                                                  "saved-scenarios.value": "lishui_ed/shared_name",
                                                  "store-lang.data": "zh"}, ["open-scenario.n_clicks"])
    assert forged.status_code == 200 and "未共享给您" in str(forged.json())  # zh UI: Chinese message
    # shared read-only: bob can open ann's, and saving it again writes bob's own row
    assert bob.post("/api/scenarios/shared_name/share", json={"shared": True}).status_code == 200  # his own
    assert bob.post("/api/scenarios/nope/share", json={"shared": True}).status_code == 404
    assert ann.post("/api/scenarios/shared_name/share", json={"shared": True}).status_code == 200
    listed = {(s["owner"], s["name"]) for s in bob.get("/api/scenarios").json()}
    assert ("lishui_ed", "shared_name") in listed and ("jn_ed", "shared_name") in listed
    opened = bob.callback("scenario-name.value..", {"open-scenario.n_clicks": 1,
                                                  "saved-scenarios.value": "lishui_ed/shared_name",
                                                  "store-lang.data": "zh"}, ["open-scenario.n_clicks"])
    assert len(opened.json()["response"]["store-scenario"]["data"]["edits"]) == 1
    again = ann.callback("scenario-name.value..", {"open-scenario.n_clicks": 1, "saved-scenarios.value": "shared_name",
                                                 "store-lang.data": "zh"}, ["open-scenario.n_clicks"])
    assert len(again.json()["response"]["store-scenario"]["data"]["edits"]) == 1  # ann's is unchanged


def test_ten_wrong_passwords_lock_the_account(server, accounts):
    c = Client(server.url)
    codes = [c.login("victim", f"wrong password {i}").status_code for i in range(acc.MAX_FAILED_LOGINS)]
    assert codes == [401] * (acc.MAX_FAILED_LOGINS - 1) + [403]
    locked = c.login("victim", PW["victim"])
    assert locked.status_code == 403 and "锁定" in locked.text
    assert accounts.count_events(acc.LOCKED, user_name="victim") == 1


def test_expired_session_is_refused(server, accounts):
    from flask import Flask
    from flask.sessions import SecureCookieSessionInterface

    c = login(server, "look")
    assert c.get("/api/me").status_code == 200
    signer = Flask("forge")
    signer.secret_key = accounts.signing_secret()
    ser = SecureCookieSessionInterface().get_signing_serializer(signer)
    data = ser.loads(c.http.cookies["covplan_session"])
    data["seen"] = time.time() - 31 * 60  # idle past the 30-minute expiry
    c.http.cookies.set("covplan_session", ser.dumps(data), domain="127.0.0.1", path="/")
    assert c.get("/api/me").status_code == 401
    assert c.get("/api/me").status_code == 401  # the session was cleared, not refreshed


def test_disabled_user_is_refused_at_the_next_request(server, accounts):
    accounts.add("temp_view", "viewer", "temporary pass 1")
    c = Client(server.url)
    assert c.login("temp_view", "temporary pass 1").status_code == 302
    assert c.get("/api/me").status_code == 200
    accounts.set_disabled("temp_view")
    assert c.get("/api/me").status_code == 401


def test_access_log_is_json_with_the_user_and_no_password(server):
    c = login(server, "look")
    c.get("/api/me")
    import json

    lines = [json.loads(line) for line in server.log().splitlines() if line.startswith("{")]
    assert any(rec["user"] == "look" and rec["path"] == "/api/me" and rec["status"] == 200 for rec in lines)
    text = server.log()
    assert all(pw not in text for pw in PW.values())
    assert "Traceback" not in text


def _facility(store, county: str, type_: str = "childcare") -> dict:
    fac = store.facilities(2024, county=county)
    row = fac[fac["type"] == type_].iloc[0]
    return {"facility_id": row["facility_id"], "version": int(row["version"]), "capacity": float(row["capacity"]),
            "lon": round(row.geometry.x, 6), "lat": round(row.geometry.y, 6)}


def _edit(c: Client, fac: dict, capacity: float, **kw) -> "object":
    body = {"year": 2024, "changes": {"capacity": capacity}, "expected_version": fac["version"],
            "reason": "托位核对", **kw}
    return c.post(f"/api/facilities/{fac['facility_id']}", json=body)


def _audit(store, outcome: str, fid: str) -> int:
    log = store.audit_log()
    return int(((log["outcome"] == outcome) & (log["facility_id"] == fid)).sum())


def test_county_editor_edits_own_county_and_forgery_is_refused_and_audited(server, store, accounts):
    ed = login(server, "lishui_ed")  # county 331102
    own, other = _facility(store, "331102"), _facility(store, "331127")
    r = _edit(ed, own, own["capacity"] + 5)
    assert r.status_code == 200, r.text
    assert r.json()["capacity"] == own["capacity"] + 5 and r.json()["version"] == own["version"] + 1
    assert _audit(store, "ok", own["facility_id"]) >= 1
    before = accounts.count_events(acc.FORBIDDEN, user_name="lishui_ed")
    forged = _edit(ed, other, 999)
    assert forged.status_code == 403
    assert _audit(store, "forbidden", other["facility_id"]) == 1
    entry = store.history(other["facility_id"]).iloc[-1]
    assert (entry["user_name"], entry["outcome"]) == ("lishui_ed", "forbidden")
    assert accounts.count_events(acc.FORBIDDEN, user_name="lishui_ed") == before + 1
    assert _facility(store, "331127")["capacity"] == other["capacity"]  # untouched
    # moving an own facility into another county is the same forgery
    moved = ed.post(f"/api/facilities/{own['facility_id']}", json={
        "year": 2024, "changes": {"lon": other["lon"], "lat": other["lat"]}, "expected_version": own["version"] + 1})
    assert moved.status_code == 403


def test_viewer_edit_is_refused_and_admin_edits_any_county(server, store):
    viewer, admin = login(server, "look"), login(server, "admin")
    fac = _facility(store, "331127")
    assert _edit(viewer, fac, 1).status_code == 403
    assert _audit(store, "forbidden", fac["facility_id"]) >= 1
    r = _edit(admin, fac, fac["capacity"] + 1)
    assert r.status_code == 200, r.text
    stale = _edit(admin, fac, fac["capacity"] + 2)  # the version read before: a conflict, not a lost update
    assert stale.status_code == 409 and stale.json()["other"]["user_name"] == "admin"


def test_an_edit_is_seen_by_every_worker_at_its_next_request(server, store):
    import requests

    admin = login(server, "admin")
    fac = _facility(store, "331102", "kindergarten")
    assert _edit(admin, fac, fac["capacity"] + 3).status_code == 200
    rev = store.revision()
    seen: dict[int, int] = {}
    deadline = time.monotonic() + 60
    while len(seen) < server.workers and time.monotonic() < deadline:
        r = requests.get(server.url + "/readyz", headers={"Connection": "close"}, timeout=60).json()
        seen[r["pid"]] = r["revision"]
    assert len(seen) == server.workers and set(seen.values()) == {rev}


def test_upload_count_and_size_caps_per_user(server, accounts):
    import base64

    toml = 'name = "上传"\nyear = 2024\n[[edits]]\nop = "close_facility"\nfacility_id = "CH-331102001001-01"\n'
    contents = "data:application/toml;base64," + base64.b64encode(toml.encode()).decode()
    c = login(server, "jn_ed")

    def upload(data: str):
        return c.callback("store-scenario.data", {"upload-scenario.contents": data, "upload-scenario.filename": "a.toml",
                                                  "store-lang.data": "zh"}, ["upload-scenario.contents"])
    codes = [upload(contents).status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]  # COVPLAN_UPLOADS_PER_DAY=3 for this server
    assert accounts.count_events(acc.UPLOAD, user_name="jn_ed") == 3
    other = login(server, "lishui_ed")  # the cap is per user
    assert other.callback("store-scenario.data", {"upload-scenario.contents": contents,
                                                  "upload-scenario.filename": "a.toml", "store-lang.data": "zh"},
                          ["upload-scenario.contents"]).status_code == 200
    big = other.callback("store-scenario.data", {"upload-scenario.contents": "x" * (1024 * 1024 + 10),
                                                "upload-scenario.filename": "a.toml", "store-lang.data": "zh"},
                         ["upload-scenario.contents"])
    assert big.status_code == 413  # COVPLAN_MAX_REQUEST_MB=1


def test_errors_are_one_line_without_a_traceback(server):
    c = login(server, "admin")
    dep = next(d for d in c.deps() if "saved-scenarios.options" in d["output"])
    broken = c.post("/_dash-update-component", json={"output": dep["output"], "outputs": [], "inputs": "x",
                                                      "changedPropIds": []})
    assert broken.status_code in (400, 500)
    assert broken.text in ("500 server error\n", "400 bad request\n")
    assert "Traceback" not in broken.text and "File " not in broken.text
