"""The pages on their own: language, unknown devices, device problems, security call."""

from __future__ import annotations

import pytest

from .harness import KIOSK_TONES, start_session, wait_for, wait_state

pytestmark = pytest.mark.asyncio(loop_scope="session")

DENY_CAMERA_AND_MIC = """
navigator.mediaDevices.getUserMedia = async () => {
  throw new DOMException("Permission denied", "NotAllowedError");
};
"""


async def test_kiosk_idle_language_toggle_without_reload(lapak, pages):
    kiosk = await pages.open(lapak.kiosk_url(2), KIOSK_TONES[0])
    assert await kiosk.evaluate("document.body.dataset.state") == "idle"
    assert "KC Jakarta Salemba" in await kiosk.inner_text("#place")
    assert "Bilik 3" in await kiosk.inner_text("#place")
    assert await kiosk.is_visible("text=Silakan hubungi petugas keamanan untuk memulai layanan.")
    assert await kiosk.is_visible("#security-call:has-text('Panggil petugas keamanan')")
    await kiosk.evaluate("window.__loaded = 'same page'")

    await kiosk.click("#lang-toggle")
    assert await kiosk.is_visible("text=Please ask the security officer to start your service.")
    assert "Booth 3" in await kiosk.inner_text("#place")
    assert await kiosk.inner_text("[data-service=jht] .service-name") == "Old-Age Savings (JHT)"
    assert await kiosk.evaluate("window.__loaded") == "same page"  # no reload
    await kiosk.click("#lang-toggle")
    assert await kiosk.inner_text("[data-service=jht] .service-name") == "Jaminan Hari Tua (JHT)"

    english = await pages.open(lapak.kiosk_url(2, lang="en"), KIOSK_TONES[1])
    assert await english.is_visible("text=Please ask the security officer to start your service.")


async def test_unknown_kiosk_token_shows_not_registered(lapak, pages):
    kiosk = await pages.open(f"{lapak.url}/kiosk?token=nope", KIOSK_TONES[0])
    assert await kiosk.evaluate("document.body.dataset.state") == "unregistered"
    assert await kiosk.is_visible("text=Perangkat belum terdaftar")
    assert not await kiosk.is_visible("[data-service=jht]")


async def test_denied_devices_explain_what_to_do(lapak, pages):
    kiosk = await pages.open(lapak.kiosk_url(0), KIOSK_TONES[0], init_script=DENY_CAMERA_AND_MIC)
    await kiosk.click("[data-service=jp]")
    await kiosk.wait_for_selector("#check-status.problem")
    assert "ditolak" in await kiosk.inner_text("#check-status")
    assert await kiosk.is_disabled("#check-continue")
    assert await kiosk.is_visible("#check-retry")
    await kiosk.click("#check-cancel")
    assert await kiosk.evaluate("document.body.dataset.state") == "idle"


async def test_queue_position_and_leaving(lapak, pages):
    # No agent online: members of one service queue see their positions; one leaves.
    k1 = await pages.open(lapak.kiosk_url(0), KIOSK_TONES[0])
    k2 = await pages.open(lapak.kiosk_url(1), KIOSK_TONES[1])
    await start_session(k1, "jht")
    await wait_state(k1, "waiting")
    await start_session(k2, "jht")
    await wait_state(k2, "waiting")
    await wait_for(lambda: k2.evaluate("document.getElementById('position').textContent === '2'"), timeout=30, message="pos 2")
    assert await k1.inner_text("#position") == "1"
    assert await k2.inner_text("#waiting-service") == "Jaminan Hari Tua (JHT)"
    # No agent can serve now: the page promises no number.
    assert await k2.inner_text("#waiting-eta") == "Waktu tunggu belum dapat diperkirakan"
    await k1.click("#leave-waiting")
    await wait_state(k1, "ended")
    await wait_for(lambda: k2.evaluate("document.getElementById('position').textContent === '1'"), timeout=30, message="pos 1")


async def test_security_call_reports_sent_or_failed(lapak, pages):
    kiosk = await pages.open(lapak.kiosk_url(0), KIOSK_TONES[0])
    await wait_for(lambda: kiosk.evaluate("document.body.dataset.socket === 'connected'"), message="socket")
    await kiosk.click("#security-call")
    result = await wait_for(
        lambda: kiosk.evaluate("document.getElementById('security-status').dataset.result"), message="result"
    )
    from signaling.namespaces import KioskNamespace

    expected = "sent" if "security.call" in KioskNamespace.events else "failed"
    assert result == expected
    text = await kiosk.inner_text("#security-status")
    if expected == "sent":
        assert text == "Petugas keamanan sedang menuju ke bilik Anda."
    else:
        assert text == "Panggilan gagal terkirim. Silakan lambaikan tangan kepada petugas."


async def test_agent_console_sends_strangers_to_sign_in_and_closes_when_opened_again(lapak, pages):
    for url in (f"{lapak.url}/agent", f"{lapak.url}/agent?token=wrong"):
        page = await pages.open(url, 0)
        assert "/login?next=/agent" in page.url, url
        assert await page.is_visible("#username")
    first = await pages.open(lapak.agent_url(0), 0)
    await wait_for(lambda: first.evaluate("document.getElementById('availability').dataset.availability === 'online'"),
                   message="online")
    assert await first.evaluate("document.body.dataset.view") == "console"
    assert await first.inner_text("#slots") == "0 dari 6 sesi"
    # The same agent opens the console again: the new one takes over, the old one says why it closed.
    second = await pages.open(lapak.agent_url(0), 0)
    await wait_for(lambda: first.evaluate("document.body.dataset.ended === 'replaced'"), message="replaced")
    assert await first.evaluate("document.body.dataset.view") == "login"
    assert "dibuka di jendela atau perangkat lain" in await first.inner_text("#ended-reason")
    await wait_for(lambda: second.evaluate("document.getElementById('availability').dataset.availability === 'online'"),
                   message="the new console online")
    await first.wait_for_timeout(1500)
    assert await first.evaluate("document.body.dataset.ended") == "replaced", "the old console stays closed"
    assert await second.evaluate("document.body.dataset.view") == "console"


async def test_in_a_branch_the_officer_starts_the_session_and_the_booth_follows(lapak, pages):
    lapak.config.kiosk_self_start = False
    kiosk = await pages.open(lapak.kiosk_url(0), KIOSK_TONES[0])
    await wait_state(kiosk, "idle")
    assert await kiosk.locator("[data-service]").count() == 0, "members do not start sessions themselves here"
    assert "petugas keamanan" in (await kiosk.inner_text("[data-screen=idle]")).lower()
    # The security officer starts it (as /officer's session.start does).
    booth = lapak.config.kiosk_tokens[lapak.kiosk_tokens[0]]
    await lapak.hub.start_session(booth, "jkk", "id", "officer:test")
    await wait_state(kiosk, "waiting")
    await wait_for(lambda: kiosk.evaluate("document.getElementById('waiting-service').textContent.includes('JKK')"),
                   message="the service the officer chose")
    # A member cannot start one through the socket either.
    result = await kiosk.evaluate(
        "() => new Promise((ok) => window.lapakKiosk.socket.emit('session.request', {service: 'jht'}, ok))"
    )
    assert result["ok"] is False and result["error"]["code"] in ("forbidden", "invalid_state")
