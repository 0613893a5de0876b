"""A small, strict TOML writer for scenario files (``tomllib`` only reads).

It writes exactly what a scenario needs: top-level scalar keys, then an array of tables
(``[[edits]]``) whose values are strings, integers, floats, booleans or flat lists of
those. Anything else raises :class:`TypeError`, so a value that could not be read back
identically is never written. ``tomllib.loads(dumps(d)) == d`` holds for every accepted
``d`` (tested with quotes, backslashes, control characters and Chinese text).
"""

from __future__ import annotations

import math
import re
from typing import Any

_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")

_ESCAPES = {
    "\\": "\\\\",
    '"': '\\"',
    "\b": "\\b",
    "\t": "\\t",
    "\n": "\\n",
    "\f": "\\f",
    "\r": "\\r",
}


def quote_string(text: str) -> str:
    """Return ``text`` as a TOML basic string (double-quoted, escaped).

    Backslash, double quote and the named control characters use their short escapes;
    every other control character (U+0000–U+001F, U+007F) is written as ``\\uXXXX``.
    Non-ASCII text (Chinese) is written as is: TOML files are UTF-8.
    """
    out = []
    for ch in text:
        if ch in _ESCAPES:
            out.append(_ESCAPES[ch])
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\u{ord(ch):04X}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def format_key(key: str) -> str:
    """A bare key when the key allows it, else a quoted key."""
    if not isinstance(key, str) or not key:
        raise TypeError(f"TOML keys must be non-empty strings, got {key!r}")
    return key if _BARE_KEY.match(key) else quote_string(key)


def format_value(value: Any) -> str:
    """One TOML value: string, int, float, bool, or a flat list of those."""
    if isinstance(value, bool):  # before int: bool is an int subclass
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        text = repr(value)  # shortest repr that round-trips
        if "e" not in text and "." not in text:
            text += ".0"
        return text
    if isinstance(value, str):
        return quote_string(value)
    if isinstance(value, (list, tuple)):
        if any(isinstance(v, (list, tuple, dict)) for v in value):
            raise TypeError("nested lists and tables inside a list are not written by this writer")
        return "[" + ", ".join(format_value(v) for v in value) + "]"
    # numpy scalars and the like: accept their Python equivalent
    item = getattr(value, "item", None)
    if callable(item):
        return format_value(item())
    raise TypeError(f"cannot write a value of type {type(value).__name__} to TOML")


def dumps(doc: dict[str, Any], table_arrays: tuple[str, ...] = ("edits",)) -> str:
    """Serialise ``doc`` to TOML text.

    Parameters
    ----------
    doc : dict
        Top-level keys with scalar or flat-list values; the keys named in
        ``table_arrays`` hold a list of flat dicts, written as ``[[key]]`` tables.
    table_arrays : tuple of str
        Keys written as arrays of tables, after all scalar keys.

    Returns
    -------
    str
        UTF-8 TOML text ending in a newline. ``None`` values are omitted (TOML has no null).
    """
    lines: list[str] = []
    for key, value in doc.items():
        if key in table_arrays or value is None:
            continue
        if isinstance(value, dict):
            raise TypeError(f"nested table {key!r} is not written by this writer")
        lines.append(f"{format_key(key)} = {format_value(value)}")
    for key in table_arrays:
        rows = doc.get(key)
        if rows is None:
            continue
        if not isinstance(rows, (list, tuple)):
            raise TypeError(f"{key!r} must be a list of tables")
        if not rows:
            # an empty array of tables has no [[key]] form; write the empty array inline
            lines.append(f"{format_key(key)} = []")
            continue
        for row in rows:
            if not isinstance(row, dict):
                raise TypeError(f"every entry of {key!r} must be a table (dict)")
            lines.append("")
            lines.append(f"[[{format_key(key)}]]")
            for k, v in row.items():
                if v is None:
                    continue
                if isinstance(v, dict):
                    raise TypeError(f"nested table {k!r} inside [[{key}]] is not written")
                lines.append(f"{format_key(k)} = {format_value(v)}")
    return "\n".join(lines) + "\n"
