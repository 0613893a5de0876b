"""``covplan app``: serve the planner's map (Dash) on this machine.

Binds 127.0.0.1 by default and never runs in debug mode (no reloader, no debugger, no
dev-tools endpoints). ``--host 0.0.0.0`` must be asked for explicitly. At start-up a
background thread evaluates the latest year and the trend so the first clicks are quick
(``COVPLAN_APP_WARM=0`` turns that off, e.g. for tests).

``--dem FILE`` (SRTM ``.hgt`` or GeoTIFF; or ``$COVPLAN_DEM``) lets the township panel
compare flat and minutes-on-slopes coverage of walking-access targets in minutes
(:mod:`dashapp.relief_panel`); the warm-up computes it after the evaluations.
"""

from __future__ import annotations

import argparse
import os
import threading
from pathlib import Path

from layers._errors import CovplanError

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8050


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "app",
        help="serve the interactive map on http://127.0.0.1:8050 / 启动交互式规划地图",
        description="Serve the planner's map: targets, gaps, scenarios and siting (offline).",
    )
    p.add_argument("--host", default=DEFAULT_HOST, help=f"address to bind (default {DEFAULT_HOST})")
    p.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"port (default {DEFAULT_PORT})")
    p.add_argument("--dem", type=Path, metavar="FILE",
                   help="elevation model (SRTM .hgt or GeoTIFF) for minutes walked on slopes in the "
                        "township panel (default: $COVPLAN_DEM, else none)")
    p.set_defaults(func=run)


def _warm() -> None:
    """Fill the app's caches, then say so (the browser benchmark waits for this line)."""
    from dashapp.service import get_service

    from dashapp import relief_panel

    get_service().warm()
    relief_panel.warm()  # minutes on slopes (only with a DEM)
    print("covplan app: caches warm", flush=True)


def run(args: argparse.Namespace) -> int:
    dem = getattr(args, "dem", None)
    if dem is not None:
        from coverage.access.relief import dem_key
        from dashapp import relief_panel

        dem_key(dem)  # a missing file is an error now, not in the first panel
        relief_panel.configure(dem)
    if not 0 < int(args.port) < 65536:
        raise CovplanError(f"--port {args.port}: not a TCP port (1-65535)")
    from dashapp.app import create_app

    data = getattr(args, "data", None)
    targets = Path(data) / "targets" if data is not None and (Path(data) / "targets").is_dir() else None
    app = create_app(data, targets)
    from dashapp.local_security import activate_local, deactivate_local

    activate_local(app.server, bind_host=args.host)  # headers + loopback-only Host (#14)
    # load the dataset and targets before the first request, so errors show here; then
    # evaluate the latest year in the background so the first page is quick
    from dashapp import queries
    from dashapp.service import get_service

    queries.initial_view(None, None, None, None)
    if os.environ.get("COVPLAN_APP_WARM", "1") != "0":
        threading.Thread(target=_warm, name="covplan-warm", daemon=True).start()
    print(f"covplan app: http://{args.host}:{args.port}/  (Ctrl+C to stop)", flush=True)
    try:
        app.run(host=args.host, port=int(args.port), debug=False, use_reloader=False, dev_tools_ui=False,
                dev_tools_props_check=False)
    finally:
        deactivate_local(app.server)  # the app object outlives this run (tests, embedding)
    return 0
