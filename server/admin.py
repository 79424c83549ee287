"""``lapak admin``: bootstrap the first supervisor and manage accounts from a terminal.

Works directly on the records database: SQLite in the data directory, or
PostgreSQL with ``--database URL`` (the service may be running: the engine
serialises the writes, and the running service notices revoked booths and
disabled accounts by itself, see :mod:`signaling.access`). ``migrate --to
URL`` copies a pilot's SQLite records into PostgreSQL (:mod:`server.records_copy`). Passwords are read from the terminal, or
from one line of standard input with ``--password-stdin`` (for scripts).
"""

from __future__ import annotations

import argparse
import getpass
import sys
from pathlib import Path

from signaling.core.vocabulary import ROLES, SERVICES

from .accounts import AccountError
from .database import DatabaseUnreachable, database_url
from .records_copy import CopyRefused, copy_records
from .storage import Storage


def add_parser(sub) -> None:
    p = sub.add_parser("admin", help="manage branches, users and kiosks")
    p.add_argument("--data", default="lapak-data", help="data directory (default lapak-data)")
    p.add_argument(
        "--database", default=None, type=database_url, metavar="URL",
        help="work on this PostgreSQL database instead of SQLite in --data (as lapak serve --database)",
    )
    p.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    cmds = p.add_subparsers(dest="admin_command", required=True)

    init = cmds.add_parser("init", help="create the first supervisor")
    init.add_argument("username")
    init.add_argument("--name", default=None)

    branch = cmds.add_parser("add-branch", help="add a branch office")
    branch.add_argument("branch_id", help="short id, e.g. jkt-salemba")
    branch.add_argument("name", help='display name, e.g. "KC Jakarta Salemba"')

    user = cmds.add_parser("add-user", help="add a supervisor, agent or security officer")
    user.add_argument("username")
    user.add_argument("--role", required=True, choices=ROLES)
    user.add_argument("--name", default=None)
    user.add_argument("--branch", default=None, help="the officer's branch")
    user.add_argument("--skills", default=None, help=f"agent's services, comma-separated ({','.join(SERVICES)}); default all")
    user.add_argument("--capacity", type=int, default=6, help="agent's simultaneous sessions (1-6)")

    kiosk = cmds.add_parser("add-kiosk", help="provision a booth device; prints its token once")
    kiosk.add_argument("--branch", required=True)
    kiosk.add_argument("--booth", type=int, required=True)

    revoke = cmds.add_parser("revoke-kiosk", help="revoke a booth device's token")
    revoke.add_argument("kiosk_id")

    disable = cmds.add_parser("disable-user", help="disable a staff account (a running server closes its sockets)")
    disable.add_argument("username")
    enable = cmds.add_parser("enable-user", help="enable a disabled staff account again")
    enable.add_argument("username")

    password = cmds.add_parser("set-password", help="give a user a new password (their browser sessions end)")
    password.add_argument("username")

    unlock = cmds.add_parser("unlock", help="lift a sign-in lock on a username (or, with --address, an address)")
    unlock.add_argument("key", help="the username, or the address with --address")
    unlock.add_argument("--address", action="store_true", help="KEY is a client address")

    cmds.add_parser("list", help="list branches, users and kiosks")

    migrate = cmds.add_parser(
        "migrate", help="copy every record of --data's SQLite database into an empty PostgreSQL database"
    )
    migrate.add_argument("--to", required=True, type=database_url, metavar="URL", help="postgresql://user@host:port/db")


def _password(args: argparse.Namespace) -> str:
    if args.password_stdin or not sys.stdin.isatty():
        return sys.stdin.readline().rstrip("\n")
    first = getpass.getpass("Password (at least 10 characters): ")
    if getpass.getpass("Again: ") != first:
        raise AccountError("The two passwords differ.")
    return first


def _operator() -> str:
    """Who runs ``lapak admin``, for the audit trail."""
    try:
        return f"cli:{getpass.getuser()}"
    except Exception:  # no user name in this environment
        return "cli:?"


def run(args: argparse.Namespace) -> int:
    try:
        if args.admin_command == "migrate":
            copy_records(Path(args.data) / "lapak.sqlite3", args.to)
            return 0
        storage = Storage(args.database or Path(args.data) / "lapak.sqlite3")
    except (CopyRefused, DatabaseUnreachable) as exc:
        print(f"lapak admin: {exc}", file=sys.stderr)
        return 2 if isinstance(exc, CopyRefused) else 3
    accounts = storage.accounts

    def audit(action: str, target: str, **detail) -> None:
        storage.audit.record(action, _operator(), role="cli", address="local", target=target, detail=detail)

    try:
        cmd = args.admin_command
        if cmd == "init":
            if accounts.has_supervisor():
                raise AccountError("A supervisor exists already; use add-user --role supervisor.")
            accounts.add_user(args.username, _password(args), "supervisor", name=args.name)
            audit("user.add", args.username, role="supervisor")
            print(f"Supervisor {args.username} created. Sign in at /login.")
        elif cmd == "add-branch":
            accounts.add_branch(args.branch_id, args.name)
            audit("branch.add", args.branch_id, name=args.name)
            print(f"Branch {args.branch_id} added.")
        elif cmd == "add-user":
            skills = [s for s in args.skills.split(",") if s] if args.skills else None
            accounts.add_user(
                args.username, _password(args), args.role, name=args.name, branch_id=args.branch,
                skills=skills, capacity=args.capacity,
            )
            audit("user.add", args.username, role=args.role, branch=args.branch)
            print(f"{args.role.capitalize()} {args.username} added.")
        elif cmd == "add-kiosk":
            kiosk_id, token = accounts.add_kiosk(args.branch, args.booth)
            audit("kiosk.add", kiosk_id, branch=args.branch, booth=args.booth)
            print(f"Kiosk {kiosk_id} provisioned. Its token (shown only now):\n{token}")
            print(f"Open on the booth: /kiosk?token={token}")
        elif cmd == "revoke-kiosk":
            accounts.revoke_kiosk(args.kiosk_id)
            audit("kiosk.revoke", args.kiosk_id)
            print(f"Kiosk {args.kiosk_id} revoked. A running server closes its socket and ends its session.")
        elif cmd in ("disable-user", "enable-user"):
            accounts.set_active(args.username, cmd == "enable-user")
            audit("user.enable" if cmd == "enable-user" else "user.disable", args.username)
            done = "enabled" if cmd == "enable-user" else "disabled; a running server closes their sockets"
            print(f"User {args.username} {done}.")
        elif cmd == "set-password":
            accounts.set_password(args.username, _password(args))
            audit("user.password", args.username)
            print(f"New password set for {args.username}; their browser sessions ended.")
        elif cmd == "unlock":
            scope = "address" if args.address else "username"
            if not accounts.signin.unlock(scope, args.key):
                raise AccountError(f"No sign-in lock on {scope} {args.key!r}.")
            audit("signin.unlock", f"{scope}:{args.key}", scope=scope)
            print(f"Sign-in unlocked for {scope} {args.key}.")
        elif cmd == "list":
            for b in accounts.branches():
                print(f"branch  {b['branch_id']:<20} {b['name']}")
            for u in accounts.users():
                extra = u.branch_id or (",".join(sorted(u.skills)) if u.skills is not None else "all services")
                print(f"user    {u.username:<20} {u.role:<10} {extra}{'' if u.active else ' (disabled)'}")
            for k in accounts.kiosks():
                print(f"kiosk   {k.kiosk_id:<20} branch {k.branch} booth {k.booth}")
        return 0
    except AccountError as exc:
        print(f"lapak admin: {exc}", file=sys.stderr)
        return 2
    finally:
        storage.close()
