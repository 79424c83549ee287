"""Every fresh start of video a recipient gets is a keyframe: after every switch, gap and new connection.

Real aiortc peers through the real server. Each recipient records every
point where its video starts afresh (``kiosk_client/video_starts.py``: the
first packet of each connection, and every packet whose VP8 picture id does
not follow the previous one) and whether that packet begins a keyframe.
After each action the test waits until the recipients concerned recorded a
new start, so every action is checked, and then checks all of them.
"""

from __future__ import annotations

import asyncio
import logging
import struct

from aiortc.rtp import is_rtcp

from helpers import DecodeErrors, close_all, make_room
from kiosk_client.client import until


def starts(probe) -> int:
    return len(probe.starts)


async def wait_new_starts(pairs, what: str, timeout: float = 10.0) -> None:
    """Wait until each (VideoStarts, count before) recorded at least one more start."""
    await until(lambda: all(starts(p) > n for p, n in pairs), timeout, what)


def drop_upstream(pc, index: int, count: int) -> None:
    """Lose the next ``count`` RTP packets the transceiver ``index`` sends, before they reach the router."""
    sender = pc.getTransceivers()[index].sender
    transport = sender.transport
    original = transport._send_rtp
    left = [count]

    async def send(data: bytes) -> None:
        if left[0] and not is_rtcp(data) and struct.unpack_from("!L", data, 8)[0] == sender._ssrc:
            left[0] -= 1
            return
        await original(data)

    transport._send_rtp = send


async def test_every_switch_gap_and_new_connection_starts_at_a_keyframe(server):
    decode_errors = DecodeErrors()
    logging.getLogger("aiortc.rtcrtpreceiver").addHandler(decode_errors)
    agent, kiosks = await make_room(server.url, 6)
    tiles = {k: agent.tile_starts[agent.tile_of(k.session_id)] for k in kiosks}
    checked = 0
    try:
        # Switches: members focused in turn get the agent's video afresh, twice each.
        for turn in range(2):
            for k in kiosks:
                before = starts(k.video_starts)
                assert (await agent.focus([k.session_id]))["ok"]
                await wait_new_starts([(k.video_starts, before)], f"agent video at {k.token} (turn {turn})")
                checked += 1
        assert (await agent.focus_all())["ok"]
        await until(lambda: all(k.video.frames > 0 and k.state == "talking" for k in kiosks), 10, "all talking")

        # Gaps before the router: a member's camera loses packets, then the agent's.
        for k in kiosks:
            before = starts(tiles[k])
            drop_upstream(k.pc, 1, 4)
            await wait_new_starts([(tiles[k], before)], f"{k.token}'s video after a gap")
            checked += 1
        before = [(k.video_starts, starts(k.video_starts)) for k in kiosks]
        drop_upstream(agent.pc, 1, 4)
        await wait_new_starts(before, "the agent's video after a gap at every member")
        checked += len(before)

        # New connections of the agent: every tile and every member starts afresh.
        for _ in range(2):
            before = [(t, starts(t)) for t in tiles.values()] + [(k.video_starts, starts(k.video_starts)) for k in kiosks]
            await agent.start_media()
            await wait_new_starts(before, "video everywhere after the agent's new connection", 15)
            checked += len(before)

        # New connections of the members, all at once: each gets the agent afresh, the agent each of them.
        for _ in range(2):
            before = [(t, starts(t)) for t in tiles.values()] + [(k.video_starts, starts(k.video_starts)) for k in kiosks]
            await asyncio.gather(*(k.start_media() for k in kiosks))
            await wait_new_starts(before, "video everywhere after the members' new connections", 15)
            checked += len(before)

        await asyncio.sleep(0.5)  # let any late, wrong start arrive too
        report = {k.token: (k.video_starts.starts, tiles[k].starts) for k in kiosks}
        for k in kiosks:
            assert not k.video_starts.bad, f"{k.token} got video starting without a keyframe: {report[k.token][0]}"
            assert not tiles[k].bad, f"the agent's tile of {k.token} started without a keyframe: {report[k.token][1]}"
            assert k.video_starts.torn == 0 and tiles[k].torn == 0
        total = sum(len(k.video_starts.starts) + len(tiles[k].starts) for k in kiosks)
        assert total >= checked == 12 + 6 + 6 + 2 * 12 + 2 * 12
        assert decode_errors.count == 0
    finally:
        logging.getLogger("aiortc.rtcrtpreceiver").removeHandler(decode_errors)
        await close_all(*kiosks, agent)
