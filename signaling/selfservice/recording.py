"""Recording a member's session, only with their consent: starting, stopping, and closing what was left open.

The media router writes the file (``record_start``/``record_stop``); this
part decides when, keeps which session is being recorded, and stores the
recording's row and events. A recording stops when the agent stops it, the
member withdraws consent, the claim is submitted, the session ends, or the
server stops.
"""

from __future__ import annotations

import logging
import uuid
from typing import TYPE_CHECKING

from ..schemas import EventError
from . import files
from .base import Part
from .context import LIVE

if TYPE_CHECKING:  # pragma: no cover
    from .base import AgentIdentity

    from ..core.session import Session

logger = logging.getLogger(__name__)


class Recorder(Part):
    """``rec.start``, ``rec.stop`` and ``rec.state``; the recordings running now."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        #: session_id -> recording_id of the recording running now.
        self.running: dict[str, str] = {}

    def view(self, session: "Session") -> dict:
        return {"session_id": session.session_id, "recording": session.session_id in self.running}

    def close_left_open(self) -> None:
        """Close recordings a stopped server left open (the file ends where the old process stopped)."""
        now = self.clock()
        for row in self.store.recordings():
            if row["stopped_at"] is None:
                self.store.set_recording(row["recording_id"], stopped_at=now, seconds=None)
                self.store.add_event(
                    row["session_id"], "rec.stop",
                    {"recording_id": row["recording_id"], "seconds": None, "reason": "server stopped while recording"},
                    "server",
                )

    async def start(self, agent: "AgentIdentity", session_id: str) -> dict:
        session = self.agent_session(agent, session_id)
        if session.state not in LIVE:
            raise EventError("invalid_state", "Recording needs a connected session.")
        consent = self.store.consent(session.session_id)
        if not consent or not consent["recording"]:
            raise EventError("forbidden", "The member has not agreed to be recorded (ask with consent.request).")
        if session.session_id in self.running:
            raise EventError("invalid_state", "This session is being recorded already.")
        if not self.ctx.can_record():
            raise EventError("forbidden", "This server's media router cannot record yet.")
        recording_id = f"r-{uuid.uuid4().hex[:12]}"
        folder = self.settings.root / "recordings" / session.session_id
        await files.make_folder(folder)
        path = folder / f"{recording_id}.webm"
        try:
            await self.ctx.router.record_start(room_id=agent.agent_id, peer_id=session.session_id, path=str(path))
        except Exception as exc:
            logger.exception("record_start failed")
            raise EventError("media_failed", f"The media server could not start recording: {exc}") from None
        self.running[session.session_id] = recording_id
        self.store.add_recording({"recording_id": recording_id, "session_id": session.session_id,
                                  "agent_id": agent.agent_id, "path": str(path), "started_at": self.clock()})
        self.store.add_event(session.session_id, "rec.start", {"recording_id": recording_id}, f"agent:{agent.agent_id}")
        await self.ctx.tell(session, "rec.state", self.view(session))
        return {"recording_id": recording_id}

    async def stop_by_agent(self, agent: "AgentIdentity", session_id: str) -> dict:
        session = self.agent_session(agent, session_id)
        if session.session_id not in self.running:
            raise EventError("invalid_state", "This session is not being recorded.")
        return await self.stop(session.session_id, f"agent:{agent.agent_id}", "stopped by agent")

    async def stop(self, session_id: str, actor: str, reason: str) -> dict:
        """Stop the session's running recording, store how long it was, tell both screens."""
        recording_id = self.running.pop(session_id)
        row = next((r for r in self.store.recordings(session_id) if r["recording_id"] == recording_id), None)
        result: dict = {}
        try:
            result = await self.ctx.router.record_stop(room_id=row["agent_id"], peer_id=session_id) or {}
        except KeyError:
            # The member's peer (or the room) is gone already: the router closed the file with it.
            logger.info("recording of %s was finished by the router (peer removed)", session_id)
        except Exception:
            logger.exception("record_stop failed for %s", session_id)
        now = self.clock()
        seconds = result.get("seconds")
        if seconds is None:
            seconds = round(now - row["started_at"], 3)  # the service's clock, when the router could not say
        self.store.set_recording(recording_id, stopped_at=now, seconds=seconds, path=result.get("path") or row["path"])
        self.store.add_event(session_id, "rec.stop", {"recording_id": recording_id, "seconds": seconds, "reason": reason}, actor)
        session = self.ctx.session(session_id)
        if session is not None:
            await self.ctx.tell(session, "rec.state", self.view(session))
        return {"recording_id": recording_id, "seconds": seconds}

    async def stop_quietly(self, session_id: str, actor: str, reason: str) -> None:
        """:meth:`stop`, logging (not raising) a failure: for stops nobody asked for."""
        try:
            await self.stop(session_id, actor, reason)
        except Exception:
            logger.exception("stopping recording of %s failed", session_id)

    async def on_hub_change(self) -> None:
        """A session ended (or moved away from its agent) while recording: stop the recording."""
        for session_id in list(self.running):
            session = self.ctx.session(session_id)
            if session is None or session.ended or session.state not in LIVE:
                await self.stop_quietly(session_id, "server", "session ended")

    async def close(self) -> None:
        """The server stops: stop every recording."""
        for session_id in list(self.running):
            await self.stop_quietly(session_id, "server", "server stopping")
