"""Normalise and match administrative unit names (村/社区, 乡镇/街道, 县市区).

Planners write unit names many ways: ``永晖社区居委会``, ``永晖社区``, ``永晖``; ``联城街道办事处``,
``联城街道``; ``太平乡人民政府``; full-width letters and stray spaces. :func:`normalise_name`
reduces every spelling to a *key* (NFKC, no spaces or punctuation, administrative suffixes
stripped), and :class:`UnitNameIndex` matches a name against a unit table by key, using the
county (and township, for villages) to break ties between equal names.

A match is ``unique`` (one unit), ``ambiguous`` (several units share the name: the candidates
are listed) or ``unknown`` (no unit: the closest names are suggested, by :mod:`difflib`).
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from dataclasses import dataclass, field
from typing import Iterable

import pandas as pd

__all__ = [
    "NameMatch",
    "UnitNameIndex",
    "clean_text",
    "normalise_name",
]

#: per level: (committee/government suffixes, unit-kind suffixes); at most one of each is
#: stripped, longest first, so 一村村村委会 → 一村村 → 一村 while 一村村委会 → 一村 → 一
_SUFFIXES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "village": (("村民委员会", "居民委员会", "村委会", "居委会", "委员会"), ("社区", "村")),
    "township": (("办事处", "人民政府"), ("街道", "镇", "乡")),
    "county": (("人民政府",), ("畲族自治县", "自治县", "区", "县", "市")),
}
#: ethnic qualifiers that users often leave out (老竹畲族镇 ~ 老竹镇)
_ETHNIC = ("畲族",)

_PUNCT = re.compile(r"[\s\u3000·•・.,，。、;；:：'\"“”‘’()（）\[\]【】<>《》\-—_/\\|]+")


def clean_text(value: object) -> str:
    """NFKC-normalised text without surrounding spaces; ``""`` for None/NaN."""
    if value is None:
        return ""
    if isinstance(value, float) and value != value:  # NaN
        return ""
    try:
        if pd.isna(value):
            return ""
    except (TypeError, ValueError):
        pass
    return unicodedata.normalize("NFKC", str(value)).strip()


def _strip_one(text: str, suffixes: tuple[str, ...]) -> str:
    for suffix in suffixes:
        if text.endswith(suffix) and len(text) > len(suffix):
            return text[: -len(suffix)]
    return text


def _committee_forms(text: str, level: str) -> set[str]:
    """The unit's name without its committee suffix, in the forms people write it.

    ``青岗村委会`` → {青岗, 青岗村}; ``永晖社区居委会`` → {永晖社区}; ``七居委会`` → {七, 七社区};
    ``联城街道办事处`` → {联城街道}.
    """
    for suffix in _SUFFIXES[level][0]:
        if text.endswith(suffix) and len(text) > len(suffix):
            base = text[: -len(suffix)]
            forms = {base}
            if level == "village" and suffix.startswith("村"):
                forms.add(base + "村")
            elif level == "village" and suffix.startswith("居") and not base.endswith("社区"):
                forms.add(base + "社区")
            return forms
    return set()


def _aliases(name: object, level: str) -> set[str]:
    """Every spelling that denotes the unit ``name`` (unit side of the second matching tier)."""
    exact = _exact_key(name)
    out = {exact} | _committee_forms(exact, level)
    for form in list(out):
        out.add(_strip_one(form, _SUFFIXES[level][1]))
    if level in ("township", "county"):
        for form in list(out):
            for word in _ETHNIC:
                if word in form and form.replace(word, ""):
                    out.add(form.replace(word, ""))
    return {a for a in out if a}


def _user_forms(text: object, level: str) -> set[str]:
    """What a user's spelling may mean (user side of the second tier): no kind stripping."""
    exact = _exact_key(text)
    return {exact} | _committee_forms(exact, level)


def normalise_name(name: object, level: str = "village") -> str:
    """Matching key of a unit name.

    Full-width → half-width (NFKC), spaces and punctuation removed, then at most one
    committee/government suffix (村民委员会, 居委会, 办事处, 人民政府 …) and one unit-kind suffix
    (村, 社区, 街道, 镇, 乡, 县, 区, 市 …) of ``level`` stripped, never down to an empty
    string; ``畲族`` is dropped inside township/county names.

    Examples
    --------
    >>> normalise_name("永晖社区居民委员会"), normalise_name("永晖社区")
    ('永晖', '永晖')
    >>> normalise_name("联城街道办事处", "township"), normalise_name("老竹镇", "township")
    ('联城', '老竹')
    """
    if level not in _SUFFIXES:
        raise ValueError(f"unknown unit level {level!r}")
    text = _strip_one(_PUNCT.sub("", clean_text(name)), _SUFFIXES[level][0])
    if level in ("township", "county"):
        for word in _ETHNIC:
            stripped = text.replace(word, "")
            if stripped:
                text = stripped
    return _strip_one(text, _SUFFIXES[level][1])


def _exact_key(name: object) -> str:
    return _PUNCT.sub("", clean_text(name))


@dataclass(frozen=True)
class NameMatch:
    """Outcome of matching one name.

    Attributes
    ----------
    status : str
        ``unique``, ``ambiguous`` or ``unknown``.
    code : str or None
        Code of the unit for a unique match.
    name : str or None
        Official name of that unit.
    candidates : tuple of (code, name, context)
        For ``ambiguous``: every unit sharing the name (context = county/township names).
    suggestions : tuple of str
        For ``unknown``: the closest official names (difflib).
    """

    status: str
    code: str | None = None
    name: str | None = None
    candidates: tuple[tuple[str, str, str], ...] = field(default_factory=tuple)
    suggestions: tuple[str, ...] = field(default_factory=tuple)

    @property
    def ok(self) -> bool:
        return self.status == "unique"

    def describe(self) -> str:
        """One-line bilingual explanation for reports."""
        if self.status == "unique":
            return f"{self.name} ({self.code})"
        if self.status == "ambiguous":
            cands = "; ".join(f"{n} {c} [{ctx}]" for c, n, ctx in self.candidates[:8])
            return f"名称不唯一 / ambiguous name, candidates: {cands}"
        sugg = "、".join(self.suggestions) if self.suggestions else "—"
        return f"未找到 / not found; closest names: {sugg}"


class UnitNameIndex:
    """Name lookup over one unit table.

    Parameters
    ----------
    units : DataFrame
        Must have ``code`` and ``name``; ``county_code`` (townships, villages) and
        ``township_code`` (villages) are used to break ties.
    level : str
        ``village``, ``township`` or ``county`` (selects the suffixes stripped).
    context_names : dict, optional
        code → display name of counties/townships, used to describe candidates.
    """

    def __init__(
        self,
        units: pd.DataFrame,
        level: str,
        context_names: dict[str, str] | None = None,
    ) -> None:
        self.level = level
        self._ctx = context_names or {}
        cols = ["code", "name"] + [c for c in ("county_code", "township_code") if c in units]
        table = units[cols].copy()
        for col in cols:
            table[col] = table[col].map(clean_text)
        table["key"] = table["name"].map(lambda s: normalise_name(s, level))
        table["exact"] = table["name"].map(_exact_key)
        self.table = table.reset_index(drop=True)
        self._by_key: dict[str, list[int]] = {}
        self._by_alias: dict[str, list[int]] = {}
        self._by_exact: dict[str, list[int]] = {}
        for i, (name, key, exact) in enumerate(zip(self.table["name"], self.table["key"], self.table["exact"])):
            self._by_key.setdefault(key, []).append(i)
            self._by_exact.setdefault(exact, []).append(i)
            for alias in _aliases(name, level):
                self._by_alias.setdefault(alias, []).append(i)
        self._names = sorted(set(self.table["name"]))
        self._memo: dict[tuple, NameMatch] = {}
        # plain lists and dicts, built once: matching never touches pandas per name, so an
        # inventory of n unknown names costs O(n), not O(n × units) (#14)
        self._code = list(self.table["code"])
        self._name = list(self.table["name"])
        self._county = list(self.table["county_code"]) if "county_code" in self.table else None
        self._township = list(self.table["township_code"]) if "township_code" in self.table else None
        self._by_code: dict[str, list[int]] = {}
        for i, code in enumerate(self._code):
            self._by_code.setdefault(code, []).append(i)
        self._scopes: dict[tuple, tuple[dict[str, str], dict[str, set[str]]]] = {}

    def _filter(self, rows: list[int], county: str | None, township: str | None) -> list[int]:
        out = rows
        if county and self._county is not None:
            out = [i for i in out if self._county[i] == county]
        if township and self._township is not None:
            out = [i for i in out if self._township[i] == township]
        return out

    def _scope(self, county: str | None, township: str | None) -> tuple[dict[str, str], dict[str, set[str]]]:
        """Matching key → official name of the units in scope, and character → keys holding it.

        Built once per (county, township) and kept: the suggestions for an unknown name are
        looked for only among keys sharing a character with it (difflib's ratio is 0 for the
        others, so the result equals a full scan).
        """
        hit = self._scopes.get((county, township))
        if hit is None:
            scope = self._filter(list(range(len(self._code))), county, township)
            names = sorted({self._name[i] for i in scope}) or self._names
            keys = {normalise_name(n, self.level): n for n in names}
            chars: dict[str, set[str]] = {}
            for k in keys:
                for ch in set(k):
                    chars.setdefault(ch, set()).add(k)
            hit = self._scopes[(county, township)] = (keys, chars)
        return hit

    def _context(self, i: int) -> str:
        parts = []
        for col in (self._county, self._township):
            if col is not None:
                parts.append(self._ctx.get(col[i], col[i]))
        return " ".join(p for p in parts if p)

    def match(
        self,
        name: object,
        county: str | None = None,
        township: str | None = None,
    ) -> NameMatch:
        """Match ``name``, restricted to ``county``/``township`` codes when given.

        Three tiers, the first that finds a unit wins: the exact spelling (after NFKC and
        removal of spaces); the usual short forms of the official name (``新华村`` finds
        ``新华村委会`` and not ``新华社区居委会``; ``联城`` finds ``联城街道``); then the
        fully stripped key of :func:`normalise_name`. Results are memoised (inventories
        repeat the same names many times).
        """
        key = (clean_text(name), county, township)
        hit = self._memo.get(key)
        if hit is None:
            hit = self._memo[key] = self._match(*key)
        return hit

    def _match(
        self,
        name: object,
        county: str | None = None,
        township: str | None = None,
    ) -> NameMatch:
        """Uncached :meth:`match`."""
        text = clean_text(name)
        if not text:
            return NameMatch("unknown")
        if re.fullmatch(r"\d{6,12}", text):  # a code typed into the name column
            rows = self._by_code.get(text, [])
            if rows:
                return self._result(rows)
        alias_rows = sorted({i for form in _user_forms(text, self.level) for i in self._by_alias.get(form, [])})
        for rows in (
            self._by_exact.get(_exact_key(text), []),
            alias_rows,
            self._by_key.get(normalise_name(text, self.level), []),
        ):
            rows = self._filter(rows, county, township)
            if rows:
                return self._result(rows)
        # suggestions: within the county/township when given, else everywhere
        keys, chars = self._scope(county, township)
        query = normalise_name(text, self.level)
        pool = set().union(*(chars.get(ch, ()) for ch in set(query))) if query else set()
        close = difflib.get_close_matches(query, [k for k in keys if k in pool], n=3, cutoff=0.5)
        return NameMatch("unknown", suggestions=tuple(keys[k] for k in close))

    def _result(self, rows: list[int]) -> NameMatch:
        if len(rows) == 1:
            i = rows[0]
            return NameMatch("unique", code=self._code[i], name=self._name[i])
        cands = tuple((self._code[i], self._name[i], self._context(i)) for i in rows)
        return NameMatch("ambiguous", candidates=cands)

    def match_many(self, names: Iterable[object], county: str | None = None) -> list[NameMatch]:
        """:meth:`match` over several names (same county restriction)."""
        return [self.match(n, county=county) for n in names]
