"""HTTP API: sign-in and sign-out, who am I, and the supervisor's account administration.

Pages live with their owners (``kiosk_client/web.py``, ``agent_console/web.py``,
``server/pages.py``); this module is the JSON API they and scripts use. Every
route states the roles it admits (:func:`server.auth.require_role`).
"""

from __future__ import annotations

import json

from aiohttp import web

from . import appkeys
from .accounts import AccountError
from .audit import act
from .auth import COOKIE, HOME, landing, require_role, sign_in
from .client_address import request_address
from .signin import Refusal


def _accounts(request: web.Request):
    return request.app[appkeys.HUB].storage.accounts


def _error(status: int, code: str, message: str) -> web.Response:
    return web.json_response({"ok": False, "error": {"code": code, "message": message}}, status=status)


async def _body(request: web.Request) -> dict:
    """The request's fields, from JSON or a form; at most 16 KiB."""
    if request.content_length is not None and request.content_length > 16 * 1024:
        raise web.HTTPRequestEntityTooLarge(max_size=16 * 1024, actual_size=request.content_length)
    if request.content_type == "application/json":
        try:
            data = json.loads(await request.text())
        except ValueError:
            raise web.HTTPBadRequest(
                text='{"ok": false, "error": {"code": "invalid_payload", "message": "The body is not JSON."}}',
                content_type="application/json",
            ) from None
        if not isinstance(data, dict):
            raise web.HTTPBadRequest(
                text='{"ok": false, "error": {"code": "invalid_payload", "message": "The body must be an object."}}',
                content_type="application/json",
            )
        return data
    return dict(await request.post())


def _set_cookie(response: web.StreamResponse, request: web.Request, token: str) -> None:
    response.set_cookie(
        COOKIE, token, httponly=True, samesite="Strict", secure=request.secure, path="/", max_age=12 * 3600
    )


def _limited(refusal: Refusal, is_json: bool) -> web.StreamResponse:
    """A sign-in refused by the limits: 429 with ``retry_after`` (JSON), or back to the form, which says so."""
    if not is_json:
        raise web.HTTPFound(f"/login?{'locked' if refusal.kind == 'locked' else 'wait'}={refusal.retry_after}")
    if refusal.kind == "locked":
        minutes = max(1, -(-refusal.retry_after // 60))
        message = f"Sign-in is locked after too many wrong attempts: try again in {minutes} minutes, or ask a supervisor to unlock it."
    else:
        message = f"Too many wrong attempts: wait {refusal.retry_after} seconds, then try again."
    return web.json_response(
        {"ok": False, "error": {"code": refusal.code, "message": message, "retry_after": refusal.retry_after}},
        status=429,
        headers={"Retry-After": str(refusal.retry_after)},
    )


async def login(request: web.Request) -> web.StreamResponse:
    """Sign in: JSON answers ``{"ok", "role", "home"}``; a form is redirected to the role's page.

    Limited (server/signin.py): too many wrong passwords answer 429 with
    ``too_many_attempts`` or ``locked`` and ``retry_after`` seconds (a form
    goes back to ``/login?wait=N`` or ``/login?locked=N``).
    """
    data = await _body(request)
    is_json = request.content_type == "application/json"
    result = sign_in(_accounts(request), data.get("username"), data.get("password"), request_address(request))
    user = result.user
    if user is None:
        if result.refusal is not None:
            return _limited(result.refusal, is_json)
        if is_json:
            return _error(401, "unauthorized", "Wrong username or password.")
        raise web.HTTPFound("/login?failed=1")
    token = _accounts(request).start_web_session(user)
    home = HOME[user.role]
    target = landing(user.role, data.get("next") if isinstance(data.get("next"), str) else None)
    response: web.StreamResponse = (
        web.json_response({"ok": True, "role": user.role, "home": home}) if is_json else web.HTTPFound(target)
    )
    _set_cookie(response, request, token)
    return response


async def logout(request: web.Request) -> web.StreamResponse:
    _accounts(request).end_web_session(request.cookies.get(COOKIE))
    response = web.HTTPFound("/login")
    response.del_cookie(COOKIE, path="/")
    return response


@require_role("agent", "officer", "supervisor")
async def me(request: web.Request) -> web.Response:
    return web.json_response(request[appkeys.USER].public())


# -- supervisor: accounts and kiosk provisioning ------------------------------------------


def _guard(fn):
    """Turn :class:`AccountError` into a 400 with its message."""

    async def run(request: web.Request) -> web.StreamResponse:
        try:
            return await fn(request)
        except AccountError as exc:
            return _error(400, "invalid", str(exc))
        except (TypeError, ValueError):
            return _error(400, "invalid_payload", "A field has the wrong type.")

    run.__name__ = fn.__name__
    return run


@require_role("supervisor")
async def list_branches(request: web.Request) -> web.Response:
    return web.json_response({"branches": _accounts(request).branches()})


@require_role("supervisor")
@_guard
async def add_branch(request: web.Request) -> web.Response:
    data = await _body(request)
    _accounts(request).add_branch(str(data.get("branch_id", "")), str(data.get("name", "")))
    act(request, "branch.add", data.get("branch_id"), name=str(data.get("name", "")))
    return web.json_response({"ok": True}, status=201)


@require_role("supervisor")
async def list_users(request: web.Request) -> web.Response:
    return web.json_response({"users": [u.public() for u in _accounts(request).users()]})


@require_role("supervisor")
@_guard
async def add_user(request: web.Request) -> web.Response:
    data = await _body(request)
    skills = data.get("skills")
    if isinstance(skills, str):
        skills = [s for s in skills.split(",") if s] if skills else None
    user = _accounts(request).add_user(
        username=str(data.get("username", "")),
        password=str(data.get("password", "")),
        role=str(data.get("role", "")),
        name=str(data.get("name") or "") or None,
        branch_id=str(data.get("branch")) if data.get("branch") else None,
        skills=list(skills) if skills is not None else None,
        capacity=int(data.get("capacity") or 6),
    )
    act(request, "user.add", user.username, role=user.role, name=user.name, branch=user.branch_id)
    return web.json_response({"ok": True, "user": user.public()}, status=201)


def _actor(request: web.Request) -> str:
    return f"supervisor:{request[appkeys.USER].username}"


@require_role("supervisor")
@_guard
async def set_user_active(request: web.Request) -> web.Response:
    """Enable or disable an account; disabling closes its live sockets before answering."""
    data = await _body(request)
    username = request.match_info["username"]
    _accounts(request).set_active(username, _flag(data.get("active")))
    if not _flag(data.get("active")):
        await request.app[appkeys.ACCESS].user_disabled(username, _actor(request))
    act(request, "user.enable" if _flag(data.get("active")) else "user.disable", username)
    return web.json_response({"ok": True})


def _flag(value) -> bool:
    """A yes/no field: JSON true/false, or a form's "true"/"false" (``bool("false")`` is True)."""
    if isinstance(value, bool):
        return value
    if value in ("true", "false"):
        return value == "true"
    raise ValueError("a yes/no field is true or false")


@require_role("supervisor")
async def list_kiosks(request: web.Request) -> web.Response:
    kiosks = _accounts(request).kiosks()
    return web.json_response(
        {"kiosks": [{"kiosk_id": k.kiosk_id, "branch": k.branch, "booth": k.booth} for k in kiosks]}
    )


@require_role("supervisor")
@_guard
async def add_kiosk(request: web.Request) -> web.Response:
    data = await _body(request)
    kiosk_id, token = _accounts(request).add_kiosk(str(data.get("branch", "")), int(data.get("booth") or 0))
    act(request, "kiosk.add", kiosk_id, branch=str(data.get("branch", "")), booth=int(data.get("booth") or 0))
    return web.json_response(
        {"ok": True, "kiosk_id": kiosk_id, "token": token, "note": "The token is shown only now."}, status=201
    )


@require_role("supervisor")
@_guard
async def revoke_kiosk(request: web.Request) -> web.Response:
    """Revoke a booth; its live socket is closed and its session ended before this answers."""
    kiosk = _accounts(request).revoke_kiosk(request.match_info["kiosk_id"])
    await request.app[appkeys.ACCESS].kiosk_revoked(kiosk, _actor(request))
    act(request, "kiosk.revoke", request.match_info["kiosk_id"])
    return web.json_response({"ok": True})


def setup(app: web.Application) -> None:
    r = app.router
    r.add_post("/login", login)
    r.add_post("/api/login", login)
    r.add_post("/logout", logout)
    r.add_get("/api/me", me)
    r.add_get("/api/admin/branches", list_branches)
    r.add_post("/api/admin/branches", add_branch)
    r.add_get("/api/admin/users", list_users)
    r.add_post("/api/admin/users", add_user)
    r.add_post("/api/admin/users/{username}/active", set_user_active)
    r.add_get("/api/admin/kiosks", list_kiosks)
    r.add_post("/api/admin/kiosks", add_kiosk)
    r.add_post("/api/admin/kiosks/{kiosk_id}/revoke", revoke_kiosk)
