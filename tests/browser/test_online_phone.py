"""A member at home on a phone-sized Chromium: the claim, documents (camera and file), an agent asking one
again, re-upload, booking, and the interview on the same agent's tiles as five booth members, private by tones;
the agent approves: the status page, the e-mail and the payment instruction say so."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import aiohttp
import pytest
from aiosmtpd.controller import Controller

from agent_console.client import HeadlessAgent
from kiosk_client.client import HeadlessKiosk, until
from server.mailer import parse_smtp_url
from server.online_routes import MAILER
from signaling.core.daytime import wib

from playwright.async_api import async_playwright

from .harness import CHROMIUM, CHROMIUM_ARGS, AGENT_TONE, HOLD_NOTES, KIOSK_TONES, TONE_INIT_SCRIPT, absent, free_port, heard, \
    hears_hold_music, spectrum, start_server, wait_for

pytestmark = pytest.mark.asyncio(loop_scope="session")

JHT = {"nik": "3174055708900012", "kpj": "12345678901", "full_name": "Siti Aminah", "birth_date": "17-08-1990",
       "mother_name": "Fatimah", "phone": "081234567890", "email": "siti@example.co.id", "reason": "resigned",
       "bank_name": "bri", "account_number": "0123456789", "account_holder": "Siti Aminah"}
PHONE_TONE = KIOSK_TONES[5]
TONES = [AGENT_TONE, *KIOSK_TONES, *HOLD_NOTES]
SLOT = wib("2026-11-30 11:00")


def document_png() -> bytes:
    import io

    from PIL import Image, ImageDraw

    image = Image.new("RGB", (900, 600), "white")
    draw = ImageDraw.Draw(image)
    for i in range(24):
        draw.text((20, 20 + i * 22), "SURAT KETERANGAN BERHENTI BEKERJA 2026 " * 2, fill="black")
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def document_y4m(path: Path) -> Path:
    """A camera that films a sharp document: a Y4M file for Chromium's --use-file-for-fake-video-capture.

    (Chromium's default fake camera draws flat colours, which the upload check rightly calls blurred.)
    """
    import io

    import numpy as np
    from PIL import Image

    image = Image.open(io.BytesIO(document_png())).convert("YCbCr")
    y, cb, cr = (np.asarray(c) for c in image.split())
    frame = y.tobytes() + cb[::2, ::2].tobytes() + cr[::2, ::2].tobytes()
    w, h = image.size
    path.write_bytes(f"YUV4MPEG2 W{w} H{h} F10:1 Ip A1:1 C420jpeg\n".encode() + (b"FRAME\n" + frame) * 10)
    return path


class Inbox:
    def __init__(self) -> None:
        self.messages: list[str] = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's name
        self.messages.append(envelope.content.decode("utf-8", "replace"))
        return "250 OK"


async def levels(probe, seconds=1.2, settle=1.2):
    await asyncio.sleep(settle)
    probe.clear()
    await asyncio.sleep(seconds)
    return probe.levels(TONES, seconds)


async def agent_api(http, url, token, method, path, body=None):
    async with http.request(method, f"{url}{path}", json=body, headers={"Authorization": f"Bearer {token}"}) as r:
        return r.status, await r.json()


async def test_phone_claim_to_payment(tmp_path):
    inbox, smtp_port = Inbox(), free_port()
    smtp = Controller(inbox, hostname="127.0.0.1", port=smtp_port)
    smtp.start()
    lapak = await start_server(tmp_path)
    mailer = lapak.app[MAILER]
    mailer.target = parse_smtp_url(f"smtp://127.0.0.1:{smtp_port}")  # the harness's server has no --smtp
    mailer.start()
    pw = await async_playwright().start()
    args = [a for a in CHROMIUM_ARGS] + [f"--use-file-for-fake-video-capture={document_y4m(tmp_path / 'doc.y4m')}"]
    browser = await pw.chromium.launch(executable_path=CHROMIUM, args=args, headless=True)
    ctx = await browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True,
                                    device_scale_factor=2, permissions=["camera", "microphone"])
    await ctx.add_init_script(TONE_INIT_SCRIPT % {"freq": PHONE_TONE})
    agent = HeadlessAgent(lapak.url, lapak.agent_tokens[0], tone_hz=AGENT_TONE, width=320, height=240)
    booths = [HeadlessKiosk(lapak.url, lapak.kiosk_tokens[i], tone_hz=KIOSK_TONES[i], pattern=i + 1) for i in range(5)]
    try:
        phone = await ctx.new_page()
        phone.on("pageerror", lambda e: print(f"[phone pageerror] {e}"))
        await phone.goto(f"{lapak.url}/claim")
        await phone.tap("[data-benefit=jht]")
        for name, value in JHT.items():
            if name in ("reason", "bank_name"):
                await phone.select_option(f"#field-{name}", value)
            else:
                await phone.fill(f"#field-{name}", value)
        await phone.tap("#form-next")
        await phone.wait_for_selector("body[data-step=documents]")
        # The ID card from the (fake) camera; the other two as files.
        await phone.tap(".c-doc[data-kind=ktp] .doc-camera")
        await wait_for(lambda: phone.evaluate("document.getElementById('camera-video').videoWidth > 0"), message="camera")
        await phone.tap("#camera-snap")
        await phone.wait_for_selector(".c-doc[data-kind=ktp][data-status=ok], .c-doc[data-kind=ktp][data-status=error]",
                                      timeout=15000)
        assert await phone.get_attribute(".c-doc[data-kind=ktp]", "data-status") == "ok", await phone.text_content("#error")
        for kind in ("bank_book", "resignation_letter"):
            await phone.set_input_files(f".c-doc[data-kind={kind}] .doc-file-input",
                                        files=[{"name": f"{kind}.png", "mimeType": "image/png", "buffer": document_png()}])
            await phone.wait_for_selector(f".c-doc[data-kind={kind}][data-status=ok]", timeout=15000)
        await phone.tap("#submit")
        await phone.wait_for_selector("body[data-claim-state=submitted]")
        reference = (await phone.text_content("#reference")).strip()
        token = phone.url.rsplit("/", 1)[1]

        async with aiohttp.ClientSession() as http:
            # Another agent validates: asks for the resignation letter again.
            validator = lapak.agent_tokens[1]
            status, claim = await agent_api(http, lapak.url, validator, "POST", f"/api/online/claims/{reference}/open")
            assert status == 200, claim
            docs = {d["kind"]: d for d in claim["documents"]}
            assert docs["ktp"]["source"] == "camera" and docs["ktp"]["mime"] == "image/jpeg"
            for kind in ("ktp", "bank_book"):
                await agent_api(http, lapak.url, validator, "POST",
                                f"/api/online/claims/{reference}/documents/{docs[kind]['document_id']}/review", {"accepted": True})
            await agent_api(http, lapak.url, validator, "POST",
                            f"/api/online/claims/{reference}/documents/{docs['resignation_letter']['document_id']}/review",
                            {"accepted": False, "reason": "Cap perusahaan tidak terlihat"})
            await phone.reload()
            await phone.wait_for_selector("body[data-claim-state=documents_requested]")
            assert "Cap perusahaan tidak terlihat" in await phone.text_content("#reason")
            await phone.set_input_files(".c-doc[data-kind=resignation_letter] .doc-file-input",
                                        files=[{"name": "surat.png", "mimeType": "image/png", "buffer": document_png()}])
            await phone.wait_for_selector("body[data-claim-state=submitted]")
            status, claim = await agent_api(http, lapak.url, validator, "POST", f"/api/online/claims/{reference}/open")
            letter = next(d for d in claim["documents"] if d["kind"] == "resignation_letter")
            await agent_api(http, lapak.url, validator, "POST",
                            f"/api/online/claims/{reference}/documents/{letter['document_id']}/review", {"accepted": True})
            await phone.reload()
            await phone.wait_for_selector("body[data-claim-state=interview_to_book]")
            await phone.tap(f".slot[data-at='{int(SLOT)}']")
            await phone.wait_for_selector("body[data-claim-state=interview_booked]")

            # At the slot: five booth members are on the agent's tiles already.
            lapak.config.clock.set(SLOT - 5 * 60)
            await agent.connect()
            for booth in booths:
                await booth.connect()
                await booth.request("jht")
            await agent.wait_sessions(5)
            await phone.reload()
            await phone.tap("#interview-start")
            await phone.wait_for_selector("body[data-interview=on_hold]", timeout=30000)
            await agent.wait_sessions(6)
            home = next(t for t in agent.room["tiles"] if t and t["kind"] == "home")
            assert (await agent.talk(home["session_id"]))["ok"]
            await phone.wait_for_selector("body[data-interview=talking]")
            await wait_for(lambda: all(b.state == "on_hold" for b in booths), message="booths on hold")
            mine, *held = await asyncio.gather(spectrum(phone, TONES, ms=900), *(levels(b.audio) for b in booths))
            assert heard(mine, AGENT_TONE) and all(absent(mine, f) for f in KIOSK_TONES[:5]), mine
            for i, lv in enumerate(held):
                assert lv[AGENT_TONE] < 0.01 and lv[PHONE_TONE] < 0.01 and max(lv[f] for f in HOLD_NOTES) > 0.04, (i, lv)
            heard_by_agent = await levels(agent.audio)
            assert heard_by_agent[PHONE_TONE] > 0.04 and all(heard_by_agent[f] < 0.01 for f in KIOSK_TONES[:5]), heard_by_agent
            # The agent turns to a booth: the phone is on hold and hears only the hold melody.
            assert (await agent.focus([booths[0].session_id]))["ok"]
            await phone.wait_for_selector("body[data-interview=on_hold]")
            await asyncio.sleep(1.0)  # what was in the jitter buffer before the switch plays out
            held_phone = await spectrum(phone, TONES, ms=900)
            assert hears_hold_music(held_phone) and absent(held_phone, AGENT_TONE), held_phone
            assert all(absent(held_phone, f) for f in KIOSK_TONES[:5]), held_phone

            status, body = await agent_api(http, lapak.url, lapak.agent_tokens[0], "POST",
                                           f"/api/online/claims/{reference}/outcome", {"outcome": "approved"})
            assert status == 200 and body["state"] == "payment_instructed", body
            await phone.wait_for_selector("body[data-claim-state=payment_instructed]", timeout=15000)
            assert "pembayaran" in (await phone.text_content("#state-text"))
        payment = json.loads((Path(tmp_path) / "payments" / f"{reference}.json").read_text())
        assert (payment["account_number"], payment["bank_name"], payment["account_holder"]) == ("0123456789", "bri", "Siti Aminah")
        await until(lambda: any("diperintahkan" in m for m in inbox.messages), 10, "the payment mail")
        assert all(f"/claim/s/{token}" in m and JHT["nik"] not in m for m in inbox.messages)
    finally:
        for booth in booths:
            await booth.close()
        await agent.close()
        await ctx.close()
        await browser.close()
        await pw.stop()
        await lapak.close()
        smtp.stop()
