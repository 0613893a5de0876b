"""Coordinates written as text: decimal degrees and degree-minute-second in every common form.

Accepted (for longitude and latitude alike; spaces anywhere; full-width digits allowed):

* decimal degrees: ``119.92``, ``119.92°``, ``-0.5``;
* degrees, minutes, seconds: ``119°55′12″`` (Unicode primes), ``119°55'12"`` and
  ``119°55'12''`` (ASCII), ``119度55分12秒``, ``119 55 12``, ``119:55:12``; seconds may be
  decimal (``12.5″``) or absent (``28°27′``);
* degrees and decimal minutes: ``119°55.2′``, ``119度55.2分``;
* a hemisphere before or after: ``E119°55′``, ``119°55′E``, ``N28.45``, ``东经119.92``,
  ``北纬28°27′``, ``119.92东``; ``S``/``W``/``南纬``/``西经`` make the value negative.

Minutes and seconds must be below 60; degrees with a decimal part cannot carry minutes.
Error messages quote the cell as the user wrote it.
"""

from __future__ import annotations

import re
import unicodedata

__all__ = ["ACCEPTED_FORMS", "parse_coordinate"]

#: shown in error messages and the README
ACCEPTED_FORMS: str = "119.92, 119°55′12″, 119°55'12\", 119度55分12秒, 119°55.2′, E119°55′12″, 东经119.92, 28°27′N"

# before NFKC: NFKC turns ″ into ′′ and keeps ′, so map the marks to ASCII first
_MARKS = str.maketrans({
    "′": "'", "’": "'", "‘": "'", "´": "'", "`": "'", "＇": "'", "ʹ": "'",
    "″": '"', "”": '"', "“": '"', "＂": '"', "ʺ": '"', "〃": '"',
    "º": "°", "˚": "°", "⁰": "°", "℃": "°",
})
_HEMI = {"E": 1, "N": 1, "W": -1, "S": -1, "东": 1, "北": 1, "西": -1, "南": -1,
         "东经": 1, "北纬": 1, "西经": -1, "南纬": -1}
_PREFIX = re.compile(r"^(东经|西经|北纬|南纬|经度|纬度|[NSEW东西南北])\s*[:：]?\s*", re.IGNORECASE)
_SUFFIX = re.compile(r"\s*(东经|西经|北纬|南纬|[NSEW东西南北])$", re.IGNORECASE)
_NUM = r"(\d+(?:\.\d+)?)"
_INT = r"(\d+)"
_DEG = r"\s*(?:°|度)\s*"
_MIN = r"\s*(?:'|分)\s*"
_SEC = r"\s*(?:\"|秒)\s*"
_FORMS = [
    re.compile(rf"^{_NUM}(?:{_DEG})?$"),                               # 119.92, 119.92°
    re.compile(rf"^{_INT}{_DEG}{_NUM}(?:{_MIN})?$"),                     # 119°55.2′
    re.compile(rf"^{_INT}{_DEG}{_INT}{_MIN}{_NUM}(?:{_SEC})?$"),          # 119°55′12″
    re.compile(rf"^{_INT}{_DEG}{_INT}(?:{_MIN}|\s+){_NUM}{_SEC}$"),       # 119°55 12″
    re.compile(rf"^{_INT}(?:\s+|:){_NUM}(?:(?:\s+|:){_NUM})?$"),          # 119 55 12, 119:55:12
]


def _hemisphere(token: str) -> int:
    return _HEMI[token.upper() if token.isascii() else token]


def parse_coordinate(text: object) -> float | None:
    """Decimal degrees from a coordinate cell; None when the cell is blank.

    Raises
    ------
    ValueError
        When the cell is not a coordinate, or minutes/seconds are 60 or more; the message
        quotes the original cell.
    """
    original = "" if text is None else str(text)
    t = unicodedata.normalize("NFKC", original.translate(_MARKS)).strip()
    t = t.replace("''", '"').replace("\u3000", " ")
    if t == "":
        return None
    try:
        value = float(t)
    except ValueError:
        pass
    else:
        return value  # may be nan/inf: the importer rejects non-finite values itself
    sign = 1
    hemi: list[int] = []
    m = _PREFIX.match(t)
    if m:
        if m.group(1) not in ("经度", "纬度"):
            hemi.append(_hemisphere(m.group(1)))
        t = t[m.end():]
    m = _SUFFIX.search(t)
    if m:
        hemi.append(_hemisphere(m.group(1)))
        t = t[: m.start()]
    if len(hemi) > 1:
        raise ValueError(f"{original!r}: two hemisphere marks")
    t = t.strip()
    if t[:1] in "+-":
        sign = -1 if t[0] == "-" else 1
        t = t[1:].strip()
    parts = None
    for form in _FORMS:
        m = form.match(t)
        if m:
            parts = [float(g) if g is not None else 0.0 for g in m.groups()]
            break
    if parts is None:
        raise ValueError(f"{original!r} is not a coordinate in degrees (accepted forms: {ACCEPTED_FORMS})")
    deg, minutes, seconds = (parts + [0.0, 0.0])[:3]
    if minutes >= 60 or seconds >= 60:
        raise ValueError(f"{original!r}: minutes/seconds must be below 60")
    if (minutes or seconds) and not deg.is_integer():
        raise ValueError(f"{original!r}: degrees with a decimal part cannot have minutes")
    if seconds and not minutes.is_integer():
        raise ValueError(f"{original!r}: decimal minutes cannot have seconds")
    value = deg + minutes / 60 + seconds / 3600
    if hemi and hemi[0] < 0:
        sign = -1
    return sign * value
