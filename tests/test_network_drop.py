"""A kiosk whose network drops comes back to the same session; the agent's other sessions never notice."""

from __future__ import annotations

import asyncio
import time

import pytest

from helpers import close_all, heard, kiosk_tones_in, listen, make_room
from kiosk_client.client import until


def live(agent, kiosk) -> int:
    return agent.tiles[agent.tile_of(kiosk.session_id)].frames


@pytest.mark.config(reconnect_grace=4.0)
async def test_a_dropped_kiosk_resumes_its_session_and_the_others_are_untouched(server):
    agent, kiosks = await make_room(server.url, 4)
    try:
        await agent.focus_all()
        dropped, others = kiosks[1], [kiosks[0], kiosks[2], kiosks[3]]
        session_id, tile = dropped.session_id, agent.tile_of(dropped.session_id)
        router_before = (await server.hub.router.stats())["rooms"]["agent-1"]["peers"]

        # Watch the others' video at the agent all through the drop.
        samples: list[list[int]] = []

        async def watch():
            while True:
                samples.append([live(agent, k) for k in others])
                await asyncio.sleep(0.25)

        watcher = asyncio.ensure_future(watch())
        await dropped.vanish()
        await asyncio.sleep(1.5)
        assert session_id in agent.sessions(), "the tile is kept during the grace period"
        assert server.hub.state.session(session_id).state in ("active", "connecting")

        frames_at_return = agent.tiles[tile].frames
        t0 = time.monotonic()
        await dropped.reconnect()
        await until(lambda: agent.tiles[tile].frames > frames_at_return + 2, 15, "the member's video back at the agent")
        resume = time.monotonic() - t0
        print(f"resume after a network drop: {resume * 1000:.0f} ms from reconnect to frames at the agent")
        watcher.cancel()

        assert dropped.session_id == session_id and agent.tile_of(session_id) == tile
        await dropped.wait_state("talking", 5)
        # The others never stalled: their frame counts rose in every second of the drop.
        for i in range(len(others)):
            series = [s[i] for s in samples]
            for a, b in zip(series, series[4:]):
                assert b > a, f"kiosk {others[i].token} stalled during another member's drop"
        # Their peers were never replaced or touched, and privacy holds after the return.
        router_after = (await server.hub.router.stats())["rooms"]["agent-1"]["peers"]
        for k in others:
            assert router_after[k.session_id]["in"]["video"]["packets"] > router_before[k.session_id]["in"]["video"]["packets"]
        levels = await listen([agent.audio] + [k.audio for k in kiosks])
        assert {k.tone_hz for k in kiosks} <= heard(levels[0])
        for lv in levels[1:]:
            assert 450.0 in heard(lv) and kiosk_tones_in(lv) == {}
        states = [t[1] for t in server.hub.storage.transitions(session_id)]
        assert states[-2:] == ["connecting", "active"], states
    finally:
        await close_all(*kiosks, agent)


@pytest.mark.config(reconnect_grace=1.5)
async def test_a_dropped_kiosk_that_does_not_return_is_closed_as_failed(server):
    agent, kiosks = await make_room(server.url, 2)
    try:
        gone = kiosks[0]
        await gone.vanish()
        await until(lambda: gone.session_id not in agent.sessions(), 10, "the tile freed after the grace period")
        record = server.hub.storage.session(gone.session_id)
        assert (record.state, record.reason) == ("failed", "member_disconnected")
        assert kiosks[1].session_id in agent.sessions()
    finally:
        await close_all(*kiosks, agent)
