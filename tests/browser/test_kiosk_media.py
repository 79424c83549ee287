"""Kiosk page with the agent console: quality follows focus, reconnecting."""

from __future__ import annotations

import pytest

from .harness import (
    AGENT_TONE,
    KIOSK_TONES,
    agent_ready,
    frames_advancing,
    heard,
    outbound_video,
    spectrum,
    start_session,
    tile_sessions,
    wait_for,
    wait_state,
)

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def talking_pair(lapak, pages):
    agent = await pages.open(lapak.agent_url(), AGENT_TONE, viewport=(1600, 900))
    await agent_ready(agent)
    kiosk = await pages.open(lapak.kiosk_url(0), KIOSK_TONES[0])
    await start_session(kiosk)
    await wait_state(kiosk, "on_hold", "talking", timeout=30)
    await agent.click("#tile-1 .tile-talk")
    await wait_state(kiosk, "talking")
    return agent, kiosk


async def inbound_video(page):
    return await page.evaluate(
        """async () => {
          const stats = await window.lapakKiosk.pc.getStats();
          for (const s of stats.values()) {
            if (s.type === "inbound-rtp" && s.kind === "video") return {
              packets: s.packetsReceived, frames: s.framesReceived, decoded: s.framesDecoded,
              keyframes: s.keyFramesDecoded, pli: s.pliCount, fir: s.firCount, nack: s.nackCount };
          }
          return null;
        }"""
    )


async def frame_width(kiosk) -> int:
    stats = await outbound_video(kiosk)
    return stats["frameWidth"] if stats else 0


async def test_quality_follows_focus(lapak, pages):
    agent, kiosk = await talking_pair(lapak, pages)
    # Focused: full quality (the fake camera is 640x480).
    await wait_for(lambda: frame_width_at_least(kiosk, 480), timeout=20, message="full width")
    full = await frame_width(kiosk)

    # Held: the server asks the kiosk's own encoder to scale down by 4.
    await agent.click("#tile-1 .tile-hold")
    await wait_state(kiosk, "on_hold")
    await wait_for(lambda: kiosk.evaluate("document.body.dataset.quality === 'thumbnail'"), message="quality msg")
    await wait_for(lambda: frame_width_at_most(kiosk, full // 4), timeout=15, message="thumbnail width")
    params = await kiosk.evaluate(
        "window.lapakKiosk.videoSender.getParameters().encodings[0]"
    )
    assert params["scaleResolutionDownBy"] == 4 and params["maxBitrate"] == 150000
    assert await frames_advancing(agent, "#tile-1 .tile-video")  # still live, as a thumbnail

    # Focused again: back to full width.
    await agent.click("#tile-1 .tile-talk")
    await wait_state(kiosk, "talking")
    await wait_for(lambda: frame_width_at_least(kiosk, full), timeout=20, message="full width again")


async def frame_width_at_least(kiosk, width):
    return await frame_width(kiosk) >= width


async def frame_width_at_most(kiosk, width):
    w = await frame_width(kiosk)
    return 0 < w <= width


async def drop_and_reconnect(lapak, pages):
    agent, kiosk = await talking_pair(lapak, pages)
    session_id = await kiosk.evaluate("window.lapakKiosk.sessionId")
    generation = await kiosk.evaluate("window.lapakKiosk.pcGeneration")

    # The booth's network drops: the socket goes, the page says so.
    await kiosk.evaluate(
        "() => { const m = window.lapakKiosk.socket.io; m.reconnection(false); m.engine.close(); }"
    )
    await kiosk.wait_for_selector("#reconnecting:visible", timeout=5000)
    assert await kiosk.is_visible("text=Menyambungkan kembali")

    # It comes back: a new peer connection for the same session.
    await kiosk.evaluate("() => { const s = window.lapakKiosk.socket; s.io.reconnection(true); s.connect(); }")
    await kiosk.wait_for_selector("#reconnecting", state="hidden", timeout=20000)
    await wait_state(kiosk, "talking")
    assert await kiosk.evaluate("window.lapakKiosk.sessionId") == session_id
    assert await kiosk.evaluate("window.lapakKiosk.pcGeneration") > generation
    assert (await tile_sessions(agent))[0] == session_id
    return agent, kiosk


async def test_reconnect_returns_to_the_same_session(lapak, pages):
    agent, kiosk = await drop_and_reconnect(lapak, pages)
    # The member is seen and heard by the agent again.
    await wait_for(lambda: frames_advancing(agent, "#tile-1 .tile-video"), timeout=15, message="tile video back")
    await wait_for(lambda: _agent_hears_kiosk(agent), timeout=10, message="agent hears the member again")


async def _agent_hears_kiosk(agent):
    return heard(await spectrum(agent, [KIOSK_TONES[0]], ms=600), KIOSK_TONES[0])


async def test_reconnected_kiosk_receives_the_agent_again(lapak, pages):
    agent, kiosk = await drop_and_reconnect(lapak, pages)
    try:
        await wait_for(lambda: frames_advancing(kiosk, "#agent-video"), timeout=15, message="agent video back")
    except AssertionError as exc:
        raise AssertionError(f"{exc}; kiosk inbound video: {await inbound_video(kiosk)}") from None
    assert heard(await spectrum(kiosk, [AGENT_TONE]), AGENT_TONE)
