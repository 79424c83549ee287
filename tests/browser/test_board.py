"""The supervisor's live board in real headless Chromium, by day and at night.

The server's clock is injected (``Config.clock``), so the board is tried at
10:30 on a Monday and at 02:00 at night whatever this machine's clock, date
or time zone say (run the suite under faketime to see it: README, "Tests").
"""

from __future__ import annotations

import pytest

from agent_console.client import HeadlessAgent
from signaling.core.daytime import wib

from .harness import wait_for
from .staff import PASSWORD, _eq, accounts, close_all, connected_kiosk, no_page_errors, sign_in, text_of

pytestmark = [
    pytest.mark.asyncio(loop_scope="session"),
    # server/auth.py stores the user as request["user"] (a str key): aiohttp warns; not ours to change.
    pytest.mark.filterwarnings("ignore:It is recommended to use web.RequestKey"),
]


@pytest.mark.parametrize(
    ("now", "earlier", "title", "window"),
    [
        # A Monday morning: today's service hours, with the morning's first member on it.
        ("2026-11-30 10:30", "2026-11-30 08:55", "Hari ini", ("2026-11-30 07:00", "2026-11-30 18:00")),
        # 02:00 at night: since yesterday's opening, with the evening's member on it.
        ("2026-11-30 02:00", "2026-11-29 19:55", "Sejak kemarin 07.00", ("2026-11-29 07:00", "2026-11-30 02:15")),
    ],
    ids=["day", "night"],
)
async def test_supervisor_board_updates_live(lapak, pages, now, earlier, title, window):
    accounts(lapak).add_user("spv", PASSWORD, "supervisor", name="Ratna Dewi")
    clock = lapak.config.clock
    # Earlier on: a member waits ten minutes for Budi, who serves them for a quarter of an hour.
    clock.set(wib(earlier))
    before = await connected_kiosk(lapak, lapak.kiosk_tokens[1])
    budi = HeadlessAgent(lapak.url, lapak.agent_tokens[1])
    await before.request("jkk")
    clock.set(wib(earlier) + 600)
    await budi.connect(media=False)
    await budi.wait_sessions(1)
    clock.set(wib(earlier) + 1500)
    assert (await budi.end(before.session_id, "resolved"))["ok"]
    await close_all(pages, before, budi)

    clock.set(wib(now))
    kiosk = await connected_kiosk(lapak, lapak.kiosk_tokens[0])
    agent = HeadlessAgent(lapak.url, lapak.agent_tokens[0])
    try:
        page = await sign_in(pages, lapak, "/supervisor", "spv")
        await wait_for(lambda: page.evaluate("window.lapakBoard.boards > 0"), message="first board.state")
        assert await text_of(page, "#total-waiting") == "0"
        assert await text_of(page, '[data-queue="jht"] .waiting') == "0"

        await kiosk.request("jht")  # no agent online: it waits
        await wait_for(lambda: _eq(text_of(page, "#total-waiting"), "1"), message="waiting 0 -> 1")
        assert await text_of(page, '[data-queue="jht"] .waiting') == "1"

        await agent.connect(media=False)  # the dispatcher assigns the waiting member
        await wait_for(lambda: _eq(text_of(page, "#total-waiting"), "0"), message="waiting 1 -> 0")
        in_progress = '[data-agent="agent-1"] .in-progress'
        await wait_for(
            lambda: page.evaluate("(s) => document.querySelector(s)?.dataset.value", in_progress),
            message="agent row",
        )
        await wait_for(
            lambda: _eq(page.evaluate("(s) => document.querySelector(s).dataset.value", in_progress), "1"),
            message="agent in progress 0 -> 1",
        )
        assert await text_of(page, "#total-in-progress") == "1"
        assert "1 dari 6" in await text_of(page, in_progress)

        # The chart (SVG from /api/day) spans the window the server's clock gives, whatever
        # this machine's clock says, and draws both series with the earlier member on them.
        await wait_for(lambda: page.evaluate("window.lapakBoard.dayLoads > 0"), message="day chart")
        chart = await page.evaluate(
            """() => {
              const svg = document.querySelector('#day-chart svg');
              const path = (s) => svg.querySelector(`path[data-series=${s}]`);
              const series = (s) => path(s) && { points: +path(s).dataset.points, max: +path(s).dataset.max };
              return { start: +svg.dataset.start, end: +svg.dataset.end, waiting: series('waiting'),
                       busy: series('in_progress'), midnights: svg.querySelectorAll('.midnight').length,
                       title: document.getElementById('chart-title').textContent,
                       firstTick: svg.querySelector('[data-tick]').textContent };
            }"""
        )
        assert (chart["start"], chart["end"]) == (wib(window[0]), wib(window[1])), chart
        assert chart["title"] == title
        assert chart["firstTick"] == "07.00"
        quarters = int((wib(now) - wib(window[0])) // 900) + 1  # every quarter hour from the start to now
        for name in ("waiting", "busy"):
            assert chart[name] is not None, f"no {name} series drawn: {chart}"
            assert chart[name]["points"] >= quarters, chart
            assert chart[name]["max"] >= 1, chart  # the earlier member waited, then was served
        assert chart["midnights"] == (1 if window[0][:10] != window[1][:10] else 0)
        # The language toggle re-renders without a reload.
        await page.click("#lang-toggle")
        assert "1 of 6" in await text_of(page, in_progress)
        assert await text_of(page, "#chart-title") == ("Today" if title == "Hari ini" else "Since yesterday 07:00")
        no_page_errors(page)
    finally:
        await close_all(pages, kiosk, agent)
