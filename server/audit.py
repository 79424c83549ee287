"""The audit trail: who did what, when, and from where, for supervisors and auditors.

Two kinds of entry share the table ``audit``:

- **acts**: every administrative act (branches, accounts created, disabled
  and enabled, passwords set, booths provisioned and revoked, retention
  changed, exports and CSV downloads, documents and claim files opened,
  sign-in locks lifted), from the browser, the HTTP API or ``lapak admin``.
  Acts come only from signed-in staff or the server's own terminal; they are
  kept.
- **refusals**: a signed-in client or a booth asking for a session that is
  not its own (``unknown_session``, over socket.io or HTTP), and sign-in
  locks starting. These can be provoked at will, so they are capped: at most
  :data:`REFUSALS_PER_ACTOR` per actor per :data:`REFUSAL_WINDOW` seconds
  are stored (the rest are counted into the next stored one as
  ``suppressed``), at most :data:`MAX_REFUSALS` are kept (the oldest go), and
  every field is cut to a fixed length.

``actor`` is who acted: a username for staff, the kiosk id for a booth, the
agent id for a token agent, ``cli:<system user>`` for ``lapak admin``.
``address`` is the client's address (:mod:`server.client_address`; behind a
proxy only with ``--trusted-proxy``), ``local`` for the terminal. Times come
from an injected clock.
"""

from __future__ import annotations

import json
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from aiohttp import web

from .appkeys import HUB, USER
from . import schema
from .client_address import environ_address, request_address
from .database import Database


#: Every action the trail knows, with whether it is a (capped) refusal.
ACTIONS: dict[str, bool] = {
    "branch.add": False,
    "user.add": False,
    "user.disable": False,
    "user.enable": False,
    "user.password": False,
    "kiosk.add": False,
    "kiosk.revoke": False,
    "retention.set": False,
    "history.export": False,
    "audit.export": False,
    "document.view": False,
    "claim.view": False,
    "claim.file": False,
    "signin.unlock": False,
    "online.view": False,
    "online.document": False,
    "online.outcome": False,
    "online.revoke": False,
    "online.capacity": False,
    "session.refused": True,
    "room.refused": True,
    "signin.locked": True,
}

#: Refusals stored per actor per window; more are only counted.
REFUSALS_PER_ACTOR = 20
REFUSAL_WINDOW = 600.0
#: Refusal entries kept at most (acts are never pruned).
MAX_REFUSALS = 10_000
#: Actors whose refusal counts are remembered at once (the oldest are forgotten).
MAX_TRACKED_ACTORS = 2_000

_LIMITS = {"actor": 120, "role": 20, "target": 200, "address": 64}
_MAX_DETAIL = 2_000
COLUMNS = ("id", "at", "actor", "role", "action", "target", "address", "detail")


def _escape(text: str) -> str:
    """``text`` matched literally inside a LIKE pattern (escape character ``\\``)."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _cut(value: Any, limit: int) -> str:
    text = "" if value is None else str(value)
    return text[:limit]


class AuditLog:
    """Append-only audit entries in the service's database."""

    def __init__(self, database: Database, clock: Callable[[], float] = time.time) -> None:
        self.database = database
        self.clock = clock
        #: actor -> [window start, stored in window, suppressed since last stored]
        self._refusals: OrderedDict[str, list[float]] = OrderedDict()

    def record(self, action: str, actor: str, *, role: str = "", address: str = "", target: str = "",
               detail: dict | None = None) -> None:
        """Store one act (or, through :meth:`refused`, one refusal)."""
        if action not in ACTIONS:
            raise ValueError(f"unknown audit action {action!r}")
        text = json.dumps(detail or {}, ensure_ascii=False, sort_keys=True, default=str)
        if len(text) > _MAX_DETAIL:
            text = json.dumps({"truncated": text[:_MAX_DETAIL]}, ensure_ascii=False)
        self.database.execute(
            schema.audit.insert().values(
                at=self.clock(), actor=_cut(actor, _LIMITS["actor"]) or "?", role=_cut(role, _LIMITS["role"]),
                action=action, target=_cut(target, _LIMITS["target"]), address=_cut(address, _LIMITS["address"]),
                detail=text, refusal=int(ACTIONS[action]),
            )
        )

    def refused(self, action: str, actor: str, *, role: str = "", address: str = "", target: str = "",
                detail: dict | None = None) -> bool:
        """Store a refusal within the caps; ``False`` when only counted."""
        now = self.clock()
        key = _cut(actor, _LIMITS["actor"])
        state = self._refusals.pop(key, None)
        if state is None or now - state[0] >= REFUSAL_WINDOW:
            state = [now, 0, state[2] if state else 0]
        self._refusals[key] = state
        while len(self._refusals) > MAX_TRACKED_ACTORS:
            self._refusals.popitem(last=False)
        if state[1] >= REFUSALS_PER_ACTOR:
            state[2] += 1
            return False
        state[1] += 1
        extra = {"suppressed": int(state[2])} if state[2] else {}
        state[2] = 0
        self.record(action, actor, role=role, address=address, target=target, detail={**(detail or {}), **extra})
        a = schema.audit.c
        oldest = sa.select(a.id).where(a.refusal == 1).order_by(a.id.desc()).offset(MAX_REFUSALS)
        self.database.execute(schema.audit.delete().where(a.refusal == 1, a.id.in_(oldest)))
        return True

    def signin_locked(self, username: str, address: str, scope: str, key: str) -> None:
        """A sign-in lock started (server/signin.py): a capped refusal, the tried username as actor."""
        self.refused("signin.locked", username, address=address, target=f"{scope}:{key}", detail={"scope": scope})

    def entries(self, *, actor: str = "", action: str = "", since: float | None = None, until: float | None = None,
                limit: int = 5000) -> list[dict]:
        """Entries, newest first: ``actor`` matches part of the actor, ``action`` exactly or by prefix (``user.``)."""
        a = schema.audit.c
        query = sa.select(*(a[c] for c in COLUMNS))
        if actor:
            query = query.where(a.actor.like("%" + _escape(actor) + "%", escape="\\"))
        if action:
            if action.endswith("."):
                query = query.where(a.action.like(_escape(action) + "%", escape="\\"))
            else:
                query = query.where(a.action == action)
        if since is not None:
            query = query.where(a.at >= since)
        if until is not None:
            query = query.where(a.at < until)
        query = query.order_by(a.id.desc()).limit(limit)
        rows = []
        for row in self.database.rows(query):
            entry = dict(zip(COLUMNS, row))
            try:
                entry["detail"] = json.loads(entry["detail"])
            except ValueError:
                entry["detail"] = {"raw": entry["detail"]}
            rows.append(entry)
        return rows


# -- who and where, for HTTP requests and socket events ------------------------------------


def _log(request: web.Request) -> AuditLog:
    return request.app[HUB].storage.audit


def identity_actor(identity: Any) -> tuple[str, str]:
    """(role, actor) of a signed-in user, a booth or an agent identity."""
    if identity is None:
        return "", "?"
    if hasattr(identity, "kiosk_id"):
        return "kiosk", identity.kiosk_id
    if hasattr(identity, "agent_id"):
        return "agent", identity.agent_id
    return getattr(identity, "role", ""), getattr(identity, "username", "?")


def act(request: web.Request, action: str, target: Any = "", /, *, who: Any = None, **detail: Any) -> None:
    """Record an act of the request's signed-in user (or of ``who``) from the request's address."""
    role, actor = identity_actor(who if who is not None else request.get(USER))
    _log(request).record(action, actor, role=role, address=request_address(request), target=_cut(target, 200), detail=detail)


def refused_request(request: web.Request, who: Any, target: Any, /, **detail: Any) -> None:
    """Record (capped) an HTTP request for a session or document that is not the caller's."""
    role, actor = identity_actor(who)
    _log(request).refused("session.refused", actor, role=role, address=request_address(request),
                          target=_cut(target, 200), detail={"path": request.path[:200], **detail})


def refused_event(namespace: Any, sid: str, identity: Any, event: Any, args: tuple) -> None:
    """Record (capped) a socket event of ``namespace`` refused with ``unknown_session``.

    ``exists`` in the detail tells a session that is someone else's from one
    that does not exist (a guess, or one that ended).
    """
    payload = args[1] if len(args) > 1 else None
    session_id = payload.get("session_id") if isinstance(payload, dict) else None
    session_id = session_id[:64] if isinstance(session_id, str) else ""
    storage = namespace.hub.storage
    exists = bool(session_id) and storage.session(session_id) is not None
    environ = namespace.server.get_environ(sid, namespace=namespace.namespace) if namespace.server and sid else None
    role, actor = identity_actor(identity)
    # Supervisors' and guests' events, and anything a guest tries, are "room.refused" (issue 14).
    room = namespace.role == "guest" or str(event).startswith(("monitor.", "guest."))
    detail = {"event": _cut(event, 40), "exists": exists}
    if room and isinstance(payload, dict) and isinstance(payload.get("agent_id"), str):
        detail["agent_id"] = payload["agent_id"][:80]
    storage.audit.refused("room.refused" if room else "session.refused", actor, role=role,
                          address=environ_address(environ), target=session_id, detail=detail)
