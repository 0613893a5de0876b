"""Command-line options, broken pipes, app uploads and the app's headers and Host check (#14)."""

from __future__ import annotations

import base64
import io
import json
import threading
import time
import urllib.request
from pathlib import Path

import pytest

from covplan.cli import build_parser, main
from tests.hardening_inputs import bomb

MINI = Path(__file__).resolve().parent / "data" / "mini"


# ---------------------------------------------------------------------------- covplan site options
@pytest.mark.parametrize(("args", "message"), [
    (["--p", "0"], "--p: '0': give at least 1"),
    (["--p", "-3"], "--p: '-3': give at least 1"),
    (["--time-limit", "0"], "--time-limit: '0': give a finite number of seconds above 0"),
    (["--time-limit", "-1"], "--time-limit: '-1': give a finite number of seconds above 0"),
    (["--time-limit", "nan"], "--time-limit: 'nan': give a finite number"),
    (["--time-limit", "inf"], "--time-limit: 'inf': give a finite number"),
    (["--share", "1.5"], "--share: '1.5': give a share above 0 and at most 1"),
])
def test_site_options_out_of_range_are_refused(args, message, capsys) -> None:
    with pytest.raises(SystemExit) as exc:
        build_parser().parse_args(["site", "--target", "x", "-o", "out.csv", *args])
    assert exc.value.code == 2
    assert message in capsys.readouterr().err


def test_site_options_in_range_are_accepted() -> None:
    args = build_parser().parse_args(["site", "--target", "x", "-o", "o.csv", "--p", "3", "--time-limit", "0.5"])
    assert (args.p, args.time_limit) == (3, 0.5)


# ---------------------------------------------------------------------------- broken pipe
class _ClosedPipe(io.StringIO):
    def write(self, text: str) -> int:
        raise BrokenPipeError(32, "Broken pipe")


def test_a_closed_pipe_ends_quietly(monkeypatch, capsys) -> None:
    """`covplan evaluate | head`: the reader leaves; exit 141 and no traceback."""
    monkeypatch.setattr("sys.stdout", _ClosedPipe())
    assert main(["--data", str(MINI), "evaluate"]) == 141
    assert "Traceback" not in capsys.readouterr().err


# ---------------------------------------------------------------------------- app: headers and Host
@pytest.fixture(scope="module")
def app():
    from dashapp import service
    from dashapp.app import create_app
    from dashapp.local_security import activate_local

    a = create_app(MINI)
    activate_local(a.server, "127.0.0.1")
    yield a
    a.server.config["COVPLAN_LOCAL_BIND_HOST"] = None
    service.configure(None)


@pytest.mark.parametrize(("host", "ok"), [
    ("127.0.0.1:8050", True), ("localhost:8050", True), ("localhost", True), ("[::1]:8050", True),
    ("127.0.0.2", True), ("evil.example:8050", False), ("localhost.evil.example", False),
    ("192.168.1.5:8050", False), ("", False),
])
def test_only_loopback_host_names_are_served(app, host, ok) -> None:
    with app.server.test_client() as client:
        resp = client.get("/_dash-layout", headers={"Host": host})
        assert resp.status_code == (200 if ok else 400), host
        resp.close()


def test_a_deliberate_lan_bind_accepts_ip_literals_but_no_names(app) -> None:
    app.server.config["COVPLAN_LOCAL_BIND_HOST"] = "0.0.0.0"
    try:
        with app.server.test_client() as client:
            assert client.get("/_dash-layout", headers={"Host": "192.168.1.5:8050"}).status_code == 200
            assert client.get("/_dash-layout", headers={"Host": "evil.example"}).status_code == 400
    finally:
        app.server.config["COVPLAN_LOCAL_BIND_HOST"] = "127.0.0.1"


def test_security_headers_on_every_response(app) -> None:
    with app.server.test_client() as client:
        for path in ("/", "/_dash-layout", "/assets/covplan_map.js"):
            resp = client.get(path)
            h = resp.headers
            assert h["X-Content-Type-Options"] == "nosniff" and h["X-Frame-Options"] == "DENY", path
            assert h["Referrer-Policy"] == "same-origin"
            csp = h["Content-Security-Policy"]
            assert "frame-ancestors 'none'" in csp and "object-src 'none'" in csp
            assert "'unsafe-eval'" not in csp and "sha256-" in csp
            resp.close()


def test_covplan_app_switches_the_checks_on_while_it_runs(monkeypatch) -> None:
    import dash

    from dashapp import service

    seen: dict = {}

    def fake_run(self, **kw):
        seen.update(bind=self.server.config["COVPLAN_LOCAL_BIND_HOST"],
                    limit=self.server.config["MAX_CONTENT_LENGTH"],
                    installed=self.server.extensions.get("covplan_local_security"))

    monkeypatch.setattr(dash.Dash, "run", fake_run)
    monkeypatch.setenv("COVPLAN_APP_WARM", "0")
    try:
        assert main(["--data", str(MINI), "app", "--port", "8124"]) == 0
    finally:
        service.configure(None)
    assert seen == {"bind": "127.0.0.1", "limit": 40 * 1024 * 1024, "installed": True}


# ---------------------------------------------------------------------------- app uploads
def _data_url(data: bytes, mime: str = "application/octet-stream") -> str:
    return f"data:{mime};base64," + base64.b64encode(data).decode()


def test_upload_messages_name_the_users_file(app, tmp_path) -> None:
    from dashapp import queries_scenario as qs
    from dashapp.state import StateError
    from layers._errors import CovplanError

    with pytest.raises(StateError, match=r"^旧表格\.xls: old \.xls format; open it in Excel/WPS and save it as \.xlsx"):
        qs.import_inventory(_data_url(b"\xd0\xcf\x11\xe0" + b"0" * 100), "旧表格.xls", None, 2024, "zh")
    big = "data:text/csv;base64," + "A" * (21 * 1024 * 1024 * 4 // 3)
    with pytest.raises(StateError, match=r"^大表\.csv: the file is 22\.0 MB, above the 21 MB limit"):
        qs.import_inventory(big, "大表.csv", None, 2024, "zh")
    with pytest.raises(CovplanError) as err:
        qs.import_inventory(_data_url("甲,乙\n1,2\n".encode()), "C:\\Users\\a\\清单.csv", None, 2024, "zh")
    text = str(err.value)
    assert text.startswith("清单.csv: no header row found") and "covplan-upload" not in text
    p = bomb(tmp_path / "b.xlsx", 100)
    with pytest.raises(CovplanError) as err:
        qs.import_inventory(_data_url(p.read_bytes()), "炸弹.xlsx", None, 2024, "zh")
    assert str(err.value).startswith("炸弹.xlsx: the workbook inflates to") and "covplan-upload" not in str(err.value)


def _callback_payload(app, contents: str, filename: str) -> bytes:
    key = next(k for k in app.callback_map if "upload-message.children" in k)
    outputs = []
    for part in key.strip(".").split("..."):
        cid, prop = part.split(".", 1)
        outputs.append({"id": cid, "property": prop})
    return json.dumps({
        "output": key, "outputs": outputs,
        "inputs": [{"id": "upload-inventory", "property": "contents", "value": contents}],
        "changedPropIds": ["upload-inventory.contents"],
        "state": [{"id": "upload-inventory", "property": "filename", "value": filename},
                  {"id": "store-scenario", "property": "data", "value": {"name": "", "edits": []}},
                  {"id": "year-dropdown", "property": "value", "value": 2024},
                  # en: the zh message is a short summary (dashapp.views), the en one keeps the detail
                  {"id": "store-lang", "property": "data", "value": "en"}],
    }).encode()


def test_a_bomb_upload_does_not_hold_the_server(app, tmp_path) -> None:
    """Through the real server: the upload is answered with a message, and another session's
    request is answered in well under a second meanwhile (#14 acceptance; the refusal reads only
    the zip directory)."""
    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, app.server, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.server_port}"
    try:
        payload = _callback_payload(app, _data_url(bomb(tmp_path / "b.xlsx", 100).read_bytes()), "炸弹.xlsx")
        answer: dict = {}

        def upload() -> None:
            req = urllib.request.Request(base + "/_dash-update-component", data=payload,
                                         headers={"Content-Type": "application/json"})
            with urllib.request.urlopen(req, timeout=60) as resp:
                answer["body"] = resp.read().decode()

        t = threading.Thread(target=upload)
        t.start()
        t0 = time.perf_counter()
        with urllib.request.urlopen(base + "/_dash-layout", timeout=60) as resp:
            assert resp.status == 200
        other = time.perf_counter() - t0
        t.join(timeout=60)
        assert other < 1.0
        assert "炸弹.xlsx: the workbook inflates to" in json.dumps(json.loads(answer["body"]), ensure_ascii=False)
    finally:
        server.shutdown()


@pytest.mark.parametrize("value", ["-1", "nan", "inf"])
def test_import_tolerance_must_be_finite_metres(value, capsys) -> None:
    with pytest.raises(SystemExit):
        build_parser().parse_args(["import", "facilities", "x.csv", "-o", "o.geojson", "--tolerance-m", value])
    assert "give a finite number of metres" in capsys.readouterr().err


def test_zh_upload_messages_keep_the_file_name_and_the_chinese_reason(app, tmp_path) -> None:
    from dashapp.callbacks import scenario_cb

    p = bomb(tmp_path / "b.xlsx", 100)
    _, msg = scenario_cb.upload_inventory(_data_url(p.read_bytes()), "炸弹.xlsx", None, 2024, "zh")
    assert msg.children == "错误：导入文件有误，请查看退回清单：Excel文件解压后过大，请拆分后再导入（炸弹.xlsx）"
    _, msg = scenario_cb.upload_inventory(_data_url(b"x"), "旧表.xls", None, 2024, "zh")
    assert "另存为 .xlsx" in msg.children and "旧表.xls" in msg.children
