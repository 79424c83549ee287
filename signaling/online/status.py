"""The online claim's life, as data: its states, legal moves, required documents, slots and identities.

Pure domain code (no I/O): :mod:`signaling.online.claims` applies it to the
store. A member at home files a claim on ``/claim``; it is a *draft* until
every required document is uploaded and the member submits it, then an
agent validates the documents, the member books (or joins at once) a video
interview, and the agent ends it with an outcome.

    draft → submitted → checking → documents_requested → submitted …
                                 → interview_to_book → interview_booked → interview_done
                                                        → approved → payment_instructed
                                                        → rejected
                                                        → documents_requested
"""

from __future__ import annotations

from datetime import datetime, timedelta

from ..core.daytime import LOCAL, local
from ..core.vocabulary import HOME_BRANCH

__all__ = ["HOME_BRANCH"]
#: Prefix of a home member's device id on ``/kiosk`` (``home-<claim_id>``).
HOME_PREFIX = "home-"

#: Benefits a member can claim online (the booth's services minus general information).
BENEFITS: tuple[str, ...] = ("jht", "jkk", "jkm", "jp")

#: Documents each benefit needs (kinds as the booth's ``doc.request`` knows them).
REQUIRED_DOCUMENTS: dict[str, tuple[str, ...]] = {
    "jht": ("ktp", "bank_book", "resignation_letter"),
    "jkk": ("ktp", "bank_book", "other"),
    "jkm": ("ktp", "kk", "death_certificate", "bank_book"),
    "jp": ("ktp", "kk", "bank_book"),
}

STATES: tuple[str, ...] = (
    "draft", "submitted", "checking", "documents_requested", "interview_to_book", "interview_booked",
    "interview_done", "approved", "rejected", "payment_instructed",
)

MOVES: dict[str, frozenset[str]] = {
    "draft": frozenset({"submitted"}),
    "submitted": frozenset({"checking"}),
    "checking": frozenset({"submitted", "documents_requested", "interview_to_book"}),
    "documents_requested": frozenset({"submitted"}),
    "interview_to_book": frozenset({"interview_booked"}),
    "interview_booked": frozenset({"interview_booked", "interview_done"}),
    "interview_done": frozenset({"approved", "rejected", "documents_requested"}),
    "approved": frozenset({"payment_instructed"}),
    "rejected": frozenset(),
    "payment_instructed": frozenset(),
}

#: States in which the member must act (a mail is sent when the claim enters one, with the link).
MAIL_STATES = frozenset({"submitted", "documents_requested", "interview_to_book", "interview_booked",
                         "rejected", "payment_instructed"})
#: Outcomes an agent ends the interview with.
OUTCOMES: tuple[str, ...] = ("approved", "rejected", "more_documents")


class ClaimError(Exception):
    """A refused claim action: ``code`` (the error table), HTTP ``status``, and a message key for the member."""

    def __init__(self, code: str, message: str, status: int = 400, key: str | None = None, **params) -> None:
        super().__init__(message)
        self.code, self.message, self.status = code, message, status
        self.key = key or f"claim.error.{code}"
        self.params = params


def check_move(old: str, new: str) -> None:
    if new not in MOVES.get(old, frozenset()):
        raise ClaimError("invalid_state", f"A claim cannot go from {old} to {new}.", 409)


def home_device(claim_id: str) -> str:
    return f"{HOME_PREFIX}{claim_id}"


def is_home(kiosk_id: str | None) -> bool:
    return bool(kiosk_id) and kiosk_id.startswith(HOME_PREFIX)


# -- interview slots ------------------------------------------------------------

#: Interviews are offered from 08:00 to 16:00 WIB, in slots of this many minutes, on the next days.
FIRST_HOUR, LAST_HOUR, SLOT_MINUTES, DAYS_AHEAD = 8, 16, 30, 5
#: A member may join from this many seconds before the slot until its end.
EARLY_JOIN = 10 * 60


def day_slots(day_start: float) -> list[float]:
    """Start times of one WIB day's slots (``day_start`` is that day's 00:00 WIB)."""
    first = day_start + FIRST_HOUR * 3600
    count = (LAST_HOUR - FIRST_HOUR) * 60 // SLOT_MINUTES
    return [first + i * SLOT_MINUTES * 60 for i in range(count)]


def per_slot(daily_capacity: int) -> int:
    """How many interviews one slot takes, from a day's capacity (at least one while the day has any)."""
    count = (LAST_HOUR - FIRST_HOUR) * 60 // SLOT_MINUTES
    return 0 if daily_capacity <= 0 else max(1, -(-daily_capacity // count))


def upcoming_days(now: float, days: int = DAYS_AHEAD) -> list[tuple[str, float]]:
    """``(YYYY-MM-DD, 00:00 WIB)`` of today and the next days."""
    today = local(now).replace(hour=0, minute=0, second=0, microsecond=0)
    return [((today + timedelta(days=i)).strftime("%Y-%m-%d"), (today + timedelta(days=i)).timestamp())
            for i in range(days)]


def day_of(at: float) -> str:
    return local(at).strftime("%Y-%m-%d")


def is_slot(at: float) -> bool:
    """Is ``at`` the start of one of its day's slots?"""
    day = datetime.fromtimestamp(at, LOCAL).replace(hour=0, minute=0, second=0, microsecond=0).timestamp()
    return at in day_slots(day)


def join_window(slot: float) -> tuple[float, float]:
    """When a member booked at ``slot`` may join: from 10 minutes before to the slot's end."""
    return slot - EARLY_JOIN, slot + SLOT_MINUTES * 60
