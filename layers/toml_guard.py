"""Size and nesting limits for TOML a user or another county hands us (targets, scenarios).

``tomllib`` parses nested inline arrays and tables (``a = [[[[…]]]]``) recursively: a few
hundred levels raise ``RecursionError`` (a traceback in the CLI, HTTP 500 on the server), and
dotted keys (``a.b.c.d.… = 1``) nest tables without any bracket. Before parsing,
:func:`check_toml_text` refuses text over a byte limit and inline nesting deeper than the
limit (one linear scan, no recursion); after parsing, :func:`nesting_problem` finds any
deeper nesting however it was written. Every message names the key (``key 'edits[0].x'``) and
the line where the scan found it, so the caller can name the file.

>>> doc = loads_guarded(text, max_bytes=65_536, max_depth=8)   # raises TomlLimitError / TOMLDecodeError
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from typing import Any

#: nesting of tables/arrays a document may have unless the caller says otherwise
MAX_DEPTH: int = 8

_KEY_RE = re.compile(r"\s*((?:[A-Za-z0-9_-]+|\"[^\"\n]*\"|'[^'\n]*')(?:\s*\.\s*(?:[A-Za-z0-9_-]+|\"[^\"\n]*\"|'[^'\n]*'))*)\s*=")


class TomlLimitError(ValueError):
    """The text is over a size or nesting limit (the message names the key; the caller adds the file)."""


def nesting_problem(doc: Any, limit: int = MAX_DEPTH) -> str | None:
    """``"key 'a.b[0].c': nested more than N levels deep"`` when ``doc`` nests deeper than ``limit``
    (tables and arrays both count; checked without recursion), else None."""
    stack: list[tuple[Any, int, str]] = [(doc, 0, "")]
    while stack:
        value, depth, path = stack.pop()
        if isinstance(value, Mapping):
            children = [(v, f"{path}.{k}" if path else str(k)) for k, v in value.items()]
        elif isinstance(value, (list, tuple)):
            children = [(v, f"{path}[{i}]") for i, v in enumerate(value)]
        else:
            continue
        if depth >= limit:
            return f"key {path or '(top level)'!r}: nested more than {limit} levels deep"
        stack.extend((c, depth + 1, p) for c, p in reversed(children))
    return None


def _inline_depth_problem(text: str, limit: int) -> str | None:
    """First place where inline arrays/tables (``[``/``{`` inside a value) nest deeper than ``limit``.

    A small scanner: strings (basic, literal, multi-line) and comments are skipped; a ``[`` at
    nesting 0 at the start of a line is a table header, not a value. The key reported is the
    last ``key =`` seen at nesting 0 (the statement the value belongs to).
    """
    i, n, line, depth = 0, len(text), 1, 0
    key = ""
    line_start = True
    while i < n:
        ch = text[i]
        if line_start and depth == 0:
            j = i
            while j < n and text[j] in " \t":
                j += 1
            if j < n and text[j] == "[":  # [table] or [[array of tables]]: skip the header line
                while j < n and text[j] != "\n":
                    j += 1
                i, line_start = j, False
                continue
            m = _KEY_RE.match(text, i)
            if m:
                key = re.sub(r"\s*\.\s*", ".", m.group(1))
                i, line_start = m.end(), False
                continue
        line_start = False
        if ch == "\n":
            line += 1
            line_start = True
        elif ch == "#":
            while i < n and text[i] != "\n":
                i += 1
            continue
        elif ch in "\"'":
            quote = text[i:i + 3] if text[i:i + 3] in ('"""', "'''") else ch
            i += len(quote)
            while i < n and not text.startswith(quote, i):
                if text[i] == "\\" and quote[0] == '"':
                    i += 1
                elif text[i] == "\n":
                    line += 1
                i += 1
            i += len(quote)
            continue
        elif ch in "[{":
            depth += 1
            if depth > limit:
                return f"key {key or '(top level)'!r} (line {line}): nested more than {limit} levels deep"
        elif ch in "]}":
            depth = max(0, depth - 1)
        i += 1
    return None


def check_toml_text(text: str, *, max_bytes: int, max_depth: int = MAX_DEPTH) -> None:
    """Raise :class:`TomlLimitError` when ``text`` is over ``max_bytes`` (UTF-8) or nests inline
    values deeper than ``max_depth``; cheap enough to run before every parse."""
    size = len(text.encode("utf-8"))
    if size > max_bytes:
        raise TomlLimitError(f"{size:,} bytes, above the limit of {max_bytes:,} bytes")
    problem = _inline_depth_problem(text, max_depth)
    if problem:
        raise TomlLimitError(problem)


def loads_guarded(text: str, *, max_bytes: int, max_depth: int = MAX_DEPTH) -> dict[str, Any]:
    """``tomllib.loads`` within the limits: :class:`TomlLimitError` for size and nesting (before
    and after parsing), ``tomllib.TOMLDecodeError`` for syntax."""
    check_toml_text(text, max_bytes=max_bytes, max_depth=max_depth)
    try:
        doc = tomllib.loads(text)
    except RecursionError as exc:  # the scan missed a construct: still never a traceback
        raise TomlLimitError(f"nested more than {max_depth} levels deep") from exc
    problem = nesting_problem(doc, max_depth)
    if problem:
        raise TomlLimitError(problem)
    return doc


def read_guarded(path, *, max_bytes: int, max_depth: int = MAX_DEPTH) -> dict[str, Any]:
    """:func:`loads_guarded` of a UTF-8 file; a file over ``max_bytes`` is refused before it is read."""
    from pathlib import Path

    path = Path(path)
    size = path.stat().st_size
    if size > max_bytes:
        raise TomlLimitError(f"{size:,} bytes, above the limit of {max_bytes:,} bytes")
    return loads_guarded(path.read_text(encoding="utf-8"), max_bytes=max_bytes, max_depth=max_depth)
