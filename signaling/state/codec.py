"""Records as the Redis state stores them: a session as one JSON object, an agent as a few fields.

Kept apart from :mod:`signaling.state.redis` so the encoding can be read (and
tested) without a server. A session is every field of
:class:`~signaling.core.session.Session`; an agent is split into fields that
different nodes change independently (identity, node, availability, focus,
last assignment) and six tile slots, each its own hash field, so that a write
of one never overwrites another.
"""

from __future__ import annotations

import dataclasses
import functools
import json

from signaling.core.session import Session
from signaling.core.vocabulary import AgentIdentity

from .base import Invite

#: Agent fields, each a hash ``<prefix>agent:<field>`` keyed by agent id.
AGENT_FIELDS = ("identity", "node", "availability", "focus", "last", "supervisors", "guests")


#: The fields two nodes must not both change from one reading (docs/architecture.md, "Session records
#: across nodes"): a later write that changed one of them too is refused, and the writer decides again.
GUARDED = ("state", "attempt")


def session_fields(session: Session) -> dict:
    """A session's fields as stored (what a reading remembers, to know later what this node changed)."""
    return dataclasses.asdict(session)


def encode_session(session: Session, version: int = 0) -> str:
    """The stored JSON: its version first (``{"v":N,...}``, read by the compare-and-set script), then every field."""
    return json.dumps({"v": version, **session_fields(session)}, separators=(",", ":"))


def decode_session(text: str | bytes) -> Session:
    """The session, remembering the version and fields it was read with (``_version``, ``_seen``)."""
    data = json.loads(text)
    version = data.pop("v", 0)
    session = Session(**data)
    session._version = version  # type: ignore[attr-defined]
    session._seen = data  # type: ignore[attr-defined]
    return session


def merge_session(seen: dict, mine: dict, theirs: dict) -> tuple[dict, list[str]]:
    """Three-way merge of a session another node wrote since ``seen`` was read.

    Fields only this node changed take its value, the others the stored one.
    Returns the merged fields and the guarded fields both changed (a clash:
    the write must not happen; the writer decides again on ``theirs``).
    """
    merged, clash = dict(theirs), []
    for name, value in mine.items():
        if value == seen.get(name):
            continue  # not changed here: theirs stands
        if name in GUARDED and theirs.get(name) != seen.get(name):
            clash.append(name)
        merged[name] = value
    return merged, clash


def encode_identity(identity: AgentIdentity) -> str:
    data = dataclasses.asdict(identity)
    data["skills"] = sorted(identity.skills) if identity.skills is not None else None
    return json.dumps(data, separators=(",", ":"))


@functools.lru_cache(maxsize=4096)
def decode_identity(text: str) -> AgentIdentity:
    """An identity from its JSON (cached: it rarely changes, and AgentIdentity is frozen)."""
    data = json.loads(text)
    if data.get("skills") is not None:
        data["skills"] = frozenset(data["skills"])
    return AgentIdentity(**data)


def tile_field(agent_id: str, tile: int) -> str:
    """The hash field of an agent's tile (1-based): ``<agent id>#<tile>``."""
    return f"{agent_id}#{tile}"


def agent_fields(agent) -> dict[str, str]:
    """An :class:`~signaling.state.base.AgentRecord`'s fields as stored ('' for none)."""
    return {
        "identity": encode_identity(agent.identity),
        "node": agent.node or "",
        "availability": agent.availability,
        "focus": json.dumps(sorted(agent.focus)),
        "last": repr(float(agent.last_assigned_at)),
        "supervisors": json.dumps(agent.supervisors, sort_keys=True, separators=(",", ":")) if agent.supervisors else "",
        "guests": json.dumps(agent.guests, sort_keys=True, separators=(",", ":")) if agent.guests else "",
    }


def encode_invite(invite: Invite) -> str:
    return json.dumps(dataclasses.asdict(invite), separators=(",", ":"))


def decode_invite(text: str) -> Invite:
    return Invite(**json.loads(text))
