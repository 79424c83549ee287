"""HTTP routes of the booth's self-service: document upload and viewing, claims, retention.

| route | who |
|---|---|
| ``POST /api/sessions/{session_id}/documents`` | the session's kiosk (``Authorization: Bearer <kiosk token>``) |
| ``GET /api/sessions/{session_id}/documents/{document_id}`` | the session's assigned agent (cookie or ``Bearer <agent token>``), supervisors |
| ``GET /api/claims``, ``GET /api/claims/{reference}``, ``GET /api/claims/{reference}/{documents|recordings}/{file}`` | supervisors |
| ``GET /api/retention``, ``POST /api/retention`` ``{"days": n}`` | supervisors |

Everyone else gets 401 (no credentials) or 403 (wrong role) or 404 (not
theirs), and a refused request stores nothing.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from aiohttp import web

from signaling.selfservice import SelfService, UploadError
from signaling.selfservice.files import claim_file

from . import appkeys
from .audit import act, refused_request
from .auth import request_user, require_role


def _error(status: int, code: str, message: str) -> web.Response:
    return web.json_response({"ok": False, "error": {"code": code, "message": message}}, status=status)


def _ss(request: web.Request) -> SelfService:
    return request.app[appkeys.SELFSERVICE]


def caller(request: web.Request) -> tuple[str, Any] | None:
    """(role, identity) of the request: a kiosk or agent bearer token, or a signed-in staff cookie."""
    hub = request.app[appkeys.HUB]
    header = request.headers.get("Authorization", "")
    if header.startswith("Bearer "):
        token = header[7:].strip()[:256]
        kiosk = hub.config.kiosk_for(token) or hub.storage.accounts.kiosk_for_token(token)
        if kiosk is not None:
            return "kiosk", kiosk
        agent = hub.config.agent_for(token)
        if agent is not None:
            return "agent", agent
        return None
    user = request_user(request)
    if user is None:
        return None
    if user.role == "agent":
        return "agent", user.agent_identity()
    return user.role, user


async def upload_document(request: web.Request) -> web.Response:
    """The kiosk's still of a document: multipart ``request_id`` and ``file`` (JPEG or PNG)."""
    who = caller(request)
    if who is None:
        return _error(401, "unauthorized", "A valid kiosk token is required.")
    if who[0] != "kiosk":
        return _error(403, "forbidden", "Only the session's booth uploads documents.")
    ss = _ss(request)
    limit = request.app[appkeys.CONFIG].max_document_bytes
    if request.content_length is not None and request.content_length > limit + 64 * 1024:
        return _error(413, "too_large", f"The photo is too large: at most {limit} bytes.")
    if not request.content_type.startswith("multipart/"):
        return _error(400, "invalid_payload", "Send the photo as multipart/form-data with fields request_id and file.")
    request_id: str | None = None
    data: bytes | None = None
    try:
        reader = await request.multipart()
        while (part := await reader.next()) is not None:
            if part.name == "request_id":
                request_id = (await part.read(decode=True))[:80].decode("utf-8", "replace")
            elif part.name == "file":
                chunks, size = [], 0
                while chunk := await part.read_chunk(64 * 1024):
                    size += len(chunk)
                    if size > limit:
                        return _error(413, "too_large", f"The photo is too large: at most {limit} bytes.")
                    chunks.append(chunk)
                data = b"".join(chunks)
            else:
                await part.release()
    except (ValueError, AssertionError, KeyError):
        return _error(400, "invalid_payload", "The upload is not valid multipart/form-data.")
    if not request_id or data is None:
        return _error(400, "invalid_payload", "Both request_id and file are required.")
    try:
        document = await ss.doc_upload(who[1], request.match_info["session_id"], request_id, data)
    except UploadError as exc:
        if exc.code == "unknown_session":
            refused_request(request, who[1], request.match_info["session_id"])
        return _error(exc.status, exc.code, exc.message)
    return web.json_response({"ok": True, "document": document}, status=201)


async def get_document(request: web.Request) -> web.StreamResponse:
    who = caller(request)
    if who is None:
        return _error(401, "unauthorized", "Sign in first.")
    if who[0] not in ("agent", "supervisor"):
        return _error(403, "forbidden", "Your role may not open documents.")
    try:
        doc = _ss(request).document_for(who[0], who[1], request.match_info["session_id"], request.match_info["document_id"])
    except UploadError as exc:
        if who[0] == "agent":
            refused_request(request, who[1], request.match_info["session_id"], document=request.match_info["document_id"][:64])
        return _error(exc.status, exc.code, exc.message)
    act(request, "document.view", doc["document_id"], who=who[1], session_id=doc["session_id"])
    return web.FileResponse(
        doc["path"],
        headers={"Content-Type": doc["mime"], "Cache-Control": "no-store", "X-Content-Type-Options": "nosniff",
                 "X-Document-SHA256": doc["sha256"]},
    )


@require_role("supervisor")
async def list_claims(request: web.Request) -> web.Response:
    return web.json_response({"claims": _ss(request).store.claims()})


@require_role("supervisor")
async def get_claim(request: web.Request) -> web.Response:
    manifest = await _ss(request).manifest(request.match_info["reference"][:40])
    if manifest is None:
        return _error(404, "not_found", "No such claim.")
    act(request, "claim.view", request.match_info["reference"][:40])
    return web.json_response(manifest)


@require_role("supervisor")
async def get_claim_file(request: web.Request) -> web.StreamResponse:
    """A document or recording of a claim folder, for the back office (``documents/…``, ``recordings/…``)."""
    reference = request.match_info["reference"][:40]
    kind, name = request.match_info["kind"], request.match_info["name"]
    claim = _ss(request).store.claim(reference)
    if claim is None or kind not in ("documents", "recordings") or "/" in name or name.startswith("."):
        return _error(404, "not_found", "No such file in this claim.")
    path = await asyncio.to_thread(claim_file, Path(claim["folder"]), kind, name)
    if path is None:
        return _error(404, "not_found", "No such file in this claim (it may have been deleted after the retention period).")
    act(request, "claim.file", reference, file=f"{kind}/{name}")
    return web.FileResponse(path, headers={"Cache-Control": "no-store", "Content-Disposition": f'attachment; filename="{reference}-{name}"'})


@require_role("supervisor")
async def get_retention(request: web.Request) -> web.Response:
    return web.json_response({"days": _ss(request).retention_days()})


@require_role("supervisor")
async def set_retention(request: web.Request) -> web.Response:
    if request.content_length is not None and request.content_length > 1024:
        return _error(413, "too_large", "The body is too large.")
    try:
        body = json.loads(await request.text()) if request.content_type == "application/json" else dict(await request.post())
        days = body.get("days") if isinstance(body, dict) else None
        days = int(days) if isinstance(days, (int, str)) and not isinstance(days, bool) else None
    except ValueError:
        days = None
    if days is None or not 1 <= days <= 3650:
        return _error(400, "invalid_payload", "days must be a whole number from 1 to 3650.")
    ss = _ss(request)
    user = request_user(request)
    before = ss.retention_days()
    ss.set_retention_days(days, f"supervisor:{user.username if user else '?'}")
    act(request, "retention.set", "retention", days=days, was=before)
    deleted = await ss.sweep()
    return web.json_response({"ok": True, "days": days, "deleted": deleted})


def setup(app: web.Application) -> None:
    r = app.router
    r.add_post("/api/sessions/{session_id}/documents", upload_document)
    r.add_get("/api/sessions/{session_id}/documents/{document_id}", get_document)
    r.add_get("/api/claims", list_claims)
    r.add_get("/api/claims/{reference}", get_claim)
    r.add_get("/api/claims/{reference}/{kind}/{name}", get_claim_file)
    r.add_get("/api/retention", get_retention)
    r.add_post("/api/retention", set_retention)
