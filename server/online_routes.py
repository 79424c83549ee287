"""HTTP API of the member at home: start a claim, upload documents, submit, follow the status link, book.

| route | what |
|---|---|
| ``POST /api/claim`` | ``{"service", "lang", "fields"}``: a draft claim and its status token (rate-limited per address) |
| ``GET /api/claim/{token}`` | the claim's status, slots, whether an agent is free now, the link and its QR |
| ``POST /api/claim/{token}/documents`` | multipart ``kind``, ``source`` (camera/file), ``file`` (JPEG, PNG or PDF) |
| ``POST /api/claim/{token}/submit`` | the draft becomes a claim with a reference |
| ``POST /api/claim/{token}/book`` | ``{"slot": <UNIX seconds>}`` or ``{"now": true}`` |

A wrong, expired or revoked token answers 404/410 and counts against the
caller's address (429 after too many). Every error carries ``message`` in
the member's language and ``key`` for the page (``docs/online-claims.md``).
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from aiohttp import web
from pydantic import (
    BaseModel, ConfigDict, Field, StrictBool, StrictFloat, StrictInt, StrictStr, ValidationError, model_validator,
)

from signaling.online import ClaimError, OnlineClaims
from signaling.online.door import HomeDoor
from signaling.selfservice.claims import qr_data_uri

from .appkeys import CONFIG
from .client_address import request_address
from .i18n import catalogue, normalise
from .upload_check import UploadRefused, check_upload

ONLINE: web.AppKey[OnlineClaims] = web.AppKey("online_claims", OnlineClaims)
DOOR: web.AppKey[HomeDoor] = web.AppKey("home_door", HomeDoor)
MAILER: web.AppKey[Any] = web.AppKey("mailer")
#: Largest JSON body of a claim (the form is small).
MAX_JSON = 16 * 1024


def error(status: int, code: str, message: str, lang: str, key: str | None = None, **extra: Any) -> web.Response:
    texts = catalogue(lang)
    key = key or f"claim.error.{code}"
    local = texts.get(key, message)
    headers = {"Retry-After": str(int(extra["retry_after"]))} if "retry_after" in extra else None
    body = {"ok": False, "error": {"code": code, "message": local, "detail": message, "key": key, **extra}}
    return web.json_response(body, status=status, headers=headers)


def refused(exc: ClaimError, lang: str) -> web.Response:
    return error(exc.status, exc.code, exc.message, lang, exc.key, **exc.params)


def link_of(request: web.Request, token: str) -> str:
    public = request.app[CONFIG].public_url
    return f"{(public or str(request.url.origin())).rstrip('/')}/claim/s/{token}"


def _claims(request: web.Request) -> OnlineClaims:
    return request.app[ONLINE]


class _Body(BaseModel):
    """A member's JSON body: exact types; keys the page may add are ignored."""

    model_config = ConfigDict(extra="ignore", frozen=True)


class _NewClaim(_Body):
    service: StrictStr
    fields: dict[StrictStr, Any] = Field(max_length=40)


class _Booking(_Body):
    slot: StrictInt | StrictFloat | None = None
    now: StrictBool = False

    @model_validator(mode="after")
    def _one_of(self) -> "_Booking":
        if self.now == (self.slot is not None):
            raise ValueError("a slot or now, not both")
        return self


def parsed_body(model: type[BaseModel], body: dict, shape: str) -> Any:
    """``body`` checked against ``model``; ``invalid_payload`` naming ``shape`` (the member's and staff's routes)."""
    try:
        return model.model_validate(body)
    except ValidationError:
        raise ClaimError("invalid_payload", f"Send {shape}.", 400) from None


def _lang(request: web.Request, claim: dict | None = None) -> str:
    return normalise(request.query.get("lang") or (claim or {}).get("lang"))


async def _json(request: web.Request) -> dict:
    if request.content_length is not None and request.content_length > MAX_JSON:
        raise ClaimError("too_large", "The request is too large.", 413)
    try:
        body = json.loads(await request.text())
    except ValueError:
        raise ClaimError("invalid_payload", "Send a JSON object.", 400) from None
    if not isinstance(body, dict):
        raise ClaimError("invalid_payload", "Send a JSON object.", 400)
    return body


def _claim(request: web.Request) -> dict:
    return _claims(request).by_token(request.match_info["token"][:200], request_address(request))


def status_body(request: web.Request, claim: dict, token: str | None = None) -> dict:
    """The status answer; the link is the one the request came with (``token`` when the claim is new)."""
    claims, door = _claims(request), request.app[DOOR]
    link = link_of(request, token or request.match_info["token"][:200])
    body = {"ok": True, "claim": claims.status(claim), "link": link, "qr": qr_data_uri(link), "now": claims.now()}
    if claim["state"] in ("interview_to_book", "interview_booked"):
        body["slots"] = claims.slots()
        body["join_now"] = door.free_tile(claim["service"])
    return body


async def create_claim(request: web.Request) -> web.Response:
    lang = _lang(request)
    try:
        body = await _json(request)
        if isinstance(body.get("lang"), str):
            lang = normalise(body["lang"])  # so that a refusal below is in the page's language
        new = parsed_body(_NewClaim, body, "service and fields")
        origin = str(request.url.origin())
        claim, token = _claims(request).create(new.service, lang, dict(new.fields), origin, request_address(request))
    except ClaimError as exc:
        return refused(exc, lang)
    return web.json_response({**status_body(request, claim, token), "token": token}, status=201)


async def get_status(request: web.Request) -> web.Response:
    try:
        claim = _claim(request)
    except ClaimError as exc:
        return refused(exc, _lang(request))
    return web.json_response(status_body(request, claim), headers={"Cache-Control": "no-store"})


async def upload(request: web.Request) -> web.Response:
    lang = _lang(request)
    claims = _claims(request)
    try:
        claim = _claim(request)
        lang = _lang(request, claim)
        limit = claims.settings.max_document_bytes
        if request.content_length is not None and request.content_length > limit + 64 * 1024:
            raise ClaimError("too_large", "The file is too large.", 413, max_bytes=limit)
        if not request.content_type.startswith("multipart/"):
            raise ClaimError("invalid_payload", "Send multipart/form-data with kind, source and file.", 400)
        kind, source, data = await _read_upload(request, limit)
        info = await asyncio.to_thread(check_upload, data, limit)
        document = await claims.add_document(claim, kind, source, data, info)
    except ClaimError as exc:
        return refused(exc, lang)
    except UploadRefused as exc:
        return error(exc.status, exc.code, exc.message, lang)
    return web.json_response({"ok": True, "document": document, **status_body(request, claims.store.claim(claim["claim_id"]))},
                             status=201)


async def _read_upload(request: web.Request, limit: int) -> tuple[str, str, bytes]:
    kind = source = ""
    data: bytes | None = None
    try:
        reader = await request.multipart()
        while (part := await reader.next()) is not None:
            if part.name in ("kind", "source"):
                value = (await part.read(decode=True))[:40].decode("utf-8", "replace")
                kind, source = (value, source) if part.name == "kind" else (kind, value)
            elif part.name == "file":
                chunks, size = [], 0
                while chunk := await part.read_chunk(64 * 1024):
                    size += len(chunk)
                    if size > limit:
                        raise ClaimError("too_large", "The file is too large.", 413, max_bytes=limit)
                    chunks.append(chunk)
                data = b"".join(chunks)
            else:
                await part.release()
    except (ValueError, AssertionError, KeyError):
        raise ClaimError("invalid_payload", "The upload is not valid multipart/form-data.", 400) from None
    if not kind or data is None or source not in ("camera", "file"):
        raise ClaimError("invalid_payload", "kind, source (camera or file) and file are required.", 400)
    return kind, source, data


async def submit(request: web.Request) -> web.Response:
    lang = _lang(request)
    try:
        claim = _claim(request)
        lang = _lang(request, claim)
        claim = _claims(request).submit(claim)
    except ClaimError as exc:
        return refused(exc, lang)
    return web.json_response(status_body(request, claim))


async def book(request: web.Request) -> web.Response:
    lang = _lang(request)
    try:
        claim = _claim(request)
        lang = _lang(request, claim)
        booking = parsed_body(_Booking, await _json(request), '{"slot": <time>} or {"now": true}')
        door = request.app[DOOR]
        slot = None if booking.now else float(booking.slot)
        claim = _claims(request).book(claim, slot, door.free_tile(claim["service"]))
    except ClaimError as exc:
        return refused(exc, lang)
    return web.json_response(status_body(request, claim))


def setup(app: web.Application) -> None:
    r = app.router
    r.add_post("/api/claim", create_claim)
    r.add_get("/api/claim/{token}", get_status)
    r.add_post("/api/claim/{token}/documents", upload)
    r.add_post("/api/claim/{token}/submit", submit)
    r.add_post("/api/claim/{token}/book", book)
