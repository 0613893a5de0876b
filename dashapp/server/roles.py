"""The three roles of the city server and what each may do.

* ``city-admin`` (市级管理员): everything, and manages users;
* ``county-editor`` (县级填报员): sees everything, edits and submits only the facilities of
  its one county (a 6-digit code);
* ``viewer`` (只读): sees everything, changes nothing.

:class:`Actor` is the signed-in person as the checks see them. Every check here is a pure
function, so the CLI, the Dash guard and the JSON endpoints decide the same way.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from layers._errors import CovplanError

CITY_ADMIN = "city-admin"
COUNTY_EDITOR = "county-editor"
VIEWER = "viewer"
#: every role, most powerful first
ROLES: tuple[str, ...] = (CITY_ADMIN, COUNTY_EDITOR, VIEWER)
#: display names (zh-CN first; the glossary carries the same terms)
ROLE_LABELS_ZH: dict[str, str] = {CITY_ADMIN: "市级管理员", COUNTY_EDITOR: "县级填报员", VIEWER: "只读"}

_COUNTY_CODE = re.compile(r"^3311\d\d$")
#: user names: letters, digits, ``_ . -`` and CJK ideographs, 2-40 characters
USER_NAME = re.compile(r"^[A-Za-z0-9_\u4e00-\u9fff][A-Za-z0-9_.\-\u4e00-\u9fff]{1,39}$")


class AccessDenied(PermissionError):
    """The signed-in user may not do this (HTTP 403 and an audit entry on the server).

    Not a :class:`CovplanError` on purpose: the app's callbacks turn those into messages,
    while a refusal must travel up to the server, which answers 403.
    """


def check_role(role: str, county: str | None) -> tuple[str, str | None]:
    """Validate a role and its county; return ``(role, county or None)``.

    A county editor needs exactly one Lishui county code (``3311xx``); the other roles
    take none.
    """
    if role not in ROLES:
        raise CovplanError(f"role {role!r}: use one of {', '.join(ROLES)}")
    county = (county or "").strip() or None
    if role == COUNTY_EDITOR:
        if county is None or not _COUNTY_CODE.match(county):
            raise CovplanError(f"role {role}: --county must be a Lishui county code such as 331127, not {county!r}")
    elif county is not None:
        raise CovplanError(f"role {role}: takes no --county (only a county editor is bound to one county)")
    return role, county


def check_user_name(name: str) -> str:
    if not isinstance(name, str) or not USER_NAME.match(name):
        raise CovplanError(f"user name {name!r}: 2-40 letters, digits, '_', '.', '-' or Chinese characters")
    return name


@dataclass(frozen=True)
class Actor:
    """The person behind a request: name, role and (county editors only) county code."""

    name: str
    role: str
    county: str | None = None

    @property
    def can_write(self) -> bool:
        return self.role in (CITY_ADMIN, COUNTY_EDITOR)

    @property
    def is_admin(self) -> bool:
        return self.role == CITY_ADMIN

    def may_edit_county(self, county_code: str | None) -> bool:
        """Whether this actor may change a facility of ``county_code`` (6 digits or longer)."""
        if self.role == CITY_ADMIN:
            return True
        if self.role != COUNTY_EDITOR or not county_code:
            return False
        return str(county_code)[:6] == self.county

    def require_write(self, what: str) -> None:
        if not self.can_write:
            raise AccessDenied(f"{self.name} ({self.role}) may not {what}")

    def require_county(self, county_code: str | None, what: str) -> None:
        """Raise :class:`AccessDenied` unless this actor may change ``county_code``'s records."""
        self.require_write(what)
        if not self.may_edit_county(county_code):
            raise AccessDenied(f"{self.name} ({self.role}, county {self.county}) may not {what} of county {county_code}")

    def require_admin(self, what: str) -> None:
        if not self.is_admin:
            raise AccessDenied(f"{self.name} ({self.role}) may not {what}")
