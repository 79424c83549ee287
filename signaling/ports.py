"""What signaling needs from the server side, as Protocols: ``create_app`` passes objects that fit.

Signaling never imports ``server``; the service's settings, how a socket's
credentials become an identity, and where a refused event is audited come
in through these.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Protocol

from .core.vocabulary import AgentIdentity, KioskIdentity, StaffIdentity


class Settings(Protocol):
    """The settings signaling reads (``server.config.Config`` fits)."""

    clock: Callable[[], float]
    reconnect_grace: float
    kiosk_tokens: Mapping[str, KioskIdentity]
    kiosk_self_start: bool
    max_event_bytes: int
    access_check_seconds: float


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
