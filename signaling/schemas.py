"""Payload schemas of every client-to-server socket event.

Each event has one pydantic model; unknown fields, wrong types and
over-long strings are refused. :func:`parse` turns any failure into a
:class:`EventError` that the namespaces send back as a clear error.
"""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictStr, StringConstraints, ValidationError

from signaling.core.vocabulary import MAX_NOTE_CHARS, OUTCOMES, SERVICES

SessionId = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")]
Sdp = Annotated[str, StringConstraints(min_length=10, max_length=48 * 1024)]
Service = Literal["jht", "jkk", "jkm", "jp", "info"]
assert set(Service.__args__) == set(SERVICES)  # type: ignore[attr-defined]
Outcome = Literal["resolved", "follow_up", "documents_missing", "referred", "member_left"]
assert set(Outcome.__args__) == set(OUTCOMES)  # type: ignore[attr-defined]


class Payload(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=False)


# -- kiosk ---------------------------------------------------------------


class SessionRequest(Payload):
    service: Service
    language: Literal["id", "en"] = "id"


class InterviewJoin(Payload):
    """A member at home joins the interview queue (signaling/online/door.py)."""

    language: Literal["id", "en"] = "id"


class KioskOffer(Payload):
    session_id: SessionId
    sdp: Sdp


class SessionLeave(Payload):
    session_id: SessionId


class SessionRate(Payload):
    session_id: SessionId
    score: Annotated[int, Field(ge=1, le=5, strict=True)]


class SecurityCall(Payload):
    session_id: SessionId | None = None


# -- agent ---------------------------------------------------------------


class AgentOffer(Payload):
    sdp: Sdp


class FocusSet(Payload):
    session_ids: Annotated[list[SessionId], Field(max_length=6)]


class FocusAll(Payload):
    pass


class IceRequest(Payload):
    """``media.ice``: fresh ICE servers (TURN credentials) before a new peer connection; ``{}``."""


class SessionRef(Payload):
    session_id: SessionId


class SessionEnd(Payload):
    session_id: SessionId
    outcome: Outcome = "resolved"
    note: Annotated[StrictStr, StringConstraints(max_length=MAX_NOTE_CHARS)] = ""


AgentIdStr = Annotated[str, StringConstraints(min_length=1, max_length=80, pattern=r"^[A-Za-z0-9_.:-]+$")]
KioskIdStr = Annotated[str, StringConstraints(min_length=1, max_length=80, pattern=r"^[A-Za-z0-9_.:-]+$")]


class Availability(Payload):
    availability: Literal["available", "away", "offline"]


class SessionTransfer(Payload):
    session_id: SessionId
    service: Service | None = None
    agent_id: AgentIdStr | None = None


# -- security officer ---------------------------------------------------------


class OfficerStart(Payload):
    kiosk_id: KioskIdStr
    service: Service
    language: Literal["id", "en"] = "id"


class OfficerCancel(Payload):
    session_id: SessionId


class HelpAnswer(Payload):
    kiosk_id: KioskIdStr


# -- self-service (kiosk and agent; docs/protocol.md "Self-service") -------------

FieldName = Annotated[str, StringConstraints(min_length=1, max_length=40, pattern=r"^[a-z][a-z0-9_]*$")]
#: A form value as sent; each field's own maximum (signaling/forms/*.json) is checked after this.
FieldValue = Annotated[StrictStr, StringConstraints(max_length=200)]
RefId = Annotated[str, StringConstraints(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9_.:-]+$")]
DocumentKind = Literal["ktp", "kk", "bank_book", "resignation_letter", "death_certificate", "other"]


class FormOpen(Payload):
    session_id: SessionId


class FormEdit(Payload):
    session_id: SessionId
    field: FieldName
    value: FieldValue


class FormPoint(Payload):
    session_id: SessionId
    field: FieldName | None = None


class FormConfirm(Payload):
    session_id: SessionId
    check: FieldName


class DocRequest(Payload):
    session_id: SessionId
    kind: DocumentKind


class DocCapture(Payload):
    session_id: SessionId
    request_id: RefId | None = None


class DocReview(Payload):
    session_id: SessionId
    document_id: RefId
    accepted: StrictBool


class ConsentAnswer(Payload):
    session_id: SessionId
    recording: StrictBool


class EventError(Exception):
    """A refused event: ``code`` is machine-readable, ``message`` is for people."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message

    def to_dict(self, event: str | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {"code": self.code, "message": self.message}
        if event is not None:
            body["event"] = event
        return body


def parse(model: type[Payload], data: Any, max_bytes: int) -> Payload:
    """Validate one event payload against ``model``."""
    try:
        size = len(json.dumps(data, separators=(",", ":")))
    except (TypeError, ValueError):
        raise EventError("invalid_payload", "The payload is not JSON.") from None
    if size > max_bytes:
        raise EventError(
            "payload_too_large", f"The payload is {size} bytes; at most {max_bytes} are accepted."
        )
    if not isinstance(data, dict):
        # null included: every event carries one JSON object, {} when it needs nothing.
        raise EventError("invalid_payload", "The payload must be a JSON object ({} when the event needs nothing).")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'payload'}: {e['msg']}" for e in exc.errors()[:5]
        )
        raise EventError("invalid_payload", f"Invalid payload: {problems}.") from None


# -- supervisors and guests in an agent's room (issue 14) ----------------------------

#: A mode's name is checked by the hub (``unknown_mode``), not by the schema, so the error names the modes.
ModeStr = Annotated[StrictStr, StringConstraints(min_length=1, max_length=20)]


class MonitorJoin(Payload):
    agent_id: AgentIdStr
    mode: ModeStr
    sdp: Sdp


class MonitorMode(Payload):
    mode: ModeStr


class Empty(Payload):
    pass


class GuestOffer(Payload):
    sdp: Sdp
