"""The member's consent to being recorded: asked by the agent, answered (and withdrawn) at the booth.

A yes counts only as the answer to the agent's question; a no (refusing, or
withdrawing consent) is always taken, and stops a recording that runs.
Every question and answer is an event in the audit trail.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..schemas import EventError
from .base import Part
from .recording import Recorder

if TYPE_CHECKING:  # pragma: no cover
    from .base import AgentIdentity, KioskIdentity

    from ..core.session import Session


class ConsentDesk(Part):
    """``consent.request``, ``consent.answer`` and ``consent.state``."""

    def __init__(self, *args, recorder: Recorder, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.recorder = recorder

    def view(self, session: "Session") -> dict:
        consent = self.store.consent(session.session_id)
        return {"session_id": session.session_id, "recording": consent["recording"] if consent else None,
                "at": consent["at"] if consent else None}

    async def request(self, agent: "AgentIdentity", session_id: str) -> dict:
        session = self.agent_session(agent, session_id)
        self.store.add_event(session.session_id, "consent.request", {}, f"agent:{agent.agent_id}")
        await self.ctx.tell(session, "consent.request", {"session_id": session.session_id}, agent=False)
        return {}

    def asked(self, session_id: str) -> bool:
        """Is a ``consent.request`` waiting for the member's answer (asked, not answered since)?"""
        last = None
        for event in self.store.events(session_id):
            if event["kind"] in ("consent.request", "consent.answer"):
                last = event["kind"]
        return last == "consent.request"

    async def answer(self, kiosk: "KioskIdentity", session_id: str, recording: bool) -> dict:
        session = self.kiosk_session(kiosk, session_id)
        if recording and not self.asked(session.session_id):
            raise EventError("invalid_state", "Consent to recording is given in answer to the agent's consent.request.")
        at = self.store.add_event(session.session_id, "consent.answer", {"recording": recording}, f"kiosk:{kiosk.kiosk_id}")
        if not recording and session.session_id in self.recorder.running:
            await self.recorder.stop(session.session_id, f"kiosk:{kiosk.kiosk_id}", "consent withdrawn")
        await self.ctx.tell(session, "consent.state", self.view(session))
        return {"at": at}
