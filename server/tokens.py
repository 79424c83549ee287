"""The ``--tokens FILE`` of ``lapak serve``: extra kiosk and agent tokens, checked before serving.

The file is one JSON object (docs/operations.md, "Tokens file")::

    {"kiosks": {"<token>": {"kiosk_id": "jkt-1", "branch": "jkt", "booth": 1}},
     "agents": {"<token>": {"agent_id": "agent-1", "name": "Sari", "capacity": 6, "skills": ["jht"]}}}

Unknown keys, wrong types, out-of-range numbers, unknown services, and one
booth or agent under two tokens are refused with a message naming the entry,
so a typo stops the start instead of leaving a booth without access.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr, StringConstraints, ValidationError

from signaling.core.vocabulary import DEFAULT_CAPACITY, SERVICES, AgentIdentity, KioskIdentity

Token = Annotated[str, StringConstraints(min_length=8, max_length=256, pattern=r"^[A-Za-z0-9_.~:-]+$")]
Ident = Annotated[str, StringConstraints(min_length=1, max_length=80, pattern=r"^[A-Za-z0-9_.:-]+$")]
Service = Literal[SERVICES]  # type: ignore[valid-type]


class TokensError(ValueError):
    """The tokens file cannot be used; the message says where and why."""


class _Entry(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class KioskEntry(_Entry):
    kiosk_id: Ident
    branch: Annotated[StrictStr, StringConstraints(min_length=1, max_length=80)] = "demo"
    booth: Annotated[StrictInt, Field(ge=1, le=999)] = 1


class AgentEntry(_Entry):
    agent_id: Ident
    name: Annotated[StrictStr, StringConstraints(min_length=1, max_length=80)] = "Agen"
    capacity: Annotated[StrictInt, Field(ge=1, le=DEFAULT_CAPACITY)] = DEFAULT_CAPACITY
    #: Services this agent takes; absent or null: every service.
    skills: list[Service] | None = None


class TokensFile(_Entry):
    kiosks: dict[Token, KioskEntry] = {}
    agents: dict[Token, AgentEntry] = {}


def load_tokens(path: Path) -> tuple[dict[str, KioskIdentity], dict[str, AgentIdentity]]:
    """Kiosk and agent identities by token, from ``path``; :class:`TokensError` if it is not right."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise TokensError(f"cannot read {path}: {exc.strerror}") from None
    except ValueError as exc:
        raise TokensError(f"{path} is not JSON: {exc}") from None
    try:
        parsed = TokensFile.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc']) or 'file'}: {e['msg']}" for e in exc.errors()[:5])
        raise TokensError(f"{path}: {problems}") from None
    for kind, entries, key in (("kiosk_id", parsed.kiosks, "kiosk_id"), ("agent_id", parsed.agents, "agent_id")):
        seen: set[str] = set()
        for entry in entries.values():
            ident = getattr(entry, key)
            if ident in seen:
                raise TokensError(f"{path}: {kind} {ident!r} has two tokens; give each one token")
            seen.add(ident)
    kiosks = {t: KioskIdentity(e.kiosk_id, branch=e.branch, booth=e.booth) for t, e in parsed.kiosks.items()}
    agents = {
        t: AgentIdentity(e.agent_id, name=e.name, capacity=e.capacity,
                         skills=frozenset(e.skills) if e.skills is not None else None)
        for t, e in parsed.agents.items()
    }
    return kiosks, agents
