"""One agent, six members, privately: proven on the wire with real aiortc peers.

Every kiosk sends its own tone and colour pattern; what each peer receives is
decoded and analysed (FFT for tones, chroma for patterns).
"""

from __future__ import annotations

import asyncio
import logging
import random

import pytest
import pytest_asyncio

from conftest import AGENT_TONE, KIOSK_TONES, make_config, start_server
from helpers import (
    DecodeErrors,
    close_all,
    heard,
    hold_heard,
    kiosk_tones_in,
    listen,
    make_room,
)
from kiosk_client.client import until

pytestmark = pytest.mark.asyncio(loop_scope="module")


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def room(tmp_path_factory):
    decode_errors = DecodeErrors()
    logging.getLogger("aiortc.rtcrtpreceiver").addHandler(decode_errors)
    srv = await start_server(make_config(tmp_path_factory.mktemp("data")))
    agent, kiosks = await make_room(srv.url, 6)
    yield srv, agent, kiosks, decode_errors
    await close_all(*kiosks, agent)
    await srv.runner.cleanup()
    logging.getLogger("aiortc.rtcrtpreceiver").removeHandler(decode_errors)


async def test_agent_sees_six_live_videos_each_from_the_right_kiosk(room):
    srv, agent, kiosks, _ = room
    before = [t.frames for t in agent.tiles]
    await asyncio.sleep(1.0)
    for i, kiosk in enumerate(kiosks):
        tile = agent.tile_of(kiosk.session_id)
        assert agent.tiles[tile].frames > before[tile] + 3, f"tile {tile + 1} is not live"
        assert agent.tiles[tile].last_pattern == kiosk.pattern, f"tile {tile + 1} shows the wrong kiosk"
    assert len({agent.tile_of(k.session_id) for k in kiosks}) == 6


async def test_focus_on_one_member_is_private(room):
    srv, agent, kiosks, _ = room
    focused = kiosks[2]
    ack = await agent.focus([focused.session_id])
    assert ack["ok"]
    await until(lambda: focused.state == "talking", 5, "focused kiosk talking")
    await until(lambda: all(k.state == "on_hold" for k in kiosks if k is not focused), 5, "others on hold")
    levels = await listen([agent.audio] + [k.audio for k in kiosks])
    agent_levels, kiosk_levels = levels[0], levels[1:]
    # The agent hears that member only.
    assert heard(agent_levels) & set(KIOSK_TONES.values()) == {focused.tone_hz}
    # That member hears the agent; nobody else.
    assert AGENT_TONE in heard(kiosk_levels[2])
    for i, lv in enumerate(kiosk_levels):
        assert kiosk_tones_in(lv) == {}, f"kiosk {i + 1} hears another kiosk: {lv}"
        if i != 2:
            assert lv[AGENT_TONE] < 0.01, f"held kiosk {i + 1} hears the agent"
            assert hold_heard(lv), f"held kiosk {i + 1} does not hear hold audio"
    # Video: the focused member sees the agent; held members get no video.
    frames = [k.video.frames for k in kiosks]
    await asyncio.sleep(0.6)
    assert kiosks[2].video.frames > frames[2]
    assert kiosks[2].video.last_pattern == 0
    for i, k in enumerate(kiosks):
        if i != 2:
            assert k.video.frames == frames[i], f"held kiosk {i + 1} still receives video"


async def test_talk_to_all_mixes_for_the_agent_and_keeps_members_apart(room):
    srv, agent, kiosks, _ = room
    assert (await agent.focus_all())["ok"]
    await until(lambda: all(k.state == "talking" for k in kiosks), 5, "all talking")
    levels = await listen([agent.audio] + [k.audio for k in kiosks])
    assert set(KIOSK_TONES[i] for i in range(1, 7)) <= heard(levels[0]), f"agent mix: {levels[0]}"
    for i, lv in enumerate(levels[1:]):
        assert AGENT_TONE in heard(lv), f"kiosk {i + 1} does not hear the agent"
        assert kiosk_tones_in(lv) == {}, f"kiosk {i + 1} hears another kiosk: {lv}"
        assert not hold_heard(lv)
    await asyncio.sleep(0.5)
    for k in kiosks:
        assert k.video.last_pattern == 0, "a kiosk receives video that is not the agent's"


async def test_a_member_switched_to_focus_gets_a_decodable_keyframe_first(room):
    srv, agent, kiosks, decode_errors = room
    # Everyone gets the agent's video afresh once, then everyone is held.
    await agent.focus([])
    await until(lambda: all(k.state == "on_hold" for k in kiosks), 5, "all on hold")
    await asyncio.sleep(0.5)  # frames go by unseen: the next video each gets is a fresh start
    before = [len(k.video_starts.starts) for k in kiosks]
    await agent.focus_all()
    await until(lambda: all(len(k.video_starts.starts) > n for k, n in zip(kiosks, before)), 5, "agent video at all")
    await agent.focus([])
    await until(lambda: all(k.state == "on_hold" for k in kiosks), 5, "all on hold")
    await asyncio.sleep(0.5)
    target = kiosks[5]
    target.video.reset()
    frames_before = target.video.frames
    starts_before = len(target.video_starts.starts)
    await agent.focus([target.session_id])
    await until(lambda: target.video.frames > frames_before, 5, "first frame after focus")
    assert len(target.video_starts.starts) == starts_before + 1
    # Every fresh start of video at every peer in this room so far (every connection,
    # every switch) began with a keyframe, and no peer failed to decode a frame.
    for k in kiosks:
        assert k.video_starts.starts and not k.video_starts.bad, f"{k.token}: {k.video_starts.starts}"
        assert k.video_starts.torn == 0
    for tile in agent.tile_starts:
        assert tile.starts and not tile.bad and tile.torn == 0, tile.starts
    assert decode_errors.count == 0
    assert target.video.last_pattern == 0


async def test_randomized_focus_changes_never_leak_between_members(room):
    srv, agent, kiosks, _ = room
    rng = random.Random(20261125)
    for step in range(4):
        chosen = [k for k in kiosks if rng.random() < 0.5]
        if step == 2:
            await agent.focus_all()
            chosen = list(kiosks)
        else:
            await agent.focus([k.session_id for k in chosen])
        levels = await listen([agent.audio] + [k.audio for k in kiosks], seconds=0.8)
        assert heard(levels[0]) & set(KIOSK_TONES.values()) == {k.tone_hz for k in chosen}
        for k, lv in zip(kiosks, levels[1:]):
            assert kiosk_tones_in(lv) == {}, f"step {step}: {k.token} hears another kiosk {lv}"
            if k in chosen:
                assert AGENT_TONE in heard(lv)
            else:
                assert lv[AGENT_TONE] < 0.01 and hold_heard(lv)
        # And as data: the router's room state matches, and holds the invariant.
        stats = await srv.hub.router.stats()
        peers = stats["rooms"]["agent-1"]["peers"]
        for k in kiosks:
            sources = {o["source"] for o in peers[k.session_id]["out"]} - {None}
            assert sources <= {"agent-1:audio", "agent-1:video", "hold"}
