"""Accounts: branches, staff users with roles, kiosk devices, browser sessions.

Passwords are hashed with argon2 (argon2-cffi). Kiosk provisioning tokens
and browser-session cookies are long random secrets, shown once and stored
only as SHA-256 digests (a slow hash adds nothing to a 144-bit secret).
"""

from __future__ import annotations

import hashlib
import secrets
import sqlite3
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from .access_log import AccessLog
from signaling.core.vocabulary import DEFAULT_CAPACITY, ROLES, SERVICES, AgentIdentity, KioskIdentity
from .signin import SignInLimiter



#: How long a browser session lasts without use (seconds).
WEB_SESSION_SECONDS = 12 * 3600

SCHEMA = """
CREATE TABLE IF NOT EXISTS branches (
    branch_id TEXT PRIMARY KEY,
    name      TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS users (
    user_id       INTEGER PRIMARY KEY AUTOINCREMENT,
    username      TEXT NOT NULL UNIQUE,
    name          TEXT NOT NULL,
    role          TEXT NOT NULL CHECK (role IN ('supervisor', 'agent', 'officer')),
    branch_id     TEXT REFERENCES branches(branch_id),
    skills        TEXT,
    capacity      INTEGER NOT NULL DEFAULT 6,
    password_hash TEXT NOT NULL,
    active        INTEGER NOT NULL DEFAULT 1,
    created_at    REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS kiosks (
    kiosk_id   TEXT PRIMARY KEY,
    branch_id  TEXT NOT NULL REFERENCES branches(branch_id),
    booth      INTEGER NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    created_at REAL NOT NULL,
    revoked_at REAL
);
CREATE UNIQUE INDEX IF NOT EXISTS kiosks_live_booth ON kiosks(branch_id, booth) WHERE revoked_at IS NULL;
CREATE TABLE IF NOT EXISTS web_sessions (
    token_hash TEXT PRIMARY KEY,
    user_id    INTEGER NOT NULL REFERENCES users(user_id),
    expires_at REAL NOT NULL
);
"""


class AccountError(ValueError):
    """A refused account change, with a message a person can act on."""


@dataclass(frozen=True)
class User:
    """A staff member: supervisor, CS agent or branch security officer."""

    user_id: int
    username: str
    name: str
    role: str
    branch_id: str | None
    skills: frozenset[str] | None
    capacity: int
    active: bool

    def agent_identity(self) -> AgentIdentity:
        return AgentIdentity(
            f"agent-{self.username}", name=self.name, capacity=self.capacity, skills=self.skills, username=self.username
        )

    def public(self) -> dict:
        return {
            "username": self.username,
            "name": self.name,
            "role": self.role,
            "branch": self.branch_id,
            "skills": sorted(self.skills) if self.skills is not None else None,
            "capacity": self.capacity,
            "active": self.active,
        }


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


class Accounts:
    """Account storage and checks, on the service's SQLite database."""

    def __init__(self, db: sqlite3.Connection, clock: Callable[[], float] = time.time) -> None:
        self.db = db
        self.db.executescript(SCHEMA)
        self.hasher = PasswordHasher()
        #: Sockets closed because access ended (revoked, disabled, replaced).
        self.access_log = AccessLog(db)
        #: Wrong-password counts and locks (server/signin.py; used by server.auth.sign_in).
        self.signin = SignInLimiter(db, clock)

    # -- branches ----------------------------------------------------------

    def add_branch(self, branch_id: str, name: str) -> None:
        if not branch_id.replace("-", "").replace("_", "").isalnum() or len(branch_id) > 40:
            raise AccountError("A branch id is letters, digits, '-' or '_' (at most 40).")
        if not name.strip():
            raise AccountError("A branch needs a name.")
        try:
            with self.db:
                self.db.execute("INSERT INTO branches (branch_id, name) VALUES (?, ?)", (branch_id, name.strip()))
        except sqlite3.IntegrityError:
            raise AccountError(f"Branch {branch_id!r} exists already.") from None

    def branches(self) -> list[dict]:
        rows = self.db.execute("SELECT branch_id, name FROM branches ORDER BY branch_id").fetchall()
        return [{"branch_id": b, "name": n} for b, n in rows]

    def branch_name(self, branch_id: str) -> str:
        row = self.db.execute("SELECT name FROM branches WHERE branch_id = ?", (branch_id,)).fetchone()
        return row[0] if row else branch_id

    # -- users ---------------------------------------------------------------

    def add_user(
        self,
        username: str,
        password: str,
        role: str,
        name: str | None = None,
        branch_id: str | None = None,
        skills: list[str] | None = None,
        capacity: int = DEFAULT_CAPACITY,
    ) -> User:
        if role not in ROLES:
            raise AccountError(f"A role is one of {', '.join(ROLES)}.")
        if not username or len(username) > 40 or not username.replace(".", "").replace("_", "").replace("-", "").isalnum():
            raise AccountError("A username is letters, digits, '.', '_' or '-' (at most 40).")
        if len(password) < 10:
            raise AccountError("A password has at least 10 characters.")
        if role == "officer":
            if not branch_id or not self.db.execute("SELECT 1 FROM branches WHERE branch_id = ?", (branch_id,)).fetchone():
                raise AccountError("A security officer belongs to an existing branch (--branch).")
        elif branch_id:
            raise AccountError("Only security officers belong to a branch.")
        if skills is not None:
            unknown = set(skills) - set(SERVICES)
            if unknown:
                raise AccountError(f"Unknown services {sorted(unknown)}; services are {', '.join(SERVICES)}.")
        if not 1 <= capacity <= DEFAULT_CAPACITY:
            raise AccountError(f"Capacity is 1 to {DEFAULT_CAPACITY}.")
        try:
            with self.db:
                self.db.execute(
                    "INSERT INTO users (username, name, role, branch_id, skills, capacity, password_hash, created_at) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        username,
                        (name or username).strip(),
                        role,
                        branch_id,
                        ",".join(sorted(skills)) if skills is not None else None,
                        capacity,
                        self.hasher.hash(password),
                        time.time(),
                    ),
                )
        except sqlite3.IntegrityError:
            raise AccountError(f"User {username!r} exists already.") from None
        user = self.user(username)
        assert user is not None
        return user

    def user(self, username: str) -> User | None:
        row = self.db.execute(
            "SELECT user_id, username, name, role, branch_id, skills, capacity, active FROM users WHERE username = ?",
            (username,),
        ).fetchone()
        return self._user(row) if row else None

    def users(self) -> list[User]:
        rows = self.db.execute(
            "SELECT user_id, username, name, role, branch_id, skills, capacity, active FROM users ORDER BY username"
        ).fetchall()
        return [self._user(r) for r in rows]

    @staticmethod
    def _user(row) -> User:
        user_id, username, name, role, branch_id, skills, capacity, active = row
        return User(
            user_id,
            username,
            name,
            role,
            branch_id,
            frozenset(skills.split(",")) if skills else (frozenset() if skills == "" else None),
            capacity,
            bool(active),
        )

    def set_active(self, username: str, active: bool) -> None:
        with self.db:
            changed = self.db.execute(
                "UPDATE users SET active = ? WHERE username = ?", (int(active), username)
            ).rowcount
            if not active:
                self.db.execute(
                    "DELETE FROM web_sessions WHERE user_id = (SELECT user_id FROM users WHERE username = ?)",
                    (username,),
                )
        if not changed:
            raise AccountError(f"No user {username!r}.")

    def disabled_users(self, usernames: Iterable[str]) -> set[str]:
        """Which of these staff accounts are disabled (or no longer exist)."""
        names = list(set(usernames))
        if not names:
            return set()
        marks = ",".join("?" * len(names))
        active = {r[0] for r in self.db.execute(f"SELECT username FROM users WHERE active = 1 AND username IN ({marks})", names)}
        return set(names) - active
    def set_password(self, username: str, password: str) -> None:
        """Give ``username`` a new password (at least 10 characters); their browser sessions end."""
        if len(password) < 10:
            raise AccountError("A password has at least 10 characters.")
        if len(password) > 200:
            raise AccountError("A password has at most 200 characters.")
        with self.db:
            changed = self.db.execute(
                "UPDATE users SET password_hash = ? WHERE username = ?", (self.hasher.hash(password), username)
            ).rowcount
            self.db.execute(
                "DELETE FROM web_sessions WHERE user_id = (SELECT user_id FROM users WHERE username = ?)", (username,)
            )
        if not changed:
            raise AccountError(f"No user {username!r}.")

    def has_supervisor(self) -> bool:
        return bool(self.db.execute("SELECT 1 FROM users WHERE role = 'supervisor' AND active = 1").fetchone())

    def verify(self, username: str, password: str) -> User | None:
        """The active user with these credentials, or ``None``."""
        row = self.db.execute("SELECT password_hash FROM users WHERE username = ? AND active = 1", (username,)).fetchone()
        if row is None:
            self.hasher.hash(password)  # same work either way: no user enumeration by timing
            return None
        try:
            self.hasher.verify(row[0], password)
        except (VerificationError, InvalidHashError):
            return None
        if self.hasher.check_needs_rehash(row[0]):
            with self.db:
                self.db.execute(
                    "UPDATE users SET password_hash = ? WHERE username = ?", (self.hasher.hash(password), username)
                )
        return self.user(username)

    # -- browser sessions ------------------------------------------------------

    def start_web_session(self, user: User) -> str:
        token = secrets.token_urlsafe(32)
        with self.db:
            self.db.execute(
                "INSERT INTO web_sessions (token_hash, user_id, expires_at) VALUES (?, ?, ?)",
                (digest(token), user.user_id, time.time() + WEB_SESSION_SECONDS),
            )
        return token

    def user_for_web_session(self, token: str | None) -> User | None:
        if not token or len(token) > 200:
            return None
        row = self.db.execute(
            "SELECT u.username, s.expires_at FROM web_sessions s JOIN users u ON u.user_id = s.user_id "
            "WHERE s.token_hash = ? AND u.active = 1",
            (digest(token),),
        ).fetchone()
        if row is None or row[1] < time.time():
            return None
        return self.user(row[0])

    def end_web_session(self, token: str | None) -> None:
        if token:
            with self.db:
                self.db.execute("DELETE FROM web_sessions WHERE token_hash = ?", (digest(token),))

    # -- kiosks ------------------------------------------------------------------

    def add_kiosk(self, branch_id: str, booth: int) -> tuple[str, str]:
        """Provision a booth device; returns (kiosk_id, token). The token is shown only now."""
        if not self.db.execute("SELECT 1 FROM branches WHERE branch_id = ?", (branch_id,)).fetchone():
            raise AccountError(f"No branch {branch_id!r}; add it first.")
        if not 1 <= booth <= 999:
            raise AccountError("A booth number is 1 to 999.")
        kiosk_id = f"{branch_id}-booth-{booth}"
        generation = 1
        while self.db.execute("SELECT 1 FROM kiosks WHERE kiosk_id = ?", (kiosk_id,)).fetchone():
            generation += 1  # a re-provisioned booth keeps its old records apart
            kiosk_id = f"{branch_id}-booth-{booth}-{generation}"
        token = secrets.token_urlsafe(24)
        try:
            with self.db:
                self.db.execute(
                    "INSERT INTO kiosks (kiosk_id, branch_id, booth, token_hash, created_at) VALUES (?, ?, ?, ?, ?)",
                    (kiosk_id, branch_id, booth, digest(token), time.time()),
                )
        except sqlite3.IntegrityError:
            raise AccountError(f"Booth {booth} of {branch_id} is provisioned already; revoke it first.") from None
        return kiosk_id, token

    def revoke_kiosk(self, kiosk_id: str) -> KioskIdentity:
        """Revoke a booth's token; returns the booth that was revoked.

        The running server ends the booth's live sockets and session
        (:class:`signaling.access.Access`), at once when revoked through
        its API, within ``Config.access_check_seconds`` when revoked by
        another process.
        """
        with self.db:
            row = self.db.execute(
                "SELECT branch_id, booth FROM kiosks WHERE kiosk_id = ? AND revoked_at IS NULL", (kiosk_id,)
            ).fetchone()
            changed = self.db.execute(
                "UPDATE kiosks SET revoked_at = ?, token_hash = 'revoked:' || kiosk_id WHERE kiosk_id = ? AND revoked_at IS NULL",
                (time.time(), kiosk_id),
            ).rowcount
        if not changed or row is None:
            raise AccountError(f"No active kiosk {kiosk_id!r}.")
        return KioskIdentity(kiosk_id, branch=row[0], booth=row[1])

    def revoked_kiosks(self, kiosk_ids: Iterable[str]) -> set[str]:
        """Which of these booths have been revoked (booths from ``--tokens`` never are)."""
        ids = list(set(kiosk_ids))
        if not ids:
            return set()
        marks = ",".join("?" * len(ids))
        query = f"SELECT kiosk_id FROM kiosks WHERE revoked_at IS NOT NULL AND kiosk_id IN ({marks})"
        return {r[0] for r in self.db.execute(query, ids)}

    def kiosk_for_token(self, token: str | None) -> KioskIdentity | None:
        if not token or len(token) > 200:
            return None
        row = self.db.execute(
            "SELECT kiosk_id, branch_id, booth FROM kiosks WHERE token_hash = ? AND revoked_at IS NULL", (digest(token),)
        ).fetchone()
        return KioskIdentity(row[0], branch=row[1], booth=row[2]) if row else None

    def kiosks(self, branch_id: str | None = None) -> list[KioskIdentity]:
        query = "SELECT kiosk_id, branch_id, booth FROM kiosks WHERE revoked_at IS NULL"
        args: tuple = ()
        if branch_id is not None:
            query += " AND branch_id = ?"
            args = (branch_id,)
        rows = self.db.execute(query + " ORDER BY branch_id, booth", args).fetchall()
        return [KioskIdentity(k, branch=b, booth=n) for k, b, n in rows]
