"""The app object, its pages and `covplan app`: offline resources, ids, safe defaults."""

from __future__ import annotations

from pathlib import Path

import pytest

from dashapp.ids import Id

MINI = Path(__file__).resolve().parent / "data" / "mini"


@pytest.fixture(scope="module")
def app():
    from dashapp import service
    from dashapp.app import create_app

    a = create_app(MINI)
    yield a
    service.configure(None)


def _ids(component) -> set[str]:
    found = set()
    stack = [component]
    while stack:
        c = stack.pop()
        if isinstance(c, (list, tuple)):
            stack.extend(c)
            continue
        cid = getattr(c, "id", None)
        if isinstance(cid, str):
            found.add(cid)
        children = getattr(c, "children", None)
        if children is not None and not isinstance(children, str):
            stack.append(children)
    return found


def test_every_script_and_stylesheet_is_served_by_the_app(app):
    with app.server.test_request_context("/"):
        scripts = app._collect_and_register_resources(app.scripts.get_all_scripts())
        css = app._collect_and_register_resources(app.css.get_all_css())
    urls = [str(getattr(s, "src", s)) for s in scripts] + [str(getattr(c, "href", c)) for c in css]
    assert any("dash_leaflet" in u for u in urls) and any("dash_ag_grid" in u for u in urls)
    assert [u for u in urls if u.startswith("http")] == []
    assert app.config.serve_locally is True
    with app.server.test_client() as client:
        page = client.get("/")
        assert page.status_code == 200
        html = page.get_data(as_text=True)
        page.close()
        assert "https://" not in html.replace('xmlns="https://', "")
        asset = client.get("/assets/covplan_map.js")
        try:
            assert asset.status_code == 200 and b"textContent" in asset.get_data()
        finally:
            asset.close()


def test_pages_hold_every_component_the_callbacks_use(app):
    from dashapp.pages import map_page, summary_page

    ids = _ids(map_page.layout(lang="en"))
    needed = {Id.MAP, Id.TOWNSHIPS_LAYER, Id.FACILITIES_LAYER, Id.GAP_TABLE, Id.TARGET, Id.SIDE_PANEL,
              Id.DOWNLOAD, Id.SCENARIO_MODE, Id.PROPOSAL_TABLE, Id.UPLOAD_SCENARIO, Id.UPLOAD_INVENTORY,
              Id.PROVENANCE_BANNER, Id.LANG_LINK_EN, Id.STORE_LANG}
    assert needed <= ids
    assert {Id.SUMMARY_COUNTY_CHART, Id.SUMMARY_TREND_CHART} <= _ids(summary_page.layout(lang="zh"))
    # every callback output targets a component that exists on a page or in app.layout
    all_ids = ids | _ids(summary_page.layout()) | _ids(app.layout())
    with app.server.test_request_context("/"):
        app._setup_server()
    assert len(app.callback_map) >= 25
    for key in app.callback_map:
        for part in key.strip(".").split("..."):
            cid = part.split(".")[0].lstrip(".")
            if cid and not cid.startswith("_pages"):
                assert cid in all_ids, key


def test_uploads_are_capped_and_typed(app):
    from dash import dcc

    from dashapp.pages import map_page
    from layers.settings import MAX_UPLOAD_BYTES

    uploads = []
    stack = [map_page.layout()]
    while stack:
        c = stack.pop()
        if isinstance(c, (list, tuple)):
            stack.extend(c)
            continue
        if isinstance(c, dcc.Upload):
            uploads.append(c)
        ch = getattr(c, "children", None)
        if ch is not None and not isinstance(ch, str):
            stack.append(ch)
    accepts = {u.id: u.accept for u in uploads}
    from dashapp.ids_inventory import InvId

    assert accepts == {Id.UPLOAD_SCENARIO: ".toml", Id.UPLOAD_INVENTORY: ".xlsx,.csv,.xls",
                       InvId.SUBMIT_UPLOAD: ".xlsx,.csv"}
    # no silent drop in the browser (#14): the cap (MAX_UPLOAD_BYTES) is enforced by the server,
    # which answers with a message naming the file
    assert all(u.max_size == -1 for u in uploads) and MAX_UPLOAD_BYTES == 20 * 1024 * 1024


def test_covplan_app_binds_loopback_and_never_debugs(monkeypatch, app):
    import dash

    from covplan.cli import build_parser, main

    args = build_parser().parse_args(["app"])
    assert (args.host, args.port) == ("127.0.0.1", 8050)
    seen = {}
    monkeypatch.setattr(dash.Dash, "run", lambda self, **kw: seen.update(kw))
    monkeypatch.setenv("COVPLAN_APP_WARM", "0")
    assert main(["--data", str(MINI), "app", "--port", "8123"]) == 0
    assert seen["host"] == "127.0.0.1" and seen["port"] == 8123
    assert seen["debug"] is False and seen["use_reloader"] is False
    assert main(["app", "--port", "70000"]) == 2
