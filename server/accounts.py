"""Accounts: branches, staff users with roles, kiosk devices, browser sessions.

Passwords are hashed with argon2 (argon2-cffi). Kiosk provisioning tokens
and browser-session cookies are long random secrets, shown once and stored
only as SHA-256 digests (a slow hash adds nothing to a 144-bit secret).
"""

from __future__ import annotations

import hashlib
import secrets
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from . import schema
from .access_log import AccessLog
from .database import Database
from signaling.core.vocabulary import DEFAULT_CAPACITY, ROLES, SERVICES, AgentIdentity, KioskIdentity
from .signin import SignInLimiter

#: How long a browser session lasts without use (seconds).
WEB_SESSION_SECONDS = 12 * 3600



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
    """Account storage and checks, on the service's records database."""

    def __init__(self, database: Database, clock: Callable[[], float] = time.time) -> None:
        self.database = database
        self.hasher = PasswordHasher()
        #: Sockets closed because access ended (revoked, disabled, replaced).
        self.access_log = AccessLog(database)
        #: Wrong-password counts and locks (server/signin.py; used by server.auth.sign_in).
        self.signin = SignInLimiter(database, clock)

    def _bump_access(self, conn: sa.Connection) -> None:
        """Tell every running process that someone's access ended (``Storage.versions``: it re-checks its sockets)."""
        self._bump(conn, "access")

    def _bump_directory(self, conn: sa.Connection) -> None:
        """Tell every running process that a branch or booth was added or revoked (it reads its boards' lists again)."""
        self._bump(conn, "directory")

    @staticmethod
    def _bump(conn: sa.Connection, counter: str) -> None:
        v = schema.record_versions.c
        conn.execute(schema.record_versions.update().where(v.name == counter).values(version=v.version + 1))

    # -- branches ----------------------------------------------------------

    def add_branch(self, branch_id: str, name: str) -> None:
        if not branch_id.replace("-", "").replace("_", "").isalnum() or len(branch_id) > 40:
            raise AccountError("A branch id is letters, digits, '-' or '_' (at most 40).")
        if not name.strip():
            raise AccountError("A branch needs a name.")
        try:
            with self.database.begin() as conn:
                conn.execute(schema.branches.insert().values(branch_id=branch_id, name=name.strip()))
                self._bump_directory(conn)
        except sa.exc.IntegrityError:
            raise AccountError(f"Branch {branch_id!r} exists already.") from None

    def branches(self) -> list[dict]:
        rows = self.database.rows("SELECT branch_id, name FROM branches ORDER BY branch_id")
        return [{"branch_id": b, "name": n} for b, n in rows]

    def branch_name(self, branch_id: str) -> str:
        row = self.database.first("SELECT name FROM branches WHERE branch_id = :b", {"b": branch_id})
        return row[0] if row else branch_id

    def _branch_exists(self, branch_id: str) -> bool:
        return self.database.first("SELECT 1 FROM branches WHERE branch_id = :b", {"b": branch_id}) is not None

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
            if not branch_id or not self._branch_exists(branch_id):
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
            self.database.execute(
                schema.users.insert().values(
                    username=username,
                    name=(name or username).strip(),
                    role=role,
                    branch_id=branch_id,
                    skills=",".join(sorted(skills)) if skills is not None else None,
                    capacity=capacity,
                    password_hash=self.hasher.hash(password),
                    created_at=time.time(),
                )
            )
        except sa.exc.IntegrityError:
            raise AccountError(f"User {username!r} exists already.") from None
        user = self.user(username)
        assert user is not None
        return user

    _USER = "SELECT user_id, username, name, role, branch_id, skills, capacity, active FROM users"

    def user(self, username: str) -> User | None:
        row = self.database.first(self._USER + " WHERE username = :u", {"u": username})
        return self._user(row) if row else None

    def users(self) -> list[User]:
        return [self._user(r) for r in self.database.rows(self._USER + " ORDER BY username")]

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
        with self.database.begin() as conn:
            changed = conn.execute(
                sa.text("UPDATE users SET active = :a WHERE username = :u"), {"a": int(active), "u": username}
            ).rowcount
            if not active:
                conn.execute(
                    sa.text("DELETE FROM web_sessions WHERE user_id = (SELECT user_id FROM users WHERE username = :u)"),
                    {"u": username},
                )
                self._bump_access(conn)
        if not changed:
            raise AccountError(f"No user {username!r}.")

    def disabled_users(self, usernames: Iterable[str]) -> set[str]:
        """Which of these staff accounts are disabled (or no longer exist)."""
        names = list(set(usernames))
        if not names:
            return set()
        u = schema.users.c
        active = {r[0] for r in self.database.rows(sa.select(u.username).where(u.active == 1, u.username.in_(names)))}
        return set(names) - active

    def set_password(self, username: str, password: str) -> None:
        """Give ``username`` a new password (at least 10 characters); their browser sessions end."""
        if len(password) < 10:
            raise AccountError("A password has at least 10 characters.")
        if len(password) > 200:
            raise AccountError("A password has at most 200 characters.")
        with self.database.begin() as conn:
            changed = conn.execute(
                sa.text("UPDATE users SET password_hash = :h WHERE username = :u"),
                {"h": self.hasher.hash(password), "u": username},
            ).rowcount
            conn.execute(
                sa.text("DELETE FROM web_sessions WHERE user_id = (SELECT user_id FROM users WHERE username = :u)"),
                {"u": username},
            )
        if not changed:
            raise AccountError(f"No user {username!r}.")

    def has_supervisor(self) -> bool:
        return self.database.first("SELECT 1 FROM users WHERE role = 'supervisor' AND active = 1") is not None

    def verify(self, username: str, password: str) -> User | None:
        """The active user with these credentials, or ``None``."""
        row = self.database.first("SELECT password_hash FROM users WHERE username = :u AND active = 1", {"u": username})
        if row is None:
            self.hasher.hash(password)  # same work either way: no user enumeration by timing
            return None
        try:
            self.hasher.verify(row[0], password)
        except (VerificationError, InvalidHashError):
            return None
        if self.hasher.check_needs_rehash(row[0]):
            self.database.execute(
                sa.text("UPDATE users SET password_hash = :h WHERE username = :u"),
                {"h": self.hasher.hash(password), "u": username},
            )
        return self.user(username)

    # -- browser sessions ------------------------------------------------------

    def start_web_session(self, user: User) -> str:
        token = secrets.token_urlsafe(32)
        self.database.execute(
            schema.web_sessions.insert().values(
                token_hash=digest(token), user_id=user.user_id, expires_at=time.time() + WEB_SESSION_SECONDS
            )
        )
        return token

    def user_for_web_session(self, token: str | None) -> User | None:
        if not token or len(token) > 200:
            return None
        row = self.database.first(
            "SELECT u.username, s.expires_at FROM web_sessions s JOIN users u ON u.user_id = s.user_id "
            "WHERE s.token_hash = :h AND u.active = 1",
            {"h": digest(token)},
        )
        if row is None or row[1] < time.time():
            return None
        return self.user(row[0])

    def end_web_session(self, token: str | None) -> None:
        if token:
            self.database.execute(sa.text("DELETE FROM web_sessions WHERE token_hash = :h"), {"h": digest(token)})

    # -- kiosks ------------------------------------------------------------------

    def add_kiosk(self, branch_id: str, booth: int) -> tuple[str, str]:
        """Provision a booth device; returns (kiosk_id, token). The token is shown only now."""
        if not self._branch_exists(branch_id):
            raise AccountError(f"No branch {branch_id!r}; add it first.")
        if not 1 <= booth <= 999:
            raise AccountError("A booth number is 1 to 999.")
        kiosk_id = f"{branch_id}-booth-{booth}"
        generation = 1
        while self.database.first("SELECT 1 FROM kiosks WHERE kiosk_id = :k", {"k": kiosk_id}):
            generation += 1  # a re-provisioned booth keeps its old records apart
            kiosk_id = f"{branch_id}-booth-{booth}-{generation}"
        token = secrets.token_urlsafe(24)
        try:
            with self.database.begin() as conn:
                conn.execute(
                    schema.kiosks.insert().values(
                        kiosk_id=kiosk_id, branch_id=branch_id, booth=booth, token_hash=digest(token), created_at=time.time()
                    )
                )
                self._bump_directory(conn)
        except sa.exc.IntegrityError:
            raise AccountError(f"Booth {booth} of {branch_id} is provisioned already; revoke it first.") from None
        return kiosk_id, token

    def revoke_kiosk(self, kiosk_id: str) -> KioskIdentity:
        """Revoke a booth's token; returns the booth that was revoked.

        The running server ends the booth's live sockets and session
        (:class:`signaling.access.Access`), at once when revoked through
        its API, within ``Config.access_check_seconds`` when revoked by
        another process.
        """
        with self.database.begin() as conn:
            row = conn.execute(
                sa.text("SELECT branch_id, booth FROM kiosks WHERE kiosk_id = :k AND revoked_at IS NULL"), {"k": kiosk_id}
            ).first()
            changed = conn.execute(
                sa.text(
                    "UPDATE kiosks SET revoked_at = :t, token_hash = 'revoked:' || kiosk_id "
                    "WHERE kiosk_id = :k AND revoked_at IS NULL"
                ),
                {"t": time.time(), "k": kiosk_id},
            ).rowcount
            if changed:
                self._bump_access(conn)
                self._bump_directory(conn)
        if not changed or row is None:
            raise AccountError(f"No active kiosk {kiosk_id!r}.")
        return KioskIdentity(kiosk_id, branch=row[0], booth=row[1])

    def revoked_kiosks(self, kiosk_ids: Iterable[str]) -> set[str]:
        """Which of these booths have been revoked (booths from ``--tokens`` never are)."""
        ids = list(set(kiosk_ids))
        if not ids:
            return set()
        k = schema.kiosks.c
        return {r[0] for r in self.database.rows(sa.select(k.kiosk_id).where(k.revoked_at.is_not(None), k.kiosk_id.in_(ids)))}

    def kiosk_for_token(self, token: str | None) -> KioskIdentity | None:
        if not token or len(token) > 200:
            return None
        row = self.database.first(
            "SELECT kiosk_id, branch_id, booth FROM kiosks WHERE token_hash = :h AND revoked_at IS NULL", {"h": digest(token)}
        )
        return KioskIdentity(row[0], branch=row[1], booth=row[2]) if row else None

    def kiosks(self, branch_id: str | None = None) -> list[KioskIdentity]:
        k = schema.kiosks.c
        query = sa.select(k.kiosk_id, k.branch_id, k.booth).where(k.revoked_at.is_(None))
        if branch_id is not None:
            query = query.where(k.branch_id == branch_id)
        rows = self.database.rows(query.order_by(k.branch_id, k.booth))
        return [KioskIdentity(kid, branch=b, booth=n) for kid, b, n in rows]
