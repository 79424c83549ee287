"""Served over HTTPS (a certificate made here), a booth page whose media may only go through TURN.

Chromium signs an agent in over HTTPS (the sign-in cookie is ``Secure``),
the console and the booth page talk socket.io over secure WebSockets, and
the booth page relays its media through a real coturn with the credentials
the server handed it (``media.ice``). The booth's "only relay" is an init
script forcing ``iceTransportPolicy: "relay"`` on the page's own
configuration, as a branch firewall would. The server's clock is the
machine's: coturn checks the credentials' expiry against it.

Credentials coturn refuses: the server's injected clock starts two days
back, so the first credentials a page gets expired yesterday; the page
shows plainly that its media connection failed (``#media-failed``), and
once the clock is right its retry asks for fresh ones and relays. One
coturn serves the whole module.
"""

from __future__ import annotations

import datetime
import ipaddress
import json
import time
from pathlib import Path

import pytest
from aiohttp import web
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from server.app import create_app
from server.config import Config
from server.netoptions import tls_context
from server.turn import parse_turn_url
from signaling.core.daytime import RunningClock
from signaling.core.vocabulary import AgentIdentity, KioskIdentity
from turnhost import SECRET, Coturn, missing

from .harness import TONE_INIT_SCRIPT, free_port, start_session, wait_for, wait_state

pytestmark = [
    pytest.mark.asyncio(loop_scope="session"),
    pytest.mark.skipif(missing() is not None, reason=str(missing())),
]

PASSWORD = "rahasia-cabang-2026"
RELAY_ONLY = """
(() => {
  const Original = window.RTCPeerConnection;
  window.RTCPeerConnection = function (config) { return new Original({ ...(config || {}), iceTransportPolicy: "relay" }); };
  window.RTCPeerConnection.prototype = Original.prototype;
})();
"""
SELECTED_LOCAL_TYPE = """async (app) => {
  const stats = await window[app || "lapakKiosk"].pc.getStats();
  let pair = null;
  stats.forEach((r) => { if (r.type === "transport" && r.selectedCandidatePairId) pair = stats.get(r.selectedCandidatePairId); });
  return pair ? stats.get(pair.localCandidateId).candidateType : null;
}"""


@pytest.fixture(scope="module")
def turn(tmp_path_factory):
    """One coturn for the module, with the test secret, on loopback."""
    coturn = Coturn(tmp_path_factory.mktemp("coturn"), "127.0.0.1").start()
    try:
        yield coturn
    finally:
        coturn.stop()


def self_signed(folder, now: datetime.datetime):
    """A certificate for 127.0.0.1 and its key, as PEM files in ``folder``."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "lapak test")])
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1)).not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
        .sign(key, hashes.SHA256())
    )
    (folder / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (folder / "key.pem").write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return folder / "cert.pem", folder / "key.pem"


async def test_https_pages_secure_cookie_and_a_relayed_booth(browser, turn, tmp_path):
    cert, key = self_signed(tmp_path, datetime.datetime.now(datetime.timezone.utc))
    config = Config(
        data_dir=tmp_path / "data", ice_addresses=["127.0.0.1"], clock=RunningClock(time.time()),
        kiosk_tokens={"kiosk-token-1": KioskIdentity("kiosk-1", branch="KC Jakarta Salemba", booth=1)},
        tls_cert=cert, tls_key=key, turn_urls=(parse_turn_url(turn.url("tcp")),), turn_secret=SECRET,
    )
    app = create_app(config)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port, ssl_context=tls_context(str(cert), str(key))).start()
    url = f"https://127.0.0.1:{port}"
    from server.appkeys import HUB

    app[HUB].storage.accounts.add_user("sari", PASSWORD, "agent", name="Siti Rahma")
    contexts = []
    try:
        agent_ctx = await browser.new_context(ignore_https_errors=True, permissions=["camera", "microphone"])
        booth_ctx = await browser.new_context(ignore_https_errors=True, permissions=["camera", "microphone"])
        contexts += [agent_ctx, booth_ctx]
        await agent_ctx.add_init_script(TONE_INIT_SCRIPT % {"freq": 450.0})
        await booth_ctx.add_init_script(TONE_INIT_SCRIPT % {"freq": 600.0})
        await booth_ctx.add_init_script(RELAY_ONLY)

        agent = await agent_ctx.new_page()
        await agent.goto(f"{url}/login")
        await agent.fill("#username", "sari")
        await agent.fill("#password", PASSWORD)
        async with agent.expect_navigation():
            await agent.click("#login-submit")
        [cookie] = [c for c in await agent_ctx.cookies() if c["httpOnly"]]
        assert cookie["secure"] and cookie["sameSite"] == "Strict", cookie
        if not agent.url.endswith("/agent"):
            await agent.goto(f"{url}/agent")
        await wait_for(lambda: agent.evaluate("document.body.dataset.media === 'connected'"), 20, message="agent media")

        booth = await booth_ctx.new_page()
        await booth.goto(f"{url}/kiosk?token=kiosk-token-1&lang=id")
        await start_session(booth)
        await wait_state(booth, "talking", "on_hold", timeout=30)
        await wait_for(lambda: booth.evaluate("document.body.dataset.media === 'connected'"), 30, message="booth media")
        ice = await booth.evaluate("window.lapakIce")
        [server] = ice["servers"]
        assert server["urls"] == [turn.url("tcp")] and server["username"].endswith(":kiosk-kiosk-1")
        assert int(server["username"].split(":")[0]) == ice["expires_at"]
        local = await wait_for(lambda: booth.evaluate(SELECTED_LOCAL_TYPE), 10, message="a selected pair")
        print(f"the booth page's selected local candidate: {local}")
        assert local == "relay"
        assert await booth.evaluate("location.protocol") == "https:"
    finally:
        for ctx in contexts:
            await ctx.close()
        await runner.cleanup()


FAILED_TEXT = json.loads((Path(__file__).parents[2] / "server" / "locales" / "id.json").read_text())["media.failed"]
BANNER = """() => {
  const el = document.getElementById("media-failed");
  return { shown: !!el && !el.hidden, text: el ? el.textContent.trim() : null, media: document.body.dataset.media || null };
}"""


async def refused_then_relayed(page, app: str, clock: RunningClock) -> dict:
    """``page`` (relay only) was handed expired credentials: it says so, then relays with fresh ones once the clock is right."""
    failed = await wait_for(lambda: _banner_shown(page), 30, message=f"{app}: the media-failed banner")
    assert failed["text"] == FAILED_TEXT, failed
    stale = await page.evaluate("window.lapakIce")
    [server] = stale["servers"]
    assert int(server["username"].split(":")[0]) < time.time(), "the credentials it was handed had expired"
    clock.set(time.time())  # the server's clock is right again: the next media.ice hands valid credentials
    await wait_for(lambda: page.evaluate("document.body.dataset.media === 'connected'"), 30, message=f"{app} media")
    fresh = await page.evaluate("window.lapakIce")
    assert fresh["asked"] > stale["asked"], (stale, fresh)
    assert int(fresh["servers"][0]["username"].split(":")[0]) > time.time(), "fresh credentials"
    assert not (await page.evaluate(f"({BANNER})()"))["shown"], "the banner is gone once media connects"
    assert await wait_for(lambda: page.evaluate(SELECTED_LOCAL_TYPE, app), 10, message="a selected pair") == "relay"
    return {"asked_before": stale["asked"], "asked_after": fresh["asked"]}


async def _banner_shown(page):
    state = await page.evaluate(f"({BANNER})()")
    return state if state["shown"] else None


async def test_refused_credentials_show_the_failure_and_the_retry_relays_with_fresh_ones(browser, turn, tmp_path):
    clock = RunningClock(time.time() - 2 * 86400)  # the first credentials expired yesterday: coturn says 401
    config = Config(
        data_dir=tmp_path / "data", ice_addresses=["127.0.0.1"], clock=clock,
        kiosk_tokens={"kiosk-token-1": KioskIdentity("kiosk-1", branch="KC Jakarta Salemba", booth=1)},
        agent_tokens={"agent-token-1": AgentIdentity("agent-1", name="Siti Rahmawati")},
        turn_urls=(parse_turn_url(turn.url("tcp")),), turn_secret=SECRET,
    )
    runner = web.AppRunner(create_app(config))
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    url = f"http://127.0.0.1:{port}"
    contexts = []
    try:
        pages = {}
        for name, tone in (("agent", 450.0), ("booth", 600.0)):
            ctx = await browser.new_context(permissions=["camera", "microphone"])
            contexts.append(ctx)
            await ctx.add_init_script(TONE_INIT_SCRIPT % {"freq": tone})
            await ctx.add_init_script(RELAY_ONLY)
            pages[name] = await ctx.new_page()

        await pages["agent"].goto(f"{url}/agent?token=agent-token-1&lang=id")
        print("agent console:", await refused_then_relayed(pages["agent"], "lapakAgent", clock))

        clock.set(time.time() - 2 * 86400)  # expired again, for the booth's first connection
        booth = pages["booth"]
        await booth.goto(f"{url}/kiosk?token=kiosk-token-1&lang=id")
        await start_session(booth)
        await wait_state(booth, "connecting", timeout=30)  # an agent took it; its media cannot connect yet
        print("booth page:", await refused_then_relayed(booth, "lapakKiosk", clock))
        await wait_state(booth, "talking", "on_hold", timeout=20)
        assert "401" in turn.logged()  # coturn: "error 401: Unauthorized"
    finally:
        for ctx in contexts:
            await ctx.close()
        await runner.cleanup()
