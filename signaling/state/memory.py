"""The in-memory :class:`~signaling.state.base.State`: one process, records kept as live objects."""

from __future__ import annotations

from signaling.core.dispatcher import AgentLoad
from signaling.core.queue import Queues
from signaling.core.session import Session

from .base import AgentRecord, Invite


class MemoryState:
    """Everything the hub knows, in this process's memory (today's behaviour)."""

    def __init__(self) -> None:
        self._sessions: dict[str, Session] = {}
        #: Each booth's open session, kept by ``put_session`` (as RedisState keeps its ``open`` hash):
        #: a request no longer walks every session since the start.
        self._open: dict[str, str] = {}
        self._agents: dict[str, AgentRecord] = {}
        self._kiosk_nodes: dict[str, str] = {}
        self._help: dict[str, float] = {}
        self._graces: dict[str, float] = {}
        self._queues = Queues()
        self._invites: dict[str, Invite] = {}
        self._route_seq: dict[str, int] = {}

    # -- sessions --------------------------------------------------------------------
    def session(self, session_id: str) -> Session | None:
        return self._sessions.get(session_id)

    def sessions_of(self, session_ids: list[str]) -> list[Session | None]:
        return [self._sessions.get(i) for i in session_ids]

    def sessions(self) -> list[Session]:
        return list(self._sessions.values())

    def open_session_of(self, kiosk_id: str) -> Session | None:
        session = self._sessions.get(self._open.get(kiosk_id, ""))
        return session if session is not None and not session.ended else None

    def claim_restore(self, node: str) -> bool:
        return True  # this process's memory starts empty

    def put_session(self, session: Session) -> None:
        self._sessions[session.session_id] = session
        if not session.ended:
            self._open[session.kiosk_id] = session.session_id
        elif self._open.get(session.kiosk_id) == session.session_id:
            del self._open[session.kiosk_id]

    # -- agents ------------------------------------------------------------------------
    def agent(self, agent_id: str) -> AgentRecord | None:
        return self._agents.get(agent_id)

    def agents(self) -> list[AgentRecord]:
        return list(self._agents.values())

    def put_agent(self, agent: AgentRecord) -> None:
        self._agents[agent.agent_id] = agent

    def commit_room(self, agent: AgentRecord) -> int:
        self.put_agent(agent)
        self._route_seq[agent.agent_id] = seq = self._route_seq.get(agent.agent_id, 0) + 1
        return seq

    def loads(self, *, full: bool = False) -> list[AgentLoad]:
        return [load for a in self._agents.values() if (load := a.load()).available and (full or load.free > 0)]

    # -- guest invites -------------------------------------------------------------------
    def invite(self, token: str) -> Invite | None:
        return self._invites.get(token)

    def invites_of(self, session_id: str) -> list[Invite]:
        return [i for i in self._invites.values() if i.session_id == session_id]

    def put_invite(self, invite: Invite) -> None:
        self._invites[invite.token] = invite

    def assign(self, session_id: str, agent_id: str, now: float) -> int | None:
        agent = self._agents.get(agent_id)
        if session_id not in self._queues or agent is None or not agent.takes_work:
            return None
        if len(agent.sessions) >= agent.capacity or None not in agent.tiles:
            return None
        tile = agent.tiles.index(None)
        agent.tiles[tile] = session_id
        agent.last_assigned_at = now
        self._queues.remove(session_id)
        return tile + 1

    # -- presence of booths ------------------------------------------------------------
    def kiosk_online(self, kiosk_id: str) -> bool:
        return kiosk_id in self._kiosk_nodes

    def kiosks_online(self, kiosk_ids: list[str]) -> list[bool]:
        return [k in self._kiosk_nodes for k in kiosk_ids]

    def online_kiosks(self) -> list[str]:
        return list(self._kiosk_nodes)

    def booths(self, kiosk_ids: list[str]) -> list[tuple[bool, Session | None, float | None]]:
        return [(self.kiosk_online(k), self.open_session_of(k), self.help_since(k)) for k in kiosk_ids]

    def set_kiosk_node(self, kiosk_id: str, node: str | None) -> None:
        if node is None:
            self._kiosk_nodes.pop(kiosk_id, None)
        else:
            self._kiosk_nodes[kiosk_id] = node

    # -- queues ------------------------------------------------------------------------
    def enqueue(self, session: Session) -> None:
        self._queues.add(session)

    def dequeue(self, session_id: str) -> None:
        self._queues.remove(session_id)

    def queued(self) -> list[Session]:
        return self._queues.oldest_first()

    def waiting(self, service: str) -> list[Session]:
        return self._queues.waiting(service)

    def queue_position(self, session: Session) -> int | None:
        return self._queues.position(session)

    def estimate(self, position: int, service: str, slots: int) -> int | None:
        return self._queues.estimate(position, service, slots)

    def record_handling(self, service: str, seconds: float) -> None:
        self._queues.record_handling(service, seconds)

    def mean_handling(self, service: str) -> float:
        return self._queues.mean_handling(service)

    # -- help calls --------------------------------------------------------------------
    def help_since(self, kiosk_id: str) -> float | None:
        return self._help.get(kiosk_id)

    def call_help(self, kiosk_id: str, at: float) -> float:
        return self._help.setdefault(kiosk_id, at)

    def answer_help(self, kiosk_id: str) -> None:
        self._help.pop(kiosk_id, None)

    # -- grace deadlines ----------------------------------------------------------------
    def set_grace(self, key: str, deadline: float) -> bool:
        """Start a grace period unless one runs already; True if this one is new."""
        if key in self._graces:
            return False
        self._graces[key] = deadline
        return True

    def clear_grace(self, key: str) -> bool:
        return self._graces.pop(key, None) is not None

    def grace(self, key: str) -> float | None:
        return self._graces.get(key)
