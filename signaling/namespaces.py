"""Socket.io namespaces: who may connect, which events exist, and their checks.

Each namespace is a table of events: for every event, the schema its
payload must match and the hub call it makes. Authentication happens at
connect time (a kiosk token on ``/kiosk``; an agent's cookie, password or
token on ``/agent``; an officer's cookie or password on ``/officer``;
credentials of another role are refused), so an event can only come from
its namespace's role; ownership (a kiosk's own session, an agent's own
sessions, an officer's own branch) is checked by the hub. Every refusal is
answered with a clear error and changes nothing.

Access that ends after connect time (a revoked booth, a disabled account,
a newer socket of the same booth or agent) is :mod:`signaling.access`'s:
every event first checks that its sender is still granted.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

import socketio

from .board import BoardPublisher
from .core.errors import RecordsUnavailable
from .core.vocabulary import HOME_BRANCH
from .hub import Hub
from .online.door import HomeRefused
from .room_namespaces import GUEST_EVENTS, MONITOR_EVENTS, GuestEvents, MonitorEvents, make_guest_namespace, refusal_audited
from .ports import AccessGuard, Authenticator, RefusalAudit, Settings
from .schemas import (
    AgentOffer, Availability, ConsentAnswer, DocCapture, DocRequest, DocReview, Empty, EventError, FocusAll,
    FocusSet, FormConfirm, FormEdit, FormOpen, FormPoint, HelpAnswer, IceRequest, InterviewJoin, KioskOffer,
    OfficerCancel, OfficerStart, Payload, SecurityCall, SessionEnd, SessionLeave, SessionRate, SessionRef,
    SessionRequest, SessionTransfer, parse,
)

logger = logging.getLogger(__name__)

Handler = Callable[[Any, Payload], Awaitable[dict]]

#: Longest event name echoed back in an error (longer unknown names are cut).
MAX_SHOWN_NAME = 64


class RoleNamespace(socketio.AsyncNamespace):
    """A namespace for one role, dispatching events through a table."""

    role = ""
    events: dict[str, tuple[type[Payload], str]] = {}
    #: Ends access that is no longer granted (set by :class:`signaling.access.Access`).
    access: AccessGuard | None = None

    def __init__(
        self,
        namespace: str,
        hub: Hub,
        config: Settings,
        selfservice=None,
        *,
        authenticator: Authenticator,
        audit: RefusalAudit,
    ) -> None:
        super().__init__(namespace)
        self.hub = hub
        self.config = config
        self.authenticator = authenticator
        self.audit = audit
        self.identities: dict[str, Any] = {}
        #: The booth's self-service (signaling.selfservice.SelfService), if the app has it.
        self.selfservice = selfservice

    @property
    def ss(self):
        if self.selfservice is None:
            raise EventError("forbidden", "Self-service is not enabled on this server.")
        return self.selfservice

    #: What a refused client is told it needs.
    credentials = "token"

    def identify(self, auth: Any, environ: dict):  # pragma: no cover - abstract
        raise NotImplementedError

    @property
    def accounts(self):
        return self.hub.storage.accounts

    async def on_connect(self, sid: str, environ: dict, auth: Any = None) -> None:
        identity = self.identify(auth, environ)
        if identity is None:
            raise socketio.exceptions.ConnectionRefusedError(
                f"A valid {self.role} {self.credentials} is required.", {"code": "unauthorized"}
            )
        self.identities[sid] = identity
        if self.access is not None:
            await self.access.admit(self, sid, identity)  # one socket per booth, one console per agent
        await self.joined(sid, identity)

    async def on_disconnect(self, sid: str, reason: Any = None) -> None:
        identity = self.identities.pop(sid, None)
        if self.access is not None:
            self.access.forget(self, sid)
        if identity is not None:
            await self.left(sid, identity)

    async def joined(self, sid: str, identity: Any) -> None:
        """Hook: a client of this role connected."""

    async def left(self, sid: str, identity: Any) -> None:
        """Hook: a client of this role disconnected."""

    def audits(self, event: str, code: str) -> bool:
        """Is this refusal stored in the audit trail (capped)?"""
        return refusal_audited(event, code)

    def still_here(self, device: str, device_of: Callable[[Any], str]) -> bool:
        """Is another socket of this device still connected here (a replaced socket leaving)?"""
        return any(device_of(i) == device for i in self.identities.values())

    async def trigger_event(self, event: str, *args: Any) -> Any:
        if event in ("connect", "disconnect"):
            return await super().trigger_event(event, *args)
        sid = args[0]
        identity = self.identities.get(sid)
        # An unknown name is echoed back cut short: a client cannot make the server send its megabyte back.
        shown = event if len(event) <= MAX_SHOWN_NAME else event[:MAX_SHOWN_NAME] + "…"
        try:
            if identity is None:
                raise EventError("unauthorized", "Not connected.")
            if self.access is not None and not self.access.still_valid(identity):
                await self.access.refuse(identity)  # revoked or disabled since connecting: closed, no answer
                return None
            entry = self.events.get(event)
            if entry is None:
                raise EventError("unknown_event", f"There is no event {shown!r} for a {self.role}.")
            if len(args) != 2:
                raise EventError("invalid_payload", "An event carries exactly one JSON object ({} when it needs nothing).")
            model, method = entry
            payload = parse(model, args[1], self.config.max_event_bytes)
            result = await getattr(self, method)(identity, payload)
            return {"ok": True, **(result or {})}
        except EventError as exc:
            if self.audits(event, exc.code):  # someone else's session, room people: in the audit trail (capped)
                self.audit(self, sid, identity, event, args)
            await self.emit("error", exc.to_dict(shown), to=sid)
            return {"ok": False, "error": {"code": exc.code, "message": exc.message}}
        except RecordsUnavailable as exc:  # nothing stored, so nothing acknowledged; no new session until back
            logger.warning("event %s not stored: %s", shown, exc)
            await self.hub.records_unavailable()
            error = {"code": "unavailable", "message": "The service cannot store this just now; please try again shortly."}
            await self.emit("error", {**error, "event": shown}, to=sid)
            return {"ok": False, "error": error}
        except Exception:
            logger.exception("event %s failed", shown)
            error = {"code": "internal", "message": "Something went wrong on the server; please try again."}
            await self.emit("error", {**error, "event": shown}, to=sid)
            return {"ok": False, "error": error}


class KioskNamespace(RoleNamespace):
    """``/kiosk``: a booth device and the member sitting at it."""

    role = "kiosk"
    events = {
        "session.request": (SessionRequest, "request"),
        "media.offer": (KioskOffer, "offer"),
        "media.ice": (IceRequest, "ice"),
        "session.leave": (SessionLeave, "leave"),
        "session.rate": (SessionRate, "rate"),
        "security.call": (SecurityCall, "call_security"),
        # self-service (signaling/selfservice/)
        "form.edit": (FormEdit, "form_edit"),
        "consent.answer": (ConsentAnswer, "consent_answer"),
        # a member at home (signaling/online/door.py)
        "interview.join": (InterviewJoin, "interview_join"),
    }
    #: The online door (signaling.online.door.HomeDoor), if the app has it: phones connect with a status link.
    home = None

    def identify(self, auth, environ):
        if self.home is not None and self.home.asks(auth):
            try:
                return self.home.identify(auth, environ, lambda device: self.still_here(device, lambda i: i.kiosk_id))
            except HomeRefused as exc:
                raise socketio.exceptions.ConnectionRefusedError(exc.message, {"code": exc.code}) from None
        return self.authenticator.kiosk(auth)

    async def interview_join(self, kiosk, p: InterviewJoin) -> dict:
        if self.home is None:
            raise EventError("forbidden", "Interviews from home are not enabled on this server.")
        return {"session_id": await self.home.join(kiosk, p.language)}

    async def joined(self, sid, identity) -> None:
        await self.enter_room(sid, f"kiosk:{identity.kiosk_id}")  # the booth's screen (signaling/notifier.py)
        await self.hub.kiosk_connected(identity)
        if self.selfservice is not None:
            await self.selfservice.kiosk_joined(identity)

    async def left(self, sid, identity) -> None:
        if not self.still_here(identity.kiosk_id, lambda i: i.kiosk_id):
            await self.hub.kiosk_disconnected(identity)

    async def request(self, kiosk, p: SessionRequest) -> dict:
        if kiosk.branch == HOME_BRANCH:
            raise EventError("forbidden", "A member at home joins with interview.join.")
        if not self.config.kiosk_self_start:
            raise EventError("forbidden", "Sessions are started by the branch's security officer.")
        session = await self.hub.start_session(kiosk, p.service, p.language, f"kiosk:{kiosk.kiosk_id}")
        return {"session_id": session.session_id}

    async def ice(self, kiosk, p: IceRequest) -> dict:
        return self.config.ice_servers(f"kiosk-{kiosk.kiosk_id}")

    async def offer(self, kiosk, p: KioskOffer) -> dict:
        return {"sdp": await self.hub.kiosk_offer(kiosk, p.session_id, p.sdp)}

    async def leave(self, kiosk, p: SessionLeave) -> dict:
        await self.hub.kiosk_leave(kiosk, p.session_id)
        return {}

    async def rate(self, kiosk, p: SessionRate) -> dict:
        await self.hub.rate(kiosk, p.session_id, p.score)
        return {}

    async def call_security(self, kiosk, p: SecurityCall) -> dict:
        if kiosk.branch == HOME_BRANCH:
            raise EventError("forbidden", "There is no security officer at home.")
        await self.hub.call_security(kiosk)
        return {}

    async def form_edit(self, kiosk, p: FormEdit) -> dict:
        return await self.ss.form_edit(kiosk, p.session_id, p.field, p.value)

    async def consent_answer(self, kiosk, p: ConsentAnswer) -> dict:
        return await self.ss.consent_answer(kiosk, p.session_id, p.recording)


class AgentNamespace(GuestEvents, RoleNamespace):
    """``/agent``: a customer-service agent's console."""

    role = "agent"
    credentials = "sign-in (cookie, username and password, or token)"
    events = {
        "media.offer": (AgentOffer, "offer"),
        "media.ice": (IceRequest, "ice"),
        "agent.availability": (Availability, "availability"),
        "focus.set": (FocusSet, "focus_set"),
        "focus.all": (FocusAll, "focus_all"),
        "session.talk": (SessionRef, "talk"),
        "session.hold": (SessionRef, "hold"),
        "session.end": (SessionEnd, "end"),
        "session.transfer": (SessionTransfer, "transfer"),
        "transfer.targets": (Empty, "transfer_targets"),
        # self-service (signaling/selfservice/)
        "form.open": (FormOpen, "form_open"),
        "form.edit": (FormEdit, "form_edit"),
        "form.point": (FormPoint, "form_point"),
        "form.confirm": (FormConfirm, "form_confirm"),
        "doc.request": (DocRequest, "doc_request"),
        "doc.capture": (DocCapture, "doc_capture"),
        "doc.review": (DocReview, "doc_review"),
        "consent.request": (SessionRef, "consent_request"),
        "rec.start": (SessionRef, "rec_start"),
        "rec.stop": (SessionRef, "rec_stop"),
        "claim.submit": (SessionRef, "claim_submit"),
        **GUEST_EVENTS,  # a guest for one member (signaling/room_namespaces.py)
    }

    def identify(self, auth, environ):
        return self.authenticator.agent(auth, environ)

    async def joined(self, sid, identity) -> None:
        await self.enter_room(sid, f"agent:{identity.agent_id}")  # the console's screen (signaling/notifier.py)
        await self.hub.agent_connected(identity)
        if self.selfservice is not None:
            await self.selfservice.agent_joined(identity)

    async def left(self, sid, identity) -> None:
        if not self.still_here(identity.agent_id, lambda i: i.agent_id):
            await self.hub.agent_disconnected(identity)

    async def ice(self, agent, p: IceRequest) -> dict:
        return self.config.ice_servers(f"agent-{agent.agent_id}")

    async def offer(self, agent, p: AgentOffer) -> dict:
        return {"sdp": await self.hub.agent_offer(agent, p.sdp)}

    async def focus_set(self, agent, p: FocusSet) -> dict:
        await self.hub.set_focus(agent, list(p.session_ids))
        return {}

    async def focus_all(self, agent, p: FocusAll) -> dict:
        await self.hub.set_focus(agent, None)
        return {}

    async def talk(self, agent, p: SessionRef) -> dict:
        await self.hub.talk(agent, p.session_id)
        return {}

    async def hold(self, agent, p: SessionRef) -> dict:
        await self.hub.hold(agent, p.session_id)
        return {}

    async def end(self, agent, p: SessionEnd) -> dict:
        await self.hub.end_session(agent, p.session_id, p.outcome, p.note)
        return {}

    async def availability(self, agent, p: Availability) -> dict:
        await self.hub.set_availability(agent, p.availability)
        return {}

    async def transfer(self, agent, p: SessionTransfer) -> dict:
        if p.service is None and p.agent_id is None:
            raise EventError("invalid_payload", "Name a service queue or an agent to transfer to.")
        await self.hub.transfer(agent, p.session_id, p.service, p.agent_id)
        return {}

    async def transfer_targets(self, agent, p: Empty) -> dict:
        return {"colleagues": self.hub.transfer_targets(agent)}

    # -- self-service -------------------------------------------------------------

    async def form_open(self, agent, p: FormOpen) -> dict:
        return await self.ss.form_open(agent, p.session_id)

    async def form_edit(self, agent, p: FormEdit) -> dict:
        return await self.ss.form_edit(agent, p.session_id, p.field, p.value)

    async def form_point(self, agent, p: FormPoint) -> dict:
        return await self.ss.form_point(agent, p.session_id, p.field)

    async def form_confirm(self, agent, p: FormConfirm) -> dict:
        return await self.ss.form_confirm(agent, p.session_id, p.check)

    async def doc_request(self, agent, p: DocRequest) -> dict:
        return await self.ss.doc_request(agent, p.session_id, p.kind)

    async def doc_capture(self, agent, p: DocCapture) -> dict:
        return await self.ss.doc_capture(agent, p.session_id, p.request_id)

    async def doc_review(self, agent, p: DocReview) -> dict:
        return await self.ss.doc_review(agent, p.session_id, p.document_id, p.accepted)

    async def consent_request(self, agent, p: SessionRef) -> dict:
        return await self.ss.consent_request(agent, p.session_id)

    async def rec_start(self, agent, p: SessionRef) -> dict:
        return await self.ss.rec_start(agent, p.session_id)

    async def rec_stop(self, agent, p: SessionRef) -> dict:
        return await self.ss.rec_stop(agent, p.session_id)

    async def claim_submit(self, agent, p: SessionRef) -> dict:
        return await self.ss.claim_submit(agent, p.session_id)


class OfficerNamespace(RoleNamespace):
    """``/officer``: a branch security officer's console; their branch only, no media, no contents."""

    role = "security officer"
    credentials = "sign-in (cookie, or username and password)"
    events = {
        "session.start": (OfficerStart, "start"),
        "session.cancel": (OfficerCancel, "cancel"),
        "help.answer": (HelpAnswer, "answer_help"),
    }

    def identify(self, auth, environ):
        return self.authenticator.staff(auth, environ, "officer")

    async def joined(self, sid, officer) -> None:
        await self.enter_room(sid, f"branch:{officer.branch}")
        await self.hub.tell_branch(officer.branch)

    async def start(self, officer, p: OfficerStart) -> dict:
        kiosk = self.hub.branch_kiosk(officer, p.kiosk_id)
        session = await self.hub.start_session(kiosk, p.service, p.language, f"officer:{officer.username}")
        return {"session_id": session.session_id}

    async def cancel(self, officer, p: OfficerCancel) -> dict:
        await self.hub.officer_cancel(officer, p.session_id)
        return {}

    async def answer_help(self, officer, p: HelpAnswer) -> dict:
        await self.hub.help_answered(officer, p.kiosk_id)
        return {}


class SupervisorNamespace(MonitorEvents, RoleNamespace):
    """``/supervisor``: the live board (the server pushes ``board.state``), and agents' rooms (``monitor.*``)."""

    role = "supervisor"
    credentials = "sign-in (cookie, or username and password)"
    events: dict = dict(MONITOR_EVENTS)

    def __init__(self, namespace: str, hub: Hub, config: Settings, board: BoardPublisher, **ports: Any) -> None:
        super().__init__(namespace, hub, config, **ports)
        self.board = board

    def identify(self, auth, environ):
        return self.authenticator.staff(auth, environ, "supervisor")

    async def joined(self, sid, supervisor) -> None:
        await self.enter_room(sid, "supervisors")
        await self.monitor_joined(sid, supervisor)
        self.board.viewers += 1
        await self.board.publish(to=sid)

    async def left(self, sid, supervisor) -> None:
        self.board.viewers -= 1
        if not self.still_here(supervisor.username, lambda i: i.username):
            await self.hub.monitor_leave(supervisor)  # the board closed: out of the room too


GuestNamespace = make_guest_namespace(RoleNamespace)
