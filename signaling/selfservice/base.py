"""What every part of self-service shares: the hub's window, the store, the settings, and who may act."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..core.vocabulary import AgentIdentity, KioskIdentity

from ..schemas import EventError
from .context import LIVE, HubContext, Settings
from .store import Store

if TYPE_CHECKING:  # pragma: no cover
    from ..core.session import Session


class Part:
    """One concept of self-service (forms, documents, consent, recording, claims, retention)."""

    def __init__(self, ctx: HubContext, store: Store, settings: Settings) -> None:
        self.ctx = ctx
        self.store = store
        self.settings = settings

    def clock(self) -> float:
        return self.settings.clock()

    def kiosk_session(self, kiosk: KioskIdentity, session_id: str) -> "Session":
        """The booth's own session, once an agent has taken it up."""
        session = self.ctx.kiosk_session(session_id, kiosk.kiosk_id)
        if session.state not in LIVE or session.agent_id is None:
            raise EventError("invalid_state", "Self-service starts once an agent has taken up the session.")
        return session

    def agent_session(self, agent: AgentIdentity, session_id: str) -> "Session":
        return self.ctx.agent_session(session_id, agent.agent_id)

    def session_of(self, who: KioskIdentity | AgentIdentity, session_id: str) -> "Session":
        """The session as the kiosk or the agent may touch it."""
        if isinstance(who, KioskIdentity):
            return self.kiosk_session(who, session_id)
        return self.agent_session(who, session_id)
