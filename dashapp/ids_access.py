"""Component ids of walking access in the app: the 2SFCA layer and the access panel
(kept apart from dashapp/ids.py, which others edit)."""

from __future__ import annotations

from enum import StrEnum


class AccId(StrEnum):
    FCA_TOGGLE = "acc-fca-toggle"          # dcc.Checklist in the 目标 tab: the layer on/off
    FCA_LAYER = "acc-fca-layer"            # dl.GeoJSON: township outlines, values in its hideout
    FCA_NOTE = "acc-fca-note"              # context note + provenance under the switch
    FCA_LEGEND = "acc-fca-legend"          # legend entries of the layer (details panel)
    FCA_XLSX = "acc-fca-xlsx"
    FCA_CSV = "acc-fca-csv"
    FCA_DOWNLOAD = "acc-fca-download"
    PANEL = "acc-panel"                    # the selected township: relief and 2SFCA sections
