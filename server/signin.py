"""Sign-in limits: wrong passwords for one username, or from one address, slow down and then lock.

Every password check (``POST /login``, ``POST /api/login``, and socket.io
connections that send a username and password) goes through
:func:`server.auth.sign_in`, which asks :meth:`SignInLimiter.check` first and
tells :meth:`SignInLimiter.failed` or :meth:`SignInLimiter.succeeded` after.

The rules (:class:`Policy`), counted per username and per client address
over a sliding window of 15 minutes:

- a username's 3rd and 4th wrong password make the next try wait 5 s, then
  10 s; the 5th locks the username for 15 minutes;
- an address's 10th to 19th wrong password make the next try wait 5 s,
  doubling up to 60 s; the 20th locks the address for 15 minutes (higher, as
  a branch's staff may share one address);
- while a username or address waits or is locked, a try is refused without
  looking at the password (even a right one) and is not counted;
- a right password clears the username's count (not the address's: one valid
  account must not reset an address that is guessing at others);
- a lock ends by itself, or when a supervisor unlocks it (``/admin``).

The counts are in the database (table ``signin_failures``), so a restart does
not reset them. Unknown usernames are counted like real ones (the answers do
not tell which exist); the table is pruned of stale rows on every write and
capped at :data:`MAX_ROWS` rows, so strangers cannot grow it without bound.
The time comes from an injected clock.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import sqlalchemy as sa

from . import schema
from .database import Database


SCOPES = ("username", "address")

_failures = schema.signin_failures

#: Rows kept at most (the oldest go first).
MAX_ROWS = 20_000


@dataclass(frozen=True)
class Policy:
    """How many wrong passwords slow down and lock, and for how long."""

    window: float = 15 * 60
    username_slow_after: int = 3
    username_lock_after: int = 5
    address_slow_after: int = 10
    address_lock_after: int = 20
    lock_seconds: float = 15 * 60
    first_wait: float = 5.0
    longest_wait: float = 60.0

    def thresholds(self, scope: str) -> tuple[int, int]:
        if scope == "username":
            return self.username_slow_after, self.username_lock_after
        return self.address_slow_after, self.address_lock_after

    def wait(self, scope: str, failures: int) -> float:
        """Seconds before the next try after ``failures`` (0: no wait)."""
        slow, _ = self.thresholds(scope)
        if failures < slow:
            return 0.0
        return min(self.longest_wait, self.first_wait * 2 ** (failures - slow))


@dataclass(frozen=True)
class Refusal:
    """Why a sign-in is refused before its password is looked at."""

    #: ``"locked"`` (for a while, or until a supervisor unlocks) or ``"wait"`` (a few seconds).
    kind: str
    scope: str
    retry_after: int

    @property
    def rank(self) -> tuple[bool, int]:
        """Which of two refusals to tell: a lock before a wait, then the longer."""
        return (self.kind == "locked", self.retry_after)

    @property
    def code(self) -> str:
        return "locked" if self.kind == "locked" else "too_many_attempts"


class SignInLimiter:
    """Counts wrong passwords per username and per address, in the service's database."""

    def __init__(self, database: Database, clock: Callable[[], float] = time.time, policy: Policy | None = None) -> None:
        self.database = database
        self.clock = clock
        self.policy = policy or Policy()
        #: Told of every lock that starts: ``on_lock(username, address, scope, key)`` (the audit trail).
        self.on_lock: Callable[[str, str, str, str], None] | None = None

    def _row(self, scope: str, key: str, conn: sa.Connection | None = None) -> tuple[int, float, float | None] | None:
        f = _failures.c
        query = sa.select(f.failures, f.last_at, f.locked_until).where(f.scope == scope, f.key == key)
        row = conn.execute(query).first() if conn is not None else self.database.first(query)
        return (row[0], row[1], row[2]) if row else None

    def _live(self, row: tuple[int, float, float | None] | None, now: float) -> tuple[int, float, float | None] | None:
        """The row if it still counts: locked now, or its last failure within the window."""
        if row is None:
            return None
        failures, last_at, locked_until = row
        if locked_until is not None:
            return row if locked_until > now else None  # a lock that ended starts the count afresh
        return row if last_at > now - self.policy.window else None

    def check(self, username: str, address: str) -> Refusal | None:
        """A refusal if the username or the address must wait or is locked; ``None`` to go ahead."""
        now = self.clock()
        worst: Refusal | None = None
        for scope, key in (("username", username), ("address", address)):
            row = self._live(self._row(scope, key), now)
            if row is None:
                continue
            failures, last_at, locked_until = row
            if locked_until is not None:
                refusal = Refusal("locked", scope, max(1, round(locked_until - now)))
            else:
                wait_until = last_at + self.policy.wait(scope, failures)
                if now >= wait_until:
                    continue
                refusal = Refusal("wait", scope, max(1, round(wait_until - now + 0.49)))
            if worst is None or refusal.rank > worst.rank:
                worst = refusal
        return worst

    def failed(self, username: str, address: str) -> list[tuple[str, str]]:
        """Count a wrong password; returns the (scope, key) pairs this failure locked."""
        now = self.clock()
        locked: list[tuple[str, str]] = []
        with self.database.begin() as conn:
            for scope, key in (("username", username), ("address", address)):
                row = self._live(self._row(scope, key, conn), now)
                failures = (row[0] if row else 0) + 1
                _, lock_after = self.policy.thresholds(scope)
                until = now + self.policy.lock_seconds if failures >= lock_after else None
                if until is not None:
                    locked.append((scope, key))
                values = {"scope": scope, "key": key, "failures": failures, "last_at": now, "locked_until": until}
                conn.execute(self.database.upsert(_failures, tuple(values), ("scope", "key")), values)
            self._prune(conn, now)
        for scope, key in locked:
            if self.on_lock is not None:
                self.on_lock(username, address, scope, key)
        return locked

    def succeeded(self, username: str) -> None:
        """A right password: the username's count starts again."""
        f = _failures.c
        self.database.execute(_failures.delete().where(f.scope == "username", f.key == username))

    def _prune(self, conn: sa.Connection, now: float) -> None:
        f = _failures.c
        stale = sa.or_(sa.and_(f.locked_until.is_(None), f.last_at <= now - self.policy.window), f.locked_until <= now)
        conn.execute(_failures.delete().where(stale))
        beyond = sa.select(f.scope, f.key).order_by(f.last_at.desc()).offset(MAX_ROWS)
        conn.execute(_failures.delete().where(sa.tuple_(f.scope, f.key).in_(beyond)))

    def locks(self) -> list[dict]:
        """Usernames and addresses locked now: ``[{scope, key, failures, locked_until, retry_after}]``."""
        now = self.clock()
        f = _failures.c
        rows = self.database.rows(
            sa.select(f.scope, f.key, f.failures, f.locked_until).where(f.locked_until > now).order_by(f.scope.desc(), f.key)
        )
        return [
            {"scope": s, "key": k, "failures": f, "locked_until": u, "retry_after": max(1, round(u - now))}
            for s, k, f, u in rows
        ]

    def unlock(self, scope: str, key: str) -> bool:
        """Lift a lock (and forget the count); ``False`` when nothing was locked."""
        if scope not in SCOPES:
            return False
        now = self.clock()
        f = _failures.c
        changed = self.database.execute(_failures.delete().where(f.scope == scope, f.key == key, f.locked_until > now))
        return bool(changed)
