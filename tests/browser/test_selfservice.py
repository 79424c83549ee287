"""Self-service in real Chromium: the kiosk page's on-screen keyboard fills a JHT form that the
agent console sees live and corrects; a document is photographed at the camera's full resolution
while the kiosk sends only a thumbnail; retakes replace; bad uploads are refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from server.appkeys import SELFSERVICE

from .harness import AGENT_TONE, KIOSK_TONES, agent_ready, outbound_video, start_session, wait_for, wait_state

pytestmark = pytest.mark.asyncio(loop_scope="session")

NIK = "3174055708900012"  # DKI Jakarta, a woman born 17-08-1990


async def pair(lapak, pages):
    agent = await pages.open(lapak.agent_url(), AGENT_TONE, viewport=(1600, 900))
    await agent_ready(agent)
    kiosk = await pages.open(lapak.kiosk_url(0), KIOSK_TONES[0])
    await start_session(kiosk)
    await wait_state(kiosk, "on_hold", "talking", timeout=30)
    await agent.wait_for_selector("#tile-1 .tile-ss")
    await agent.click("#tile-1 .tile-ss")
    await agent.wait_for_selector("#ss-panel:not([hidden])")
    return agent, kiosk


async def agent_value(agent, field):
    return await agent.input_value(f'#ss-panel [data-field="{field}"] .ss-input')


async def kiosk_value(kiosk, field):
    return await kiosk.text_content(f'#ss-fields [data-field="{field}"] .ss-value-text')


async def press(kiosk, keys):
    for k in keys:
        await kiosk.click(f'#ss-kb [data-key="{k}"]')


async def fill_on_kiosk(kiosk, agent, field, text, every_key=False):
    await kiosk.click(f'#ss-fields [data-field="{field}"]')
    await kiosk.wait_for_selector("#ss-kb:not([hidden])")
    typed = ""
    for ch in text:
        await press(kiosk, [ch])
        typed += ch
        if every_key:
            await wait_for(lambda: _same(agent, field, typed), timeout=5, message=f"agent sees {typed!r}")
    return typed


async def _same(agent, field, text):
    return await agent_value(agent, field) == text


async def test_kiosk_fills_a_jht_form_with_its_keyboard_and_the_agent_follows_and_corrects(lapak, pages):
    agent, kiosk = await pair(lapak, pages)
    await agent.click("#ss-open-form")
    await kiosk.wait_for_selector("#ss-form:not([hidden])")
    assert await kiosk.evaluate("document.body.dataset.ss") == "form"

    # A NIK with a province code that does not exist, typed key by key: the agent sees every keystroke.
    await fill_on_kiosk(kiosk, agent, "nik", "99" + NIK[2:], every_key=True)
    await kiosk.wait_for_selector('#ss-fields [data-field="nik"][data-error="nik_province"]')
    assert "provinsi" in await kiosk.text_content('#ss-fields [data-field="nik"] .ss-error')
    await agent.wait_for_selector('#ss-panel [data-field="nik"][data-error="nik_province"]')
    # The numeric keypad is what a NIK gets.
    assert await kiosk.evaluate("document.getElementById('ss-kb').dataset.kind") == "numeric"
    await press(kiosk, ["Clear"])
    await fill_on_kiosk(kiosk, agent, "nik", NIK)
    await kiosk.wait_for_selector('#ss-fields [data-field="nik"][data-error=""]')

    await fill_on_kiosk(kiosk, agent, "kpj", "12345678901")
    await fill_on_kiosk(kiosk, agent, "full_name", "SITI AMINA")  # a typo
    await kiosk.click('#ss-fields [data-field="birth_date"]')
    await press(kiosk, list("17081990"))  # the keypad adds the dashes
    await fill_on_kiosk(kiosk, agent, "mother_name", "FATIMAH")
    await fill_on_kiosk(kiosk, agent, "phone", "081234567890")
    await kiosk.click('#ss-fields [data-field="reason"]')
    await press(kiosk, ["resigned"])
    await kiosk.click('#ss-fields [data-field="bank_name"]')
    await press(kiosk, ["bri"])
    await fill_on_kiosk(kiosk, agent, "account_number", "0123456789")
    await fill_on_kiosk(kiosk, agent, "account_holder", "BUDI")
    await wait_for(lambda: _same(agent, "account_holder", "BUDI"), message="agent sees the holder")
    assert await kiosk_value(kiosk, "birth_date") == "17-08-1990"
    assert await agent_value(agent, "birth_date") == "17-08-1990"
    assert await agent_value(agent, "reason") == "resigned"

    # Someone else's bank account: caught on both screens.
    await kiosk.wait_for_selector('#ss-fields [data-field="account_holder"][data-error="account_holder"]')
    await agent.wait_for_selector('#ss-panel [data-field="account_holder"] .ss-confirm:not([hidden])')
    # The agent corrects the name; the kiosk shows the correction.
    await agent.fill('#ss-panel [data-field="full_name"] .ss-input', "SITI AMINAH")
    await wait_for(lambda: _kiosk_is(kiosk, "full_name", "SITI AMINAH"), message="kiosk shows the correction")
    # The member fixes the holder's name with the keyboard (letters are appended to "BUDI": clear first).
    await kiosk.click('#ss-fields [data-field="account_holder"]')
    await press(kiosk, ["Clear"])
    await fill_on_kiosk(kiosk, agent, "account_holder", "SITI AMINA")
    await kiosk.wait_for_selector('#ss-fields [data-field="account_holder"][data-error="account_holder"]')
    # The agent checked the bank book: accepts the difference.
    await agent.click('#ss-panel [data-field="account_holder"] .ss-confirm')
    await kiosk.wait_for_selector('#ss-fields [data-field="account_holder"][data-error=""]')
    await kiosk.wait_for_selector('#ss-form-status[data-complete="1"]')
    # The agent points at a field: it lights up on the kiosk.
    await agent.click('#ss-panel [data-field="account_number"] .ss-point')
    await kiosk.wait_for_selector('#ss-fields [data-field="account_number"][data-pointed="1"]')
    # The server's copy is what both pages show.
    session_id = await kiosk.evaluate("window.lapakKiosk.sessionId")
    stored = lapak.app[SELFSERVICE].store.form(session_id)
    assert stored["fields"]["nik"] == NIK and stored["fields"]["full_name"] == "SITI AMINAH"
    assert stored["fields"]["birth_date"] == "17-08-1990" and "account_holder" in stored["confirmed"]

    await agent.wait_for_selector("#ss-submit:not([disabled])")
    await agent.click("#ss-submit")
    await kiosk.wait_for_selector("#ss-claim:not([hidden])")
    reference = await kiosk.text_content("#ss-claim-ref")
    assert reference.startswith("JHT-")
    await wait_for(lambda: kiosk.evaluate("document.getElementById('ss-claim-qr').naturalWidth > 100"), message="QR code shown")
    await agent.wait_for_selector(f"#ss-claim-ref:has-text('{reference}')")


async def _kiosk_is(kiosk, field, value):
    return await kiosk_value(kiosk, field) == value


async def test_document_capture_at_full_resolution_while_on_hold_and_retake(lapak, pages):
    agent, kiosk = await pair(lapak, pages)
    ss = lapak.app[SELFSERVICE]
    session_id = await kiosk.evaluate("window.lapakKiosk.sessionId")
    # On hold: the kiosk sends a quarter-size thumbnail.
    await wait_state(kiosk, "on_hold")
    await wait_for(lambda: kiosk.evaluate("document.body.dataset.quality === 'thumbnail'"), message="thumbnail")
    await wait_for(lambda: _outbound_width_at_most(kiosk, 200), timeout=20, message="thumbnail being sent")
    sent = (await outbound_video(kiosk))["frameWidth"]
    track = await kiosk.evaluate("window.lapakKiosk.localStream.getVideoTracks()[0].getSettings()")

    await agent.select_option("#ss-doc-kind", "ktp")
    await agent.click("#ss-doc-request")
    await kiosk.wait_for_selector('#ss-doc[data-phase="frame"]')
    await kiosk.wait_for_selector("#ss-doc .ss-guide", state="visible")
    # The agent takes the photo.
    await agent.click(".ss-doc-capture")
    await kiosk.wait_for_selector('#ss-doc[data-phase="preview"]')
    await kiosk.click("#ss-doc-use")
    await kiosk.wait_for_selector('#ss-doc[data-phase="sent"]')
    docs = [d for d in ss.store.documents(session_id) if d["status"] != "replaced"]
    assert len(docs) == 1
    first = docs[0]
    assert (first["width"], first["height"]) == (track["width"], track["height"]), (first, track)
    assert first["width"] >= 4 * sent and first["mime"] == "image/jpeg", (first["width"], sent)
    assert Path(first["path"]).stat().st_size == first["bytes"]
    # The console shows it (fetched with the agent's credentials), at that size.
    await agent.wait_for_selector(f'.ss-doc-img[data-document="{first["document_id"]}"]')
    await wait_for(lambda: agent.evaluate(
        f"document.querySelector('.ss-doc-img[data-document=\"{first['document_id']}\"]').naturalWidth"), message="image")
    assert await agent.evaluate(
        f"document.querySelector('.ss-doc-img[data-document=\"{first['document_id']}\"]').naturalWidth") == track["width"]

    # Retake: the member takes it again with their own button; it replaces the first.
    await agent.click(".ss-doc-reject")
    await kiosk.wait_for_selector('#ss-doc[data-phase="frame"]')
    assert "ulang" in (await kiosk.text_content("#ss-doc-msg")).lower()
    await kiosk.click("#ss-doc-capture")
    await kiosk.wait_for_selector('#ss-doc[data-phase="preview"]')
    await kiosk.click("#ss-doc-retake")  # not sharp enough: once more
    await kiosk.wait_for_selector('#ss-doc[data-phase="frame"]')
    await kiosk.click("#ss-doc-capture")
    await kiosk.click("#ss-doc-use")
    await kiosk.wait_for_selector('#ss-doc[data-phase="sent"]')
    docs = ss.store.documents(session_id)
    live = [d for d in docs if d["status"] != "replaced"]
    assert len(live) == 1 and live[0]["document_id"] != first["document_id"]
    assert not Path(first["path"]).exists()
    assert [p.name for p in Path(live[0]["path"]).parent.iterdir()] == [Path(live[0]["path"]).name]
    await agent.click(".ss-doc-accept")
    await kiosk.wait_for_selector('#ss-doc[data-phase="accepted"]')

    # Refused from the page itself: not an image, and too large. Nothing is stored.
    await agent.select_option("#ss-doc-kind", "bank_book")
    await agent.click("#ss-doc-request")
    await kiosk.wait_for_selector('#ss-doc[data-phase="frame"]')
    lapak.config.max_document_bytes = 50_000
    results = await kiosk.evaluate(
        """async () => {
          const sid = window.lapakKiosk.sessionId;
          const requestId = window.lapakKiosk.ss.doc.request_id;
          const token = JSON.parse(document.getElementById("lapak-boot").textContent).token;
          const post = async (blob) => {
            const fd = new FormData(); fd.append("request_id", requestId); fd.append("file", blob, "x.jpg");
            const r = await fetch(`/api/sessions/${sid}/documents`, {method: "POST", body: fd, headers: {Authorization: `Bearer ${token}`}});
            return r.status;
          };
          return [await post(new Blob(["not a photo"], {type: "image/jpeg"})), await post(new Blob([new Uint8Array(60000)], {type: "image/jpeg"}))];
        }"""
    )
    lapak.config.max_document_bytes = 8 * 1024 * 1024
    assert results == [415, 413], results
    assert len(ss.store.documents(session_id)) == len(docs)


async def _outbound_width_at_most(kiosk, width):
    stats = await outbound_video(kiosk)
    return bool(stats) and 0 < stats["frameWidth"] <= width


async def test_consent_then_recording_shown_on_both_screens(lapak, pages):
    assert hasattr(lapak.hub.router, "record_start") and hasattr(lapak.hub.router, "record_stop"), \
        "the media router has no record_start/record_stop"
    agent, kiosk = await pair(lapak, pages)
    await agent.click("#tile-1 .tile-talk")
    await wait_state(kiosk, "talking")
    assert await agent.is_disabled("#ss-rec-toggle")  # no consent yet
    await agent.click("#ss-consent-ask")
    await kiosk.wait_for_selector("#ss-consent:not([hidden])")
    await kiosk.click("#ss-consent-yes")
    await kiosk.wait_for_selector("#ss-consent", state="hidden")
    await agent.wait_for_selector("#ss-rec-toggle:not([disabled])")
    await agent.click("#ss-rec-toggle")
    await kiosk.wait_for_selector("#ss-rec:not([hidden])")
    await agent.wait_for_selector("#tile-1 .tile-rec:not([hidden])")
    await agent.wait_for_selector("#ss-panel #ss-rec:not([hidden])")
    await kiosk.wait_for_timeout(1500)  # a moment of interview
    await agent.click("#ss-rec-toggle")
    await kiosk.wait_for_selector("#ss-rec", state="hidden")
    session_id = await kiosk.evaluate("window.lapakKiosk.sessionId")
    rec = lapak.app[SELFSERVICE].store.recordings(session_id)[0]
    assert rec["stopped_at"] and rec["path"] and Path(rec["path"]).exists()
