"""The supervisor's security tools: the audit trail, sign-in locks, and setting a password.

| route | who | what |
|---|---|---|
| ``GET /supervisor/audit`` | supervisor | the audit page: filters by actor, action and dates; CSV |
| ``GET /api/audit?actor=&action=&from=&to=`` | supervisor | entries, newest first (at most 5000) |
| ``GET /api/audit.csv?…`` | supervisor | the same as CSV (itself recorded as ``audit.export``) |
| ``GET /api/admin/signin-locks`` | supervisor | usernames and addresses locked now |
| ``POST /api/admin/signin-locks/unlock`` ``{"scope", "key"}`` | supervisor | lift a lock (``signin.unlock``) |
| ``POST /api/admin/users/{username}/password`` ``{"password"}`` | supervisor | a new password (``user.password``) |

Dates are days in the branches' time (WIB), as in the history.
"""

from __future__ import annotations

from datetime import datetime

from aiohttp import web

from . import appkeys, csv_export
from .accounts import AccountError
from .audit import ACTIONS, act
from .auth import require_role
from .pages import render, staff_page
from .reports import LOCAL, day_bounds
from .signin import SCOPES

CSV_COLUMNS = ("time", "actor", "role", "action", "target", "address", "detail")


def _error(status: int, code: str, message: str) -> web.Response:
    return web.json_response({"ok": False, "error": {"code": code, "message": message}}, status=status)


def _bad(message: str) -> web.HTTPBadRequest:
    return web.HTTPBadRequest(
        text=f'{{"ok": false, "error": {{"code": "invalid_payload", "message": "{message}"}}}}',
        content_type="application/json",
    )


def _filters(request: web.Request) -> dict[str, str]:
    return {k: request.query[k][:80] for k in ("actor", "action", "from", "to") if request.query.get(k)}


def _entries(request: web.Request) -> tuple[dict[str, str], list[dict]]:
    filters = _filters(request)
    try:
        since = day_bounds(filters["from"])[0] if "from" in filters else None
        until = day_bounds(filters["to"])[1] if "to" in filters else None
    except ValueError:
        raise _bad("Dates are YYYY-MM-DD.") from None
    action = filters.get("action", "")
    if action and action not in ACTIONS and not (action.endswith(".") and any(a.startswith(action) for a in ACTIONS)):
        raise _bad("Unknown action.")
    audit = request.app[appkeys.HUB].storage.audit
    return filters, audit.entries(actor=filters.get("actor", ""), action=action, since=since, until=until)


@staff_page("supervisor")
async def audit_page(request: web.Request) -> web.Response:
    filters = {k: request.query.get(k, "")[:80] for k in ("actor", "action", "from", "to")}
    return render(request, "audit.html", section="audit", actions=list(ACTIONS), filters=filters,
                  boot={"actions": list(ACTIONS)})


@require_role("supervisor")
async def audit_json(request: web.Request) -> web.Response:
    _, rows = _entries(request)
    return web.json_response({"entries": rows})


@require_role("supervisor")
async def audit_csv(request: web.Request) -> web.Response:
    filters, rows = _entries(request)
    act(request, "audit.export", "audit.csv", rows=len(rows), **filters)
    now = request.app[appkeys.HUB].storage.audit.clock()
    return csv_export.download(
        "lapak-audit",
        now,
        CSV_COLUMNS,
        (
            (
                datetime.fromtimestamp(r["at"], LOCAL).isoformat(timespec="seconds"),
                r["actor"], r["role"], r["action"], r["target"], r["address"],
                ", ".join(f"{k}={v}" for k, v in sorted(r["detail"].items())),
            )
            for r in rows
        ),
    )


@require_role("supervisor")
async def list_locks(request: web.Request) -> web.Response:
    return web.json_response({"locks": request.app[appkeys.HUB].storage.accounts.signin.locks()})


async def _object(request: web.Request) -> dict:
    if request.content_length is not None and request.content_length > 4096:
        raise _bad("The body is too large.")
    try:
        data = await request.json() if request.content_type == "application/json" else dict(await request.post())
    except ValueError:
        raise _bad("The body is not JSON.") from None
    if not isinstance(data, dict):
        raise _bad("The body must be an object.")
    return data


@require_role("supervisor")
async def unlock(request: web.Request) -> web.Response:
    data = await _object(request)
    scope, key = data.get("scope"), data.get("key")
    if scope not in SCOPES or not isinstance(key, str) or not key or len(key) > 200:
        return _error(400, "invalid_payload", 'Send {"scope": "username" or "address", "key": "..."}.')
    if not request.app[appkeys.HUB].storage.accounts.signin.unlock(scope, key):
        return _error(404, "not_found", f"No sign-in lock on this {scope}.")
    act(request, "signin.unlock", f"{scope}:{key}", scope=scope)
    return web.json_response({"ok": True})


@require_role("supervisor")
async def set_password(request: web.Request) -> web.Response:
    data = await _object(request)
    username, password = request.match_info["username"], data.get("password")
    if not isinstance(password, str):
        return _error(400, "invalid_payload", 'Send {"password": "..."} (at least 10 characters).')
    try:
        request.app[appkeys.HUB].storage.accounts.set_password(username, password)
    except AccountError as exc:
        return _error(400, "invalid", str(exc))
    act(request, "user.password", username)
    return web.json_response({"ok": True})


def setup(app: web.Application) -> None:
    r = app.router
    r.add_get("/supervisor/audit", audit_page, name="audit-page")
    r.add_get("/api/audit", audit_json)
    r.add_get("/api/audit.csv", audit_csv)
    r.add_get("/api/admin/signin-locks", list_locks)
    r.add_post("/api/admin/signin-locks/unlock", unlock)
    r.add_post("/api/admin/users/{username}/password", set_password)
