"""HTTP API of the back office for online claims: validation, the interview's outcome, supervisors' controls.

| route | who |
|---|---|
| ``GET /api/online/queue`` | an agent: claims waiting for validation they have the skill for, oldest first |
| ``GET /api/online/claims/{reference}`` | an agent with the skill, a supervisor: form, documents, history |
| ``POST /api/online/claims/{reference}/open`` / ``release`` | an agent: take (lease) / give back the claim |
| ``POST /api/online/claims/{reference}/documents/{document_id}/review`` | the agent holding the claim: ``{"accepted", "reason"}`` |
| ``GET /api/online/claims/{reference}/documents/{document_id}`` | an agent with the skill, a supervisor: the file, full resolution |
| ``GET /api/online/sessions/{session_id}`` | the agent whose tile holds this interview: ``{"reference"}`` |
| ``POST /api/online/claims/{reference}/outcome`` | the interviewing agent: ``{"outcome": "approved"\\|"rejected"\\|"more_documents", "reason"}`` |
| ``POST /api/online/claims/{reference}/revoke`` | a supervisor: the status link stops working (a phone in the interview is closed) |
| ``GET/POST /api/online/capacity`` | a supervisor: ``{"day": "YYYY-MM-DD", "interviews": n}`` |
| ``GET /api/online/report`` | a supervisor: the online channel's counts and times |

Agents authenticate as for documents (cookie, or ``Bearer <agent token>``).
"""

from __future__ import annotations

import json
import re
from typing import Any

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, StrictStr

from signaling.core.vocabulary import HOME_BRANCH, AgentIdentity, KioskIdentity
from signaling.online import ClaimError, OnlineClaims, home_device

from . import appkeys
from .audit import act
from .auth import require_role
from .online_report import online_report
from .online_routes import DOOR, ONLINE, parsed_body
from .selfservice_routes import caller

_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _Review(_Body):
    accepted: StrictBool
    reason: StrictStr = ""


class _Outcome(_Body):
    outcome: StrictStr
    reason: StrictStr = ""


class _Capacity(_Body):
    day: StrictStr = Field(pattern=_DAY.pattern)
    interviews: StrictInt = Field(ge=0, le=1000)


def _error(status: int, code: str, message: str) -> web.Response:
    return web.json_response({"ok": False, "error": {"code": code, "message": message}}, status=status)


def _agent(request: web.Request) -> AgentIdentity:
    """The agent (or a supervisor, who may read every claim) making the request."""
    who = caller(request)
    if who is None:
        raise ClaimError("unauthorized", "Sign in first.", 401)
    role, identity = who
    if role == "agent":
        return identity
    if role == "supervisor":
        return AgentIdentity(agent_id=f"supervisor:{identity.username}", name=identity.name, skills=None)
    raise ClaimError("forbidden", "Your role may not open online claims.", 403)


def _only_agent(request: web.Request) -> AgentIdentity:
    agent = _agent(request)
    if agent.agent_id.startswith("supervisor:"):
        raise ClaimError("forbidden", "Only agents validate and decide claims.", 403)
    return agent


async def _body(request: web.Request) -> dict:
    if request.content_length is not None and request.content_length > 8192:
        raise ClaimError("too_large", "The body is too large.", 413)
    try:
        body = json.loads(await request.text() or "{}")
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise ClaimError("invalid_payload", "Send a JSON object.", 400)
    return body


def handler(fn):
    async def wrapped(request: web.Request) -> web.StreamResponse:
        try:
            return await fn(request, request.app[ONLINE])
        except ClaimError as exc:
            return _error(exc.status, exc.code, exc.message)
    return wrapped


def _ref(request: web.Request) -> str:
    return request.match_info["reference"][:60]


@handler
async def queue(request: web.Request, claims: OnlineClaims) -> web.Response:
    return web.json_response({"claims": claims.queue(_only_agent(request))})


@handler
async def detail(request: web.Request, claims: OnlineClaims) -> web.Response:
    agent = _agent(request)
    body = claims.detail(agent, _ref(request))
    act(request, "online.view", _ref(request), who=agent)
    return web.json_response(body)


@handler
async def open_claim(request: web.Request, claims: OnlineClaims) -> web.Response:
    return web.json_response(claims.open(_only_agent(request), _ref(request)))


@handler
async def release(request: web.Request, claims: OnlineClaims) -> web.Response:
    claims.release(_only_agent(request), _ref(request))
    return web.json_response({"ok": True})


@handler
async def review(request: web.Request, claims: OnlineClaims) -> web.Response:
    agent = _only_agent(request)
    body = parsed_body(_Review, await _body(request), '{"accepted": true|false, "reason": "…"}')
    accepted, reason = body.accepted, body.reason
    return web.json_response(claims.review(agent, _ref(request), request.match_info["document_id"][:40], accepted, reason))


@handler
async def document(request: web.Request, claims: OnlineClaims) -> web.StreamResponse:
    agent = _agent(request)
    doc = claims.document_file(agent, _ref(request), request.match_info["document_id"][:40])
    act(request, "online.document", doc["document_id"], who=agent, reference=_ref(request))
    return web.FileResponse(doc["path"], headers={"Content-Type": doc["mime"], "Cache-Control": "no-store",
                                                  "X-Content-Type-Options": "nosniff",
                                                  "Content-Disposition": "inline"})


@handler
async def session_claim(request: web.Request, claims: OnlineClaims) -> web.Response:
    agent = _only_agent(request)
    claim = claims.store.claim_by_session(request.match_info["session_id"][:40])
    if claim is None or request.app[DOOR].session_agent(claim["session_id"]) != agent.agent_id:
        raise ClaimError("not_found", "No interview of yours has this session.", 404)
    return web.json_response({"reference": claim["reference"]})


@handler
async def outcome(request: web.Request, claims: OnlineClaims) -> web.Response:
    agent = _only_agent(request)
    body = parsed_body(_Outcome, await _body(request), '{"outcome", "reason"}')
    decision, reason = body.outcome, body.reason
    claim = claims.store.claim_by_reference(_ref(request))
    session_id = claim["session_id"] if claim else None
    door = request.app[DOOR]
    decided = await claims.decide(agent, _ref(request), decision, reason, door.session_agent(session_id))
    if session_id:  # the interview ends with the claim's outcome
        session_outcome = "resolved" if decision != "more_documents" else "documents_missing"
        await request.app[appkeys.HUB].end_session(agent, session_id, session_outcome, f"online claim: {decision}")
    act(request, "online.outcome", _ref(request), who=agent, outcome=decision)
    return web.json_response({"ok": True, "state": decided["state"]})


@require_role("supervisor")
async def revoke(request: web.Request) -> web.Response:
    claims = request.app[ONLINE]
    claim = claims.store.claim_by_reference(_ref(request))
    if claim is None:
        return _error(404, "not_found", "No such claim.")
    claims.store.update_claim(claim["claim_id"], revoked=1)
    claims.store.add_event(claim["claim_id"], "revoked", {}, "supervisor")
    act(request, "online.revoke", _ref(request))
    # A phone in the interview holds no other credential: it is told and closed, its session ends.
    phone = KioskIdentity(home_device(claim["claim_id"]), branch=HOME_BRANCH, booth=0)
    await request.app[appkeys.ACCESS].link_revoked(phone, "supervisor")
    return web.json_response({"ok": True})


@require_role("supervisor")
async def capacity(request: web.Request) -> web.Response:
    claims = request.app[ONLINE]
    if request.method == "POST":
        try:
            body = parsed_body(_Capacity, await _body(request), '{"day": "YYYY-MM-DD", "interviews": 0..1000}')
        except ClaimError as exc:
            return _error(exc.status, exc.code, exc.message)
        day, n = body.day, body.interviews
        claims.store.set_capacity(day, n)
        act(request, "online.capacity", day, interviews=n)
    day = request.query.get("day", "")[:10]
    return web.json_response({"default": claims.settings.interview_capacity,
                              "day": day or None, "interviews": claims.daily_capacity(day) if day else None})


@require_role("supervisor")
async def report(request: web.Request) -> web.Response:
    return web.json_response(online_report(request.app[ONLINE]))


def setup(app: web.Application) -> None:
    r = app.router
    r.add_get("/api/online/queue", queue)
    r.add_get("/api/online/claims/{reference}", detail)
    r.add_post("/api/online/claims/{reference}/open", open_claim)
    r.add_post("/api/online/claims/{reference}/release", release)
    r.add_post("/api/online/claims/{reference}/documents/{document_id}/review", review)
    r.add_get("/api/online/claims/{reference}/documents/{document_id}", document)
    r.add_get("/api/online/sessions/{session_id}", session_claim)
    r.add_post("/api/online/claims/{reference}/outcome", outcome)
    r.add_post("/api/online/claims/{reference}/revoke", revoke)
    r.add_get("/api/online/capacity", capacity)
    r.add_post("/api/online/capacity", capacity)
    r.add_get("/api/online/report", report)


__all__: list[Any] = ["setup"]
