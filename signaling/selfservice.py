"""Self-service at the booth: the claim form filled together, documents, consent, recording, the claim file.

:class:`SelfService` is created by :func:`server.app.create_app` next to the
hub and handed to the ``/kiosk`` and ``/agent`` namespaces, which validate
payloads (:mod:`signaling.schemas`) and call it. It checks ownership through
the hub (:meth:`Hub.owned_session`: a kiosk's own session, an agent's own
sessions), keeps the server's copy of every form (the single source of truth:
both sides send edits, the server validates, stores and broadcasts), and
tells exactly two screens about a session's self-service: the session's
kiosk and its assigned agent. A security officer, another agent or another
kiosk is never told anything.

Protocol: ``docs/protocol.md`` ("Self-service"); forms, files and retention:
``docs/self-service.md``.
"""

from __future__ import annotations

import asyncio
import datetime as _dt
import hashlib
import json
import logging
import os
import shutil
import struct
import time
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

from signaling.core.vocabulary import AgentIdentity, KioskIdentity
from server.selfservice_store import SelfServiceStore

from . import forms
from .schemas import EventError

if TYPE_CHECKING:  # pragma: no cover
    from .hub import Hub
    from .core.session import Session

logger = logging.getLogger(__name__)

DOCUMENT_KINDS = ("ktp", "kk", "bank_book", "resignation_letter", "death_certificate", "other")
#: Session states in which a member and agent work on self-service.
LIVE = ("assigned", "connecting", "active")
DAY = 86400.0


def image_info(data: bytes) -> tuple[str, int, int] | None:
    """``(mime, width, height)`` of a JPEG or PNG, judged by its bytes (not its name); else None."""
    if data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) >= 24 and data[12:16] == b"IHDR":
        width, height = struct.unpack(">II", data[16:24])
        return ("image/png", width, height) if width and height else None
    if data.startswith(b"\xff\xd8\xff"):
        i = 2
        while i + 9 < len(data):
            if data[i] != 0xFF:
                return None
            marker = data[i + 1]
            if marker == 0xFF:
                i += 1
                continue
            if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:
                i += 2
                continue
            (length,) = struct.unpack(">H", data[i + 2 : i + 4])
            if marker in (0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF):
                height, width = struct.unpack(">HH", data[i + 5 : i + 9])
                return ("image/jpeg", width, height) if width and height else None
            i += 2 + length
        return None
    return None


class UploadError(Exception):
    """An upload refused: HTTP status, code and plain words."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


class SelfService:
    """Forms, documents, consent, recordings and claims of the hub's sessions."""

    def __init__(self, hub: "Hub", clock=time.time) -> None:
        self.hub = hub
        self.config = hub.config
        self.store = SelfServiceStore(hub.storage.db)
        self.clock = clock
        self.root = Path(self.config.data_dir) / "selfservice"
        #: session_id -> recording_id of the recording running now.
        self.recording: dict[str, str] = {}
        self._sweeper: asyncio.Task | None = None
        hub.watchers.append(self._on_hub_change)

    # -- start and stop ---------------------------------------------------------------

    async def start(self) -> None:
        """Close recordings a stopped server left open; sweep expired files now, and then once a day."""
        now = self.clock()
        for row in self.store.recordings():
            if row["stopped_at"] is None:
                # The file ends where the old process stopped writing it (it may lack its index).
                self.store.set_recording(row["recording_id"], stopped_at=now, seconds=None)
                self.store.add_event(
                    row["session_id"], "rec.stop",
                    {"recording_id": row["recording_id"], "seconds": None, "reason": "server stopped while recording"},
                    "server",
                )
        self.sweep()
        self._sweeper = asyncio.ensure_future(self._daily())

    async def _daily(self) -> None:
        while True:
            await asyncio.sleep(DAY)
            try:
                self.sweep()
            except Exception:
                logger.exception("retention sweep failed")

    async def close(self) -> None:
        if self._sweeper is not None:
            self._sweeper.cancel()
        for session_id in list(self.recording):
            try:
                await self._stop_recording(session_id, "server", "server stopping")
            except Exception:
                logger.exception("stopping recording of %s failed", session_id)

    # -- who is told ---------------------------------------------------------------

    async def tell(self, session: "Session", event: str, data: dict, *, kiosk: bool = True, agent: bool = True) -> None:
        """Send to the session's kiosk and its assigned agent, and nobody else."""
        if kiosk:
            sid = self.hub.kiosk_sids.get(session.kiosk_id)
            if sid is not None:
                await self.hub.emit(event, data, to=sid, namespace="/kiosk")
        if agent and session.agent_id is not None:
            holder = self.hub.agents.get(session.agent_id)
            if holder is not None and holder.sid is not None:
                await self.hub.emit(event, data, to=holder.sid, namespace="/agent")

    def kiosk_session(self, kiosk: KioskIdentity, session_id: str) -> "Session":
        session = self.hub.owned_session(session_id, kiosk_id=kiosk.kiosk_id)
        if session.state not in LIVE or session.agent_id is None:
            raise EventError("invalid_state", "Self-service starts once an agent has taken up the session.")
        return session

    def agent_session(self, agent: AgentIdentity, session_id: str) -> "Session":
        return self.hub.owned_session(session_id, agent_id=agent.agent_id)

    async def kiosk_joined(self, kiosk: KioskIdentity) -> None:
        """A (re)connected kiosk gets its session's self-service state back."""
        session = self.hub.open_session_of(kiosk.kiosk_id)
        if session is not None and session.agent_id is not None:
            await self.push_all(session, agent=False)

    async def agent_joined(self, agent: AgentIdentity) -> None:
        holder = self.hub.agents.get(agent.agent_id)
        for session_id in holder.sessions if holder else []:
            session = self.hub.sessions.get(session_id)
            if session is not None and not session.ended:
                await self.push_all(session, kiosk=False)

    async def push_all(self, session: "Session", *, kiosk: bool = True, agent: bool = True) -> None:
        form = self.store.form(session.session_id)
        if form is not None:
            await self.tell(session, "form.state", self.form_view(session, form), kiosk=kiosk, agent=agent)
        if self.store.requests(session.session_id):
            await self.tell(session, "doc.state", self.doc_view(session), kiosk=kiosk, agent=agent)
        consent = self.store.consent(session.session_id)
        if consent is not None:
            await self.tell(session, "consent.state", self.consent_view(session), kiosk=kiosk, agent=agent)
        await self.tell(session, "rec.state", self.rec_view(session), kiosk=kiosk, agent=agent)

    async def _on_hub_change(self) -> None:
        """A session ended (or moved away from its agent) while recording: stop the recording."""
        for session_id in list(self.recording):
            session = self.hub.sessions.get(session_id)
            if session is None or session.ended or session.state not in LIVE:
                try:
                    await self._stop_recording(session_id, "server", "session ended")
                except Exception:
                    logger.exception("stopping recording of %s failed", session_id)

    # -- forms -------------------------------------------------------------------------

    def schema(self, session: "Session") -> forms.FormSchema:
        return forms.load(session.service)

    def form_of(self, session: "Session") -> dict:
        form = self.store.form(session.session_id)
        if form is None or form["service"] != session.service:
            # First use, or the session was transferred to another service's queue.
            form = {"service": session.service, "fields": {}, "confirmed": {}, "opened": False,
                    "pointed": None, "revision": 0, "submitted": None}
        return form

    def form_view(self, session: "Session", form: dict) -> dict:
        schema = forms.load(form["service"])
        result = schema.evaluate(form["fields"], form["confirmed"])
        return {
            "session_id": session.session_id,
            "service": form["service"],
            "revision": form["revision"],
            "open": form["opened"],
            "fields": {name: form["fields"].get(name, "") for name in schema.fields},
            "errors": result.errors,
            "missing": result.missing,
            "needs_confirmation": sorted(result.needs_confirmation),
            "confirmed": sorted(form["confirmed"]),
            "pointed": form["pointed"],
            "complete": result.complete,
            "submitted": form["submitted"],
        }

    async def _save_and_tell(self, session: "Session", form: dict) -> dict:
        form["revision"] += 1
        self.store.save_form(session.session_id, form)
        view = self.form_view(session, form)
        await self.tell(session, "form.state", view)
        return view

    def _opened(self, form: dict) -> None:
        if not form["opened"]:
            # Nothing opens the form implicitly: the booth shows it only after the agent's form.open.
            raise EventError("invalid_state", "The form is not open yet; the agent opens it with form.open.")

    def _editable(self, form: dict) -> None:
        if form["submitted"]:
            raise EventError("invalid_state", f"The claim has been submitted ({form['submitted']}); the form is closed.")

    async def form_open(self, agent: AgentIdentity, session_id: str) -> dict:
        session = self.agent_session(agent, session_id)
        form = self.form_of(session)
        form["opened"] = True
        view = await self._save_and_tell(session, form)
        return {"form": view}

    async def form_edit(self, who: KioskIdentity | AgentIdentity, session_id: str, field: str, value: str) -> dict:
        if isinstance(who, KioskIdentity):
            session = self.kiosk_session(who, session_id)
        else:
            session = self.agent_session(who, session_id)
        form = self.form_of(session)
        self._opened(form)
        self._editable(form)
        try:
            name, clean = self.schema(session).check_edit(field, value)
        except forms.EditRefused as exc:
            raise EventError("invalid_payload", str(exc)) from None
        if form["fields"].get(name, "") == clean:
            return {"form": self.form_view(session, form)}
        form["fields"][name] = clean
        view = await self._save_and_tell(session, form)
        return {"form": view}

    async def form_point(self, agent: AgentIdentity, session_id: str, field: str | None) -> dict:
        session = self.agent_session(agent, session_id)
        form = self.form_of(session)
        self._opened(form)
        if field is not None and field not in self.schema(session).fields:
            raise EventError("invalid_payload", f"The {session.service} form has no field {field!r}.")
        form["pointed"] = field
        view = await self._save_and_tell(session, form)
        return {"form": view}

    async def form_confirm(self, agent: AgentIdentity, session_id: str, check: str) -> dict:
        session = self.agent_session(agent, session_id)
        form = self.form_of(session)
        self._opened(form)
        self._editable(form)
        schema = self.schema(session)
        spec = schema.confirmable(check)
        if spec is None:
            raise EventError("invalid_payload", f"{check!r} is not a check an agent can confirm on this form.")
        result = schema.evaluate(form["fields"], {})
        if check not in result.needs_confirmation:
            raise EventError("invalid_state", "There is nothing to confirm: the check passes, or a field is still empty or wrong.")
        form["confirmed"][check] = result.needs_confirmation[check]
        self.store.add_event(session.session_id, "form.confirm", {"check": check, "values": form["confirmed"][check]},
                             f"agent:{agent.agent_id}")
        view = await self._save_and_tell(session, form)
        return {"form": view}

    # -- documents ------------------------------------------------------------------------

    def doc_view(self, session: "Session") -> dict:
        docs = [
            {k: d[k] for k in ("document_id", "request_id", "kind", "sha256", "bytes", "mime", "width", "height", "status", "created_at")}
            | {"url": f"/api/sessions/{session.session_id}/documents/{d['document_id']}"}
            for d in self.store.documents(session.session_id)
            if d["status"] != "replaced" and d["deleted_at"] is None
        ]
        return {"session_id": session.session_id, "requests": self.store.requests(session.session_id), "documents": docs}

    async def doc_request(self, agent: AgentIdentity, session_id: str, kind: str) -> dict:
        session = self.agent_session(agent, session_id)
        request = {
            "request_id": f"dr-{uuid.uuid4().hex[:12]}", "session_id": session.session_id, "kind": kind,
            "state": "open", "document_id": None, "created_at": self.clock(),
        }
        self.store.add_request(request)
        self.store.add_event(session.session_id, "doc.request", {"request_id": request["request_id"], "kind": kind},
                             f"agent:{agent.agent_id}")
        await self.tell(session, "doc.request", {"session_id": session.session_id, "request_id": request["request_id"],
                                                 "kind": kind, "retake": False}, agent=False)
        await self.tell(session, "doc.state", self.doc_view(session))
        return {"request_id": request["request_id"]}

    def _open_request(self, session: "Session", request_id: str | None) -> dict:
        requests = [r for r in self.store.requests(session.session_id) if r["state"] == "open"]
        if request_id is not None:
            requests = [r for r in requests if r["request_id"] == request_id]
        if not requests:
            raise EventError("invalid_state", "No document is being asked for; send doc.request first.")
        return requests[-1]

    async def doc_capture(self, agent: AgentIdentity, session_id: str, request_id: str | None) -> dict:
        session = self.agent_session(agent, session_id)
        request = self._open_request(session, request_id)
        await self.tell(session, "doc.capture", {"session_id": session.session_id, "request_id": request["request_id"],
                                                 "kind": request["kind"]}, agent=False)
        return {"request_id": request["request_id"]}

    async def doc_upload(self, kiosk: KioskIdentity, session_id: str, request_id: str, data: bytes) -> dict:
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
        folder = self.root / "documents" / session.session_id
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{document_id}.{'png' if mime == 'image/png' else 'jpg'}"
        tmp = path.with_suffix(".part")
        tmp.write_bytes(data)
        os.replace(tmp, path)
        now = self.clock()
        # A retake replaces the earlier photo for the same request.
        for old in self.store.documents(session.session_id):
            if old["request_id"] == request["request_id"] and old["status"] != "replaced":
                self._delete_file(old["path"])
                self.store.set_document(old["document_id"], status="replaced", path=None, deleted_at=now)
        row = {
            "document_id": document_id, "session_id": session.session_id, "request_id": request["request_id"],
            "kind": request["kind"], "path": str(path), "sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data),
            "mime": mime, "width": width, "height": height, "status": "received", "created_at": now, "deleted_at": None,
        }
        self.store.add_document(row)
        self.store.set_request(request["request_id"], "received", document_id)
        self.store.add_event(session.session_id, "doc.received", {"document_id": document_id, "sha256": row["sha256"]},
                             f"kiosk:{kiosk.kiosk_id}")
        public = {k: row[k] for k in ("document_id", "request_id", "kind", "sha256", "bytes", "mime", "width", "height")}
        public["url"] = f"/api/sessions/{session.session_id}/documents/{document_id}"
        await self.tell(session, "doc.received", {"session_id": session.session_id, **public}, kiosk=False)
        await self.tell(session, "doc.state", self.doc_view(session))
        return public

    async def doc_review(self, agent: AgentIdentity, session_id: str, document_id: str, accepted: bool) -> dict:
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
        await self.tell(session, "doc.reviewed", {"session_id": session.session_id, "document_id": document_id,
                                                  "request_id": doc["request_id"], "accepted": accepted}, agent=False)
        if not accepted:
            await self.tell(session, "doc.request", {"session_id": session.session_id, "request_id": doc["request_id"],
                                                     "kind": doc["kind"], "retake": True}, agent=False)
        await self.tell(session, "doc.state", self.doc_view(session))
        return {}

    def document_for(self, role: str, who: Any, session_id: str, document_id: str) -> dict:
        """The stored document a staff member may see, or :class:`UploadError` (404)."""
        doc = self.store.document(document_id)
        if doc is None or doc["session_id"] != session_id or doc["path"] is None or doc["deleted_at"] is not None:
            raise UploadError(404, "not_found", "No such document.")
        if role == "agent":
            session = self.hub.sessions.get(session_id)
            if session is None or session.ended or session.agent_id != who.agent_id:
                raise UploadError(404, "not_found", "No such document.")
        elif role != "supervisor":
            raise UploadError(403, "forbidden", "Your role may not open documents.")
        return doc

    # -- consent and recording ------------------------------------------------------------------

    def consent_view(self, session: "Session") -> dict:
        consent = self.store.consent(session.session_id)
        return {"session_id": session.session_id, "recording": consent["recording"] if consent else None,
                "at": consent["at"] if consent else None}

    def rec_view(self, session: "Session") -> dict:
        return {"session_id": session.session_id, "recording": session.session_id in self.recording}

    async def consent_request(self, agent: AgentIdentity, session_id: str) -> dict:
        session = self.agent_session(agent, session_id)
        self.store.add_event(session.session_id, "consent.request", {}, f"agent:{agent.agent_id}")
        await self.tell(session, "consent.request", {"session_id": session.session_id}, agent=False)
        return {}

    def consent_asked(self, session_id: str) -> bool:
        """Is a ``consent.request`` waiting for the member's answer (asked, not answered since)?"""
        last = None
        for event in self.store.events(session_id):
            if event["kind"] in ("consent.request", "consent.answer"):
                last = event["kind"]
        return last == "consent.request"

    async def consent_answer(self, kiosk: KioskIdentity, session_id: str, recording: bool) -> dict:
        session = self.kiosk_session(kiosk, session_id)
        if recording and not self.consent_asked(session.session_id):
            # A yes counts only as the answer to the agent's question; a no (refusing, or
            # withdrawing consent) is always taken.
            raise EventError("invalid_state", "Consent to recording is given in answer to the agent's consent.request.")
        at = self.store.add_event(session.session_id, "consent.answer", {"recording": recording}, f"kiosk:{kiosk.kiosk_id}")
        if not recording and session.session_id in self.recording:
            await self._stop_recording(session.session_id, f"kiosk:{kiosk.kiosk_id}", "consent withdrawn")
        await self.tell(session, "consent.state", self.consent_view(session))
        return {"at": at}

    def _router_can_record(self) -> bool:
        router = self.hub.router
        return hasattr(router, "record_start") and hasattr(router, "record_stop")

    async def rec_start(self, agent: AgentIdentity, session_id: str) -> dict:
        session = self.agent_session(agent, session_id)
        if session.state not in LIVE:
            raise EventError("invalid_state", "Recording needs a connected session.")
        consent = self.store.consent(session.session_id)
        if not consent or not consent["recording"]:
            raise EventError("forbidden", "The member has not agreed to be recorded (ask with consent.request).")
        if session.session_id in self.recording:
            raise EventError("invalid_state", "This session is being recorded already.")
        if not self._router_can_record():
            raise EventError("forbidden", "This server's media router cannot record yet.")
        recording_id = f"r-{uuid.uuid4().hex[:12]}"
        folder = self.root / "recordings" / session.session_id
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{recording_id}.webm"
        try:
            await self.hub.router.record_start(room_id=agent.agent_id, peer_id=session.session_id, path=str(path))
        except Exception as exc:
            logger.exception("record_start failed")
            raise EventError("media_failed", f"The media server could not start recording: {exc}") from None
        self.recording[session.session_id] = recording_id
        self.store.add_recording({"recording_id": recording_id, "session_id": session.session_id,
                                  "agent_id": agent.agent_id, "path": str(path), "started_at": self.clock()})
        self.store.add_event(session.session_id, "rec.start", {"recording_id": recording_id}, f"agent:{agent.agent_id}")
        await self.tell(session, "rec.state", self.rec_view(session))
        return {"recording_id": recording_id}

    async def rec_stop(self, agent: AgentIdentity, session_id: str) -> dict:
        session = self.agent_session(agent, session_id)
        if session.session_id not in self.recording:
            raise EventError("invalid_state", "This session is not being recorded.")
        return await self._stop_recording(session.session_id, f"agent:{agent.agent_id}", "stopped by agent")

    async def _stop_recording(self, session_id: str, actor: str, reason: str) -> dict:
        recording_id = self.recording.pop(session_id)
        row = next((r for r in self.store.recordings(session_id) if r["recording_id"] == recording_id), None)
        result: dict = {}
        try:
            result = await self.hub.router.record_stop(room_id=row["agent_id"], peer_id=session_id) or {}
        except KeyError:
            # The member's peer (or the room) is gone already: the router closed the file with it.
            logger.info("recording of %s was finished by the router (peer removed)", session_id)
        except Exception:
            logger.exception("record_stop failed for %s", session_id)
        now = self.clock()
        seconds = result.get("seconds")
        if seconds is None:
            seconds = round(now - row["started_at"], 3)  # wall clock, when the router could not say
        self.store.set_recording(recording_id, stopped_at=now, seconds=seconds, path=result.get("path") or row["path"])
        self.store.add_event(session_id, "rec.stop", {"recording_id": recording_id, "seconds": seconds, "reason": reason}, actor)
        session = self.hub.sessions.get(session_id)
        if session is not None:
            await self.tell(session, "rec.state", self.rec_view(session))
        return {"recording_id": recording_id, "seconds": seconds}

    # -- the claim ---------------------------------------------------------------------------

    async def claim_submit(self, agent: AgentIdentity, session_id: str) -> dict:
        session = self.agent_session(agent, session_id)
        form = self.form_of(session)
        self._editable(form)
        result = self.schema(session).evaluate(form["fields"], form["confirmed"])
        if not result.complete:
            problems = sorted(set(result.missing) | set(result.errors))
            raise EventError("invalid_state", "The form is not complete and valid yet: " + ", ".join(problems) + ".")
        if session.session_id in self.recording:
            await self._stop_recording(session.session_id, f"agent:{agent.agent_id}", "claim submitted")
        now = self.clock()
        seq = self.store.next_claim_seq()
        day = _dt.datetime.fromtimestamp(now).strftime("%Y%m%d")
        reference = f"{session.service.upper()}-{day}-{seq:06d}"
        folder = self.root / "claims" / reference
        manifest = self._bundle(session, form, reference, folder, now, agent)
        self.store.add_claim({"reference": reference, "seq": seq, "session_id": session.session_id,
                              "service": session.service, "kiosk_id": session.kiosk_id, "branch": session.branch,
                              "agent_id": agent.agent_id, "folder": str(folder), "created_at": now})
        form["submitted"] = reference
        form["pointed"] = None
        self.store.add_event(session.session_id, "claim.submit", {"reference": reference}, f"agent:{agent.agent_id}")
        await self._save_and_tell(session, form)
        await self.tell(session, "claim.done", {"session_id": session.session_id, "reference": reference,
                                                "qr": qr_data_uri(reference)}, agent=False)
        await self.tell(session, "claim.done", {"session_id": session.session_id, "reference": reference}, kiosk=False)
        return {"reference": reference, "files": len(manifest["documents"]) + len(manifest["recordings"])}

    def _bundle(self, session: "Session", form: dict, reference: str, folder: Path, now: float, agent: AgentIdentity) -> dict:
        """Write the claim's folder: copies of its files and ``manifest.json`` (docs/self-service.md)."""
        part = folder.with_name(folder.name + ".part")
        shutil.rmtree(part, ignore_errors=True)
        (part / "documents").mkdir(parents=True)
        (part / "recordings").mkdir()
        documents = []
        for d in self.store.documents(session.session_id):
            if d["status"] == "replaced" or d["path"] is None:
                continue
            name = Path(d["path"]).name
            _link_or_copy(Path(d["path"]), part / "documents" / name)
            documents.append({k: d[k] for k in ("document_id", "kind", "sha256", "bytes", "mime", "width", "height", "status", "created_at")}
                             | {"file": f"documents/{name}"})
        recordings = []
        for r in self.store.recordings(session.session_id):
            entry = {k: r[k] for k in ("recording_id", "started_at", "stopped_at", "seconds")}
            src = Path(r["path"]) if r["path"] else None
            if src is not None and src.exists():
                _link_or_copy(src, part / "recordings" / src.name)
                entry["file"] = f"recordings/{src.name}"
                entry["sha256"] = _sha256_file(src)
            else:
                entry["file"] = None
            recordings.append(entry)
        schema = self.schema(session)
        manifest = {
            "format": "lapak-claim/1",
            "reference": reference,
            "created_at": now,
            "service": session.service,
            "form_version": schema.version,
            "session": {"session_id": session.session_id, "kiosk_id": session.kiosk_id, "branch": session.branch,
                        "booth": session.booth, "language": session.language, "created_at": session.created_at},
            "agent": {"agent_id": agent.agent_id, "name": agent.name},
            "form": {name: form["fields"].get(name, "") for name in schema.fields},
            "confirmed": form["confirmed"],
            "documents": documents,
            "consent": [{"recording": e["data"].get("recording"), "at": e["at"], "actor": e["actor"]}
                        for e in self.store.events(session.session_id, "consent.answer")],
            "recordings": recordings,
            "history": [{"from": f, "to": t, "actor": a, "reason": r, "at": at} for f, t, a, r, at in _transitions(self.hub, session.session_id)],
            "events": [{"kind": e["kind"], "actor": e["actor"], "at": e["at"], "data": e["data"]}
                       for e in self.store.events(session.session_id)],
        }
        (part / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=2), encoding="utf-8")
        os.replace(part, folder)
        return manifest

    def manifest(self, reference: str) -> dict | None:
        claim = self.store.claim(reference)
        if claim is None:
            return None
        path = Path(claim["folder"]) / "manifest.json"
        return json.loads(path.read_text(encoding="utf-8")) if path.exists() else None

    # -- retention ------------------------------------------------------------------------------

    def retention_days(self) -> int:
        value = self.store.setting("retention_days")
        return int(value) if value is not None else int(self.config.retention_days)

    def set_retention_days(self, days: int, actor: str) -> None:
        self.store.set_setting("retention_days", str(days))
        self.store.add_event(None, "retention.set", {"days": days}, actor)

    def sweep(self, now: float | None = None) -> dict:
        """Delete documents and recordings older than the retention period; record each deletion."""
        now = self.clock() if now is None else now
        days = self.retention_days()
        cutoff = now - days * DAY
        deleted = {"documents": 0, "recordings": 0}
        claims = {c["session_id"]: c for c in self.store.claims()}
        for d in self.store.documents():
            if d["deleted_at"] is None and d["created_at"] < cutoff:
                self._delete_file(d["path"])
                self.store.set_document(d["document_id"], path=None, deleted_at=now)
                self._forget_in_claim(claims.get(d["session_id"]), "documents", "document_id", d["document_id"], now)
                self.store.add_event(d["session_id"], "retention.deleted",
                                     {"document_id": d["document_id"], "kind": d["kind"], "sha256": d["sha256"], "days": days}, "retention")
                deleted["documents"] += 1
        for r in self.store.recordings():
            if r["deleted_at"] is None and r["started_at"] < cutoff and r["session_id"] not in self.recording:
                self._delete_file(r["path"])
                self.store.set_recording(r["recording_id"], path=None, deleted_at=now)
                self._forget_in_claim(claims.get(r["session_id"]), "recordings", "recording_id", r["recording_id"], now)
                self.store.add_event(r["session_id"], "retention.deleted", {"recording_id": r["recording_id"], "days": days}, "retention")
                deleted["recordings"] += 1
        if any(deleted.values()):
            logger.info("retention (%d days): deleted %s", days, deleted)
        return deleted

    def _forget_in_claim(self, claim: dict | None, section: str, key: str, item_id: str, now: float) -> None:
        if claim is None:
            return
        folder = Path(claim["folder"])
        path = folder / "manifest.json"
        if not path.exists():
            return
        manifest = json.loads(path.read_text(encoding="utf-8"))
        for entry in manifest.get(section, []):
            if entry.get(key) == item_id:
                if entry.get("file"):
                    self._delete_file(str(folder / entry["file"]))
                entry["file"] = None
                entry["deleted_at"] = now
                entry["deleted_by"] = "retention"
        path.write_text(json.dumps(manifest, ensure_ascii=False, indent=2), encoding="utf-8")

    @staticmethod
    def _delete_file(path: str | None) -> None:
        if path:
            try:
                os.unlink(path)
            except FileNotFoundError:
                pass


def _transitions(hub: "Hub", session_id: str) -> list[tuple]:
    return hub.storage.db.execute(
        "SELECT from_state, to_state, actor, reason, at FROM transitions WHERE session_id = ? ORDER BY id", (session_id,)
    ).fetchall()


def _link_or_copy(src: Path, dst: Path) -> None:
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)


def _sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def qr_data_uri(text: str) -> str:
    """The text as a QR code, an SVG data URI made on the server (segno)."""
    import segno

    return segno.make(text, error="m").svg_data_uri(scale=8, border=2, dark="#0b3d2c")
