"""Branch-local time for reports and the live board: WIB days, service hours, the chart's window.

Every function takes ``now`` (UNIX seconds) from its caller, who reads it
from the service clock (``Config.clock``); nothing here reads the machine's
clock or its time zone, so a test decides what time it is.

The board's chart window (:func:`board_window`), in words: it starts at the
most recent opening (07:00 WIB) at or before now, earlier if there was
activity between that day's midnight and the opening; it ends at that day's
closing (18:00 WIB) or at the end of the quarter hour holding now, whichever
is later. By day that is today's service hours; at 02:00 it is yesterday
07:00 to 02:15 today, so the evening's and the night's work is on it.
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone

#: Local time of the branches (WIB, UTC+7, no daylight saving).
LOCAL = timezone(timedelta(hours=7))
#: The branches' service hours (local), the least the board's chart shows.
OPENING_HOUR = 7
CLOSING_HOUR = 18
#: The chart's bucket.
BUCKET_MINUTES = 15


def local(now: float) -> datetime:
    """``now`` as an aware datetime in WIB."""
    return datetime.fromtimestamp(now, LOCAL)


def day_bounds(day: str) -> tuple[float, float]:
    """UNIX seconds of the start and end of ``day`` (YYYY-MM-DD, WIB); ValueError if malformed."""
    start = datetime.strptime(day, "%Y-%m-%d").replace(tzinfo=LOCAL)
    return start.timestamp(), (start + timedelta(days=1)).timestamp()


def today_start(now: float) -> float:
    """UNIX seconds of the WIB midnight that began the day holding ``now``."""
    return local(now).replace(hour=0, minute=0, second=0, microsecond=0).timestamp()


def last_opening(now: float) -> float:
    """The most recent opening (OPENING_HOUR WIB) at or before ``now``: yesterday's before it opens."""
    opening = local(now).replace(hour=OPENING_HOUR, minute=0, second=0, microsecond=0)
    if opening.timestamp() > now:
        opening -= timedelta(days=1)
    return opening.timestamp()


def early_span(now: float) -> tuple[float, float]:
    """Midnight to opening of the day of :func:`last_opening`: activity here widens the chart."""
    opening = last_opening(now)
    return opening - OPENING_HOUR * 3600, opening


def board_window(now: float, earliest_activity: float | None = None, bucket_minutes: int = BUCKET_MINUTES) -> tuple[float, float]:
    """Start and end (UNIX seconds, on bucket boundaries) of the board chart at ``now``.

    ``earliest_activity`` is the first stored transition in :func:`early_span`
    (None if there was none).
    """
    step = bucket_minutes * 60
    opening = last_opening(now)
    start = opening
    midnight, _ = early_span(now)
    if earliest_activity is not None and midnight <= earliest_activity < opening:
        start = midnight + ((earliest_activity - midnight) // step) * step
    closing = opening + (CLOSING_HOUR - OPENING_HOUR) * 3600
    end_of_now = start + ((now - start) // step + 1) * step
    return start, max(closing, end_of_now)


class RunningClock:
    """A clock that starts at a chosen instant and then runs at the real rate.

    ``Config(clock=RunningClock(t))`` runs a whole service "as if" it were
    ``t``: tests pick the time of day this way (never the machine's clock or
    time zone), and ``set`` jumps to another instant.
    """

    def __init__(self, start: float) -> None:
        self.set(start)

    def set(self, instant: float) -> None:
        """From now on the clock reads ``instant`` plus the real time elapsed since this call."""
        self._start = instant
        self._origin = time.monotonic()

    def __call__(self) -> float:
        return self._start + (time.monotonic() - self._origin)


def wib(text: str) -> float:
    """UNIX seconds of a WIB wall-clock time ``YYYY-MM-DD HH:MM`` (for tests, demos and scripts)."""
    return datetime.strptime(text, "%Y-%m-%d %H:%M").replace(tzinfo=LOCAL).timestamp()
