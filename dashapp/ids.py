"""Every component id of the Dash app, in one :class:`~enum.StrEnum`.

Callbacks, layouts and tests import these members instead of typing id strings, so a
renamed component cannot leave a dangling callback behind. Members are ``str``: they can
be passed straight to ``id=`` and to ``Input``/``Output``.
"""

from __future__ import annotations

from enum import StrEnum


class Id(StrEnum):
    """Component ids (values are the DOM ids, kebab-case)."""

    # --- shared stores (app.py)
    STORE_SCENARIO = "store-scenario"  # per-session scenario edits (memory)
    STORE_SELECTION = "store-selection"  # selected township / facility (memory)
    STORE_PROPOSALS = "store-proposals"  # proposals of the last siting run (memory)
    STORE_LANG = "store-lang"  # language of the rendered page (zh / en)
    STORE_FACILITY_KEY = "store-facility-key"  # what the base facility layer shows (page)

    # --- header (app.py)
    HEADER_TITLE = "header-title"
    PROVENANCE_BANNER = "provenance-banner"
    LANG_LINK_ZH = "lang-link-zh"
    LANG_LINK_EN = "lang-link-en"
    NAV_MAP = "nav-map"
    NAV_SUMMARY = "nav-summary"

    # --- view controls (map page)
    TARGET = "target-dropdown"
    TARGET_CLAUSE = "target-clause"
    COUNTY = "county-dropdown"
    YEAR = "year-dropdown"
    BASEMAP = "basemap-radio"
    BASEMAP_NOTE = "basemap-note"
    FACILITY_TYPES = "facility-types"

    # --- map
    MAP = "map"
    MAP_LAYERS = "map-layers"
    BASE_LAYER = "base-layer"
    COUNTIES_LAYER = "counties-layer"
    TOWNSHIPS_LAYER = "townships-layer"
    FACILITIES_LAYER = "facilities-layer"
    SERVICE_AREAS_LAYER = "service-areas-layer"
    UNCOVERED_LAYER = "uncovered-layer"
    PROPOSALS_LAYER = "proposals-layer"
    EDITS_LAYER = "edits-layer"
    LEGEND = "legend"
    STATUS_COUNTS = "status-counts"
    MAP_TIMING = "map-timing"

    # --- side panel (township or facility detail)
    SIDE_PANEL = "side-panel"

    # --- gap table and exports
    GAP_TABLE = "gap-table"
    EXPORT_XLSX = "export-xlsx"
    EXPORT_CSV = "export-csv"
    EXPORT_GEOJSON = "export-geojson"
    EXPORT_HTML = "export-html"
    DOWNLOAD = "download"
    EXPORT_ALL_TARGETS = "export-all-targets"

    # --- scenario mode
    SCENARIO_MODE = "scenario-mode"
    ADD_TYPE = "add-type"
    ADD_TIER = "add-tier"
    ADD_CAPACITY = "add-capacity"
    ADD_NAME = "add-name"
    FACILITY_ACTIONS = "facility-actions"
    CLOSE_FACILITY = "close-facility"
    UPGRADE_FACILITY = "upgrade-facility"
    UNDO_EDIT = "undo-edit"
    CLEAR_EDITS = "clear-edits"
    EDIT_LIST = "edit-list"
    DIFF_VIEW = "diff-view"
    SCENARIO_NAME = "scenario-name"
    SAVE_SCENARIO = "save-scenario"
    SAVED_SCENARIOS = "saved-scenarios"
    OPEN_SCENARIO = "open-scenario"
    UPLOAD_SCENARIO = "upload-scenario"
    SCENARIO_MESSAGE = "scenario-message"
    PROPOSE_SITES = "propose-sites"
    PROPOSAL_TABLE = "proposal-table"
    ACCEPT_PROPOSALS = "accept-proposals"

    # --- inventory upload
    UPLOAD_INVENTORY = "upload-inventory"
    UPLOAD_MESSAGE = "upload-message"

    # --- summary page
    SUMMARY_COUNTY_CHART = "summary-county-chart"
    SUMMARY_TREND_CHART = "summary-trend-chart"
    SUMMARY_TABLE = "summary-table"
    SUMMARY_YEAR = "summary-year"

    # --- workspace: map-first layout, search, URL view, print (dashapp/layout_*.py)
    WORK = "work"
    DRAWER = "drawer"
    DRAWER_TOGGLE = "drawer-toggle"
    DRAWER_TABS = "drawer-tabs"
    TAB_TARGET = "tab-target"
    TAB_SCENARIO = "tab-scenario"
    TAB_SITING = "tab-siting"
    TAB_IO = "tab-io"
    DETAILS = "details"
    DETAILS_TOGGLE = "details-toggle"
    BACK_TO_SUMMARY = "back-to-summary"
    MAP_WRAP = "map-wrap"
    MAP_BUSY = "map-busy"
    TILE_MESSAGE = "tile-message"
    LABELS_LAYER = "labels-layer"
    STORE_VIEW = "store-view"
    SEARCH = "search"
    URL_SINK = "url-sink"
    UNLOAD_SINK = "unload-sink"
    STORE_SAVED = "store-saved"  # the edits as last saved or downloaded
    DOWNLOAD_SCENARIO = "download-scenario"
    SCENARIO_DOWNLOAD = "scenario-download"
    PRINT_PAPER = "print-paper"
    PRINT_AUTHOR = "print-author"
    PRINT_DATE = "print-date"
    PRINT_MAP = "print-map"
    PRINT_ATLAS = "print-atlas"
    PRINT_DOWNLOAD = "print-download"
    PRINT_MESSAGE = "print-message"
    BASEMAP_KEY = "basemap-key"
    BASEMAP_XYZ = "basemap-xyz"
    SUMMARY_KPIS = "summary-kpis"
    SUMMARY_GO = "summary-go"

    # --- packed layers (dashapp/geopack.py; a clientside callback fills the layer's data)
    PACK_TOWNSHIPS = "pack-townships"
    PACK_COUNTIES = "pack-counties"
    PACK_FACILITIES = "pack-facilities"
    PACK_AREAS = "pack-service-areas"
    PACK_UNCOVERED = "pack-uncovered"
    # --- village view (dashapp/village_view.py)
    VILLAGE_MARK_LAYER = "village-mark-layer"
    VILLAGE_PICK = "village-pick"  # pattern-matching id type: {"type": VILLAGE_PICK, "code": …}
