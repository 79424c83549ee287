"""What signaling needs from the server side, as Protocols: ``create_app`` passes objects that fit.

Signaling never imports ``server``; the service's settings, how a socket's
credentials become an identity, and where a refused event is audited come
in through these.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Protocol

from .core.session import Session
from .core.vocabulary import AgentIdentity, KioskIdentity, StaffIdentity


class Settings(Protocol):
    """The settings signaling reads (``server.config.Config`` fits)."""

    clock: Callable[[], float]
    reconnect_grace: float
    kiosk_tokens: Mapping[str, KioskIdentity]
    kiosk_self_start: bool
    max_event_bytes: int
    access_check_seconds: float

    def ice_servers(self, identity: str) -> dict:
        """``{"ice_servers": [...], "expires_at": ...}``: fresh TURN credentials for ``identity`` (``media.ice``)."""
        ...


class Authenticator(Protocol):
    """Turns a socket's ``auth`` payload (and its HTTP environ: cookies) into an identity, or None."""

    def kiosk(self, auth: Any) -> KioskIdentity | None: ...
    def agent(self, auth: Any, environ: dict | None) -> AgentIdentity | None: ...
    def staff(self, auth: Any, environ: dict | None, role: str) -> StaffIdentity | None: ...


#: Records an event refused with ``unknown_session`` (namespace, sid, identity, event, args).
RefusalAudit = Callable[[Any, str, Any, Any, tuple], None]


class AccessGuard(Protocol):
    """Ends access no longer granted (``signaling.access.Access``), as the namespaces call it."""

    async def admit(self, namespace: Any, sid: str, identity: Any) -> None: ...
    def forget(self, namespace: Any, sid: str) -> None: ...
    def still_valid(self, identity: Any) -> bool: ...
    async def refuse(self, identity: Any) -> None: ...


class Records(Protocol):
    """The session records store the hub, board and access use (``server.storage.Storage`` fits).

    ``accounts`` answers which booths a branch has and branch names
    (``kiosks(branch)``, ``branch_name(branch)``, ``access_log``,
    ``revoked_kiosks``, ``disabled_users``).
    """

    accounts: Any

    def save(self, session: Session, from_state: str | None, actor: str, reason: str | None) -> None: ...
    def load_open(self) -> list[Session]: ...
    def session(self, session_id: str) -> Session | None: ...
    def handled_since(self, since: float) -> dict[str, int]: ...
    def data_version(self) -> int: ...
    def versions(self) -> dict[str, int]: ...
