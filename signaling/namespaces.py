"""Socket.io namespaces: who may connect, which events exist, and their checks.

Each namespace is a table of events: for every event, the schema its
payload must match and the hub call it makes. Authentication happens at
connect time (a kiosk token on ``/kiosk``, an agent token on ``/agent``; a
token of the other role is refused), so an event can only come from its
namespace's role; ownership (a kiosk's own session, an agent's own
sessions) is checked by the hub. Every refusal is answered with a clear
error and changes nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

import socketio

from server.config import Config

from .hub import Hub
from .schemas import (
    AgentOffer,
    EventError,
    FocusAll,
    FocusSet,
    KioskOffer,
    Payload,
    SessionEnd,
    SessionLeave,
    SessionRef,
    SessionRequest,
    parse,
)

logger = logging.getLogger(__name__)

Handler = Callable[[Any, Payload], Awaitable[dict]]


class RoleNamespace(socketio.AsyncNamespace):
    """A namespace for one role, dispatching events through a table."""

    role = ""
    events: dict[str, tuple[type[Payload], str]] = {}

    def __init__(self, namespace: str, hub: Hub, config: Config) -> None:
        super().__init__(namespace)
        self.hub = hub
        self.config = config
        self.identities: dict[str, Any] = {}

    def identify(self, token: str | None):  # pragma: no cover - abstract
        raise NotImplementedError

    async def on_connect(self, sid: str, environ: dict, auth: Any = None) -> None:
        token = auth.get("token") if isinstance(auth, dict) else None
        identity = self.identify(token if isinstance(token, str) else None)
        if identity is None:
            raise socketio.exceptions.ConnectionRefusedError(
                f"A valid {self.role} token is required.", {"code": "unauthorized"}
            )
        self.identities[sid] = identity
        await self.joined(sid, identity)

    async def on_disconnect(self, sid: str, reason: Any = None) -> None:
        identity = self.identities.pop(sid, None)
        if identity is not None:
            await self.left(sid, identity)

    async def joined(self, sid: str, identity: Any) -> None:
        """Hook: a client of this role connected."""

    async def left(self, sid: str, identity: Any) -> None:
        """Hook: a client of this role disconnected."""

    async def trigger_event(self, event: str, *args: Any) -> Any:
        if event in ("connect", "disconnect"):
            return await super().trigger_event(event, *args)
        sid = args[0]
        identity = self.identities.get(sid)
        try:
            if identity is None:
                raise EventError("unauthorized", "Not connected.")
            entry = self.events.get(event)
            if entry is None:
                raise EventError("unknown_event", f"There is no event {event!r} for a {self.role}.")
            if len(args) > 2:
                raise EventError("invalid_payload", "An event carries exactly one JSON object.")
            model, method = entry
            payload = parse(model, args[1] if len(args) > 1 else None, self.config.max_event_bytes)
            result = await getattr(self, method)(identity, payload)
            return {"ok": True, **(result or {})}
        except EventError as exc:
            error = exc.to_dict(event if isinstance(event, str) else None)
            await self.emit("error", error, to=sid)
            return {"ok": False, "error": {"code": exc.code, "message": exc.message}}
        except Exception:
            logger.exception("event %s failed", event)
            error = {"code": "internal", "message": "Something went wrong on the server; please try again."}
            await self.emit("error", {**error, "event": event}, to=sid)
            return {"ok": False, "error": error}


class KioskNamespace(RoleNamespace):
    """``/kiosk``: a booth device and the member sitting at it."""

    role = "kiosk"
    events = {
        "session.request": (SessionRequest, "request"),
        "media.offer": (KioskOffer, "offer"),
        "session.leave": (SessionLeave, "leave"),
    }

    def identify(self, token):
        return self.config.kiosk_for(token)

    async def joined(self, sid, identity) -> None:
        await self.hub.kiosk_connected(identity, sid)

    async def left(self, sid, identity) -> None:
        await self.hub.kiosk_disconnected(identity, sid)

    async def request(self, kiosk, p: SessionRequest) -> dict:
        session = await self.hub.request_session(kiosk, p.service, p.language)
        return {"session_id": session.session_id}

    async def offer(self, kiosk, p: KioskOffer) -> dict:
        return {"sdp": await self.hub.kiosk_offer(kiosk, p.session_id, p.sdp)}

    async def leave(self, kiosk, p: SessionLeave) -> dict:
        await self.hub.kiosk_leave(kiosk, p.session_id)
        return {}


class AgentNamespace(RoleNamespace):
    """``/agent``: a customer-service agent's console."""

    role = "agent"
    events = {
        "media.offer": (AgentOffer, "offer"),
        "focus.set": (FocusSet, "focus_set"),
        "focus.all": (FocusAll, "focus_all"),
        "session.talk": (SessionRef, "talk"),
        "session.hold": (SessionRef, "hold"),
        "session.end": (SessionEnd, "end"),
    }

    def identify(self, token):
        return self.config.agent_for(token)

    async def joined(self, sid, identity) -> None:
        old = self.hub.agents.get(identity.agent_id)
        if old is not None and old.sid is not None and old.sid != sid:
            # One console per agent: the newest connection wins.
            await self.disconnect(old.sid)
        await self.hub.agent_connected(identity, sid)

    async def left(self, sid, identity) -> None:
        await self.hub.agent_disconnected(identity, sid)

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
