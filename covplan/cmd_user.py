"""``covplan user``: accounts of the city server, kept in the store's database.

``covplan user add NAME --role county-editor --county 331127``, ``user passwd NAME``,
``user disable NAME`` (``--enable`` to undo), ``user list``. The password is read without
echo from the terminal, or from standard input with ``--password-stdin`` (for scripts);
it is never taken from the command line, where other users could read it.
Roles: ``city-admin`` 市级管理员, ``county-editor`` 县级填报员 (one county), ``viewer`` 只读.
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys

from layers._errors import CovplanError


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("user", help="server accounts: add, passwd, disable, list / 用户管理",
                              description="Accounts of `covplan serve`, kept in the store's database.")
    p.add_argument("--store", default=os.environ.get("COVPLAN_STORE"), metavar="URL",
                   help="the store's database URL (or COVPLAN_STORE)")
    sub = p.add_subparsers(dest="user_command", metavar="ACTION")
    sub.required = True
    add = sub.add_parser("add", help="add an account")
    add.add_argument("name")
    add.add_argument("--role", required=True, choices=("city-admin", "county-editor", "viewer"))
    add.add_argument("--county", default=None, help="6-digit county code (county editors only), e.g. 331127")
    add.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    add.set_defaults(func=_add)
    pw = sub.add_parser("passwd", help="set a new password (unlocks the account, ends its sessions)")
    pw.add_argument("name")
    pw.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    pw.set_defaults(func=_passwd)
    dis = sub.add_parser("disable", help="disable an account (its sessions end at once)")
    dis.add_argument("name")
    dis.add_argument("--enable", action="store_true", help="enable it again instead")
    dis.set_defaults(func=_disable)
    ls = sub.add_parser("list", help="list the accounts")
    ls.set_defaults(func=_list)


def _accounts(args: argparse.Namespace):
    if not args.store:
        raise CovplanError("covplan user: --store URL (or COVPLAN_STORE) is required")
    from dashapp.server.accounts import Accounts
    from store.engine import make_engine, resolve_url

    accts = Accounts(make_engine(resolve_url(args.store)))
    accts.create_schema()
    return accts


def _password(args: argparse.Namespace) -> str:
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    first = getpass.getpass("新密码 / new password: ")
    if getpass.getpass("再输入一次 / again: ") != first:
        raise CovplanError("the two passwords differ")
    return first


def _add(args: argparse.Namespace) -> int:
    user = _accounts(args).add(args.name, args.role, _password(args), args.county)
    print(f"added {user.name} ({user.role}{', county ' + user.county if user.county else ''})")
    return 0


def _passwd(args: argparse.Namespace) -> int:
    accts = _accounts(args)
    if accts.get(args.name) is None:
        raise CovplanError(f"user {args.name!r}: no such user")
    accts.set_password(args.name, _password(args))
    print(f"password of {args.name} changed; the account is unlocked and its sessions ended")
    return 0


def _disable(args: argparse.Namespace) -> int:
    user = _accounts(args).set_disabled(args.name, not args.enable)
    print(f"{user.name}: {'disabled' if user.disabled else 'enabled'}")
    return 0


def _list(args: argparse.Namespace) -> int:
    from dashapp.server.roles import ROLE_LABELS_ZH

    for u in _accounts(args).list():
        state = "disabled" if u.disabled else ("locked" if u.locked() else "active")
        print(f"{u.name}\t{u.role}\t{ROLE_LABELS_ZH[u.role]}\t{u.county or '-'}\t{state}")
    return 0
