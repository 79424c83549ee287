"""The board's day chart and "today" follow the service's injected clock, by day and at night.

The window rule (signaling/core/daytime.py, docs/queue.md): today's service hours
(07:00-18:00 WIB) by day; at night, everything since yesterday's opening, so
a supervisor at 02:00 sees the evening's surge. Times here are WIB wall-clock
times turned into UNIX seconds; nothing reads the machine's clock or zone.
"""

from __future__ import annotations

import aiohttp
import pytest

from helpers import SMALL, close_all, make_agent
from kiosk_client.client import HeadlessKiosk
from signaling.core.daytime import board_window, local, wib
from signaling.board import board_view
from test_authorization import sign_in, setup_accounts


def hhmm(unix: float) -> str:
    return local(unix).strftime("%a %H:%M")


@pytest.mark.parametrize(
    ("now", "activity", "start", "end"),
    [
        ("2026-11-30 10:30", None, "Mon 07:00", "Mon 18:00"),  # Monday morning: the service hours
        ("2026-11-30 07:00", None, "Mon 07:00", "Mon 18:00"),  # opening time exactly
        ("2026-11-30 20:10", None, "Mon 07:00", "Mon 20:15"),  # a late evening: up to now
        ("2026-11-30 02:00", None, "Sun 07:00", "Mon 02:15"),  # at night: since yesterday's opening
        ("2026-11-30 06:59", None, "Sun 07:00", "Mon 07:00"),  # just before opening
        ("2026-11-28 23:00", None, "Sat 07:00", "Sat 23:15"),  # a Saturday night
        ("2026-11-30 10:30", "2026-11-30 05:20", "Mon 05:15", "Mon 18:00"),  # an early surge widens it
        ("2026-11-30 02:00", "2026-11-29 05:20", "Sun 05:15", "Mon 02:15"),
        ("2026-11-30 10:30", "2026-11-29 23:00", "Mon 07:00", "Mon 18:00"),  # yesterday's night is not today's
    ],
)
def test_board_window(now, activity, start, end):
    s, e = board_window(wib(now), wib(activity) if activity else None)
    assert (hhmm(s), hhmm(e)) == (start, end)


async def _supervisor_day(server) -> dict:
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        await sign_in(http, server.url, "boss")
        async with http.get(server.url + "/api/day") as r:
            assert r.status == 200
            return await r.json()


def _at(series: dict, when: str) -> int:
    return series["times"].index(wib(when))


async def test_at_night_the_chart_shows_the_evening_and_today_starts_at_midnight(server):
    """A Sunday evening surge, seen by a supervisor at 02:00 on Monday."""
    setup_accounts(server.hub)
    clock = server.config.clock
    kiosk = HeadlessKiosk(server.url, "kiosk-token-3", **SMALL)
    agent = None
    try:
        await kiosk.connect()
        clock.set(wib("2026-11-29 19:55"))
        await kiosk.request("jht")  # 19:55: waits, nobody is online
        clock.set(wib("2026-11-29 20:05"))
        agent = await make_agent(server.url)  # 20:05: assigned after ten minutes, media up
        await kiosk.wait_state("on_hold", 20)
        clock.set(wib("2026-11-29 20:20"))
        assert (await agent.end(kiosk.session_id, "resolved"))["ok"]  # 20:20: served to the end
        await kiosk.wait_state("ended", 10)
        (row,) = [a for a in board_view(server.hub)["agents"] if a["agent_id"] == "agent-1"]
        assert row["handled_today"] == 1  # on Sunday

        clock.set(wib("2026-11-30 02:00"))  # the supervisor opens the board at night
        (row,) = [a for a in board_view(server.hub)["agents"] if a["agent_id"] == "agent-1"]
        assert row["handled_today"] == 0  # a new WIB day began at midnight
        series = await _supervisor_day(server)
        assert (series["start"], series["end"]) == (wib("2026-11-29 07:00"), wib("2026-11-30 02:15"))
        assert series["day"] == "2026-11-29" and series["service_hours"] == [7, 18]
        assert series["waiting"][_at(series, "2026-11-29 20:00")] == 1
        assert series["in_progress"][_at(series, "2026-11-29 20:15")] == 1
        assert series["mean_wait_seconds"][_at(series, "2026-11-29 20:00")] == pytest.approx(600, abs=30)
        # Nineteen hours of quarter hours, 07:00 to 02:00, each with a value.
        assert len(series["times"]) == 19 * 4 + 1 and None not in series["waiting"]
    finally:
        await close_all(kiosk, *([agent] if agent else []))


async def test_by_day_the_chart_covers_the_service_hours(server):
    setup_accounts(server.hub)
    server.config.clock.set(wib("2026-11-30 10:30"))
    series = await _supervisor_day(server)
    assert (series["start"], series["end"]) == (wib("2026-11-30 07:00"), wib("2026-11-30 18:00"))
    assert series["waiting"][_at(series, "2026-11-30 10:30")] == 0
    assert series["waiting"][_at(series, "2026-11-30 10:45")] is None
    # A whole day on request, and a clear error for a bad one.
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        await sign_in(http, server.url, "boss")
        async with http.get(server.url + "/api/day?day=2026-11-29") as r:
            whole = await r.json()
        assert (whole["start"], whole["end"]) == (wib("2026-11-29 00:00"), wib("2026-11-30 00:00"))
        assert len(whole["times"]) == 96 and None not in whole["waiting"]
        async with http.get(server.url + "/api/day?day=29-11-2026") as r:
            assert r.status == 400 and (await r.json())["error"]["code"] == "invalid_payload"
