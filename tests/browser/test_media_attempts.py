"""The kiosk page offers exactly once each time its session enters ``connecting`` (docs/protocol.md).

Three ways back to ``connecting`` with the same session id: the agent's
console is away longer than the reconnect grace and comes back (its members
were queued and handed to it again), a member transferred back to the same
agent, and a media worker process that dies (the console offers again on
``media.restart``). Each time the booth must offer once, and the console's
tiles must be live again within seconds.
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections import Counter

import pytest

from .harness import (
    AGENT_TONE,
    KIOSK_TONES,
    agent_ready,
    frames_advancing,
    start_server,
    start_session,
    wait_for,
    wait_state,
)

pytestmark = pytest.mark.asyncio(loop_scope="session")

MEDIA_STATES = ("connecting", "talking", "on_hold")
#: "Within seconds": the longest a member may stay off the console's tile (about 2 s here;
#: a page that waits for its old connection to time out instead takes 12 s or more).
BACK_LIVE_SECONDS = 8.0
#: The same after a media worker is replaced (2-5 s here; a console that waits for its old
#: connection to fail instead of answering media.restart takes about 20 s).
WORKER_BACK_SECONDS = 10.0


async def told(kiosk) -> list[dict]:
    """Every session.state the page received, in order (its support log)."""
    return await kiosk.evaluate(
        "window.lapakKiosk.log.filter((e) => e[1] === 'session.state').map((e) => e[2])"
    )


async def assert_one_offer_per_attempt(kiosk, attempts: int) -> None:
    states = await told(kiosk)
    repeats = [a for a, b in zip(states, states[1:]) if a == b]
    assert repeats == [], f"told the same session.state twice in a row: {repeats}"
    announced = list(dict.fromkeys(f"{s['session_id']}#{s['attempt']}" for s in states if s["state"] in MEDIA_STATES))
    offers = await kiosk.evaluate("window.lapakKiosk.offerLog")
    assert len(announced) == attempts, states
    assert Counter(offers) == Counter(announced), (offers, announced)


async def tile_of(agent, kiosk) -> int:
    session_id = await kiosk.evaluate("window.lapakKiosk.sessionId")
    return await wait_for(
        lambda: agent.evaluate(
            "(id) => window.lapakAgent.tiles.findIndex((t) => t && t.session_id === id) + 1", session_id
        ),
        message="the member on a tile",
    )


async def tiles_live(agent, kiosks) -> None:
    tiles = [await tile_of(agent, k) for k in kiosks]
    results = await asyncio.gather(*(frames_advancing(agent, f"#tile-{n} .tile-video") for n in tiles))
    return all(results)


async def open_room(server, pages, n):
    agent = await pages.open(server.agent_url(), AGENT_TONE, viewport=(1600, 900))
    await agent_ready(agent)
    kiosks = []
    for i in range(n):
        kiosk = await pages.open(server.kiosk_url(i), KIOSK_TONES[i])
        await start_session(kiosk)
        await wait_state(kiosk, "waiting", "connecting", "on_hold", "talking")
        kiosks.append(kiosk)
    await asyncio.gather(*(wait_state(k, "on_hold", timeout=30) for k in kiosks))
    await wait_for(lambda: tiles_live(agent, kiosks), timeout=20, message="live tiles")
    return agent, kiosks


async def test_console_back_after_the_grace_shows_live_tiles_again(pages, tmp_path):
    server = await start_server(tmp_path, reconnect_grace=1.5)
    try:
        agent, kiosks = await open_room(server, pages, 2)
        # The console's network drops for longer than the grace.
        await agent.evaluate("() => { const m = window.lapakAgent.socket.io; m.reconnection(false); m.engine.close(); }")
        await asyncio.gather(*(wait_state(k, "waiting", timeout=15) for k in kiosks))

        t0 = time.monotonic()
        await agent.evaluate("() => { const s = window.lapakAgent.socket; s.io.reconnection(true); s.connect(); }")
        await asyncio.gather(*(wait_state(k, "on_hold", timeout=20) for k in kiosks))
        await wait_for(lambda: tiles_live(agent, kiosks), timeout=20, message="live tiles after the agent came back")
        took = time.monotonic() - t0
        print(f"console back after the grace: live tiles {took:.2f}s after reconnecting")
        assert took < BACK_LIVE_SECONDS
        for k in kiosks:
            await assert_one_offer_per_attempt(k, 2)
    finally:
        await pages.close()
        await server.close()


async def test_a_member_transferred_back_to_the_same_agent_is_live_again(lapak, pages):
    agent, (kiosk,) = await open_room(lapak, pages, 1)
    tile = await tile_of(agent, kiosk)
    # Only this agent is signed in and serves every service: the member comes straight back.
    await agent.click(f"#tile-{tile} .tile-transfer")
    await agent.select_option("#transfer-to", "queue:jkk")
    t0 = time.monotonic()
    await agent.click("#transfer-confirm")
    await wait_for(lambda: kiosk.evaluate("window.lapakKiosk.log.some((e) => e[1] === 'session.state' && e[2].state === 'transferred')"),
                   message="the member told of the transfer")
    await wait_state(kiosk, "on_hold", timeout=20)
    await wait_for(lambda: tiles_live(agent, [kiosk]), timeout=20, message="the member's tile live again")
    took = time.monotonic() - t0
    print(f"transferred back to the same agent: live tile {took:.2f}s after the transfer")
    assert took < BACK_LIVE_SECONDS
    tile = await tile_of(agent, kiosk)
    await agent.click(f"#tile-{tile} .tile-talk")
    await wait_state(kiosk, "talking")
    await wait_for(lambda: frames_advancing(kiosk, "#agent-video"), timeout=15, message="the agent's video at the booth")
    await assert_one_offer_per_attempt(kiosk, 2)


async def test_a_replaced_media_process_gets_one_new_offer_from_console_and_booth(pages, tmp_path):
    server = await start_server(tmp_path, media_workers=1)
    try:
        agent, (kiosk,) = await open_room(server, pages, 1)
        offers = await agent.evaluate("window.lapakAgent.offers")
        (pid,) = server.hub.router.pids
        os.kill(pid, signal.SIGKILL)
        await wait_for(lambda: server.hub.router.pids and server.hub.router.pids[0] != pid, message="a new worker")
        t0 = time.monotonic()
        await wait_for(lambda: kiosk.evaluate("window.lapakKiosk.offerLog.length === 2"), message="the booth's new offer")
        await wait_for(lambda: tiles_live(agent, [kiosk]), timeout=20, message="the member's tile live again")
        took = time.monotonic() - t0
        print(f"media worker replaced: live tile {took:.2f}s after the new worker started")
        assert took < WORKER_BACK_SECONDS
        assert await agent.evaluate("window.lapakAgent.offers") == offers + 1
        await assert_one_offer_per_attempt(kiosk, 2)
    finally:
        await pages.close()
        await server.close()
