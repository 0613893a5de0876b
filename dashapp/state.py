"""Typed state of one browser session, and its JSON form for the ``dcc.Store`` components.

Stores hold ids and parameters only (a target id, a year, a list of scenario edits), never
a GeoDataFrame: the heavy results come from :mod:`dashapp.service`, whose caches are keyed
by these values. Everything read back from a Store comes from the browser and is therefore
untrusted: :meth:`ScenarioState.from_json` validates every edit (known op, known keys,
scalar values of the right type) and raises :class:`StateError` otherwise.

Scenario edits are the dicts of the scenario file format (``docs/ARCHITECTURE.md``), e.g.
``{"op": "add_facility", "type": "child_home", "tier": "demonstration",
"lon": 119.92, "lat": 28.45, "crs": "wgs84"}`` (lon/lat in degrees).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from layers._errors import CovplanError
from scenarios.model import check_edit
from scenarios.store import validate_name

#: at most this many edits in one browser scenario (a store is sent on every callback)
#: the target shown first (a township target a planner recognises at a glance)
DEFAULT_TARGET: str = "demo_child_home_per_township"
MAX_EDITS: int = 500


class StateError(CovplanError):
    """A Store value sent by the browser is malformed (names the field)."""


def validate_scenario_name(name: Any) -> str:
    """Return ``name`` stripped if it is a valid saved-scenario name, else raise.

    The rule is the one of :func:`scenarios.store.validate_name` (letters, digits, ``_``,
    ``-`` and Chinese characters; at most 64; no dots, slashes or spaces), so a name can
    never leave the scenarios folder.

    Raises
    ------
    ScenarioError
    """
    if not isinstance(name, str):
        raise StateError("scenario name: must be text")
    return validate_name(name.strip())


def validate_edit(edit: Any, index: int = 0) -> dict[str, Any]:
    """Check one edit dict with the scenario file rules; return it normalised.

    Raises
    ------
    StateError
        Naming the edit (1-based) and every problem, e.g. an unknown op or key.
    """
    checked, problems = check_edit(edit, index)
    if problems or checked is None:
        raise StateError("; ".join(problems) or f"edit #{index + 1}: invalid")
    return checked.to_dict()


def edits_key(edits: list[dict[str, Any]]) -> str:
    """Stable short hash of an edit list ('' for no edits): the cache key of a scenario."""
    if not edits:
        return ""
    text = json.dumps(edits, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:20]


@dataclass(frozen=True)
class ViewState:
    """What the planner is looking at: target, county filter, year, language, basemap."""

    target_id: str | None = None
    county_code: str | None = None
    year: int | None = None
    lang: str = "zh"
    basemap: str = "none"

    def to_json(self) -> dict[str, Any]:
        return {
            "target_id": self.target_id,
            "county_code": self.county_code,
            "year": self.year,
            "lang": self.lang,
            "basemap": self.basemap,
        }

    @classmethod
    def from_json(cls, data: Any) -> "ViewState":
        if not isinstance(data, dict):
            return cls()
        year = data.get("year")
        try:
            year = int(year) if year not in (None, "") else None
        except (TypeError, ValueError) as exc:
            raise StateError(f"view: field 'year' is not a year: {year!r}") from exc
        lang = data.get("lang") if data.get("lang") in ("zh", "en") else "zh"
        basemap = data.get("basemap") if data.get("basemap") in ("none", "tianditu", "amap") else "none"
        tid = data.get("target_id")
        county = data.get("county_code")
        return cls(
            target_id=str(tid) if tid else None,
            county_code=str(county) if county else None,
            year=year,
            lang=lang,
            basemap=basemap,
        )


@dataclass(frozen=True)
class ScenarioState:
    """The scenario of one browser session: a name and a list of edits (base = no edits)."""

    name: str = ""
    edits: tuple[dict[str, Any], ...] = field(default_factory=tuple)

    @property
    def key(self) -> str:
        """Cache key of the edits (see :func:`edits_key`)."""
        return edits_key(list(self.edits))

    @property
    def is_base(self) -> bool:
        return not self.edits

    def with_edit(self, edit: dict[str, Any]) -> "ScenarioState":
        """A copy with one more (validated) edit."""
        if len(self.edits) >= MAX_EDITS:
            raise StateError(f"scenario: at most {MAX_EDITS} edits")
        return ScenarioState(self.name, self.edits + (validate_edit(edit, len(self.edits)),))

    def with_edits(self, edits: list[dict[str, Any]]) -> "ScenarioState":
        state = self
        for edit in edits:
            state = state.with_edit(edit)
        return state

    def without_last(self) -> "ScenarioState":
        return ScenarioState(self.name, self.edits[:-1])

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "edits": [dict(e) for e in self.edits]}

    @classmethod
    def from_json(cls, data: Any) -> "ScenarioState":
        """Parse a Store value (None → the base); raise :class:`StateError` if malformed."""
        if data is None:
            return cls()
        if not isinstance(data, dict):
            raise StateError("scenario store: must be an object")
        name = data.get("name") or ""
        if not isinstance(name, str) or len(name) > 64:
            raise StateError("scenario store: field 'name' must be text of at most 64 characters")
        edits = data.get("edits") or []
        if not isinstance(edits, list):
            raise StateError("scenario store: field 'edits' must be a list")
        if len(edits) > MAX_EDITS:
            raise StateError(f"scenario store: at most {MAX_EDITS} edits")
        return cls(name, tuple(validate_edit(e, i) for i, e in enumerate(edits)))


@dataclass(frozen=True)
class Selection:
    """What was clicked last: a township code and/or a facility id."""

    township_code: str | None = None
    facility_id: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"township_code": self.township_code, "facility_id": self.facility_id}

    @classmethod
    def from_json(cls, data: Any) -> "Selection":
        if not isinstance(data, dict):
            return cls()
        code = data.get("township_code")
        fid = data.get("facility_id")
        code = str(code) if code not in (None, "") else None
        fid = str(fid) if fid not in (None, "") else None
        if code is not None and not code.isdigit():
            raise StateError(f"selection: field 'township_code' is not a unit code: {code!r}")
        return cls(code, fid)
