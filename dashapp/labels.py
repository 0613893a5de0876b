"""Display labels for the app, taken from the one glossary (:mod:`layers.glossary`).

The app speaks Chinese (``zh``, the default) and English (``en``). Every label the UI
shows goes through :func:`t`; this module only adds the few helpers the UI needs on top
(targets, plans, statuses, shortfall text). Labels are plain text: Dash renders them as
text nodes, so nothing here is ever interpreted as HTML.
"""

from __future__ import annotations

from typing import Any

from layers.glossary import GLOSSARY, label

LANGS: tuple[str, ...] = ("zh", "en")
DEFAULT_LANG: str = "zh"

#: glossary keys of the four result statuses, in legend order
STATUSES: tuple[str, ...] = ("met", "not_met", "no_data", "not_applicable")


def normalise_lang(lang: Any) -> str:
    """``zh`` or ``en``; anything else (None, junk from a URL) falls back to ``zh``."""
    return lang if lang in LANGS else DEFAULT_LANG


def t(key: str, lang: str = DEFAULT_LANG) -> str:
    """Glossary label of ``key`` in ``lang`` (the key itself when it is not a glossary term)."""
    return label(key, normalise_lang(lang))


def has_term(key: str) -> bool:
    """Whether ``key`` is a glossary term (used by the tests to prove no label is missing)."""
    return key in GLOSSARY


def target_label(target: Any, lang: str = DEFAULT_LANG) -> str:
    """Label of a plan target (``label_zh`` / ``label_en``; zh when en is missing)."""
    lang = normalise_lang(lang)
    zh = str(getattr(target, "label_zh", "") or getattr(target, "id", ""))
    if lang == "en":
        return str(getattr(target, "label_en", "") or zh)
    return zh


def plan_label(plan: str, lang: str = DEFAULT_LANG) -> str:
    """Label of a plan id (``women`` / ``children``)."""
    return t(f"plan_{plan}", lang) if has_term(f"plan_{plan}") else str(plan)


def chapter_label(chapter: Any, lang: str = DEFAULT_LANG) -> str:
    """Label of a plan chapter (headings joined by ``；`` translated one by one through the
    glossary, :mod:`layers.glossary_plan`); a heading that is no term stays as written."""
    text = "" if chapter is None else str(chapter)
    parts = [p.strip() for p in text.split("；") if p.strip()]
    sep = "；" if normalise_lang(lang) == "zh" else "; "
    return sep.join(t(p, lang) if has_term(p) else p for p in parts)


def target_clause(target: Any) -> str:
    """The quoted plan clause of a target, with its plan line numbers when known."""
    source = getattr(target, "source", None)
    clause = ""
    lines: Any = ""
    if isinstance(source, dict):
        clause = source.get("clause", "") or ""
        lines = source.get("lines", source.get("line", "")) or ""
    elif source is not None:
        clause = getattr(source, "clause", "") or ""
        lines = getattr(source, "lines", None) or getattr(source, "line", "") or ""
    if not clause:
        clause = str(getattr(target, "clause", "") or "")
    if isinstance(lines, (list, tuple)):
        lines = ", ".join(f"L{int(x)}" if str(x).isdigit() else str(x) for x in lines)
    elif lines != "" and str(lines).isdigit():
        lines = f"L{lines}"
    return f"{clause}（{lines}）" if clause and lines else clause


def format_number(value: Any, digits: int = 2) -> str:
    """A number for display: integers without decimals, floats to ``digits``; '' for NaN/None."""
    if value is None:
        return ""
    try:
        f = float(value)
    except (TypeError, ValueError):
        return str(value)
    if f != f:  # NaN
        return ""
    if f.is_integer():
        return str(int(f))
    return f"{f:.{digits}f}"


def shortfall_text(shortfall: Any, unit: Any, lang: str = DEFAULT_LANG) -> str:
    """``缺口量 3 个设施`` style text; '' when there is no shortfall."""
    num = format_number(shortfall)
    if num in ("", "0"):
        return ""
    unit_txt = t(str(unit), lang) if unit else ""
    sep = "" if normalise_lang(lang) == "zh" else " "
    return f"{t('shortfall', lang)}: {num}{sep}{unit_txt}".strip()
