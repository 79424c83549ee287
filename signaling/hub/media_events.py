"""What the media router reports: a peer connected or failed, a room's process was replaced, speaking levels, network quality."""

from __future__ import annotations

from ..changes import Changes
from ..core.session import Session
from .grace import Graces


def restart_notice(session: Session, reason: str) -> dict:
    """``media.restart`` for a booth: the same attempt its ``session.state`` already announced."""
    return {"session_id": session.session_id, "reason": reason, "attempt": session.attempt}


class MediaEvents(Graces):
    """Turns the router's events into session moves; each handled on the hub's tasks, never dropped."""

    def on_media_event(self, event: dict) -> None:
        kind = event.get("event")
        if kind == "peer.state":
            self.tasks.spawn(self._peer_state(event["room"], event["peer"], event["state"]), name="peer.state")
        elif kind == "room.lost":
            if self.state.agent(event["room"]) is not None:
                self.tasks.spawn(self._room_lost(event["room"]), name="room.lost")
        elif kind == "peer.quality":
            self.tasks.spawn(self._peer_quality(event["room"], event["peer"], event["quality"]), name="peer.quality")
        elif kind == "room.levels":
            agent = self.state.agent(event["room"])
            if agent is not None and agent.online:
                levels = {k: v for k, v in event["levels"].items() if k in agent.tiles}
                self.tasks.spawn(
                    self.emit("room.levels", {"levels": levels}, to=f"agent:{agent.agent_id}", namespace="/agent"),
                    name="room.levels",
                )

    async def _peer_state(self, room_id: str, peer_id: str, state: str) -> None:
        session = self.state.session(peer_id)
        if session is None:
            return  # the agent's own peer
        if state == "connected" and session.state == "connecting":
            async with self._lock:
                self._move(session, "active", "media", "media connected")
            self._cancel_grace(peer_id)
            changes = Changes(sessions={peer_id}, branches={session.branch})
            if session.agent_id is not None:
                changes.consoles.add(session.agent_id)  # the routing is unchanged: the console only
            await self.finish(changes)
        elif state in ("failed", "closed") and not session.ended:
            self._start_grace(peer_id)
            if state == "failed" and session.state in ("connecting", "active") and session.agent_id == room_id:
                # The booth's media path died: a new attempt, which the booth answers with one
                # offer once it is (or is again) signed in.
                async with self._lock:
                    self._new_attempt(session, "media", "media_failed")
                await self.finish(Changes(sessions={peer_id}, rooms={room_id}, branches={session.branch}))
                if self.state.kiosk_online(session.kiosk_id):
                    notice = restart_notice(session, "media_failed")
                    await self.emit("media.restart", notice, to=f"kiosk:{session.kiosk_id}", namespace="/kiosk")

    async def _peer_quality(self, room_id: str, peer_id: str, quality: dict) -> None:
        """A member's network quality changed: their tile, their booth, and (the level) their branch's board."""
        session = self.state.session(peer_id)
        if session is None or session.ended or session.agent_id != room_id:
            return  # the agent's own peer, a supervisor's, a guest's, or a session gone meanwhile
        async with self._lock:
            level_changed = (session.network or {}).get("level") != quality.get("level")
            session.network = dict(quality)
            self.state.put_session(session)
        changes = Changes(consoles={room_id})
        if level_changed:
            changes.branches.add(session.branch)
        await self.finish(changes)
        if self.state.kiosk_online(session.kiosk_id):
            notice = {"session_id": session.session_id, **quality}
            await self.emit("media.network", notice, to=f"kiosk:{session.kiosk_id}", namespace="/kiosk")

    async def _room_lost(self, agent_id: str) -> None:
        """The room's media process died and was replaced: everyone in it connects media again."""
        agent = self.state.agent(agent_id)
        if agent is None:
            return
        sessions = [s for s in (self.state.session(i) for i in agent.sessions) if s is not None]
        async with self._lock:
            for session in sessions:
                if not session.ended:
                    self._new_attempt(session, "media", "media_restarted")
        # The new process learns the routing; booths are told the new attempt.
        await self.finish(Changes(rooms={agent_id}))
        if agent.online:
            await self.emit("media.restart", {"reason": "media_restarted"}, to=f"agent:{agent_id}", namespace="/agent")
        for session in sessions:
            if self.state.kiosk_online(session.kiosk_id) and not session.ended:
                notice = restart_notice(session, "media_restarted")
                await self.emit("media.restart", notice, to=f"kiosk:{session.kiosk_id}", namespace="/kiosk")
            self._start_grace(session.session_id)
