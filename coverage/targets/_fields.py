"""Typed readers of single keys of a target file; each raises ``TargetSpecError`` naming the key."""

from __future__ import annotations

from typing import Any

from coverage._errors import TargetSpecError
from layers import vocab


def _text(raw: dict, key: str, where: str) -> str:
    val = raw.get(key)
    if not isinstance(val, str) or not val.strip():
        raise TargetSpecError(f"{where}: key {key!r}: must be non-empty text")
    return val.strip()


def _bool(raw: dict, key: str, where: str) -> bool:
    val = raw.get(key, False)
    if not isinstance(val, bool):
        raise TargetSpecError(f"{where}: key {key!r}: must be true or false")
    return val


def _number(val: Any, where: str, key: str) -> float:
    if isinstance(val, bool) or not isinstance(val, (int, float)):
        raise TargetSpecError(f"{where}: key {key!r}: {val!r} is not a number")
    return float(val)


def _levels(val: Any, where: str, key: str) -> tuple[str, ...]:
    items = [val] if isinstance(val, str) else val
    if not isinstance(items, list) or not items:
        raise TargetSpecError(f"{where}: key {key!r}: give a unit level or a list of them")
    for item in items:
        if item not in vocab.UNIT_LEVELS:
            raise TargetSpecError(f"{where}: key {key!r}: bad unit level {item!r} (one of {', '.join(vocab.UNIT_LEVELS)})")
    return tuple(items)


def _table(val: Any, allowed: set[str], where: str, key: str) -> dict[str, Any]:
    if not isinstance(val, dict):
        raise TargetSpecError(f"{where}: key {key!r}: must be a table")
    unknown = sorted(set(val) - allowed)
    if unknown:
        raise TargetSpecError(f"{where}: key {key!r}: unknown key(s) {', '.join(map(repr, unknown))}")
    return dict(val)
