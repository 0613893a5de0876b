"""The Dash application: pages, the per-session Stores and the callbacks.

``create_app(data_dir)`` builds the app once per process (Dash registers page and
callback definitions globally). Everything is served from this machine: Dash's own
JavaScript (``serve_locally``), dash-leaflet's bundle (it embeds Leaflet's CSS), the
AG Grid and Plotly bundles and the local ``assets/`` folder; no CDN and no web font.

Per-session state lives in ``dcc.Store(storage_type="memory")`` components: the scenario
edits, the clicked selection and the last proposals. They are sent with each callback
and never kept on the server, so two planners' scenarios never mix.
"""

from __future__ import annotations

from pathlib import Path

import dash
from dash import Dash, dcc, html

from dashapp import service
from dashapp.ids import Id

HERE = Path(__file__).resolve().parent

_APP: Dash | None = None


def _layout() -> html.Div:
    return html.Div(
        [
            dcc.Store(id=Id.STORE_SCENARIO, storage_type="memory", data={"name": "", "edits": []}),
            dcc.Store(id=Id.STORE_SELECTION, storage_type="memory", data={}),
            dcc.Store(id=Id.STORE_PROPOSALS, storage_type="memory", data=[]),
            dcc.Store(id=Id.STORE_SAVED, storage_type="memory", data=[]),  # edits as last saved/downloaded
            dash.page_container,
        ]
    )


def create_app(data_dir: str | Path | None = None, targets_dir: str | Path | None = None) -> Dash:
    """Build (once) and return the Dash app serving ``data_dir`` (None: embedded data).

    A second call re-points the service at another dataset and returns the same app.
    """
    global _APP
    service.configure(data_dir, targets_dir)
    if _APP is not None:
        return _APP
    app = Dash(
        __name__,
        use_pages=True,
        pages_folder=str(HERE / "pages"),
        assets_folder=str(HERE / "assets"),
        serve_locally=True,
        suppress_callback_exceptions=True,
        title="丽水市设施覆盖规划图",
        update_title=None,
        compress=False,
    )
    app.layout = _layout
    # the callback modules register with dash.callback when imported
    from dashapp import callbacks  # noqa: F401

    from dashapp.local_security import install_local

    install_local(app.server, app)  # off until `covplan app` activates it (#14)
    _APP = app
    return app
