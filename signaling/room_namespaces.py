"""Socket events of the other people in an agent's room: supervisors and guests (issue 14).

- :class:`MonitorEvents`: the rows and handlers ``/supervisor`` adds to its
  board: ``monitor.join`` (open an online agent's room in a mode, with the
  supervisor's peer connection), ``monitor.mode``, ``monitor.leave``.
- :class:`GuestEvents`: the rows and handlers ``/agent`` adds:
  ``guest.invite`` (a one-time link and its QR code for one member's
  session) and ``guest.remove``.
- :class:`GuestNamespace`: ``/guest``, for someone holding a one-time link:
  ``media.offer`` and ``guest.leave``, nothing else. The link is used up by
  the first connection it admits.

Every refusal of these events (and every refused guest connection) goes into
the audit trail for the supervisors (``room.refused``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import segno
import socketio

from .hub.room_people import supervisor_peer
from .schemas import Empty, EventError, GuestOffer, IceRequest, MonitorJoin, MonitorMode, SessionRef
from .state.base import Invite

#: Event-name prefixes whose every refusal is stored in the audit trail, in any namespace.
AUDITED_PREFIXES = ("monitor.", "guest.")

MONITOR_EVENTS = {
    "monitor.join": (MonitorJoin, "monitor_join"),
    "monitor.mode": (MonitorMode, "monitor_mode"),
    "monitor.leave": (Empty, "monitor_leave"),
    "media.ice": (IceRequest, "monitor_ice"),
}

GUEST_EVENTS = {
    "guest.invite": (SessionRef, "guest_invite"),
    "guest.remove": (SessionRef, "guest_remove"),
}


class MonitorEvents:
    """A supervisor in an agent's room (mixed into ``SupervisorNamespace``)."""

    hub: Any

    async def monitor_joined(self, sid: str, supervisor) -> None:
        await self.enter_room(sid, f"monitor:{supervisor_peer(supervisor.username)}")  # type: ignore[attr-defined]

    async def monitor_join(self, supervisor, p: MonitorJoin) -> dict:
        self.hub.notifier.new_screen("/supervisor", f"monitor:{supervisor_peer(supervisor.username)}")
        return {"sdp": await self.hub.monitor_join(supervisor, p.agent_id, p.mode, p.sdp)}

    async def monitor_mode(self, supervisor, p: MonitorMode) -> dict:
        await self.hub.monitor_mode(supervisor, p.mode)
        return {}

    async def monitor_leave(self, supervisor, p: Empty) -> dict:
        await self.hub.monitor_leave(supervisor)
        return {}

    async def monitor_ice(self, supervisor, p: IceRequest) -> dict:
        """Fresh ICE servers (TURN credentials) before the supervisor's next peer connection."""
        return self.config.ice_servers(f"supervisor-{supervisor.username}")  # type: ignore[attr-defined]


class GuestEvents:
    """An agent inviting and removing a member's guest (mixed into ``AgentNamespace``)."""

    hub: Any

    async def guest_invite(self, agent, p: SessionRef) -> dict:
        invite = await self.hub.guest_invite(agent, p.session_id)
        path = f"/guest/{invite.token}"
        qr = segno.make(path, error="m").svg_data_uri(scale=4)
        return {"session_id": invite.session_id, "path": path, "qr": qr, "expires_at": invite.expires_at}

    async def guest_remove(self, agent, p: SessionRef) -> dict:
        await self.hub.guest_remove(agent, p.session_id)
        return {}


@dataclass(frozen=True)
class GuestIdentity:
    """A guest as a socket knows them: their invite; ``role``/``username`` name them in the audit trail."""

    invite: Invite

    @property
    def role(self) -> str:
        return "guest"

    @property
    def username(self) -> str:
        return f"guest:{self.invite.session_id}"


@dataclass(frozen=True)
class LinkTry:
    """Who tried a link that did not admit them (for the audit trail)."""

    token: str
    role: str = "guest"

    @property
    def username(self) -> str:
        return f"guest-link:{self.token[:8]}"


def make_guest_namespace(base: type) -> type:
    """``/guest`` built on the namespaces' common base (passed in: no import cycle with ``namespaces``)."""

    class GuestNamespace(base):  # type: ignore[misc, valid-type]
        """``/guest``: a member's guest, admitted once by a one-time link; media only."""

        role = "guest"
        credentials = "one-time link"
        events = {
            "media.offer": (GuestOffer, "offer"),
            "media.ice": (IceRequest, "ice"),
            "guest.leave": (Empty, "leave"),
        }

        def identify(self, auth, environ):
            token = auth.get("token") if isinstance(auth, dict) else None
            if not isinstance(token, str) or not 10 <= len(token) <= 64:
                return None
            invite = self.hub.guest_admit(token)
            if invite is None:
                self.audit(self, "", LinkTry(token), "connect", ("connect", {}))
                raise socketio.exceptions.ConnectionRefusedError(
                    "This guest link does not work (used, removed, expired, or its session is over).",
                    {"code": "invalid_link"},
                )
            return GuestIdentity(invite)

        def audits(self, event: str, code: str) -> bool:
            return True  # a guest trying anything refused is worth a supervisor's look

        async def joined(self, sid, guest) -> None:
            # A new connection of the session's guest knows nothing yet: tell it everything again.
            self.hub.notifier.new_screen("/guest", f"guest:{guest.invite.peer_id}")
            await self.enter_room(sid, f"guest:{guest.invite.peer_id}")
            await self.emit("guest.state", {"state": "joined", "session_id": guest.invite.session_id}, to=sid)

        async def left(self, sid, guest) -> None:
            await self.hub.guest_left(guest.invite)

        async def offer(self, guest, p: GuestOffer) -> dict:
            return {"sdp": await self.hub.guest_offer(guest.invite, p.sdp)}

        async def ice(self, guest, p: IceRequest) -> dict:
            return self.config.ice_servers(f"guest-{guest.invite.peer_id}")

        async def leave(self, guest, p: Empty) -> dict:
            await self.hub.guest_left(guest.invite)
            return {}

    return GuestNamespace


def refusal_audited(event: str, code: str) -> bool:
    """Every namespace stores these refusals: someone else's session, or anything about room people."""
    return code == "unknown_session" or event.startswith(AUDITED_PREFIXES)


__all__ = ["EventError", "GUEST_EVENTS", "MONITOR_EVENTS", "GuestEvents", "MonitorEvents", "make_guest_namespace"]
