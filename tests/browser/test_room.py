"""Six kiosk pages and one agent console through the real server.

What a person would notice: the agent sees six live members; a member
hears and sees the agent only while the agent talks to them, hears hold
music and sees the hold screen otherwise, and never hears another member.
"""

from __future__ import annotations

import asyncio

import pytest

from .harness import (
    AGENT_TONE,
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

pytestmark = pytest.mark.asyncio(loop_scope="session")

ALL_TONES = [AGENT_TONE, *KIOSK_TONES, 523.25, 659.25, 783.99]


async def open_room(lapak, pages, n):
    agent = await pages.open(lapak.agent_url(), AGENT_TONE, viewport=(1600, 900))
    await agent_ready(agent)
    kiosks = []
    for i in range(n):
        kiosk = await pages.open(lapak.kiosk_url(i), KIOSK_TONES[i])
        await start_session(kiosk)
        await wait_state(kiosk, "waiting", "connecting", "on_hold", "talking")
        kiosks.append(kiosk)
    await asyncio.gather(*(wait_state(k, "on_hold", "talking", timeout=30) for k in kiosks))
    return agent, kiosks


async def kiosk_states(kiosks):
    return await asyncio.gather(*(k.evaluate("document.body.dataset.state") for k in kiosks))


async def wait_kiosk_states(kiosks, expected, timeout=10.0):
    async def check():
        return await kiosk_states(kiosks) == expected

    await wait_for(check, timeout=timeout, message=f"kiosk states {expected}")


async def hearing(pages_list, ms=900, settle=1.5):
    # Let what was in flight and in the jitter buffers before the change play out.
    await asyncio.sleep(settle)
    return await asyncio.gather(*(spectrum(p, ALL_TONES, ms=ms) for p in pages_list))


def assert_no_member_heard(kiosk_spectra):
    """No kiosk hears any member's tone: checked on every measurement, never retried."""
    for i, s in enumerate(kiosk_spectra):
        for j, tone in enumerate(KIOSK_TONES):
            assert absent(s, tone), f"kiosk {i + 1} hears kiosk {j + 1}'s tone: {s}"


async def expect_room(kiosks, talking, agent=None, tries=3):
    """Privacy on every measurement; talk/hold audio once the browsers' jitter buffers drained.

    A member's tone at another kiosk fails at once. Whether a held kiosk still
    hears the tail of its agent's voice depends on how busy the machine is, so
    the talk/hold expectations are measured again (up to ``tries`` times)
    before they fail.
    """
    pages = [*kiosks, agent] if agent is not None else list(kiosks)
    for attempt in range(tries):
        spectra = await hearing(pages)
        ks = spectra[: len(kiosks)]
        assert_no_member_heard(ks)
        try:
            assert_private(ks, talking)
            if agent is not None:
                assert_agent_hears(spectra[-1], talking)
            return
        except AssertionError:
            if attempt == tries - 1:
                raise


def assert_private(kiosk_spectra, talking):
    """Each kiosk hears the agent iff talking, hold music iff held, no member ever."""
    for i, s in enumerate(kiosk_spectra):
        for j, tone in enumerate(KIOSK_TONES):
            assert absent(s, tone), f"kiosk {i + 1} hears kiosk {j + 1}'s tone: {s}"
        if i in talking:
            assert heard(s, AGENT_TONE), f"kiosk {i + 1} should hear the agent: {s}"
            assert not hears_hold_music(s), f"kiosk {i + 1} talks but hears hold music: {s}"
        else:
            assert absent(s, AGENT_TONE), f"held kiosk {i + 1} hears the agent: {s}"
            assert hears_hold_music(s), f"held kiosk {i + 1} hears no hold music: {s}"


def assert_agent_hears(s, talking):
    for i, tone in enumerate(KIOSK_TONES):
        if i in talking:
            assert heard(s, tone), f"agent should hear kiosk {i + 1}: {s}"
        else:
            assert absent(s, tone), f"agent hears held kiosk {i + 1}: {s}"


async def focused_tiles(agent):
    return await agent.evaluate(
        "[1,2,3,4,5,6].filter((n) => document.getElementById('tile-' + n).dataset.focused === '1')"
    )


async def wait_focused(agent, expected):
    async def check():
        return await focused_tiles(agent) == expected

    await wait_for(check, timeout=5, message=f"focused tiles {expected}")


async def test_six_members_talk_all_one_and_hold_all(lapak, pages):
    agent, kiosks = await open_room(lapak, pages, 6)

    # Six tiles, each with its member's session, booth, and live video.
    ids = await asyncio.gather(*(k.evaluate("window.lapakKiosk.sessionId") for k in kiosks))
    assert await tile_sessions(agent) == ids
    for n in range(1, 7):
        assert await agent.inner_text(f"#tile-{n} .tile-booth") == f"Bilik {n}"
    assert all(await asyncio.gather(*(frames_advancing(agent, f"#tile-{n} .tile-video") for n in range(1, 7))))
    assert await agent.get_attribute("#availability", "data-availability") == "full"

    # Nobody focused yet: six hold screens, hold music, the agent hears no one.
    await wait_kiosk_states(kiosks, ["on_hold"] * 6)
    for k in kiosks:
        assert await k.is_visible("text=Petugas akan segera kembali melayani Anda")
    await expect_room(kiosks, set(), agent)

    # Talk to all: every member sees and hears the agent, and only the agent.
    await agent.click("#talk-all")
    await wait_kiosk_states(kiosks, ["talking"] * 6)
    await wait_focused(agent, [1, 2, 3, 4, 5, 6])
    assert all(await asyncio.gather(*(frames_advancing(k, "#agent-video") for k in kiosks)))
    await expect_room(kiosks, set(range(6)), agent)

    # Key 3: talk to booth 3 only.
    await agent.mouse.move(5, 5)
    await agent.keyboard.press("3")
    await wait_kiosk_states(kiosks, ["on_hold", "on_hold", "talking", "on_hold", "on_hold", "on_hold"])
    await wait_focused(agent, [3])
    await expect_room(kiosks, {2}, agent)

    # Hold all.
    await agent.click("#hold-all")
    await wait_kiosk_states(kiosks, ["on_hold"] * 6)
    await wait_focused(agent, [])
    await agent.wait_for_selector("#tile-3[data-state=on_hold]")


async def test_tile_buttons_push_to_talk_and_end(lapak, pages):
    agent, kiosks = await open_room(lapak, pages, 2)
    k1, k2 = kiosks
    before = await tile_sessions(agent)

    # Talk button on tile 1, then its hold button.
    await agent.click("#tile-1 .tile-talk")
    await wait_kiosk_states(kiosks, ["talking", "on_hold"])
    await expect_room([k1, k2], {0})
    await agent.click("#tile-1 .tile-hold")
    await wait_kiosk_states(kiosks, ["on_hold", "on_hold"])

    # Push-to-talk: hold Space over tile 2, release to put it back on hold.
    box = await agent.locator("#tile-2 .tile-media").bounding_box()
    await agent.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    await agent.keyboard.down("Space")
    await wait_kiosk_states(kiosks, ["on_hold", "talking"])
    await agent.wait_for_selector("#tile-2[data-focused='1']")
    await expect_room([k1, k2], {1})
    await agent.keyboard.up("Space")
    await wait_kiosk_states(kiosks, ["on_hold", "on_hold"])
    await agent.wait_for_selector("#tile-2[data-focused='0']")

    # End tile 1 with a note and an outcome; the member sees thanks + rating.
    session_1 = before[0]
    await agent.fill("#tile-1 .tile-note", "KTP sudah dicek, kartu peserta belum dibawa")
    await agent.click("#tile-1 .tile-end")
    await agent.wait_for_selector("#end-dialog[open]")
    assert await agent.input_value("#end-note") == "KTP sudah dicek, kartu peserta belum dibawa"
    await agent.select_option("#end-outcome", "documents_missing")
    await agent.click("#end-confirm")
    await wait_state(k1, "ended")
    assert await k1.is_visible("text=Terima kasih")
    assert await k1.is_visible(".rate[data-rating='5']")
    session = lapak.hub.state.session(session_1)
    assert (session.outcome, session.note) == ("documents_missing", "KTP sudah dicek, kartu peserta belum dibawa")
    await agent.wait_for_selector("#tile-1[data-state=empty]")
    assert (await tile_sessions(agent))[1] == before[1]

    await k1.click(".rate[data-rating='4']")
    await k1.wait_for_selector("#rating-thanks:visible")

    # The booth's next member fills the free tile; tile 2 is undisturbed.
    await k1.click("#ended-done")
    await wait_state(k1, "idle")
    await start_session(k1, "jkk")
    await wait_state(k1, "on_hold", "talking", timeout=30)
    after = await tile_sessions(agent)
    new_id = await k1.evaluate("window.lapakKiosk.sessionId")
    assert after[0] == new_id != session_1
    assert after[1] == before[1]
    assert await agent.inner_text("#tile-1 .tile-service") == "Jaminan Kecelakaan Kerja (JKK)"
    await wait_for(lambda: frames_advancing(agent, "#tile-1 .tile-video"), timeout=15, message="tile 1 video")
    assert await frames_advancing(agent, "#tile-2 .tile-video")

    # Network quality on loopback: good on the tile (the numbers on hover) and at the booth itself.
    await agent.wait_for_selector("#tile-1[data-network=good] .tile-network:visible", timeout=15000)
    assert "ms" in await agent.get_attribute("#tile-1 .tile-network", "title")
    await k1.wait_for_selector("body[data-network=good] #network:visible", timeout=15000)
