"""Documents at the booth: the agent asks for one, the booth's camera takes it, the agent reviews it.

A still arrives over HTTP (``server/selfservice_routes.py`` reads the body
and calls :meth:`DocumentDesk.upload`); its bytes decide what it is (JPEG or
PNG, :mod:`.images`), not its name. Writing and hashing it happen in a
worker thread (:mod:`.files`), never on the event loop.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

from ..schemas import EventError
from . import files
from .base import Part
from .images import image_info

if TYPE_CHECKING:  # pragma: no cover
    from .base import AgentIdentity, KioskIdentity

    from ..core.session import Session

DOCUMENT_KINDS = ("ktp", "kk", "bank_book", "resignation_letter", "death_certificate", "other")
_PUBLIC = ("document_id", "request_id", "kind", "sha256", "bytes", "mime", "width", "height")


class UploadError(Exception):
    """An upload refused: HTTP status, code and plain words."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


class DocumentDesk(Part):
    """``doc.request``, ``doc.capture``, the upload, ``doc.review``, and who may open a document."""

    def view(self, session: "Session") -> dict:
        docs = [
            {k: d[k] for k in (*_PUBLIC, "status", "created_at")}
            | {"url": f"/api/sessions/{session.session_id}/documents/{d['document_id']}"}
            for d in self.store.documents(session.session_id)
            if d["status"] != "replaced" and d["deleted_at"] is None
        ]
        return {"session_id": session.session_id, "requests": self.store.requests(session.session_id), "documents": docs}

    async def request(self, agent: "AgentIdentity", session_id: str, kind: str) -> dict:
        session = self.agent_session(agent, session_id)
        request = {
            "request_id": f"dr-{uuid.uuid4().hex[:12]}", "session_id": session.session_id, "kind": kind,
            "state": "open", "document_id": None, "created_at": self.clock(),
        }
        self.store.add_request(request)
        self.store.add_event(session.session_id, "doc.request", {"request_id": request["request_id"], "kind": kind},
                             f"agent:{agent.agent_id}")
        await self.ctx.tell(session, "doc.request", {"session_id": session.session_id, "request_id": request["request_id"],
                                                     "kind": kind, "retake": False}, agent=False)
        await self.ctx.tell(session, "doc.state", self.view(session))
        return {"request_id": request["request_id"]}

    def _open_request(self, session: "Session", request_id: str | None) -> dict:
        requests = [r for r in self.store.requests(session.session_id) if r["state"] == "open"]
        if request_id is not None:
            requests = [r for r in requests if r["request_id"] == request_id]
        if not requests:
            raise EventError("invalid_state", "No document is being asked for; send doc.request first.")
        return requests[-1]

    async def capture(self, agent: "AgentIdentity", session_id: str, request_id: str | None) -> dict:
        session = self.agent_session(agent, session_id)
        request = self._open_request(session, request_id)
        await self.ctx.tell(session, "doc.capture", {"session_id": session.session_id, "request_id": request["request_id"],
                                                     "kind": request["kind"]}, agent=False)
        return {"request_id": request["request_id"]}

    async def upload(self, kiosk: "KioskIdentity", session_id: str, request_id: str, data: bytes) -> dict:
        """Store a still the kiosk took (called by the HTTP route once it has read the body)."""
        try:
            session = self.kiosk_session(kiosk, session_id)
            request = self._open_request(session, request_id)
        except EventError as exc:
            raise UploadError(404 if exc.code == "unknown_session" else 409, exc.code, exc.message) from None
        info = image_info(data)
        if info is None:
            raise UploadError(415, "not_an_image", "Only JPEG or PNG photos are accepted.")
        mime, width, height = info
        document_id = f"d-{uuid.uuid4().hex[:12]}"
        path = self.settings.root / "documents" / session.session_id / f"{document_id}.{'png' if mime == 'image/png' else 'jpg'}"
        sha256 = await files.write_document(path, data)
        now = self.clock()
        # A retake replaces the earlier photo for the same request.
        for old in self.store.documents(session.session_id):
            if old["request_id"] == request["request_id"] and old["status"] != "replaced":
                self.store.set_document(old["document_id"], status="replaced", path=None, deleted_at=now)
                await files.delete_file(old["path"])
        row = {
            "document_id": document_id, "session_id": session.session_id, "request_id": request["request_id"],
            "kind": request["kind"], "path": str(path), "sha256": sha256, "bytes": len(data),
            "mime": mime, "width": width, "height": height, "status": "received", "created_at": now, "deleted_at": None,
        }
        self.store.add_document(row)
        self.store.set_request(request["request_id"], "received", document_id)
        self.store.add_event(session.session_id, "doc.received", {"document_id": document_id, "sha256": sha256},
                             f"kiosk:{kiosk.kiosk_id}")
        public = {k: row[k] for k in _PUBLIC}
        public["url"] = f"/api/sessions/{session.session_id}/documents/{document_id}"
        await self.ctx.tell(session, "doc.received", {"session_id": session.session_id, **public}, kiosk=False)
        await self.ctx.tell(session, "doc.state", self.view(session))
        return public

    async def review(self, agent: "AgentIdentity", session_id: str, document_id: str, accepted: bool) -> dict:
        session = self.agent_session(agent, session_id)
        doc = self.store.document(document_id)
        if doc is None or doc["session_id"] != session.session_id or doc["status"] == "replaced":
            raise EventError("invalid_payload", "There is no such document in this session.")
        if doc["status"] != "received":
            raise EventError("invalid_state", "This document has been reviewed already.")
        self.store.set_document(document_id, status="accepted" if accepted else "retake")
        self.store.set_request(doc["request_id"], "accepted" if accepted else "open", document_id)
        self.store.add_event(session.session_id, "doc.review", {"document_id": document_id, "accepted": accepted},
                             f"agent:{agent.agent_id}")
        await self.ctx.tell(session, "doc.reviewed", {"session_id": session.session_id, "document_id": document_id,
                                                      "request_id": doc["request_id"], "accepted": accepted}, agent=False)
        if not accepted:
            await self.ctx.tell(session, "doc.request", {"session_id": session.session_id, "request_id": doc["request_id"],
                                                         "kind": doc["kind"], "retake": True}, agent=False)
        await self.ctx.tell(session, "doc.state", self.view(session))
        return {}

    def document_for(self, role: str, who: Any, session_id: str, document_id: str) -> dict:
        """The stored document a staff member may see, or :class:`UploadError` (404)."""
        doc = self.store.document(document_id)
        if doc is None or doc["session_id"] != session_id or doc["path"] is None or doc["deleted_at"] is not None:
            raise UploadError(404, "not_found", "No such document.")
        if role == "agent":
            session = self.ctx.session(session_id)
            if session is None or session.ended or session.agent_id != who.agent_id:
                raise UploadError(404, "not_found", "No such document.")
        elif role != "supervisor":
            raise UploadError(403, "forbidden", "Your role may not open documents.")
        return doc
