"""A booth offers exactly once each time its session enters ``connecting`` (docs/protocol.md).

The server counts media attempts in ``session.state`` (``attempt``) and never
tells a screen the same state twice in a row; the headless kiosk offers once
per attempt. Each way back to ``connecting`` is tried: an agent who returns
after the reconnect grace, a member transferred back to the same agent, a
media process that dies.
"""

from __future__ import annotations

import time
from collections import Counter

import pytest

from conftest import make_config, start_server
from helpers import close_all, make_room
from kiosk_client.client import MEDIA_STATES, HeadlessKiosk, until


def attempts_told(kiosk: HeadlessKiosk) -> list[tuple[str, int]]:
    """Each (session, attempt) the booth was told while it had an agent, in order, once."""
    seen = [(s["session_id"], s["attempt"]) for s in kiosk.states if s["state"] in MEDIA_STATES]
    return list(dict.fromkeys(seen))


def assert_one_offer_per_attempt(kiosk: HeadlessKiosk) -> None:
    assert Counter(kiosk.offers) == Counter(attempts_told(kiosk)), (kiosk.offers, kiosk.states)


def assert_no_repeated_state(kiosk: HeadlessKiosk) -> None:
    repeats = [a for a, b in zip(kiosk.states, kiosk.states[1:]) if a == b]
    assert repeats == [], f"told the same session.state twice in a row: {repeats}"


def tile_frames(agent, kiosk) -> int:
    return agent.tiles[agent.tile_of(kiosk.session_id)].frames


@pytest.mark.config(reconnect_grace=1.0)
async def test_an_agent_back_after_the_grace_gets_live_tiles_again(server):
    agent, kiosks = await make_room(server.url, 3)
    try:
        await agent.focus_all()
        await until(lambda: all(server.hub.storage.session(k.session_id).talking for k in kiosks), 5, "talk set stored")
        await agent.drop()
        # Away longer than the grace: the members go back to the queue (nobody else to serve them),
        # and a member without an agent is in nobody's talk set, also on record.
        for k in kiosks:
            await k.wait_state("waiting", 10)
        assert all(server.hub.state.session(k.session_id).state == "queued" for k in kiosks)
        assert not any(server.hub.storage.session(k.session_id).talking for k in kiosks)

        t0 = time.monotonic()
        await agent.reconnect()
        # Handed to the same agent again: each booth offers once, and the tiles are live.
        await until(lambda: sorted(agent.sessions()) == sorted(k.session_id for k in kiosks), 10, "the same members back")
        before = {k.session_id: tile_frames(agent, k) for k in kiosks}
        for k in kiosks:
            await k.wait_state("on_hold", 15)
        await until(lambda: all(tile_frames(agent, k) > before[k.session_id] + 3 for k in kiosks), 15, "live tiles")
        print(f"agent back after the grace: live tiles {time.monotonic() - t0:.2f}s after reconnecting")
        assert time.monotonic() - t0 < 10
        await agent.focus_all()
        for k in kiosks:
            await k.wait_state("talking", 5)
        frames = [k.video.frames for k in kiosks]
        await until(lambda: all(k.video.frames > f + 3 for k, f in zip(kiosks, frames)), 10, "the agent's video at the booths")
        for k in kiosks:
            assert len(attempts_told(k)) == 2  # first assignment, and again after the agent came back
            assert_one_offer_per_attempt(k)
            assert_no_repeated_state(k)
    finally:
        await close_all(*kiosks, agent)


async def test_a_member_transferred_back_to_the_same_agent_offers_again(server):
    agent, (kiosk, other) = await make_room(server.url, 2)
    try:
        # The only agent signed in serves every service: the member comes straight back to them.
        ack = await agent.call("session.transfer", {"session_id": kiosk.session_id, "service": "jkk"})
        assert ack["ok"], ack
        await until(lambda: any(s["state"] == "transferred" for s in kiosk.states), 5, "told of the transfer")
        await kiosk.wait_state("on_hold", 15)
        assert server.hub.state.session(kiosk.session_id).agent_id == "agent-1"
        before = tile_frames(agent, kiosk)
        await until(lambda: tile_frames(agent, kiosk) > before + 3, 10, "the member's video on a tile again")
        await agent.talk(kiosk.session_id)
        await kiosk.wait_state("talking", 5)
        frames = kiosk.video.frames
        await until(lambda: kiosk.video.frames > frames + 3, 10, "the agent's video at the booth again")
        assert len(attempts_told(kiosk)) == 2
        assert_one_offer_per_attempt(kiosk)
        for k in (kiosk, other):
            assert_no_repeated_state(k)
        assert len(other.offers) == 1, "the other member's media is not touched"
    finally:
        await close_all(kiosk, other, agent)


async def test_a_replaced_media_process_gets_one_offer_per_booth(tmp_path):
    import os
    import signal

    srv = await start_server(make_config(tmp_path, media_workers=1))
    try:
        agent, kiosks = await make_room(srv.url, 2)
        try:
            (pid,) = srv.hub.router.pids
            os.kill(pid, signal.SIGKILL)
            await until(lambda: srv.hub.router.pids and srv.hub.router.pids[0] != pid, 10, "a new worker process")
            await until(lambda: all(len(attempts_told(k)) == 2 for k in kiosks), 10, "a new attempt told")
            frames = [t.frames for t in agent.tiles[:2]]
            await until(lambda: all(agent.tiles[i].frames > frames[i] + 3 for i in range(2)), 20, "video again")
            for k in kiosks:
                await k.wait_state("on_hold", 10)
                assert_one_offer_per_attempt(k)
                assert_no_repeated_state(k)
        finally:
            await close_all(*kiosks, agent)
    finally:
        await srv.runner.cleanup()


async def test_a_connection_that_fails_at_the_server_gets_one_new_offer(server):
    agent, (kiosk, other) = await make_room(server.url, 2)
    try:
        # What the media router reports when it sees the booth's connection fail (its ICE
        # consent checks time out after about 30 s, too slow to wait for here).
        server.hub.on_media_event({"event": "peer.state", "room": "agent-1", "peer": kiosk.session_id, "state": "failed"})
        await until(lambda: len(attempts_told(kiosk)) == 2, 5, "a new attempt told")
        await kiosk.wait_state("on_hold", 15)
        before = tile_frames(agent, kiosk)
        await until(lambda: tile_frames(agent, kiosk) > before + 3, 10, "the member's video on its tile")
        assert server.hub.state.session(kiosk.session_id).state == "active"
        assert_one_offer_per_attempt(kiosk)
        assert_no_repeated_state(kiosk)
        assert len(other.offers) == 1, "the other member's media is not touched"
    finally:
        await close_all(kiosk, other, agent)
