"""Sessions coming and going: capacity, a vanishing kiosk, ending, workers."""

from __future__ import annotations

import asyncio

import pytest

from conftest import make_config, start_server
from helpers import close_all, heard, kiosk_tones_in, listen, make_kiosk, make_room
from kiosk_client.client import until


@pytest.mark.config(reconnect_grace=1.0)
async def test_a_vanished_kiosk_frees_its_tile_and_the_others_go_on(server):
    agent, kiosks = await make_room(server.url, 3)
    try:
        await agent.focus_all()
        gone, stay = kiosks[1], [kiosks[0], kiosks[2]]
        gone_tile = agent.tile_of(gone.session_id)
        await gone.vanish()
        await until(lambda: gone.session_id not in agent.sessions(), 10, "the vanished kiosk's tile freed")
        assert agent.room["tiles"][gone_tile] is None
        session = server.hub.storage.session(gone.session_id)
        assert session.state == "failed" and session.reason == "member_disconnected"
        # The others are untouched: still talking, still live, still private.
        assert all(k.state == "talking" for k in stay)
        frames = [agent.tiles[agent.tile_of(k.session_id)].frames for k in stay]
        levels = await listen([agent.audio] + [k.audio for k in stay])
        assert {k.tone_hz for k in stay} <= heard(levels[0])
        assert gone.tone_hz not in heard(levels[0])
        for k, lv in zip(stay, levels[1:]):
            assert 450.0 in heard(lv) and kiosk_tones_in(lv) == {}
        for k, before in zip(stay, frames):
            assert agent.tiles[agent.tile_of(k.session_id)].frames > before
    finally:
        await close_all(*kiosks, agent)


async def test_a_seventh_member_waits_with_a_position_and_gets_the_freed_tile(server):
    agent, kiosks = await make_room(server.url, 6)
    seventh = None
    try:
        seventh = await make_kiosk(server.url, 7)
        await seventh.wait_state("waiting", 5)
        assert seventh.states[-1]["position"] == 1
        assert len(agent.sessions()) == 6 and seventh.session_id not in agent.sessions()
        await asyncio.sleep(0.5)
        assert seventh.pc is None, "a waiting member must not be connected to any media"
        # The agent ends one session: the waiting member takes that tile.
        leaving = kiosks[3]
        tile = agent.tile_of(leaving.session_id)
        assert (await agent.end(leaving.session_id, "resolved", "claim explained"))["ok"]
        await leaving.wait_state("ended", 5)
        await seventh.wait_state("on_hold", 20)
        assert agent.tile_of(seventh.session_id) == tile
        await until(lambda: agent.tiles[tile].last_pattern == 7, 10, "the new member's video on the freed tile")
        record = server.hub.storage.session(leaving.session_id)
        assert (record.state, record.outcome, record.note) == ("closed", "resolved", "claim explained")
        states = [t[1] for t in server.hub.storage.transitions(leaving.session_id)]
        assert states == ["requested", "queued", "assigned", "connecting", "active", "wrap_up", "closed"]
    finally:
        await close_all(*kiosks, *(k for k in [seventh] if k), agent)


async def test_a_member_who_leaves_is_told_and_the_agent_sees_the_tile_free(server):
    agent, kiosks = await make_room(server.url, 2)
    try:
        ack = await kiosks[0].leave()
        assert ack["ok"]
        await kiosks[0].wait_state("ended", 5)
        assert kiosks[0].states[-1]["reason"] == "member_left"
        await until(lambda: len(agent.sessions()) == 1, 5, "tile freed")
    finally:
        await close_all(*kiosks, agent)


async def test_media_worker_processes_carry_a_private_room(tmp_path):
    srv = await start_server(make_config(tmp_path, media_workers=2))
    try:
        agent, kiosks = await make_room(srv.url, 2)
        try:
            await agent.focus([kiosks[0].session_id])
            levels = await listen([agent.audio] + [k.audio for k in kiosks])
            assert heard(levels[0]) & {600.0, 750.0} == {600.0}
            assert 450.0 in heard(levels[1]) and kiosk_tones_in(levels[1]) == {}
            assert kiosk_tones_in(levels[2]) == {} and levels[2][450.0] < 0.01
            stats = await srv.hub.router.stats()
            assert len(stats["workers"]) == 2 and "agent-1" in stats["rooms"]
        finally:
            await close_all(*kiosks, agent)
    finally:
        await srv.runner.cleanup()


async def test_the_agent_sees_who_is_speaking(server):
    from helpers import SMALL, make_agent
    from kiosk_client.client import HeadlessKiosk

    agent = await make_agent(server.url)
    loud = HeadlessKiosk(server.url, "kiosk-token-1", tone_hz=600.0, pattern=1, **SMALL)
    quiet = HeadlessKiosk(server.url, "kiosk-token-2", tone_hz=750.0, tone_amplitude=0.0005, pattern=2, **SMALL)
    try:
        for k in (loud, quiet):
            await k.connect()
            await k.request("jht")
            await k.wait_state("on_hold", 20)
        await until(
            lambda: agent.levels.get(loud.session_id, 0) > 0.5 and quiet.session_id in agent.levels, 10, "speaking levels"
        )
        assert agent.levels[quiet.session_id] < 0.2, agent.levels
        assert set(agent.levels) <= set(agent.sessions())
    finally:
        await close_all(loud, quiet, agent)


async def test_a_media_worker_that_dies_is_replaced_and_its_room_reconnects(tmp_path):
    import os
    import signal

    srv = await start_server(make_config(tmp_path, media_workers=1))
    try:
        agent, kiosks = await make_room(srv.url, 2)
        try:
            (pid,) = srv.hub.router.pids
            os.kill(pid, signal.SIGKILL)
            await until(lambda: srv.hub.router.pids and srv.hub.router.pids[0] != pid, 10, "a new worker process")
            frames = [t.frames for t in agent.tiles[:2]]
            await until(lambda: all(agent.tiles[i].frames > frames[i] + 3 for i in range(2)), 20, "video again")
            for k in kiosks:
                await k.wait_state("on_hold", 10)
            await agent.focus([kiosks[0].session_id])
            levels = await listen([agent.audio, kiosks[0].audio, kiosks[1].audio])
            assert heard(levels[0]) & {600.0, 750.0} == {600.0}
            assert 450.0 in heard(levels[1]) and kiosk_tones_in(levels[2]) == {}
            states = [t[1] for t in srv.hub.storage.transitions(kiosks[0].session_id)]
            assert states[-2:] == ["connecting", "active"]
        finally:
            await close_all(*kiosks, agent)
    finally:
        await srv.runner.cleanup()
