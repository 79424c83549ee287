"""What self-service needs from the rest of the service: its settings, and one small window on the hub.

Every read of the hub's sessions and agents and every send to a screen goes
through :class:`HubContext`, so when the hub's dictionaries give way to a
state interface only this file changes. :class:`Settings` carries the few
values of the service's configuration self-service uses, and its clock.
"""

from __future__ import annotations

import datetime as _dt
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..core.daytime import local

if TYPE_CHECKING:  # pragma: no cover
    from ..hub import Hub
    from ..core.session import Session

#: Session states in which a member and agent work on self-service.
LIVE = ("assigned", "connecting", "active")


@dataclass(frozen=True)
class Settings:
    """Self-service's part of the configuration, built by ``create_app`` from ``server.config.Config``."""

    data_dir: Path
    #: Until a supervisor sets it (``POST /api/retention``).
    retention_days: int = 90
    #: The service's clock (UNIX seconds): every stored time, claim references, "today" of the forms.
    clock: Callable[[], float] = field(default=time.time)

    @property
    def root(self) -> Path:
        """Where documents, recordings and claim folders are kept."""
        return Path(self.data_dir) / "selfservice"

    def today(self) -> _dt.date:
        """Today in WIB, by the injected clock (a birth date may not lie after it)."""
        return local(self.clock()).date()

    @staticmethod
    def day(at: float) -> str:
        """``YYYYMMDD`` of ``at`` in WIB (the date in a claim reference)."""
        return local(at).strftime("%Y%m%d")


class HubContext:
    """The hub as self-service sees it: sessions by id, who owns them, and the two screens to tell."""

    def __init__(self, hub: "Hub") -> None:
        self._hub = hub

    # -- sessions ---------------------------------------------------------------------

    def session(self, session_id: str) -> "Session | None":
        """The session, open or ended, if this process knows it."""
        return self._hub.session(session_id)

    def kiosk_session(self, session_id: str, kiosk_id: str) -> "Session":
        """The kiosk's own open session, or ``EventError("unknown_session")``."""
        return self._hub.owned_session(session_id, kiosk_id=kiosk_id)

    def agent_session(self, session_id: str, agent_id: str) -> "Session":
        """One of the agent's own open sessions, or ``EventError("unknown_session")``."""
        return self._hub.owned_session(session_id, agent_id=agent_id)

    def open_session_of(self, kiosk_id: str) -> "Session | None":
        """The booth's open session, if it has one."""
        return self._hub.open_session_of(kiosk_id)

    def agent_sessions(self, agent_id: str) -> list["Session"]:
        """The agent's open sessions (its room's tiles)."""
        sessions = (self._hub.session(s) for s in self._hub.agent_sessions(agent_id))
        return [s for s in sessions if s is not None and not s.ended]

    def on_change(self, watcher: Callable[[], Awaitable[None]]) -> None:
        """Call ``watcher`` after every change of the hub's sessions."""
        self._hub.watchers.append(watcher)

    # -- screens ------------------------------------------------------------------------

    async def tell(self, session: "Session", event: str, data: dict, *, kiosk: bool = True, agent: bool = True) -> None:
        """Send to the session's kiosk and its assigned agent, and nobody else."""
        await self._hub.tell_session(session, event, data, kiosk=kiosk, agent=agent)

    # -- media ---------------------------------------------------------------------------

    @property
    def router(self) -> Any:
        """The media router (``record_start``/``record_stop`` when it can record)."""
        return self._hub.router

    def can_record(self) -> bool:
        router = self._hub.router
        return hasattr(router, "record_start") and hasattr(router, "record_stop")
