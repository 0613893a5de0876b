"""Plan targets as data: one TOML file per target under ``data/targets/``.

:func:`load_targets` reads every ``*.toml`` of a folder into frozen
:class:`PlanTarget` objects and validates each file; any problem raises
:class:`~coverage._errors.TargetSpecError` naming the file and the key. The file format
is documented in ``data/targets/README.md``; a new target of an existing kind needs
only a new file.
"""

from __future__ import annotations

import dataclasses
import math
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from coverage._errors import TargetSpecError
from coverage.targets._fields import _bool, _levels, _number, _table, _text
from coverage.targets.conditions import Condition, ConditionSyntaxError, parse_condition
from layers import vocab
from layers.settings import REPO_ROOT

#: folder of the embedded target files
DEFAULT_TARGETS_DIR: Path = REPO_ROOT / "data" / "targets"

KINDS: tuple[str, ...] = (
    "presence", "unit_share", "facility_share", "capacity_ratio", "capacity_change",
    "indicator", "access", "linkage",
)
#: kinds whose threshold is a share (0 < p ≤ 1)
SHARE_KINDS: frozenset[str] = frozenset({"unit_share", "facility_share", "access", "linkage"})
#: indicators that are counts, not shares
COUNT_INDICATORS: frozenset[str] = frozenset({"child_social_workers"})
PLANS: tuple[str, ...] = ("women", "children")
SHORTFALL_UNITS: tuple[str, ...] = ("facilities", "upgrades", "upgrades_links", "slots", "places", "people", "pp", "units")
#: facility selector ``level = "same"``: the level of the unit being evaluated
SAME_LEVEL = "same"

#: unit columns a ``condition`` may read
UNIT_FIELDS: frozenset[str] = frozenset(
    {
        "code", "name", "county_code", "township_code", "township_type", "is_urban",
        "committee_type", "urban_rural_code", "pop_total", "pop_under3", "pop_under18",
        "pop_women", "pop_65plus", "pop_urban",
    }
)
#: facility columns a ``facility_condition`` / ``numerator`` may read (plus derived ones)
FACILITY_FIELDS: frozenset[str] = frozenset(vocab.FACILITY_COLUMNS) | {"has_mother_baby_room"}

_COMMON_KEYS = {
    "id", "kind", "label_zh", "label_en", "plan", "chapter", "unit_level", "plan_levels",
    "threshold", "source", "description", "note", "report_only", "shortfall_unit",
    "action_zh", "horizon",
}
_KIND_KEYS: dict[str, set[str]] = {
    "presence": {"facility", "condition", "max_count"},
    "unit_share": {"facility", "condition", "member_level", "parent_must_have"},
    "facility_share": {"facility", "facility_condition", "numerator"},
    "capacity_ratio": {"facility", "population", "per"},
    "capacity_change": {"facility", "baseline_year"},
    "indicator": {"indicator", "condition", "band"},
    "access": {"facility", "access", "condition"},
    "linkage": {"facility", "linkage"},
}
_SOURCE_KEYS = {"plan", "clause", "lines", "basis"}
_FACILITY_KEYS = {"type", "tier", "level"}
_ACCESS_KEYS = {"distance_m", "speed_m_per_min", "demand", "population", "time_min",
                "max_snap_m", "detour_factor", "snap", "max_minutes", "steps_factor"}
_LINKAGE_KEYS = {"hub_tier", "member_tier", "scope", "distance", "max_distance_m"}
_REQUIRED = ("id", "kind", "label_zh", "label_en", "plan", "chapter", "unit_level", "source")


@dataclass(frozen=True)
class FacilitySelector:
    """Which facilities a target counts: a type, optionally a 儿童之家 tier and a level.

    ``level = "same"`` means "run at the level of the unit evaluated" (a county-level
    facility for a county, a city-level one for the city).
    """

    type: str
    tier: str | None = None
    level: str | None = None


@dataclass(frozen=True)
class TargetSource:
    """Where a target comes from: plan name, the exact clause and its line numbers."""

    plan: str
    clause: str
    lines: tuple[int, ...]
    basis: str = ""


class _SpecMapping:
    """Lets ``dict(spec)``, ``spec["key"]`` and ``spec.get("key")`` read a spec dataclass."""

    def keys(self) -> list[str]:
        return [f.name for f in dataclasses.fields(self)]

    def __getitem__(self, key: str) -> Any:
        if key not in self.keys():
            raise KeyError(key)
        return getattr(self, key)

    def get(self, key: str, default: Any = None) -> Any:
        return getattr(self, key, default) if key in self.keys() else default

    def items(self) -> list[tuple[str, Any]]:
        return [(k, getattr(self, k)) for k in self.keys()]


@dataclass(frozen=True)
class AccessSpec(_SpecMapping):
    """Walking-access parameters (network distance in metres, speed in m/min)."""

    distance_m: float = 1000.0
    speed_m_per_min: float = 80.0
    demand: str = "urban"
    population: str = "pop_total"
    #: when given, the walking distance is ``time_min × speed_m_per_min``
    time_min: float | None = None
    #: a point farther than this from any road is unreachable (never covered)
    max_snap_m: float = 500.0
    #: straight-line fallback factor, used only when no network is given
    detour_factor: float = 1.3
    #: where points join the network: "edge" (nearest street point) or "node" (junction)
    snap: str = "edge"
    #: minutes walked (with a DEM: Tobler time on slopes, flat speed = distance_m / max_minutes)
    max_minutes: float | None = None
    #: speed on highway=steps relative to the flat speed (terrain only)
    steps_factor: float | None = None


@dataclass(frozen=True)
class LinkageSpec(_SpecMapping):
    """"1+N" linkage parameters: hub and member tiers, scope unit, distance method."""

    hub_tier: str = "demonstration"
    member_tier: str = "basic"
    scope: str = "township"
    distance: str = "network"
    max_distance_m: float | None = None


@dataclass(frozen=True)
class PlanTarget:
    """One checkable plan target (see ``data/targets/README.md`` for every key).

    ``threshold`` is the one numeric knob of every kind: minimum count (presence),
    share as a fraction (unit_share, facility_share, access, linkage), ratio per
    ``per`` people (capacity_ratio), places added (capacity_change), indicator threshold.
    """

    id: str
    kind: str
    label_zh: str
    label_en: str
    plan: str
    chapter: str
    unit_levels: tuple[str, ...]
    plan_levels: tuple[str, ...]
    threshold: float | None
    source: TargetSource
    facility: FacilitySelector | None = None
    condition: Condition | None = None
    facility_condition: Condition | None = None
    numerator: Condition | None = None
    max_count: int | None = None
    member_level: str | None = None
    parent_must_have: bool = False
    population: str = "pop_total"
    per: float = 1000.0
    baseline_year: int | None = None
    indicator: str | None = None
    band: tuple[float, float] | None = None
    access: AccessSpec | None = None
    linkage: LinkageSpec | None = None
    report_only: bool = False
    shortfall_unit: str | None = None
    action_zh: str | None = None
    horizon: int = 2025
    description: str = ""
    note: str = ""
    path: Path | None = field(default=None, compare=False)

    @property
    def unit_level(self) -> str:
        """The finest unit level the target is evaluated at."""
        return max(self.unit_levels, key=vocab.UNIT_LEVELS.index)

    @property
    def clause(self) -> str:
        return self.source.clause

    @property
    def source_lines(self) -> str:
        """Line numbers as text, e.g. ``"C L721, L945"`` is written ``"721,945"``."""
        return ",".join(str(n) for n in self.source.lines)

    def with_overrides(self, **changes: Any) -> "PlanTarget":
        """A copy with some values changed, validated like a file.

        Parameters
        ----------
        **changes
            ``threshold=5.5``, ``band=(0.45, 0.55)``, ``max_count=3``, …; any field name.

        Raises
        ------
        TargetSpecError
            Unknown field or an invalid value (e.g. a share of 15).
        """
        names = {f.name for f in dataclasses.fields(self)}
        unknown = sorted(set(changes) - names)
        if unknown:
            raise TargetSpecError(f"target {self.id}: cannot override unknown key(s) {', '.join(unknown)}")
        for key, allowed in (("condition", UNIT_FIELDS), ("facility_condition", FACILITY_FIELDS),
                             ("numerator", FACILITY_FIELDS)):
            if isinstance(changes.get(key), str):
                try:
                    changes[key] = parse_condition(changes[key], allowed)
                except ConditionSyntaxError as exc:
                    raise TargetSpecError(f"target {self.id}: key {key!r}: {exc}") from exc
        if "band" in changes and changes["band"] is not None:
            changes["band"] = tuple(float(v) for v in changes["band"])
        if "threshold" in changes and changes["threshold"] is not None:
            changes["threshold"] = _number(changes["threshold"], f"target {self.id}", "threshold")
        new = dataclasses.replace(self, **changes)
        _check_values(new, f"target {self.id} (override)")
        return new


# ----------------------------------------------------------------------------- loading
def load_targets(dir: str | Path | None = None) -> list[PlanTarget]:  # noqa: A002
    """Read and validate every ``*.toml`` target file of a folder.

    Parameters
    ----------
    dir : str or Path, optional
        Folder of target files; ``None`` → ``data/targets`` of the checkout.

    Returns
    -------
    list of PlanTarget
        Sorted by id (a new list each call; the frozen targets are cached per folder
        until a file changes).

    Raises
    ------
    TargetSpecError
        A file is malformed (the message names the file and the key), two files share
        an id, or the folder holds no target file.
    """
    folder = Path(dir) if dir is not None else DEFAULT_TARGETS_DIR
    if not folder.is_dir():
        raise TargetSpecError(f"{folder}: target folder not found")
    files = sorted(folder.glob("*.toml"))
    if not files:
        raise TargetSpecError(f"{folder}: no target files (*.toml)")
    signature = tuple((f.name, f.stat().st_mtime_ns, f.stat().st_size) for f in files)
    key = str(folder.resolve())
    hit = _LOADED.get(key)
    if hit is not None and hit[0] == signature:
        return list(hit[1])
    targets = _load_files(files)
    _LOADED[key] = (signature, tuple(targets))
    return list(targets)


#: folder → (file names/mtimes/sizes, targets): unchanged folders are not parsed again
_LOADED: dict[str, tuple[tuple, tuple[PlanTarget, ...]]] = {}


def _load_files(files: list[Path]) -> list[PlanTarget]:
    seen: dict[str, Path] = {}
    out = []
    for path in files:
        target = parse_target_file(path)
        if target.id in seen:
            raise TargetSpecError(f"{path.name}: key 'id': duplicate id {target.id!r} (also in {seen[target.id].name})")
        seen[target.id] = path
        out.append(target)
    return sorted(out, key=lambda t: t.id)


#: largest target file read (the embedded ones are under 2 KB; issue #14: hostile files)
MAX_TARGET_BYTES: int = 64 * 1024
#: deepest nesting of tables/arrays in a target file (the embedded ones need 3)
MAX_TARGET_DEPTH: int = 8


def parse_target_file(path: str | Path) -> PlanTarget:
    """Read and validate one target file (see :func:`load_targets`).

    A file over :data:`MAX_TARGET_BYTES` or nesting deeper than :data:`MAX_TARGET_DEPTH` is
    refused before it is parsed, naming the file (and the key).
    """
    from layers.toml_guard import TomlLimitError, read_guarded

    path = Path(path)
    try:
        raw = read_guarded(path, max_bytes=MAX_TARGET_BYTES, max_depth=MAX_TARGET_DEPTH)
    except tomllib.TOMLDecodeError as exc:
        raise TargetSpecError(f"{path.name}: TOML syntax error: {exc}") from exc
    except TomlLimitError as exc:
        raise TargetSpecError(f"{path.name}: {exc}") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise TargetSpecError(f"{path.name}: cannot read the file: {exc}") from exc
    target = target_from_dict(raw, where=path.name)
    if target.id != path.stem:
        raise TargetSpecError(f"{path.name}: key 'id': {target.id!r} must equal the file name stem {path.stem!r}")
    return dataclasses.replace(target, path=path)


def target_from_dict(raw: dict[str, Any], where: str = "<target>") -> PlanTarget:
    """Build a validated :class:`PlanTarget` from a parsed TOML table."""
    for key in _REQUIRED:
        if key not in raw:
            raise TargetSpecError(f"{where}: missing key {key!r}")
    kind = _text(raw, "kind", where)
    if kind not in KINDS:
        raise TargetSpecError(f"{where}: key 'kind': unknown kind {kind!r} (one of {', '.join(KINDS)})")
    unknown = sorted(set(raw) - _COMMON_KEYS - _KIND_KEYS[kind])
    if unknown:
        raise TargetSpecError(f"{where}: unknown key(s) {', '.join(map(repr, unknown))} for kind {kind!r}")
    tid = _text(raw, "id", where)
    plan = _text(raw, "plan", where)
    if plan not in PLANS:
        raise TargetSpecError(f"{where}: key 'plan': {plan!r} is not one of {', '.join(PLANS)}")
    unit_levels = _levels(raw["unit_level"], where, "unit_level")
    plan_levels = _levels(raw.get("plan_levels", list(unit_levels)), where, "plan_levels")
    kw: dict[str, Any] = dict(
        id=tid, kind=kind, label_zh=_text(raw, "label_zh", where), label_en=_text(raw, "label_en", where),
        plan=plan, chapter=_text(raw, "chapter", where), unit_levels=unit_levels,
        plan_levels=plan_levels, source=_source(raw["source"], where),
        threshold=_number(raw["threshold"], where, "threshold") if "threshold" in raw else None,
        report_only=_bool(raw, "report_only", where),
        horizon=int(_number(raw.get("horizon", 2025), where, "horizon")),
        description=str(raw.get("description", "")), note=str(raw.get("note", "")),
    )
    for key in ("shortfall_unit", "action_zh"):
        if key in raw:
            kw[key] = _text(raw, key, where)
    if "facility" in raw:
        kw["facility"] = _facility(raw["facility"], where)
    for key, allowed in (("condition", UNIT_FIELDS), ("facility_condition", FACILITY_FIELDS), ("numerator", FACILITY_FIELDS)):
        if key in raw:
            try:
                kw[key] = parse_condition(_text(raw, key, where), allowed)
            except ConditionSyntaxError as exc:
                raise TargetSpecError(f"{where}: key {key!r}: {exc}") from exc
    if "max_count" in raw:
        kw["max_count"] = int(_number(raw["max_count"], where, "max_count"))
    if "member_level" in raw:
        kw["member_level"] = _levels(raw["member_level"], where, "member_level")[0]
    kw["parent_must_have"] = _bool(raw, "parent_must_have", where)
    if "population" in raw:
        kw["population"] = _text(raw, "population", where)
    if "per" in raw:
        kw["per"] = _number(raw["per"], where, "per")
    if "baseline_year" in raw:
        kw["baseline_year"] = int(_number(raw["baseline_year"], where, "baseline_year"))
    if "indicator" in raw:
        kw["indicator"] = _text(raw, "indicator", where)
    if "band" in raw:
        band = raw["band"]
        if not isinstance(band, list) or len(band) != 2:
            raise TargetSpecError(f"{where}: key 'band': give [low, high]")
        kw["band"] = tuple(_number(v, where, "band") for v in band)
    if "access" in raw:
        kw["access"] = AccessSpec(**_table(raw["access"], _ACCESS_KEYS, where, "access"))
    elif kind == "access":
        kw["access"] = AccessSpec()
    if "linkage" in raw:
        kw["linkage"] = LinkageSpec(**_table(raw["linkage"], _LINKAGE_KEYS, where, "linkage"))
    elif kind == "linkage":
        kw["linkage"] = LinkageSpec()
    target = PlanTarget(**kw)
    _check_values(target, where)
    return target


# ----------------------------------------------------------------------------- checks
def _check_values(t: PlanTarget, where: str) -> None:
    """Kind-specific checks shared by files and :meth:`PlanTarget.with_overrides`."""
    def fail(key: str, msg: str) -> None:
        raise TargetSpecError(f"{where}: key {key!r}: {msg}")

    needs_facility = t.kind not in ("indicator",)
    if needs_facility and t.facility is None:
        fail("facility", f"kind {t.kind!r} needs a facility selector {{type, tier, level}}")
    if t.kind == "indicator":
        if t.indicator is None:
            fail("indicator", "kind 'indicator' needs an indicator id")
        if t.indicator not in vocab.INDICATORS:
            fail("indicator", f"unknown indicator {t.indicator!r} (one of {', '.join(vocab.INDICATORS)})")
        if t.unit_levels != (vocab.INDICATORS[t.indicator],):
            fail("unit_level", f"indicator {t.indicator!r} is reported for {vocab.INDICATORS[t.indicator]} units only")
    if not set(t.plan_levels) <= set(t.unit_levels) | ({t.member_level} if t.member_level else set()) | {"county", "city"}:
        fail("plan_levels", "must be levels the target is evaluated at")
    if t.threshold is None and not (t.report_only or t.band is not None):
        fail("threshold", "missing (only report_only and band targets may omit it)")
    is_share = t.kind in SHARE_KINDS or (t.kind == "indicator" and t.indicator not in COUNT_INDICATORS)
    if t.threshold is not None:
        if not math.isfinite(t.threshold) or t.threshold < 0:
            fail("threshold", f"{t.threshold} must be a finite number ≥ 0")
        if is_share and not 0 < t.threshold <= 1:
            hint = f" (write {t.threshold / 100:g} for {t.threshold:g}%)" if 1 < t.threshold <= 100 else ""
            fail("threshold", f"{t.threshold:g} is not a share: shares are fractions, 0 < p ≤ 1{hint}")
        if t.kind == "presence" and (t.threshold < 1 or t.threshold != int(t.threshold)):
            fail("threshold", f"{t.threshold:g}: a minimum count must be a whole number ≥ 1")
        if t.kind in ("capacity_ratio", "capacity_change") and t.threshold <= 0:
            fail("threshold", "must be > 0")
    if t.max_count is not None and (t.threshold is None or t.max_count < t.threshold):
        fail("max_count", f"{t.max_count} is below the minimum count {t.threshold}")
    if t.band is not None:
        lo, hi = t.band
        if not (0 <= lo < hi <= 1):
            fail("band", f"[{lo:g}, {hi:g}] must satisfy 0 ≤ low < high ≤ 1 (shares as fractions)")
    if t.kind == "capacity_change" and t.baseline_year is None:
        fail("baseline_year", "kind 'capacity_change' needs the baseline inventory year")
    if t.kind == "unit_share" and t.member_level is None:
        fail("member_level", "kind 'unit_share' needs the level of the units counted")
    if t.kind == "capacity_ratio" and t.population not in UNIT_FIELDS:
        fail("population", f"unknown population column {t.population!r}")
    if t.per <= 0:
        fail("per", "must be > 0")
    if t.action_zh is not None:
        try:
            t.action_zh.format(n=1, m=1)
        except (KeyError, IndexError, ValueError, AttributeError) as exc:
            fail("action_zh", f"bad template ({exc}); the template fields are {{n}} (shortfall) and {{m}} (alternative)")
    if t.shortfall_unit is not None and t.shortfall_unit not in SHORTFALL_UNITS:
        fail("shortfall_unit", f"{t.shortfall_unit!r} is not one of {', '.join(SHORTFALL_UNITS)}")
    if t.access is not None:
        if t.access.distance_m <= 0 or t.access.speed_m_per_min <= 0:
            fail("access", "distance_m and speed_m_per_min must be > 0")
        if t.access.time_min is not None and t.access.time_min <= 0:
            fail("access", "time_min must be > 0")
        if t.access.max_snap_m <= 0:
            fail("access", "max_snap_m must be > 0")
        if t.access.detour_factor < 1.0:
            fail("access", "detour_factor must be ≥ 1")
        if t.access.max_minutes is not None and t.access.max_minutes <= 0:
            fail("access", "max_minutes must be > 0")
        if t.access.steps_factor is not None and t.access.steps_factor <= 0:
            fail("access", "steps_factor must be > 0")
        if t.access.snap not in ("edge", "node"):
            fail("access", f"snap {t.access.snap!r} is not 'edge' or 'node'")
        if t.access.demand not in ("urban", "all"):
            fail("access", f"demand {t.access.demand!r} is not 'urban' or 'all'")
    if t.linkage is not None:
        for key in ("hub_tier", "member_tier"):
            if getattr(t.linkage, key) not in vocab.CHILD_HOME_TIERS:
                fail("linkage", f"{key} {getattr(t.linkage, key)!r} is not a 儿童之家 tier")
        if t.linkage.distance not in ("network", "straight_line"):
            fail("linkage", f"distance {t.linkage.distance!r} is not 'network' or 'straight_line'")
        if t.linkage.scope not in vocab.UNIT_LEVELS:
            fail("linkage", f"scope {t.linkage.scope!r} is not a unit level")


def _facility(val: Any, where: str) -> FacilitySelector:
    tab = _table(val, _FACILITY_KEYS, where, "facility")
    ftype = tab.get("type")
    if ftype not in vocab.FACILITY_TYPES:
        raise TargetSpecError(f"{where}: key 'facility.type': unknown facility type {ftype!r}")
    tier = tab.get("tier")
    if tier is not None and (ftype != "child_home" or tier not in vocab.CHILD_HOME_TIERS):
        raise TargetSpecError(
            f"{where}: key 'facility.tier': bad tier {tier!r} (儿童之家 tiers: {', '.join(vocab.CHILD_HOME_TIERS)})"
        )
    level = tab.get("level")
    if level is not None and level not in (*vocab.FACILITY_LEVELS, SAME_LEVEL):
        raise TargetSpecError(
            f"{where}: key 'facility.level': bad level {level!r} (one of {', '.join(vocab.FACILITY_LEVELS)}, same)"
        )
    return FacilitySelector(type=ftype, tier=tier, level=level)


def _source(val: Any, where: str) -> TargetSource:
    tab = _table(val, _SOURCE_KEYS, where, "source")
    for key in ("plan", "clause"):
        if not isinstance(tab.get(key), str) or not tab[key].strip():
            raise TargetSpecError(f"{where}: key 'source.{key}': missing or empty")
    lines = tab.get("lines")
    if not isinstance(lines, list) or not lines or not all(isinstance(n, int) and n > 0 for n in lines):
        raise TargetSpecError(f"{where}: key 'source.lines': give the plan text line numbers, e.g. [721, 945]")
    return TargetSource(plan=tab["plan"], clause=tab["clause"], lines=tuple(lines), basis=str(tab.get("basis", "")))
