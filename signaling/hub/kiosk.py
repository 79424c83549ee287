"""Commands from the booth side: a booth connects, asks for an agent, offers media, leaves, rates, calls security."""

from __future__ import annotations

import uuid

from ..changes import Changes
from ..core.session import Session
from ..core.vocabulary import KioskIdentity
from ..schemas import EventError
from .nodes import NodeEvents


class KioskSide(NodeEvents):
    """What a booth (or its officer, starting a session for it) can do."""

    async def kiosk_connected(self, kiosk: KioskIdentity) -> Changes:
        changes = Changes(branches={kiosk.branch})
        self.state.set_kiosk_node(kiosk.kiosk_id, self.node)
        self.notifier.new_screen("/kiosk", f"kiosk:{kiosk.kiosk_id}")
        session = self.state.open_session_of(kiosk.kiosk_id)
        if session is not None:
            self._cancel_grace(session.session_id)
            changes.sessions.add(session.session_id)
        else:
            await self.notifier.idle(kiosk.kiosk_id)
        return await self.finish(changes)

    async def kiosk_disconnected(self, kiosk: KioskIdentity) -> Changes:
        """The booth's last socket is gone."""
        self.state.set_kiosk_node(kiosk.kiosk_id, None)
        session = self.state.open_session_of(kiosk.kiosk_id)
        if session is not None:
            self._start_grace(session.session_id)
        return await self.finish(Changes(branches={kiosk.branch}))

    async def start_session(self, kiosk: KioskIdentity, service: str, language: str, actor: str) -> Session:
        """Start a session at ``kiosk`` (by its officer, or by the kiosk itself) and queue it."""
        self.check_accepting()
        changes = Changes(branches={kiosk.branch}, queue=True)
        async with self._lock:
            if self.state.open_session_of(kiosk.kiosk_id) is not None:
                raise EventError("invalid_state", f"Booth {kiosk.booth} already has an open session.")
            if not self.state.kiosk_online(kiosk.kiosk_id):
                raise EventError("invalid_state", f"Booth {kiosk.booth} is offline; check its screen and network.")
            session = Session(
                session_id=f"s-{uuid.uuid4().hex[:12]}",
                kiosk_id=kiosk.kiosk_id,
                branch=kiosk.branch,
                booth=kiosk.booth,
                service=service,
                language=language,
                created_at=self.config.clock(),
            )
            self.storage.save(session, None, actor, "session started")  # first: records away, nothing anywhere
            self.state.put_session(session)
            self._move(session, "queued", "dispatcher")
            self.state.enqueue(session)
        changes.sessions.add(session.session_id)
        await self._dispatch(changes)
        await self.finish(changes)
        return session

    async def kiosk_offer(self, kiosk: KioskIdentity, session_id: str, sdp: str) -> str:
        session = self.owned_session(session_id, kiosk_id=kiosk.kiosk_id)
        if session.state not in ("assigned", "connecting", "active") or session.agent_id is None:
            raise EventError("invalid_state", "The session has no agent yet; wait for 'connecting'.")
        answer = await self._add_peer(session.agent_id, session.session_id, "kiosk", sdp)
        async with self._lock:
            if session.state == "assigned":
                self._move(session, "connecting", f"kiosk:{kiosk.kiosk_id}")
            elif session.state == "active":
                self._move(session, "connecting", f"kiosk:{kiosk.kiosk_id}", "reconnecting")
        self._cancel_grace(session_id)
        await self.finish(Changes(sessions={session.session_id}))
        return answer

    async def kiosk_leave(self, kiosk: KioskIdentity, session_id: str) -> Changes:
        session = self.owned_session(session_id, kiosk_id=kiosk.kiosk_id)
        changes = Changes()
        await self._end(session, "abandoned", f"kiosk:{kiosk.kiosk_id}", "member_left", changes)
        return await self.finish(changes)

    async def rate(self, kiosk: KioskIdentity, session_id: str, score: int) -> None:
        session = self.state.session(session_id)
        if session is None or session.kiosk_id != kiosk.kiosk_id:
            raise EventError("unknown_session", "There is no such session at this booth.")
        if session.state not in ("closed", "wrap_up"):
            raise EventError("invalid_state", "A session can be rated once it has ended.")
        if session.rating is not None:
            raise EventError("invalid_state", "This session has been rated already.")
        session.rating = score
        self.state.put_session(session)
        self.storage.save(session, session.state, f"kiosk:{kiosk.kiosk_id}", None)

    async def call_security(self, kiosk: KioskIdentity) -> Changes:
        since = self.state.call_help(kiosk.kiosk_id, self.config.clock())
        call = {"kiosk_id": kiosk.kiosk_id, "booth": kiosk.booth, "since": since}
        await self.emit("help.call", call, to=f"branch:{kiosk.branch}", namespace="/officer")
        return await self.finish(Changes(branches={kiosk.branch}))
