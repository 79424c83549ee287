"""Recording a member's interview: their video remuxed (not re-encoded), their voice and the agent's, nobody else's."""

from __future__ import annotations

import asyncio

import av
import numpy as np

from conftest import AGENT_TONE, KIOSK_TONES, make_config, start_server
from helpers import close_all, make_room
from kiosk_client.synthetic import identify_pattern, tone_levels


def analyse(path):
    with av.open(str(path)) as container:
        kinds = sorted(s.type for s in container.streams)
        codecs = {s.type: s.codec_context.name for s in container.streams}
        duration = container.duration / 1e6 if container.duration else 0.0
        frames = [f for f in container.decode(video=0)]
    with av.open(str(path)) as container:
        chunks = []
        for f in container.decode(audio=0):
            a = f.to_ndarray().astype(np.float32)
            a = a[0] if f.format.is_planar else a.reshape(-1)
            chunks.append(a if f.format.name.startswith("flt") else a / 32768)
        pcm = np.concatenate(chunks)
    return kinds, codecs, duration, frames, pcm


async def record_member(url, router_of, tmp_path, talk_to_member: bool, workers: bool = False):
    agent, kiosks = await make_room(url, 6)
    try:
        member = kiosks[2]
        if talk_to_member:
            await agent.focus([member.session_id])
        else:
            await agent.focus([kiosks[0].session_id])  # the agent talks to someone else meanwhile
        await asyncio.sleep(0.5)
        path = tmp_path / "interview.webm"
        router = router_of()
        await router.record_start(room_id="agent-1", peer_id=member.session_id, path=str(path))
        await asyncio.sleep(3.0)
        result = await router.record_stop(room_id="agent-1", peer_id=member.session_id)
        assert result["path"] == str(path) and 2.5 < result["seconds"] < 4.5
        return member, analyse(path)
    finally:
        await close_all(*kiosks, agent)


async def test_a_recording_holds_the_member_and_their_agent_and_nobody_else(server, tmp_path):
    member, (kinds, codecs, duration, frames, pcm) = await record_member(
        server.url, lambda: server.hub.router, tmp_path, talk_to_member=True
    )
    assert kinds == ["audio", "video"] and codecs == {"video": "vp8", "audio": "opus"}
    assert 2.0 < duration < 4.5
    assert len(frames) >= 15, "the member's video decodes"
    assert {identify_pattern(f) for f in frames} == {member.pattern}
    levels = tone_levels(pcm[-48000 * 2 :], [AGENT_TONE, *KIOSK_TONES.values()])
    assert levels[member.tone_hz] > 0.04 and levels[AGENT_TONE] > 0.04, levels
    others = {f: v for f, v in levels.items() if f not in (member.tone_hz, AGENT_TONE)}
    assert max(others.values()) < 0.01, f"another member's voice in the file: {others}"


async def test_what_the_agent_says_to_others_stays_out_of_a_held_members_recording(server, tmp_path):
    member, (kinds, codecs, duration, frames, pcm) = await record_member(
        server.url, lambda: server.hub.router, tmp_path, talk_to_member=False
    )
    levels = tone_levels(pcm[-48000 * 2 :], [AGENT_TONE, *KIOSK_TONES.values()])
    assert levels[member.tone_hz] > 0.04
    assert levels[AGENT_TONE] < 0.01, "the agent was talking to someone else"
    assert max(v for f, v in levels.items() if f not in (member.tone_hz,)) < 0.01


async def test_recording_through_a_media_worker_process(tmp_path):
    srv = await start_server(make_config(tmp_path, media_workers=1))
    try:
        member, (kinds, codecs, duration, frames, pcm) = await record_member(
            srv.url, lambda: srv.hub.router, tmp_path, talk_to_member=True
        )
        assert kinds == ["audio", "video"] and len(frames) >= 15
    finally:
        await srv.runner.cleanup()
