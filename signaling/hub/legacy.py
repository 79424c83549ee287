"""Read-only views for ``signaling/selfservice.py`` until its split (helper selfsvc) calls the hub's queries.

TRANSITIONAL, removed at the merge of issue 11: selfservice reads
``hub.kiosk_sids`` / ``hub.agents`` / ``hub.sessions``; its replacement calls
:meth:`~signaling.hub.core.HubCore.tell_session`, :meth:`~signaling.hub.core.HubCore.session`
and :meth:`~signaling.hub.core.HubCore.agent_sessions`. The "socket ids"
given here are screen rooms (``kiosk:<id>``, ``agent:<id>``), which
``emit(to=...)`` accepts the same way. Nothing else may use these.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..core.session import Session
from .core import HubCore


@dataclass(frozen=True)
class AgentSeen:
    """An agent as selfservice reads one: its screen (None: offline) and its sessions."""

    agent_id: str
    sid: str | None
    sessions: list[str]


class LegacyReads(HubCore):
    """The three dictionaries selfservice still reads, rebuilt from the state on each read."""

    @property
    def kiosk_sids(self) -> dict[str, str]:
        return {k: f"kiosk:{k}" for k in self.state.online_kiosks()}

    @property
    def agents(self) -> dict[str, AgentSeen]:
        return {
            a.agent_id: AgentSeen(a.agent_id, f"agent:{a.agent_id}" if a.online else None, a.sessions)
            for a in self.state.agents()
        }

    @property
    def sessions(self) -> dict[str, Session]:
        return {s.session_id: s for s in self.state.sessions()}
