"""Browsers and headless Python clients in one room, through the real server.

Browser kiosks with a headless agent (agent_console.client), and a browser
agent with headless kiosks (kiosk_client.client): both speak the same
protocol, so each side must see, hear and keep private what the other sends.
"""

from __future__ import annotations

import asyncio

import pytest

from .harness import (
    AGENT_TONE,
    HOLD_NOTES,
    KIOSK_TONES,
    absent,
    agent_ready,
    frames_advancing,
    heard,
    hears_hold_music,
    spectrum,
    start_session,
    tile_sessions,
    wait_for,
    wait_state,
)

client_agent = pytest.importorskip("agent_console.client")
client_kiosk = pytest.importorskip("kiosk_client.client")

pytestmark = pytest.mark.asyncio(loop_scope="session")

#: Amplitude (of full scale) above which a headless probe hears a tone, and below which it does not.
PROBE_HEARD = 0.04
PROBE_SILENT = 0.01
TONES = [AGENT_TONE, *KIOSK_TONES, *HOLD_NOTES]


async def probe_levels(probe, seconds=1.2, settle=1.5):
    await asyncio.sleep(settle)
    probe.clear()
    await asyncio.sleep(seconds)
    return probe.levels(TONES, seconds)


async def test_browser_kiosks_with_headless_agent(lapak, pages):
    agent = client_agent.HeadlessAgent(lapak.url, lapak.agent_tokens[0], tone_hz=AGENT_TONE, width=320, height=240)
    try:
        await agent.connect()
        k1 = await pages.open(lapak.kiosk_url(0), KIOSK_TONES[0])
        await start_session(k1)
        await wait_state(k1, "waiting", "connecting", "on_hold")
        k2 = await pages.open(lapak.kiosk_url(1), KIOSK_TONES[1])
        await start_session(k2, "jkm")
        await wait_state(k1, "on_hold", timeout=30)
        await wait_state(k2, "on_hold", timeout=30)
        await agent.wait_sessions(2)
        s1, s2 = agent.sessions()
        assert s1 == await k1.evaluate("window.lapakKiosk.sessionId")
        # The headless agent decodes both browsers' VP8 video.
        await wait_for(lambda: all(t.frames > 5 for t in agent.tiles[:2]), timeout=20, message="browser video")

        assert (await agent.talk(s1))["ok"]
        await wait_state(k1, "talking")
        await wait_state(k2, "on_hold")
        await wait_for(lambda: frames_advancing(k1, "#agent-video"), timeout=15, message="agent video in browser")
        a, h1, h2 = await asyncio.gather(
            probe_levels(agent.audio),
            spectrum(k1, TONES, ms=900),
            spectrum(k2, TONES, ms=900),
        )
        assert a[KIOSK_TONES[0]] > PROBE_HEARD, a
        assert a[KIOSK_TONES[1]] < PROBE_SILENT, a
        assert heard(h1, AGENT_TONE) and absent(h1, KIOSK_TONES[1]), h1
        assert hears_hold_music(h2) and absent(h2, AGENT_TONE) and absent(h2, KIOSK_TONES[0]), h2

        assert (await agent.end(s1, "resolved", "selesai"))["ok"]
        await wait_state(k1, "ended")
        assert await k1.is_visible(".rate[data-rating='1']")
    finally:
        await agent.close()


async def test_browser_agent_with_headless_kiosks(lapak, pages):
    agent = await pages.open(lapak.agent_url(), AGENT_TONE, viewport=(1600, 900))
    await agent_ready(agent)
    kiosks = [
        client_kiosk.HeadlessKiosk(lapak.url, lapak.kiosk_tokens[i], tone_hz=KIOSK_TONES[i], pattern=i + 1)
        for i in range(2)
    ]
    try:
        for k in kiosks:
            await k.connect()
            await k.request("jht")
        for k in kiosks:
            await k.wait_state("on_hold", 30)
        assert await tile_sessions(agent) == [k.session_id for k in kiosks] + [""] * 4
        for n in (1, 2):
            await wait_for(lambda n=n: frames_advancing(agent, f"#tile-{n} .tile-video"), timeout=20,
                           message=f"tile {n} video")
        assert await agent.get_attribute("#tile-3", "data-state") == "empty"

        await agent.click("#tile-2 .tile-talk")
        await kiosks[1].wait_state("talking")
        await kiosks[0].wait_state("on_hold")
        await agent.wait_for_selector("#tile-2[data-focused='1'][data-state=talking]")
        assert await agent.get_attribute("#tile-1", "data-state") == "on_hold"
        await wait_for(lambda: kiosks[1].video.frames > 5, timeout=15, message="browser agent video at kiosk")
        l0, l1, mine = await asyncio.gather(
            probe_levels(kiosks[0].audio),
            probe_levels(kiosks[1].audio),
            spectrum(agent, TONES, ms=900, selector="#remote-audio"),
        )
        assert l1[AGENT_TONE] > PROBE_HEARD and l1[KIOSK_TONES[0]] < PROBE_SILENT, l1
        assert l0[AGENT_TONE] < PROBE_SILENT and l0[KIOSK_TONES[1]] < PROBE_SILENT, l0
        assert max(l0[f] for f in HOLD_NOTES) > PROBE_HEARD, l0
        assert heard(mine, KIOSK_TONES[1]) and absent(mine, KIOSK_TONES[0]), mine
    finally:
        for k in kiosks:
            await k.close()
