"""Scenario files: what-if edits to a dataset, as data.

A scenario names its base dataset and inventory year and lists edits (see
``docs/ARCHITECTURE.md`` "Scenarios")::

    name = "示范型升级"; description = "…"; base = "embedded"; year = 2024
    [[edits]]
    op = "upgrade_facility"; facility_id = "F0001"; tier = "demonstration"

This module checks each edit on its own (known op, known keys, value types, vocabulary);
:func:`scenarios.apply.apply_scenario` checks the references against a dataset. Both
collect every problem and raise one :class:`ScenarioError` naming the file and each
edit (its 1-based number and op).
"""

from __future__ import annotations

import math
import re
import reprlib
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping

from layers.vocab import (
    CHILD_HOME_TIERS,
    FACILITY_COLUMNS,
    FACILITY_LEVELS,
    FACILITY_TYPES,
    PUBLIC_PLACE_KINDS,
)
from scenarios._errors import ScenarioError

#: coordinate systems an ``add_facility`` edit may state its lon/lat in
EDIT_CRS: tuple[str, ...] = ("wgs84", "cgcs2000", "gcj02", "bd09")

#: facility columns an add_facility edit never sets: derived from its location and the scenario
_DERIVED_FACILITY_COLUMNS: frozenset[str] = frozenset(
    {"year", "type", "county_code", "township_code", "village_code", "location_precision", "provenance"}
)

#: ops and their keys: (required, optional)
EDIT_OPS: dict[str, tuple[frozenset[str], frozenset[str]]] = {
    "add_facility": (
        frozenset({"type"}),
        # every facility attribute of the data model, plus the ways to give a location; the
        # codes, year and provenance are derived when the edit is applied
        (frozenset(FACILITY_COLUMNS) - _DERIVED_FACILITY_COLUMNS)
        | frozenset({"village", "lon", "lat", "crs", "note"}),
    ),
    "close_facility": (frozenset({"facility_id"}), frozenset({"note"})),
    "upgrade_facility": (frozenset({"facility_id"}), frozenset({"tier", "note"})),
    "set_capacity": (frozenset({"facility_id", "capacity"}), frozenset({"note"})),
    "scale_population": (
        frozenset({"county", "factor"}),
        frozenset({"projection_year", "note"}),
    ),
    "override_target": (frozenset({"target"}), frozenset({"threshold", "band", "note"})),
}

#: documented range of every numeric edit key: (min, max), both inclusive (#14). Values outside
#: are refused with the range in the message, so no absurd value reaches the engine.
NUMERIC_RANGES: dict[str, tuple[float, float]] = {
    "capacity": (0, 10_000),              # 托位/学位 of one facility
    "daily_visitors": (0, 1_000_000),
    "building_area_m2": (0, 1_000_000),
    "projection_year": (2000, 2100),
    "factor": (0.1, 10.0),                # scale_population: a tenth to ten times
    "threshold": (0, 1_000_000),          # the target's own rules check it further
    "band": (0, 1_000_000),
    "lon": (-180.0, 180.0),
    "lat": (-90.0, 90.0),
}
#: deepest nesting of tables/arrays a scenario document may have (a scenario needs 3)
MAX_DEPTH: int = 8
#: largest scenario TOML read or saved (500 edits, the app's cap, take about 100 KB)
MAX_SCENARIO_BYTES: int = 1024 * 1024

_short = reprlib.Repr()
_short.maxstring = 60
_short.maxother = 60
_short.maxlevel = 3


def _range_problem(key: str, value: float) -> str | None:
    lo, hi = NUMERIC_RANGES[key]
    if not lo <= value <= hi:
        return f"{key} must lie between {lo:.10g} and {hi:.10g}, got {_short.repr(value)}"
    return None


def depth_problem(doc: Any, limit: int = MAX_DEPTH) -> str | None:
    """A message naming the key when ``doc`` nests tables/lists deeper than ``limit``
    (checked without recursion; :func:`layers.toml_guard.nesting_problem`)."""
    from layers.toml_guard import nesting_problem

    return nesting_problem(doc, limit)


def loads_toml(text: str, source: str) -> dict[str, Any]:
    """Parse scenario TOML text; every failure (syntax, size over :data:`MAX_SCENARIO_BYTES`,
    nesting, naming the key) is a :class:`ScenarioError` naming ``source``."""
    from layers.toml_guard import TomlLimitError, loads_guarded

    try:
        return loads_guarded(text, max_bytes=MAX_SCENARIO_BYTES, max_depth=MAX_DEPTH)
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(f"{source}: not valid TOML: {exc}") from exc
    except TomlLimitError as exc:
        raise ScenarioError(f"{source}: not a scenario: {exc}") from exc


#: a county (6), township (9) or village (12 digit) code
_CODE_RE = re.compile(r"^\d{6}(\d{3}(\d{3})?)?$")


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _is_int(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return True
    return isinstance(value, float) and value.is_integer()


def _code(value: Any) -> str | None:
    """A unit code as a string (TOML may give it as an integer); None if it is not one."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        value = str(value)
    if isinstance(value, str) and _CODE_RE.match(value.strip()):
        return value.strip()
    return None


@dataclass(frozen=True)
class Edit:
    """One edit of a scenario.

    Attributes
    ----------
    op : str
        One of :data:`EDIT_OPS`.
    params : dict
        The edit's keys other than ``op``, normalised (codes as strings, capacity int).
    """

    op: str
    params: Mapping[str, Any] = field(default_factory=dict)

    def get(self, key: str, default: Any = None) -> Any:
        return self.params.get(key, default)

    def to_dict(self) -> dict[str, Any]:
        """The edit as a plain dict in the scenario edit schema (``op`` first)."""
        out: dict[str, Any] = {"op": self.op}
        for key, value in self.params.items():
            out[key] = list(value) if isinstance(value, tuple) else value
        return out

    def describe(self, index: int) -> str:
        """``edit #3 (close_facility)``: how messages name an edit (1-based)."""
        return f"edit #{index + 1} ({self.op})"


def check_edit(raw: Any, index: int) -> tuple[Edit | None, list[str]]:
    """Check one raw edit dict on its own; return the normalised edit and its problems."""
    where = f"edit #{index + 1}"
    if not isinstance(raw, Mapping):
        return None, [f"{where}: an edit must be a table, got {type(raw).__name__}"]
    # JSON edits from the browser may carry null for an unset optional key: treat as absent
    raw = {k: v for k, v in raw.items() if v is not None}
    op = raw.get("op")
    if op not in EDIT_OPS:
        known = ", ".join(EDIT_OPS)
        return None, [f"{where} (op={_short.repr(op)}): unknown op; known ops: {known}"]
    where = f"edit #{index + 1} ({op})"
    required, optional = EDIT_OPS[op]
    problems: list[str] = []
    keys = set(raw) - {"op"}
    for key in sorted(required - keys):
        problems.append(f"{where}: missing key {key!r}")
    for key in sorted(keys - required - optional):
        problems.append(f"{where}: unknown key {key!r}")
    params: dict[str, Any] = {}
    for key in raw:
        if key == "op" or key not in required | optional:
            continue
        value = raw[key]
        problem = None
        if key in {"facility_id", "serves_place_id", "name", "note", "address", "target"}:
            if isinstance(value, int) and not isinstance(value, bool) and key != "note":
                value = str(value)
            if not isinstance(value, str) or (key in {"facility_id", "target"} and not value.strip()):
                problem = f"{key} must be a non-empty string"
            else:
                value = value.strip() if key != "note" else value
        elif key == "type":
            if value not in FACILITY_TYPES:
                problem = f"unknown facility type {_short.repr(value)}"
        elif key == "tier":
            if value not in CHILD_HOME_TIERS:
                problem = f"unknown tier {_short.repr(value)} (known: {', '.join(CHILD_HOME_TIERS)})"
        elif key == "level":
            if value not in FACILITY_LEVELS:
                problem = f"unknown level {_short.repr(value)} (known: {', '.join(FACILITY_LEVELS)})"
        elif key == "place_kind":
            if value not in PUBLIC_PLACE_KINDS:
                problem = f"unknown place_kind {_short.repr(value)}"
        elif key in {"capacity", "daily_visitors", "projection_year"}:
            if not _is_int(value) or not _is_number(value) or value < 0:
                problem = f"{key} must be a whole number ≥ 0, got {_short.repr(value)}"
            else:
                value = int(value)
                problem = _range_problem(key, value)
        elif key == "building_area_m2":
            if not _is_number(value) or value < 0:
                problem = f"{key} must be a number ≥ 0 (m²), got {_short.repr(value)}"
            else:
                value = float(value)
                problem = _range_problem(key, value)
        elif key in {"is_inclusive", "has_reading_area"}:
            if not isinstance(value, bool):
                problem = f"{key} must be true or false, got {_short.repr(value)}"
        elif key in {"village", "county"}:
            code = _code(value)
            digits = 12 if key == "village" else 6
            if code is None or len(code) != digits:
                problem = f"{key} must be a {digits}-digit code, got {_short.repr(value)}"
            else:
                value = code
        elif key in {"lon", "lat"}:
            if not _is_number(value):
                problem = f"{key} must be a number (degrees), got {_short.repr(value)}"
            else:
                value = float(value)
                problem = _range_problem(key, value)
        elif key == "crs":
            value = str(value).lower() if isinstance(value, str) else value
            if value not in EDIT_CRS:
                problem = f"unknown crs {_short.repr(value)} (known: {', '.join(EDIT_CRS)})"
        elif key == "factor":
            if not _is_number(value) or value <= 0:
                problem = f"factor must be a number > 0, got {_short.repr(value)}"
            else:
                value = float(value)
                problem = _range_problem(key, value)
        elif key == "threshold":
            if not _is_number(value):
                problem = f"threshold must be a number, got {_short.repr(value)}"
            else:
                value = float(value)
                problem = _range_problem(key, value)
        elif key == "band":
            if (
                not isinstance(value, (list, tuple))
                or len(value) != 2
                or not all(_is_number(v) for v in value)
                or value[0] > value[1]
            ):
                problem = f"band must be [low, high] with low ≤ high, got {_short.repr(value)}"
            else:
                value = (float(value[0]), float(value[1]))
                problem = _range_problem("band", value[0]) or _range_problem("band", value[1])
        if problem:
            problems.append(f"{where}: {problem}")
        else:
            params[key] = value
    # cross-key rules
    if op == "add_facility":
        has_point = "lon" in raw or "lat" in raw
        if has_point and not ("lon" in raw and "lat" in raw):
            problems.append(f"{where}: give both lon and lat")
        if not has_point and "village" not in raw:
            problems.append(f"{where}: give a location: village = code, or lon/lat (+ crs)")
        if "crs" in raw and not has_point:
            problems.append(f"{where}: crs given without lon/lat")
        if raw.get("type") in {"childcare", "kindergarten"} and "capacity" not in raw:
            problems.append(f"{where}: a {raw.get('type')} needs a capacity")
        if "tier" in raw and raw.get("type") != "child_home":
            problems.append(f"{where}: tier applies to child_home only")
    if op == "override_target" and ("threshold" in raw) == ("band" in raw):
        problems.append(f"{where}: give exactly one of threshold or band")
    if problems:
        return None, problems
    return Edit(op=op, params=params), []


@dataclass(frozen=True)
class Scenario:
    """A what-if scenario: a base dataset, an inventory year and a list of edits.

    Attributes
    ----------
    name : str
        Display name (any text; the saved file name is validated separately).
    description : str
        Free text.
    base : str
        ``"embedded"`` or a dataset folder path.
    year : int or None
        Inventory year edited and evaluated; None means the dataset's latest year.
    edits : tuple of Edit
    source : str
        Where the scenario came from (a file path, or ``<edits>``), used in messages.
    """

    name: str
    description: str = ""
    base: str = "embedded"
    year: int | None = None
    edits: tuple[Edit, ...] = ()
    source: str = "<edits>"

    # ------------------------------------------------------------------ constructors
    @classmethod
    def from_dict(cls, doc: Mapping[str, Any], source: str = "<edits>") -> "Scenario":
        """Build and check a scenario from a parsed file or a JSON-like dict.

        Raises
        ------
        ScenarioError
            Listing every problem (top-level keys and each bad edit), naming ``source``.
        """
        problems: list[str] = []
        if not isinstance(doc, Mapping):
            raise ScenarioError(f"{source}: a scenario must be a table of keys")
        nested = depth_problem(doc)
        if nested:
            raise ScenarioError(f"{source}: not a scenario: {nested}")
        allowed = {"name", "description", "base", "year", "edits"}
        for key in sorted(set(doc) - allowed):
            problems.append(f"unknown key {key!r}")
        name = doc.get("name")
        if not isinstance(name, str) or not name.strip():
            problems.append("missing or empty key 'name'")
            name = ""
        description = doc.get("description", "")
        if not isinstance(description, str):
            problems.append("description must be text")
            description = ""
        base = doc.get("base", "embedded")
        if not isinstance(base, str) or not base.strip():
            problems.append("base must be 'embedded' or a dataset folder path")
            base = "embedded"
        year = doc.get("year")
        if year is not None and (not _is_int(year) or not 1990 <= int(year) <= 2100):
            problems.append(f"year must be an inventory year such as 2024, got {year!r}")
            year = None
        raw_edits = doc.get("edits", [])
        if not isinstance(raw_edits, (list, tuple)):
            problems.append("edits must be a list of [[edits]] tables")
            raw_edits = []
        edits: list[Edit] = []
        for i, raw in enumerate(raw_edits):
            edit, edit_problems = check_edit(raw, i)
            problems.extend(edit_problems)
            if edit is not None:
                edits.append(edit)
        if problems:
            raise ScenarioError(
                f"{source}: {len(problems)} problem(s) in the scenario:\n" + "\n".join(problems)
            )
        return cls(
            name=name.strip(),
            description=description,
            base=base.strip(),
            year=int(year) if year is not None else None,
            edits=tuple(edits),
            source=source,
        )

    @classmethod
    def from_edits(
        cls,
        name: str,
        edits: Iterable[Mapping[str, Any]],
        year: int | None = None,
        description: str = "",
        base: str = "embedded",
        source: str = "<edits>",
    ) -> "Scenario":
        """A scenario from a list of edit dicts (e.g. built in the browser, or proposals)."""
        return cls.from_dict(
            {
                "name": name,
                "description": description,
                "base": base,
                "year": year,
                "edits": [dict(e) for e in edits],
            },
            source=source,
        )

    # ------------------------------------------------------------------ views
    def to_dict(self) -> dict[str, Any]:
        """Plain dict in the file schema (JSON- and TOML-serialisable; no ``source``)."""
        out: dict[str, Any] = {
            "name": self.name,
            "description": self.description,
            "base": self.base,
        }
        if self.year is not None:
            out["year"] = self.year
        out["edits"] = [e.to_dict() for e in self.edits]
        return out

    def with_year(self, year: int | None) -> "Scenario":
        """The same scenario evaluated for another inventory year."""
        return Scenario(self.name, self.description, self.base, year, self.edits, self.source)

    def base_path(self) -> Path | None:
        """Dataset folder of the base (None for the embedded dataset).

        A relative path is taken relative to the scenario file's folder.
        """
        if self.base == "embedded":
            return None
        path = Path(self.base)
        if not path.is_absolute() and self.source not in {"<edits>", ""}:
            path = Path(self.source).parent / path
        return path

    def error(self, message: str) -> ScenarioError:
        return ScenarioError(f"{self.source}: {message}")


def load_scenario(path: str | Path) -> Scenario:
    """Read a scenario file (``.toml``; ``.yaml``/``.yml`` when PyYAML is installed).

    Raises
    ------
    ScenarioError
        The file is missing, does not parse, or has bad keys or edits (all listed).
    """
    path = Path(path)
    source = str(path)
    if not path.is_file():
        raise ScenarioError(f"{source}: scenario file not found")
    suffix = path.suffix.lower()
    size = path.stat().st_size
    if size > MAX_SCENARIO_BYTES:  # refused before reading it
        raise ScenarioError(f"{source}: not a scenario: {size:,} bytes, above the limit of "
                            f"{MAX_SCENARIO_BYTES:,} bytes")
    try:
        if suffix == ".toml":
            doc = loads_toml(path.read_bytes().decode("utf-8"), source)
        elif suffix in {".yaml", ".yml"}:
            try:
                import yaml  # optional dependency
            except ModuleNotFoundError as exc:
                raise ScenarioError(
                    f"{source}: YAML scenarios need PyYAML; use a .toml scenario file"
                ) from exc
            with path.open("r", encoding="utf-8") as fh:
                doc = yaml.safe_load(fh)
        else:
            raise ScenarioError(f"{source}: a scenario file must end in .toml (or .yaml)")
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(f"{source}: not valid TOML: {exc}") from exc
    except UnicodeDecodeError as exc:
        raise ScenarioError(f"{source}: not UTF-8 text: {exc}") from exc
    except ScenarioError:
        raise
    except Exception as exc:  # yaml.YAMLError and friends, without importing yaml eagerly
        if type(exc).__module__.startswith("yaml"):
            raise ScenarioError(f"{source}: not valid YAML: {exc}") from exc
        raise
    return Scenario.from_dict(doc, source=source)
