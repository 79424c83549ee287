"""A member at home on ``/kiosk``: the status link as the socket's credential, and joining the interview queue.

The phone connects to ``/kiosk`` with ``auth = {"claim": "<status token>"}``.
It becomes a :class:`~signaling.core.vocabulary.KioskIdentity` of branch
``online`` (``home-<claim_id>``, booth 0), so the queue, the dispatcher, the
notifier, the routing matrix (kind ``home``), consent and recording treat it
as they treat a booth. A link that is wrong, expired or revoked, a claim
that is not due for its interview, or a second phone while the first is
connected is refused at connect time with a code (``connect_error``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..core.vocabulary import HOME_BRANCH, KioskIdentity
from ..schemas import EventError
from .status import ClaimError, home_device

if TYPE_CHECKING:  # pragma: no cover
    from ..hub import Hub
    from . import OnlineClaims


class HomeRefused(Exception):
    """A phone refused at connect time: ``code`` goes to the client in ``connect_error``'s data."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message


class HomeDoor:
    """Identifies phones by their status link and lets a due member join the interview queue."""

    def __init__(self, claims: "OnlineClaims", hub: "Hub", address_of: Callable[[dict | None], str]) -> None:
        self.claims = claims
        self.hub = hub
        self.address_of = address_of

    @staticmethod
    def asks(auth: Any) -> bool:
        return isinstance(auth, dict) and "claim" in auth

    def identify(self, auth: dict, environ: dict | None, connected: Callable[[str], bool]) -> KioskIdentity:
        token = auth.get("claim")
        if not isinstance(token, str) or len(auth) != 1:
            raise HomeRefused("unauthorized", "A valid status link is required.")
        try:
            claim = self.claims.by_token(token, self.address_of(environ))
        except ClaimError as exc:
            raise HomeRefused(exc.code, exc.message) from None
        device = home_device(claim["claim_id"])
        if connected(device):
            raise HomeRefused("already_joined", "This interview is open on another phone.")
        if self.hub.open_session_of(device) is None:  # a phone coming back to a running interview is let in
            try:
                self.claims.may_join(claim)
            except ClaimError as exc:
                raise HomeRefused(exc.code, exc.message) from None
        return KioskIdentity(kiosk_id=device, branch=HOME_BRANCH, booth=0)

    async def join(self, identity: KioskIdentity, language: str) -> str:
        """Queue the member for their interview (the claim's benefit's queue); returns the session id."""
        claim = self.claims.store.claim(identity.kiosk_id.removeprefix("home-"))
        if claim is None or identity.branch != HOME_BRANCH:
            raise EventError("forbidden", "Only a member at home with a booked interview joins this way.")
        open_session = self.hub.open_session_of(identity.kiosk_id)
        if open_session is not None:
            raise EventError("invalid_state", "You are in the interview queue already.")
        try:
            self.claims.may_join(claim)
        except ClaimError as exc:
            raise EventError("invalid_state", exc.message) from None
        session = await self.hub.start_session(identity, claim["service"], language, f"home:{claim['reference']}")
        self.claims.interview_started(claim, session.session_id)
        return session.session_id

    def still_valid(self, phone: KioskIdentity) -> bool:
        """Is the phone's status link still good (not revoked, not expired)? Checked on every event it sends."""
        claim = self.claims.store.claim(phone.kiosk_id.removeprefix("home-"))
        return claim is not None and not claim["revoked"] and claim["expires_at"] >= self.claims.now()

    def free_tile(self, service: str) -> bool:
        """Is an agent who serves ``service`` taking work with a tile free right now (and nobody waiting)?"""
        if self.hub.state.waiting(service):
            return False
        return any(
            a.takes_work and len(a.sessions) < a.capacity and (a.identity.skills is None or service in a.identity.skills)
            for a in self.hub.state.agents()
        )

    def session_agent(self, session_id: str | None) -> str | None:
        """The agent whose tile holds this open session, if any."""
        session = self.hub.session(session_id) if session_id else None
        return session.agent_id if session is not None and not session.ended else None
