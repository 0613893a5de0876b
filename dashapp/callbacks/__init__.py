"""Thin Dash callbacks: parse the inputs, call one query/service function, format the output.

Importing this package registers every callback with ``dash.callback``.
"""

from dashapp.callbacks import (  # noqa: F401
    access_cb,
    export_cb,
    inventory_cb,
    map_cb,
    nav_cb,
    panel_cb,
    print_cb,
    scenario_cb,
    siting_cb,
    summary_cb,
    village_cb,
    workspace_cb,
)
