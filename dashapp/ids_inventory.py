"""Component ids of the inventory editor (kept apart from dashapp/ids.py, which others edit)."""

from __future__ import annotations

from enum import StrEnum


class InvId(StrEnum):
    CARD = "inv-card"
    FACILITY_ID = "inv-facility-id"
    OPEN = "inv-open"
    NAME = "inv-name"
    TYPE = "inv-type"
    TIER = "inv-tier"
    CAPACITY = "inv-capacity"
    STATUS = "inv-status"
    LON = "inv-lon"
    LAT = "inv-lat"
    REASON = "inv-reason"
    SAVE = "inv-save"
    DELETE = "inv-delete"
    ADD = "inv-add"
    MESSAGE = "inv-message"
    HISTORY = "inv-history"
    PROVENANCE = "inv-provenance"
    RECORD = "inv-record"          # dcc.Store: {"facility_id", "year", "version"} of the opened record
    REFRESH = "inv-refresh"        # dcc.Store: bumped after a write {"n", "facility_id"}
    MARKER_LAYER = "inv-marker-layer"
    MARKER = "inv-marker"
    SUBMIT_UPLOAD = "inv-submit-upload"
    SUBMIT_SOURCE = "inv-submit-source"
    SUBMIT_COUNTY = "inv-submit-county"
    SUBMIT_CRS = "inv-submit-crs"
    SUBMIT_CLOSE = "inv-submit-close-missing"
    SUBMIT_PREVIEW = "inv-submit-preview"
    SUBMIT_APPLY = "inv-submit-apply"
    SUBMIT_RESULT = "inv-submit-result"
    ACCEPT = "inv-accept-scenario"
    ACCEPT_CONFIRM = "inv-accept-confirm"
