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

import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass

SCHEMA = """
CREATE TABLE IF NOT EXISTS signin_failures (
    scope        TEXT NOT NULL CHECK (scope IN ('username', 'address')),
    key          TEXT NOT NULL,
    failures     INTEGER NOT NULL,
    last_at      REAL NOT NULL,
    locked_until REAL,
    PRIMARY KEY (scope, key)
);
"""

SCOPES = ("username", "address")

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

    def __init__(self, db: sqlite3.Connection, clock: Callable[[], float] = time.time, policy: Policy | None = None) -> None:
        self.db = db
        self.clock = clock
        self.policy = policy or Policy()
        #: Told of every lock that starts: ``on_lock(username, address, scope, key)`` (the audit trail).
        self.on_lock: Callable[[str, str, str, str], None] | None = None
        self.db.executescript(SCHEMA)

    def _row(self, scope: str, key: str) -> tuple[int, float, float | None] | None:
        row = self.db.execute(
            "SELECT failures, last_at, locked_until FROM signin_failures WHERE scope = ? AND key = ?", (scope, key)
        ).fetchone()
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
        with self.db:
            for scope, key in (("username", username), ("address", address)):
                row = self._live(self._row(scope, key), now)
                failures = (row[0] if row else 0) + 1
                _, lock_after = self.policy.thresholds(scope)
                until = now + self.policy.lock_seconds if failures >= lock_after else None
                if until is not None:
                    locked.append((scope, key))
                self.db.execute(
                    "INSERT OR REPLACE INTO signin_failures (scope, key, failures, last_at, locked_until) VALUES (?, ?, ?, ?, ?)",
                    (scope, key, failures, now, until),
                )
            self._prune(now)
        for scope, key in locked:
            if self.on_lock is not None:
                self.on_lock(username, address, scope, key)
        return locked

    def succeeded(self, username: str) -> None:
        """A right password: the username's count starts again."""
        with self.db:
            self.db.execute("DELETE FROM signin_failures WHERE scope = 'username' AND key = ?", (username,))

    def _prune(self, now: float) -> None:
        self.db.execute(
            "DELETE FROM signin_failures WHERE (locked_until IS NULL AND last_at <= ?) OR locked_until <= ?",
            (now - self.policy.window, now),
        )
        self.db.execute(
            "DELETE FROM signin_failures WHERE rowid IN (SELECT rowid FROM signin_failures ORDER BY last_at DESC LIMIT -1 OFFSET ?)",
            (MAX_ROWS,),
        )

    def locks(self) -> list[dict]:
        """Usernames and addresses locked now: ``[{scope, key, failures, locked_until, retry_after}]``."""
        now = self.clock()
        rows = self.db.execute(
            "SELECT scope, key, failures, locked_until FROM signin_failures WHERE locked_until > ? ORDER BY scope DESC, key",
            (now,),
        ).fetchall()
        return [
            {"scope": s, "key": k, "failures": f, "locked_until": u, "retry_after": max(1, round(u - now))}
            for s, k, f, u in rows
        ]

    def unlock(self, scope: str, key: str) -> bool:
        """Lift a lock (and forget the count); ``False`` when nothing was locked."""
        if scope not in SCOPES:
            return False
        now = self.clock()
        with self.db:
            changed = self.db.execute(
                "DELETE FROM signin_failures WHERE scope = ? AND key = ? AND locked_until > ?", (scope, key, now)
            ).rowcount
        return bool(changed)
