"""The Redis-backed :class:`~signaling.state.base.State`: several nodes share one live state.

Why a synchronous client on the event loop (docs/architecture.md, "Several
nodes"): the State Protocol is synchronous, every hub command reads and
writes it between its awaits, and on loopback or a LAN a Redis round trip is
a fraction of a millisecond. Keeping the calls synchronous keeps the hub's
behaviour identical and means no other coroutine of *this* node runs between
a command's read and its write; the only races left are between nodes, and
those that matter are settled inside Redis: :meth:`RedisState.assign` (the
dispatcher's slot) is one Lua script, tile writes are compare-and-set, and
grace deadlines and help calls are ``HSETNX``.

Layout (every key starts with ``prefix``, default ``lapak:``):

- ``sessions`` (hash id → JSON), ``open`` (hash booth → its open session id);
- ``agent:identity|node|availability|focus|last`` (hashes by agent id) and
  ``agent:tiles`` (hash ``<agent>#<n>`` → session id): fields that different
  nodes change are stored apart, and :meth:`put_agent` writes only the fields
  that changed since the record was read;
- ``restored``: the node that loaded the records' open sessions into an
  empty state (:meth:`RedisState.claim_restore`; no other node does);
- ``kiosks`` (hash booth → node), ``queue`` (sorted set, score ``queued_at``),
  ``handled:<service>`` (list of recent handling times), ``help`` and
  ``grace`` (hashes).

Session records are compare-and-set on a version stored first in their JSON
(``{"v":N,...}``): a session is changed by its booth's node and its agent's
node, and a write based on an older reading is merged field by field, or
refused when both changed its state or attempt (:meth:`RedisState.put_session`).
What must never happen twice (taking a slot) is the atomic step.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import logging
from urllib.parse import urlsplit, urlunsplit

import redis

from signaling.core.dispatcher import AgentLoad
from signaling.core.matrix import MAX_KIOSKS
from signaling.core.queue import DEFAULT_HANDLING_SECONDS, MIN_SAMPLES, RECENT, wait_seconds
from signaling.core.session import Session
from signaling.core.vocabulary import SERVICES

from .base import AgentRecord, Invite, StaleSession
from .redis_scripts import ASSIGN, CLAIM_RESTORE, COMMIT_ROOM, PUT_AGENT, PUT_SESSION, QUEUED, SET_GRACE
from .codec import (
    AGENT_FIELDS, agent_fields, decode_identity, decode_invite, decode_session, encode_invite, encode_session,
    merge_session, session_fields, tile_field,
)

logger = logging.getLogger(__name__)

TILES = range(1, MAX_KIOSKS + 1)

class StateUnavailable(RuntimeError):
    """The shared state's engine cannot be reached (the message names it and its address)."""


def redacted(url: str) -> str:
    """``url`` without its password, for messages."""
    parts = urlsplit(url)
    if parts.password:
        netloc = f"{parts.username or ''}:***@{parts.hostname}" + (f":{parts.port}" if parts.port else "")
        return urlunsplit(parts._replace(netloc=netloc))
    return url


class RedisState:
    """Sessions, agents, presence, queues, help calls and grace deadlines in one Redis."""

    def __init__(self, url: str, *, prefix: str = "lapak:", node: str | None = None) -> None:
        self.url = url
        self.prefix = prefix
        #: This node's name: recorded with each grace deadline it sets (who fires it; signaling/nodes).
        self.node = node
        self.redis = redis.Redis.from_url(url, decode_responses=True, socket_connect_timeout=3, socket_timeout=10)
        try:
            self.redis.ping()
        except (redis.RedisError, OSError) as exc:
            self.redis.close()
            raise StateUnavailable(f"Redis at {redacted(url)} is unreachable: {exc}") from None
        p = prefix
        self._sessions, self._open, self._kiosks = p + "sessions", p + "open", p + "kiosks"
        self._queue, self._help, self._grace = p + "queue", p + "help", p + "grace"
        self._invites = p + "invites"
        self._grace_node = p + "grace-node"
        self._agent = {name: f"{p}agent:{name}" for name in AGENT_FIELDS}
        self._tiles = p + "agent:tiles"
        self._assign = self.redis.register_script(ASSIGN)
        self._put_agent = self.redis.register_script(PUT_AGENT)
        self._commit_room = self.redis.register_script(COMMIT_ROOM)
        self._route_seq = p + "agent:route-seq"
        self._put_session = self.redis.register_script(PUT_SESSION)
        self._set_grace = self.redis.register_script(SET_GRACE)
        self._claim_restore = self.redis.register_script(CLAIM_RESTORE)
        self._queued = self.redis.register_script(QUEUED)

    def close(self) -> None:
        self.redis.close()

    # -- sessions --------------------------------------------------------------------
    def session(self, session_id: str) -> Session | None:
        text = self.redis.hget(self._sessions, session_id)
        return decode_session(text) if text else None

    def sessions_of(self, session_ids: list[str]) -> list[Session | None]:
        if not session_ids:
            return []
        return [decode_session(t) if t else None for t in self.redis.hmget(self._sessions, session_ids)]

    def sessions(self) -> list[Session]:
        return [decode_session(t) for t in self.redis.hvals(self._sessions)]

    def open_session_of(self, kiosk_id: str) -> Session | None:
        session_id = self.redis.hget(self._open, kiosk_id)
        session = self.session(session_id) if session_id else None
        return session if session is not None and not session.ended else None

    def claim_restore(self, node: str) -> bool:
        """Only the first node on an empty shared state restores (``restored`` names it)."""
        return bool(self._claim_restore(keys=[self._sessions, self.prefix + "restored"], args=[node]))

    def put_session(self, session: Session) -> None:
        """Compare-and-set on the version read; a lost race is merged field by field, or refused.

        Fields only this node changed are written over the other node's
        record; when both changed a guarded field (state, attempt) nothing is
        written, ``session`` takes the stored record and :class:`StaleSession`
        is raised (docs/architecture.md, "Session records across nodes").
        """
        while True:
            version = getattr(session, "_version", 0)
            mine = session_fields(session)
            args = [session.session_id, encode_session(session, version + 1), session.kiosk_id,
                    "1" if session.ended else "0", str(version)]
            stored = self._put_session(keys=[self._sessions, self._open], args=args)
            if stored is None:
                session._version, session._seen = version + 1, mine  # type: ignore[attr-defined]
                return
            theirs = decode_session(stored)
            merged, clash = merge_session(getattr(session, "_seen", {}), mine, theirs._seen)  # type: ignore[attr-defined]
            if clash:
                self._adopt(session, theirs._seen, theirs._version)  # type: ignore[attr-defined]
                raise StaleSession(session.session_id, clash)
            self._adopt(session, merged, theirs._version, seen=theirs._seen)  # type: ignore[attr-defined]

    @staticmethod
    def _adopt(session: Session, fields: dict, version: int, seen: dict | None = None) -> None:
        """Make the caller's session object hold ``fields``, as read at ``version``."""
        for name, value in fields.items():
            setattr(session, name, value)
        session._version, session._seen = version, copy.deepcopy(seen if seen is not None else fields)  # type: ignore[attr-defined]

    def _many(self, ids: list[str]) -> list[Session]:
        if not ids:
            return []
        return [decode_session(t) for t in self.redis.hmget(self._sessions, ids) if t]

    # -- agents ------------------------------------------------------------------------
    def _record(self, agent_id: str, fields: dict[str, str | None], tiles: list[str | None]) -> AgentRecord:
        agent = AgentRecord(decode_identity(fields["identity"] or "{}"))
        agent.node = fields["node"] or None
        agent.availability = fields["availability"] or "available"
        agent.focus = set(json.loads(fields["focus"] or "[]"))
        agent.last_assigned_at = float(fields["last"] or 0.0)
        agent.tiles = [t or None for t in tiles]
        agent.supervisors = json.loads(fields["supervisors"] or "{}")
        agent.guests = json.loads(fields["guests"] or "{}")
        # What was read, so that put_agent writes only what this node changed.
        agent._seen = ({k: fields[k] or "" for k in AGENT_FIELDS}, [t or "" for t in tiles])  # type: ignore[attr-defined]
        return agent

    def agent(self, agent_id: str) -> AgentRecord | None:
        pipe = self.redis.pipeline(transaction=False)
        for name in AGENT_FIELDS:
            pipe.hget(self._agent[name], agent_id)
        pipe.hmget(self._tiles, [tile_field(agent_id, n) for n in TILES])
        *values, tiles = pipe.execute()
        if values[0] is None:
            return None
        return self._record(agent_id, dict(zip(AGENT_FIELDS, values)), tiles)

    def agents(self) -> list[AgentRecord]:
        pipe = self.redis.pipeline(transaction=False)
        for name in AGENT_FIELDS:
            pipe.hgetall(self._agent[name])
        pipe.hgetall(self._tiles)
        *tables, tiles = pipe.execute()
        by_name = dict(zip(AGENT_FIELDS, tables))
        return [
            self._record(
                agent_id,
                {name: by_name[name].get(agent_id) for name in AGENT_FIELDS},
                [tiles.get(tile_field(agent_id, n)) for n in TILES],
            )
            for agent_id in sorted(by_name["identity"])
        ]

    def loads(self, *, full: bool = False) -> list[AgentLoad]:
        """One pipelined read of the online agents' identity, availability, last assignment and tiles."""
        pipe = self.redis.pipeline(transaction=False)
        for name in ("node", "availability", "identity", "last"):
            pipe.hgetall(self._agent[name])
        pipe.hkeys(self._tiles)
        nodes, availability, identities, last, tiles = pipe.execute()
        used: dict[str, int] = {}
        for field in tiles:
            agent_id = field.rpartition("#")[0]
            used[agent_id] = used.get(agent_id, 0) + 1
        loads = []
        for agent_id in sorted(nodes):
            text = identities.get(agent_id)
            if not nodes[agent_id] or not text or (availability.get(agent_id) or "available") != "available":
                continue
            identity = decode_identity(text)
            load = AgentLoad(agent_id, min(MAX_KIOSKS, identity.capacity), used.get(agent_id, 0),
                             float(last.get(agent_id) or 0.0), available=True, skills=identity.skills)
            if full or load.free > 0:
                loads.append(load)
        return loads

    def _writes(self, agent: AgentRecord) -> tuple[list[str], dict[str, str]]:
        """The PUT_AGENT arguments for what this node changed in ``agent`` since it was read, and its fields."""
        fields = agent_fields(agent)
        seen_fields, seen_tiles = getattr(agent, "_seen", None) or ({}, [""] * MAX_KIOSKS)
        args: list[str] = [agent.agent_id, ""]
        writes = 0
        for index, name in enumerate(AGENT_FIELDS, start=1):
            if fields[name] != seen_fields.get(name):
                args += [str(index), fields[name]]
                writes += 1
        args[1] = str(writes)
        for n, (seen, new) in enumerate(zip(seen_tiles, [t or "" for t in agent.tiles]), start=1):
            if seen != new:
                args += [tile_field(agent.agent_id, n), seen, new]
        return args, fields

    def _conflicts(self, agent: AgentRecord, conflicts: int) -> None:
        if conflicts:
            logger.warning("agent %s: %d tile(s) changed by another node meanwhile; kept theirs", agent.agent_id, conflicts)

    def put_agent(self, agent: AgentRecord) -> None:
        args, fields = self._writes(agent)
        if len(args) == 2:
            return
        keys = [self._agent[name] for name in AGENT_FIELDS] + [self._tiles]
        conflicts = self._put_agent(keys=keys, args=args)
        tiles = [t or "" for t in agent.tiles]
        if conflicts:
            self._conflicts(agent, conflicts)
            stored = self.redis.hmget(self._tiles, [tile_field(agent.agent_id, n) for n in TILES])
            tiles = [t or "" for t in stored]
            agent.tiles = [t or None for t in tiles]
        agent._seen = (fields, tiles)  # type: ignore[attr-defined]

    def commit_room(self, agent: AgentRecord) -> int:
        keys = [self._agent[name] for name in AGENT_FIELDS] + [self._tiles, self._route_seq]
        seq, conflicts, *values = self._commit_room(keys=keys, args=self._writes(agent)[0])
        self._conflicts(agent, conflicts)
        count = len(AGENT_FIELDS)
        stored = self._record(agent.agent_id, dict(zip(AGENT_FIELDS, values[:count])), values[count:])
        for f in dataclasses.fields(AgentRecord):
            setattr(agent, f.name, getattr(stored, f.name))
        agent._seen = stored._seen  # type: ignore[attr-defined]
        return int(seq)

    def assign(self, session_id: str, agent_id: str, now: float) -> int | None:
        keys = [self._queue, self._agent["identity"], self._agent["node"], self._agent["availability"], self._tiles,
                self._agent["last"]]
        tile = int(self._assign(keys=keys, args=[session_id, agent_id, repr(float(now))]))
        return tile if tile > 0 else None

    # -- guest invites (one hash: token -> invite) ---------------------------------------
    def invite(self, token: str) -> Invite | None:
        text = self.redis.hget(self._invites, token)
        return decode_invite(text) if text else None

    def invites_of(self, session_id: str) -> list[Invite]:
        return [i for i in map(decode_invite, self.redis.hvals(self._invites)) if i.session_id == session_id]

    def put_invite(self, invite: Invite) -> None:
        self.redis.hset(self._invites, invite.token, encode_invite(invite))

    # -- presence of booths ------------------------------------------------------------
    def kiosk_online(self, kiosk_id: str) -> bool:
        return bool(self.redis.hexists(self._kiosks, kiosk_id))

    def kiosks_online(self, kiosk_ids: list[str]) -> list[bool]:
        if not kiosk_ids:
            return []
        return [node is not None for node in self.redis.hmget(self._kiosks, kiosk_ids)]

    def online_kiosks(self) -> list[str]:
        return list(self.redis.hkeys(self._kiosks))

    def booths(self, kiosk_ids: list[str]) -> list[tuple[bool, Session | None, float | None]]:
        """Two round trips for a whole branch: presence, open ids and help calls; then the open sessions."""
        if not kiosk_ids:
            return []
        pipe = self.redis.pipeline(transaction=False)
        pipe.hmget(self._kiosks, kiosk_ids)
        pipe.hmget(self._open, kiosk_ids)
        pipe.hmget(self._help, kiosk_ids)
        nodes, open_ids, helps = pipe.execute()
        ids = [i for i in open_ids if i]
        sessions = {s.session_id: s for s in self._many(ids)}
        out = []
        for node, session_id, help_at in zip(nodes, open_ids, helps):
            session = sessions.get(session_id) if session_id else None
            out.append((node is not None, session if session is not None and not session.ended else None,
                        float(help_at) if help_at is not None else None))
        return out

    def set_kiosk_node(self, kiosk_id: str, node: str | None) -> None:
        if node is None:
            self.redis.hdel(self._kiosks, kiosk_id)
        else:
            self.redis.hset(self._kiosks, kiosk_id, node)

    # -- queues ------------------------------------------------------------------------
    def enqueue(self, session: Session) -> None:
        assert session.queued_at is not None
        self.redis.zadd(self._queue, {session.session_id: session.queued_at})

    def dequeue(self, session_id: str) -> None:
        self.redis.zrem(self._queue, session_id)

    def queued(self) -> list[Session]:
        return [decode_session(t) for t in self._queued(keys=[self._queue, self._sessions])]

    def waiting(self, service: str) -> list[Session]:
        return [s for s in self.queued() if s.service == service]

    def queue_position(self, session: Session) -> int | None:
        for i, s in enumerate(self.waiting(session.service)):
            if s.session_id == session.session_id:
                return i + 1
        return None

    def estimate(self, position: int, service: str, slots: int) -> int | None:
        return wait_seconds(position, self.mean_handling(service), slots) if slots > 0 else None

    def record_handling(self, service: str, seconds: float) -> None:
        if seconds > 0:
            key = f"{self.prefix}handled:{service}"
            self.redis.pipeline(transaction=True).lpush(key, repr(float(seconds))).ltrim(key, 0, RECENT - 1).execute()

    def mean_handling(self, service: str) -> float:
        pipe = self.redis.pipeline(transaction=False)
        for s in SERVICES:
            pipe.lrange(f"{self.prefix}handled:{s}", 0, -1)
        handled = {s: [float(x) for x in times] for s, times in zip(SERVICES, pipe.execute())}
        own = handled.get(service, [])
        if len(own) >= MIN_SAMPLES:
            return sum(own) / len(own)
        every = [t for times in handled.values() for t in times]
        if len(every) >= MIN_SAMPLES:
            return sum(every) / len(every)
        return DEFAULT_HANDLING_SECONDS

    # -- help calls --------------------------------------------------------------------
    def help_since(self, kiosk_id: str) -> float | None:
        value = self.redis.hget(self._help, kiosk_id)
        return float(value) if value is not None else None

    def call_help(self, kiosk_id: str, at: float) -> float:
        self.redis.hsetnx(self._help, kiosk_id, repr(float(at)))
        return float(self.redis.hget(self._help, kiosk_id))

    def answer_help(self, kiosk_id: str) -> None:
        self.redis.hdel(self._help, kiosk_id)

    # -- grace deadlines ----------------------------------------------------------------
    def set_grace(self, key: str, deadline: float) -> bool:
        args = [key, repr(float(deadline)), self.node or ""]
        return bool(self._set_grace(keys=[self._grace, self._grace_node], args=args))

    def clear_grace(self, key: str) -> bool:
        removed, _ = self.redis.pipeline(transaction=True).hdel(self._grace, key).hdel(self._grace_node, key).execute()
        return bool(removed)

    def grace(self, key: str) -> float | None:
        value = self.redis.hget(self._grace, key)
        return float(value) if value is not None else None
