"""A tiny, safe condition language for target files (no ``eval``).

Target files filter units (``condition = "pop_total >= 10000"``, ``"is_urban"``) and
facilities (``facility_condition = "building_area_m2 > 10000 or daily_visitors > 10000"``,
``numerator = "tier == 'demonstration'"``) with expressions of this grammar::

    expr       := term ("or" term)*
    term       := factor ("and" factor)*
    factor     := "not" factor | "(" expr ")" | comparison | field
    comparison := field op literal          op: >= > <= < == !=
    literal    := number | 'text' | "text" | true | false

A bare ``field`` means "the column is true". Missing values (NaN, None, empty text)
never satisfy a comparison or a bare field (so ``not`` of them is true).
:func:`parse_condition` checks the field names against an allowed set, so a typo in a
target file is reported when the file is loaded, not when it is evaluated.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from coverage._errors import EvaluationError

_TOKEN = re.compile(
    r"\s*(?:(?P<num>-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?)"
    r"|(?P<str>'[^']*'|\"[^\"]*\")"
    r"|(?P<op>>=|<=|==|!=|>|<)"
    r"|(?P<paren>[()])"
    r"|(?P<name>[A-Za-z_][A-Za-z0-9_]*))"
)
_OPS = (">=", "<=", "==", "!=", ">", "<")
_KEYWORDS = {"and", "or", "not", "true", "false"}


class ConditionSyntaxError(ValueError):
    """The condition text does not parse; the message says where."""


@dataclass(frozen=True)
class Condition:
    """A parsed condition; :meth:`mask` evaluates it on a DataFrame, vectorised.

    Attributes
    ----------
    text : str
        The condition as written in the target file.
    tree : tuple
        Parse tree: ``("or", a, b)``, ``("and", a, b)``, ``("not", a)``,
        ``("cmp", field, op, value)`` or ``("field", field)``.
    """

    text: str
    tree: tuple

    @property
    def fields(self) -> frozenset[str]:
        """Every column name the condition reads."""
        out: set[str] = set()

        def walk(node: tuple) -> None:
            if node[0] in ("cmp", "field"):
                out.add(node[1])
            else:
                for child in node[1:]:
                    walk(child)

        walk(self.tree)
        return frozenset(out)

    def mask(self, df: pd.DataFrame) -> np.ndarray:
        """Boolean array, one entry per row of ``df``.

        Raises
        ------
        EvaluationError
            A column the condition reads is not in ``df``.
        """
        missing = sorted(f for f in self.fields if f not in df.columns)
        if missing:
            msg = f"condition {self.text!r}: column(s) {', '.join(missing)} not in the data"
            raise EvaluationError(msg)
        return _eval(self.tree, df)

    def __str__(self) -> str:
        return self.text


def _truthy(col: pd.Series) -> np.ndarray:
    if col.dtype == bool:
        return col.to_numpy()
    vals = col.to_numpy(dtype=object)
    out = np.zeros(len(vals), dtype=bool)
    for i, v in enumerate(vals):
        if v is None or (isinstance(v, float) and np.isnan(v)) or v is pd.NA:
            continue
        if isinstance(v, str):
            out[i] = v.strip().lower() in ("true", "1", "yes")
        else:
            out[i] = bool(v)
    return out


def _compare(col: pd.Series, op: str, value: Any) -> np.ndarray:
    if isinstance(value, bool):
        left = _truthy(col)
        return left == value if op == "==" else (left != value if op == "!=" else _bad_op(op, value))
    if isinstance(value, (int, float)):
        nums = pd.to_numeric(col, errors="coerce").to_numpy(dtype=float)
        with np.errstate(invalid="ignore"):
            res = {
                ">=": nums >= value, ">": nums > value, "<=": nums <= value,
                "<": nums < value, "==": nums == value, "!=": nums != value,
            }[op]
        return res & ~np.isnan(nums)
    text = col.astype("string").fillna("").to_numpy(dtype=object)
    present = text != ""
    if op == "==":
        return (text == value) & present
    if op == "!=":
        return (text != value) & present
    return _bad_op(op, value)


def _bad_op(op: str, value: Any) -> np.ndarray:
    raise EvaluationError(f"operator {op} cannot compare with {value!r}")


def _eval(node: tuple, df: pd.DataFrame) -> np.ndarray:
    kind = node[0]
    if kind == "or":
        return _eval(node[1], df) | _eval(node[2], df)
    if kind == "and":
        return _eval(node[1], df) & _eval(node[2], df)
    if kind == "not":
        return ~_eval(node[1], df)
    if kind == "field":
        return _truthy(df[node[1]])
    return _compare(df[node[1]], node[2], node[3])


def _tokens(text: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    pos = 0
    text = text.rstrip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos:
            raise ConditionSyntaxError(f"cannot read {text[pos:].strip()!r} (character {pos + 1})")
        kind = m.lastgroup or ""
        out.append((kind, m.group(kind)))
        pos = m.end()
    return out


class _Parser:
    def __init__(self, text: str, allowed: frozenset[str] | None):
        self.text = text
        self.toks = _tokens(text)
        self.i = 0
        self.allowed = allowed

    def peek(self) -> tuple[str, str] | None:
        return self.toks[self.i] if self.i < len(self.toks) else None

    def take(self) -> tuple[str, str]:
        tok = self.peek()
        if tok is None:
            raise ConditionSyntaxError("unexpected end of condition")
        self.i += 1
        return tok

    def parse(self) -> tuple:
        if not self.toks:
            raise ConditionSyntaxError("empty condition")
        node = self.expr()
        if self.peek() is not None:
            raise ConditionSyntaxError(f"unexpected {self.peek()[1]!r}")
        return node

    def expr(self) -> tuple:
        node = self.term()
        while self.peek() == ("name", "or"):
            self.take()
            node = ("or", node, self.term())
        return node

    def term(self) -> tuple:
        node = self.factor()
        while self.peek() == ("name", "and"):
            self.take()
            node = ("and", node, self.factor())
        return node

    def factor(self) -> tuple:
        kind, val = self.take()
        if (kind, val) == ("name", "not"):
            return ("not", self.factor())
        if (kind, val) == ("paren", "("):
            node = self.expr()
            if self.take() != ("paren", ")"):
                raise ConditionSyntaxError("missing ')'")
            return node
        if kind != "name" or val in _KEYWORDS:
            raise ConditionSyntaxError(f"expected a field name, got {val!r}")
        if self.allowed is not None and val not in self.allowed:
            raise ConditionSyntaxError(
                f"unknown field {val!r} (allowed: {', '.join(sorted(self.allowed))})"
            )
        nxt = self.peek()
        if nxt is None or nxt[0] != "op":
            return ("field", val)
        op = self.take()[1]
        lkind, lval = self.take()
        if lkind == "num":
            value: Any = float(lval) if any(c in lval for c in ".eE") else int(lval)
        elif lkind == "str":
            value = lval[1:-1]
        elif (lkind, lval) in (("name", "true"), ("name", "false")):
            value = lval == "true"
        else:
            raise ConditionSyntaxError(f"expected a value after {op}, got {lval!r}")
        if isinstance(value, str) and op not in ("==", "!="):
            raise ConditionSyntaxError(f"text can only be compared with == or !=, not {op}")
        return ("cmp", val, op, value)


def parse_condition(text: str, allowed: frozenset[str] | None = None) -> Condition:
    """Parse ``text`` into a :class:`Condition`.

    Parameters
    ----------
    text : str
        The condition, e.g. ``"pop_total >= 10000 and not is_urban"``.
    allowed : frozenset of str, optional
        Field names the condition may read; any other name is an error.

    Raises
    ------
    ConditionSyntaxError
        The text does not parse, or names a field outside ``allowed``.
    """
    if not isinstance(text, str):
        raise ConditionSyntaxError(f"a condition must be text, not {type(text).__name__}")
    return Condition(text=text.strip(), tree=_Parser(text, allowed).parse())
