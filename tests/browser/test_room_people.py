"""Supervisors and a member's guest in an agent's room, in real headless Chromium (issue 14).

One room, one life: a member at a booth talks to the agent; a supervisor
opens the agent's room from the board, listens, whispers, barges in and
leaves (the agent's console says who is there and how, the booth shows the
barging supervisor, and what each page hears is measured by FFT); the agent
invites a guest, who joins from a phone-sized page, sees and hears the member
and the agent, is told when on hold, and is removed; a used link and a link
raced by two phones say so in the guest's language; the history lists the
monitoring spans; the supervisor is told when the agent goes offline and
when the room closes for good.
"""

from __future__ import annotations

import re

import pytest
import pytest_asyncio

from .harness import (
    AGENT_TONE,
    KIOSK_TONES,
    TEST_TIME,
    Pages,
    absent,
    agent_ready,
    frames_advancing,
    heard,
    spectrum,
    start_server,
    start_session,
    wait_for,
    wait_state,
)
from .staff import PASSWORD, accounts, text_of

pytestmark = [
    pytest.mark.asyncio(loop_scope="session"),
    pytest.mark.filterwarnings("ignore:It is recommended to use web.RequestKey"),
]

SUPERVISOR_TONE = 2500
GUEST_TONE = 3100
TONES = [AGENT_TONE, KIOSK_TONES[0], SUPERVISOR_TONE, GUEST_TONE]
PHONE = (390, 844)


@pytest_asyncio.fixture(loop_scope="session")
async def desk(tmp_path):
    """A server whose rooms close 4 s after their agent drops (the supervisor is then put out)."""
    server = await start_server(tmp_path, reconnect_grace=4.0)
    try:
        yield server
    finally:
        await server.close()


async def hears(page, selector="#remote-audio"):
    await page.wait_for_timeout(1500)  # what was in flight before the change plays out
    return await spectrum(page, TONES, ms=900, selector=selector)


async def hearing(page, expect, never, selector="#remote-audio", tries=3):
    """``never`` is absent on every measurement; ``expect`` is heard once the jitter buffers drained."""
    for attempt in range(tries):
        s = await hears(page, selector)
        for tone in never:
            assert absent(s, tone), f"{tone} Hz must never reach {selector}: {s}"
        if all(heard(s, tone) for tone in expect):
            return
    raise AssertionError(f"{selector} should hear {expect}: {s}")


async def supervisor_page(pages: Pages, lapak):
    page = await pages.open(f"{lapak.url}/login?next=/supervisor", SUPERVISOR_TONE, viewport=(1440, 900))
    await page.fill("#username", "spv")
    await page.fill("#password", PASSWORD)
    async with page.expect_navigation():
        await page.click("#login-submit")
    await wait_for(lambda: page.evaluate("window.lapakBoard.boards > 0"), message="the board")
    return page


async def indicator(agent) -> list[tuple[str, str]]:
    return await agent.evaluate(
        "[...document.querySelectorAll('#people .pill')].map((p) => [p.dataset.mode, p.textContent])"
    )


async def until_text(page, selector, text, timeout=10.0):
    await wait_for(lambda: _has(page, selector, text), timeout=timeout, message=f"{text!r} in {selector}")


async def _has(page, selector, text):
    return text in (await text_of(page, selector))


async def test_supervisor_modes_and_a_guest_from_a_phone(desk, browser):
    lapak = desk
    accounts(lapak).add_user("spv", PASSWORD, "supervisor", name="Ratna Dewi")
    pages = Pages(browser)
    try:
        await _room_life(lapak, pages)
    finally:
        await pages.close()


async def _room_life(lapak, pages):
    agent = await pages.open(lapak.agent_url(), AGENT_TONE, viewport=(1600, 900))
    await agent_ready(agent)
    kiosk = await pages.open(lapak.kiosk_url(0), KIOSK_TONES[0])
    await start_session(kiosk)
    await wait_state(kiosk, "on_hold", "talking", timeout=30)
    await agent.click("#tile-1 .tile-talk")
    await wait_state(kiosk, "talking")
    assert await indicator(agent) == []

    # -- the supervisor opens Siti's room from the board: listen ---------------------------------
    spv = await supervisor_page(pages, lapak)
    await spv.click('tr[data-agent="agent-1"] .open-room')
    await spv.wait_for_selector('#room[data-status="in_room"]', timeout=20000)
    assert await text_of(spv, "#room-title") == "Ruang Siti Rahmawati"
    assert await text_of(spv, "#room-status-text") == "Di dalam ruang"
    await spv.wait_for_selector('#room-tile-1[data-state="talking"]')
    await wait_for(lambda: frames_advancing(spv, "#room-tile-1 video"), message="the member's tile at the supervisor")
    await wait_for(lambda: frames_advancing(spv, "#room-agent-video"), message="the agent's camera at the supervisor")
    await wait_for(lambda: _eq(indicator(agent), [["listen", "Supervisor Ratna Dewi sedang mendengarkan"]]),
                   message="the agent's indicator: listening")
    await hearing(spv, expect=[AGENT_TONE, KIOSK_TONES[0]], never=[GUEST_TONE], selector="#room-audio")
    await hearing(agent, expect=[KIOSK_TONES[0]], never=[SUPERVISOR_TONE])

    # -- whisper: the agent hears the supervisor, the member never does ---------------------------
    await spv.click('#room .mode[data-mode="whisper"]')
    await wait_for(lambda: _eq(indicator(agent), [["whisper", "Supervisor Ratna Dewi sedang membimbing Anda (hanya Anda yang mendengar)"]]),
                   message="the agent's indicator: coaching")
    # The supervisor's own page is told after the agent's console (signaling/notifier.py): wait for it.
    await spv.wait_for_selector('#room .mode[data-mode="whisper"][aria-pressed="true"]', timeout=10000)
    await hearing(agent, expect=[KIOSK_TONES[0], SUPERVISOR_TONE], never=[])
    await hearing(kiosk, expect=[AGENT_TONE], never=[SUPERVISOR_TONE])
    assert await kiosk.is_hidden("#staff-badge")

    # -- barge: the member hears the supervisor and sees a second staff member --------------------
    await spv.click('#room .mode[data-mode="barge"]')
    await wait_for(lambda: _eq(indicator(agent), [["barge", "Supervisor Ratna Dewi ikut dalam panggilan (peserta yang Anda layani mendengarnya)"]]),
                   message="the agent's indicator: in the call")
    await kiosk.wait_for_selector("#staff-badge:visible")
    assert await text_of(kiosk, "#staff-badge") == "Supervisor Ratna Dewi ikut dalam layanan"
    await hearing(kiosk, expect=[AGENT_TONE, SUPERVISOR_TONE], never=[])
    # On hold the member hears nobody but hold audio, and the badge goes.
    await agent.click("#tile-1 .tile-hold")
    await wait_state(kiosk, "on_hold")
    await hearing(kiosk, expect=[], never=[AGENT_TONE, SUPERVISOR_TONE])
    assert await kiosk.evaluate("document.body.dataset.supervisor") == "0"
    await agent.click("#tile-1 .tile-talk")
    await wait_state(kiosk, "talking")
    await kiosk.wait_for_selector("#staff-badge:visible")

    # -- leave: the room as it was ----------------------------------------------------------------
    await spv.click("#room-leave")
    await spv.wait_for_selector("#room", state="hidden")
    await wait_for(lambda: _eq(indicator(agent), []), message="the indicator empty again")
    await kiosk.wait_for_selector("#staff-badge", state="hidden")

    # -- the agent invites a guest for tile 1 ------------------------------------------------------
    lapak.config.clock.set(TEST_TIME)  # 10:30 WIB: the link is valid until 10:40
    await agent.click("#tile-1 .tile-invite")
    await agent.wait_for_selector("#invite-dialog[open]")
    assert (await agent.get_attribute("#invite-qr", "src")).startswith("data:image/svg+xml")
    assert await text_of(agent, "#invite-expires") == "Berlaku sampai pukul 10.40 WIB"
    link = await agent.input_value("#invite-link")
    assert re.fullmatch(re.escape(lapak.url) + r"/guest/[A-Za-z0-9_-]{20,}", link), link
    await agent.click("#invite-dialog [value=close]")
    assert await agent.get_attribute("#tile-1 .tile-guest", "data-guest") == "invited"

    # -- the guest joins from a phone ------------------------------------------------------------
    guest = await pages.open(link, GUEST_TONE, viewport=PHONE)
    assert await text_of(guest, "[data-screen=check] h1") == "Periksa kamera dan mikrofon"
    await guest.wait_for_selector("#join:not([disabled])", timeout=10000)
    await guest.click("#join")
    await guest.wait_for_selector("body[data-state=call]", timeout=20000)
    await until_text(guest, "#call-banner", "Anda bersama peserta dan petugas")
    assert await text_of(guest, "#agent-label") == "Petugas: Siti Rahmawati"
    await agent.wait_for_selector('#tile-1 .tile-guest[data-guest="present"]')
    assert await text_of(agent, "#tile-1 .tile-guest-text") == "Tamu bergabung dengan peserta ini"
    await kiosk.wait_for_selector("#guest-view:visible")
    assert await text_of(kiosk, "#guest-view figcaption") == "Tamu Anda"
    await wait_for(lambda: frames_advancing(kiosk, "#guest-video"), message="the guest's video at the booth")
    await wait_for(lambda: frames_advancing(guest, "#agent-video"), message="the agent's video at the guest")
    await wait_for(lambda: frames_advancing(guest, "#member-video"), message="the member's video at the guest")
    # The agent sees the guest inside the member's tile, labelled; a free tile shows no guest.
    assert await text_of(agent, "#tile-1 .tile-guest-view figcaption") == "Tamu peserta"
    await wait_for(lambda: frames_advancing(agent, "#tile-1 .tile-guest-video"), message="the guest's video at the agent")
    assert await agent.is_hidden("#tile-2 .tile-guest-view")
    await hearing(guest, expect=[AGENT_TONE, KIOSK_TONES[0]], never=[SUPERVISOR_TONE])
    await hearing(kiosk, expect=[AGENT_TONE, GUEST_TONE], never=[SUPERVISOR_TONE])

    # On hold: the guest is told so.
    await agent.click("#tile-1 .tile-hold")
    await guest.wait_for_selector("#hold:visible")
    assert await text_of(guest, "#hold h2") == "Mohon tunggu sebentar"
    await until_text(guest, "#call-banner", "Layanan sedang ditahan")
    await agent.click("#tile-1 .tile-talk")
    await guest.wait_for_selector("#hold", state="hidden")

    # The agent removes the guest: the guest page says so, the booth's guest video goes.
    await agent.click("#tile-1 .tile-guest-remove")
    await guest.wait_for_selector("body[data-state=ended]")
    assert await text_of(guest, "#ended-body") == (
        "Petugas telah mengakhiri kehadiran Anda sebagai tamu. Tautan ini tidak berlaku lagi.")
    await kiosk.wait_for_selector("#guest-view", state="hidden")
    await agent.wait_for_selector("#tile-1 .tile-guest", state="hidden")
    assert await agent.is_hidden("#tile-1 .tile-guest-view")

    # The used link, opened again (in English): it says so at once, and nothing can be joined.
    again = await pages.open(link + "?lang=en", GUEST_TONE, viewport=PHONE)
    assert await again.evaluate("document.body.dataset.state") == "invalid"
    assert await text_of(again, "[data-screen=invalid] h1") == "This link no longer works"
    await again.click("#lang-toggle")
    assert await text_of(again, "[data-screen=invalid] h1") == "Tautan ini tidak berlaku lagi"

    # A fresh link opened on two phones: the first to join has it, the second is told.
    await agent.click("#tile-1 .tile-invite")
    await agent.wait_for_selector("#invite-dialog[open]")
    fresh = await agent.input_value("#invite-link")
    assert fresh != link
    await agent.click("#invite-dialog [value=close]")
    first, second = [await pages.open(fresh, GUEST_TONE, viewport=PHONE) for _ in range(2)]
    for phone in (first, second):
        await phone.wait_for_selector("#join:not([disabled])", timeout=10000)
    await first.click("#join")
    await first.wait_for_selector("body[data-state=call]", timeout=20000)
    await second.click("#join")
    await second.wait_for_selector("body[data-state=invalid]")
    assert await text_of(second, "[data-screen=invalid] h1") == "Tautan ini tidak berlaku lagi"
    await first.click("#leave")
    await first.wait_for_selector("body[data-state=ended]")
    await agent.wait_for_selector("#tile-1 .tile-guest", state="hidden")

    # -- the history lists the three spans ---------------------------------------------------------
    await spv.goto(f"{lapak.url}/supervisor/history")
    await spv.wait_for_selector("#monitoring-body tr")
    rows = await spv.evaluate(
        "[...document.querySelectorAll('#monitoring-body tr')].map((r) => [...r.cells].slice(0, 3).map((c) => c.textContent))"
    )
    assert rows == [["Ratna Dewi", "Siti Rahmawati", m] for m in ("Ikut bicara", "Bimbing", "Dengarkan")], rows

    # -- the agent goes offline, then the room closes for good -------------------------------------
    await spv.goto(f"{lapak.url}/supervisor")
    await spv.click('tr[data-agent="agent-1"] .open-room')
    await spv.wait_for_selector('#room[data-status="in_room"]', timeout=20000)
    await agent.context.close()
    await spv.wait_for_selector('#room[data-status="agent_offline"]', timeout=10000)
    assert await text_of(spv, "#room-status-text") == "Petugas sedang offline"
    await spv.wait_for_selector('#room[data-status="closed"]', timeout=15000)
    assert await text_of(spv, "#room-status-text") == "Ruang ditutup: petugas tidak kembali. Anda sudah keluar."
    assert await spv.is_visible("#room-retry")


async def _eq(coro, value):
    return (await coro) == value
