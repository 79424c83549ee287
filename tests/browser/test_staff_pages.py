"""Staff pages in real headless Chromium against the real server.

Sign-in, the security officer's console (start, cancel, help calls, branch
isolation), history with CSV export, the admin page's kiosk provisioning,
refusals by role, and screenshots (into a temporary folder;
``scripts/screenshots.py --part staff`` refreshes the ones in docs/). The
supervisor's board is in test_board.py. Headless kiosks and agents (Python
clients) play the other roles. The server's clock is injected
(``Config.clock``): no test here depends on the machine's clock, date or
time zone.
"""

from __future__ import annotations

import asyncio
import csv
import io
from pathlib import Path

import aiohttp
import pytest

try:  # Import now, at a shallow stack: hypothesis's pytest plugin imports it lazily in the
    # terminal summary, and on CPython 3.11.7 that late import failed here with
    # "SystemError: AST constructor recursion depth mismatch" after these tests.
    import hypothesis  # noqa: F401
except ImportError:  # pragma: no cover
    pass

from agent_console.client import HeadlessAgent
from server.appkeys import SELFSERVICE
from signaling.core.vocabulary import AgentIdentity

from .harness import wait_for
from .staff import (
    PASSWORD, TABLET, _eq, accounts, card, card_state, close_all, connected_kiosk, jakarta_branch, no_page_errors,
    open_page, shoot, sign_in, text_of, wait_card,
)

pytestmark = [
    pytest.mark.asyncio(loop_scope="session"),
    # server/auth.py stores the user as request["user"] (a str key): aiohttp warns; not ours to change.
    pytest.mark.filterwarnings("ignore:It is recommended to use web.RequestKey"),
]

# ---------------------------------------------------------------- sign-in and roles


async def test_sign_in_page_errors_and_language(lapak, pages, screenshots):
    page = await open_page(pages, f"{lapak.url}/login?failed=1", viewport=(1100, 760))
    assert await page.is_visible("#login-error")
    assert "salah" in await text_of(page, "#login-error")
    await page.click("#lang-toggle")
    assert "Wrong username or password" in await text_of(page, "#login-error")
    assert await text_of(page, "#login-submit") == "Sign in"
    await page.click("#lang-toggle")
    assert await text_of(page, "#login-submit") == "Masuk"
    await page.fill("#username", "nobody")
    await page.fill("#password", "not-a-password")
    async with page.expect_navigation():
        await page.click("#login-submit")
    assert "failed=1" in page.url
    await page.goto(f"{lapak.url}/login")
    await shoot(page, screenshots, "login")


async def test_wrong_role_refused_and_anonymous_sent_to_login(lapak, pages):
    acc = accounts(lapak)
    acc.add_branch("jkt", "KC Jakarta Pusat")
    acc.add_user("cs.sari", PASSWORD, "agent", name="Sari")
    acc.add_user("satpam.jkt", PASSWORD, "officer", name="Agus", branch_id="jkt")
    staff_pages = ("/officer", "/supervisor", "/supervisor/history", "/supervisor/claims", "/admin")
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as anon:
        for path in staff_pages:
            async with anon.get(f"{lapak.url}{path}", allow_redirects=False) as r:
                assert r.status == 302, path
                assert r.headers["Location"].startswith("/login"), r.headers["Location"]
    for username, refused in (("cs.sari", staff_pages), ("satpam.jkt", staff_pages[1:])):
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as s:
            async with s.post(f"{lapak.url}/api/login", json={"username": username, "password": PASSWORD}) as r:
                assert r.status == 200
            for path in refused:
                async with s.get(f"{lapak.url}{path}", allow_redirects=False) as r:
                    assert r.status == 403, (username, path)
                    assert "Akses ditolak" in await r.text()
    # In the browser: an agent signed in through the form lands on /agent; /admin refuses.
    page = await open_page(pages, f"{lapak.url}/login")
    await page.fill("#username", "cs.sari")
    await page.fill("#password", PASSWORD)
    async with page.expect_navigation():
        await page.click("#login-submit")
    assert page.url.endswith("/agent")
    response = await page.goto(f"{lapak.url}/admin")
    assert response.status == 403
    assert await page.is_visible("#forbidden")
    async with page.expect_navigation():
        await page.click("#forbidden button[type=submit]")  # sign out, back to /login
    assert "/login" in page.url


# ---------------------------------------------------------------- officer console


async def test_officer_console_start_cancel_help_and_branch_isolation(lapak, pages):
    tokens = jakarta_branch(lapak, booths=3)
    acc = accounts(lapak)
    acc.add_branch("bdg", "KC Bandung")
    acc.add_user("satpam.bdg", PASSWORD, "officer", name="Dedi", branch_id="bdg")
    acc.add_kiosk("bdg", 1)
    kiosk = await connected_kiosk(lapak, tokens[1])
    try:
        page = await sign_in(pages, lapak, "/officer", "satpam.jkt", viewport=TABLET)
        await wait_card(page, "jkt-booth-1", "free")
        assert await page.locator(".booth").count() == 3
        assert await card_state(page, "jkt-booth-2") == "offline"
        assert "KC Jakarta Pusat" in await text_of(page, "#branch-name")
        assert not await page.is_visible(f"{card('jkt-booth-2')} .booth-start")  # offline: no start
        await page.click("#lang-toggle")  # English, without a reload
        assert await text_of(page, f"{card('jkt-booth-1')} .booth-state-text") == "Free"
        assert await text_of(page, f"{card('jkt-booth-1')} .booth-start") == "Start service"
        await page.click("#lang-toggle")
        assert await text_of(page, f"{card('jkt-booth-1')} .booth-state-text") == "Kosong"

        # Start a session for booth 1 from the page.
        await page.click(f"{card('jkt-booth-1')} .booth-start")
        await page.click("#start-dialog [data-service=jkk]")
        await wait_for(lambda: kiosk.state in ("waiting", "connecting"), timeout=20, message="kiosk waiting")
        await wait_card(page, "jkt-booth-1", "waiting", "connecting")
        assert "Jaminan Kecelakaan Kerja" in await text_of(page, f"{card('jkt-booth-1')} .booth-service")
        assert "Antrean ke-1" in await text_of(page, f"{card('jkt-booth-1')} .booth-detail")
        session_id = kiosk.session_id
        assert lapak.hub.state.session(session_id).service == "jkk"

        # Cancel it.
        await page.click(f"{card('jkt-booth-1')} .booth-cancel")
        await page.click("#cancel-confirm")
        await wait_card(page, "jkt-booth-1", "free")
        await wait_for(lambda: kiosk.state == "ended", timeout=20, message="kiosk ended")
        assert kiosk.states[-1]["reason"] == "cancelled_by_officer"

        # Starting on an offline booth is refused in plain words (a stale page, forced by hand).
        ack = await page.evaluate(
            "window.lapakOfficer.socket.timeout(10000).emitWithAck('session.start', {kiosk_id: 'jkt-booth-2', service: 'jht'})"
        )
        assert ack["ok"] is False and ack["error"]["code"] == "invalid_state"

        # The member calls security: banner, sound cue, flashing card; answering clears it.
        chimes = await page.evaluate("window.lapakOfficer.chimes")
        assert (await kiosk.call("security.call", {}))["ok"]
        await page.wait_for_selector('.help-banner[data-kiosk="jkt-booth-1"]', timeout=20000)
        assert "Bilik 1 meminta bantuan" in await text_of(page, ".help-banner .help-title")
        assert await page.evaluate("(s) => document.querySelector(s).dataset.help", card("jkt-booth-1")) == "1"
        assert await page.evaluate("window.lapakOfficer.chimes") > chimes
        await page.click('.help-banner[data-kiosk="jkt-booth-1"] .help-answer')
        await page.wait_for_selector(".help-banner", state="detached", timeout=20000)
        await wait_for(lambda: kiosk.help_answered == 1, timeout=20, message="help answered at the kiosk")
        assert await page.evaluate("(s) => document.querySelector(s).dataset.help", card("jkt-booth-1")) == "0"

        # The officer of another branch sees only their own booths, and cannot act on this one.
        other = await sign_in(pages, lapak, "/officer", "satpam.bdg", viewport=TABLET)
        await wait_card(other, "bdg-booth-1", "offline")
        assert await other.locator(".booth").count() == 1
        assert "jkt-booth" not in await other.content()
        ack = await other.evaluate(
            "window.lapakOfficer.socket.timeout(10000).emitWithAck('session.start', {kiosk_id: 'jkt-booth-1', service: 'jht'})"
        )
        assert ack["ok"] is False and ack["error"]["code"] == "unknown_kiosk"
        assert (await kiosk.call("security.call", {}))["ok"]
        await page.wait_for_selector('.help-banner[data-kiosk="jkt-booth-1"]', timeout=20000)
        await asyncio.sleep(0.5)
        assert await other.locator(".help-banner").count() == 0
        no_page_errors(page, other)
    finally:
        await close_all(pages, kiosk)


# ---------------------------------------------------------------- history and admin


async def test_history_csv_and_admin_provisioning(lapak, pages):
    acc = accounts(lapak)
    acc.add_branch("jkt", "KC Jakarta Pusat")
    acc.add_user("spv", PASSWORD, "supervisor", name="Ratna Dewi")
    kiosk = await connected_kiosk(lapak, lapak.kiosk_tokens[0])
    agent = HeadlessAgent(lapak.url, lapak.agent_tokens[0])
    try:
        session_id = await kiosk.request("jp")
        await agent.connect(media=False)
        await agent.wait_sessions(1)
        assert (await agent.end(session_id, "follow_up"))["ok"]
        await wait_for(lambda: kiosk.state == "ended", message="session ended")

        page = await sign_in(pages, lapak, "/supervisor/history", "spv")
        row = f'tr[data-session="{session_id}"]'
        await page.wait_for_selector(row, timeout=20000)
        assert "JP" in await text_of(page, row)
        assert "Perlu tindak lanjut" in await text_of(page, row)
        async with page.expect_download() as info:
            await page.click("#csv")
        download = await info.value
        rows = list(csv.DictReader(io.StringIO(Path(await download.path()).read_text())))
        assert [r["session_id"] for r in rows] == [session_id]
        assert rows[0]["service"] == "jp" and rows[0]["outcome"] == "follow_up"
        # Filters narrow the list and the CSV link follows them.
        await page.select_option("#f-service", "jht")
        await wait_for(lambda: _gone(page, row), message="filtered")
        assert "service=jht" in await page.get_attribute("#csv", "href")
        await page.select_option("#f-service", "jp")
        await page.wait_for_selector(row, timeout=20000)

        # Admin: provision a booth; its token is shown once and works on /kiosk.
        await page.click("a[href='/admin']")
        await page.wait_for_selector("#kiosk-branch option[value=jkt]", state="attached", timeout=20000)
        await page.select_option("#kiosk-branch", "jkt")
        await page.fill("#kiosk-booth", "4")
        await page.click("#kiosk-add")
        await page.wait_for_selector("#token-box", state="visible", timeout=20000)
        url = await text_of(page, "#token-url")
        token = await text_of(page, "#token-value")
        assert url.endswith(f"/kiosk?token={token}") and len(token) > 20
        await page.wait_for_selector('#kiosks-body tr[data-kiosk="jkt-booth-4"]', timeout=20000)
        booth = await pages.open(url, 700.0)
        await wait_for(lambda: booth.evaluate("document.body.dataset.state === 'idle'"), message="kiosk page idle")
        assert "Bilik 4" in await booth.inner_text("#place")
        await page.reload()
        await page.wait_for_selector('#kiosks-body tr[data-kiosk="jkt-booth-4"]', timeout=20000)
        assert not await page.is_visible("#token-box")
        assert token not in await page.content()

        # Add an officer for the branch, then disable them.
        await page.select_option("#user-role", "officer")
        await page.fill("#user-username", "satpam.baru")
        await page.fill("#user-name", "Wahyu Hidayat")
        await page.fill("#user-password", PASSWORD)
        await page.select_option("#user-branch", "jkt")
        await page.click("#user-add")
        await page.wait_for_selector('#users-body tr[data-user="satpam.baru"][data-active="1"]', timeout=20000)
        assert acc.user("satpam.baru").branch_id == "jkt"
        await page.click('#users-body tr[data-user="satpam.baru"] .user-toggle')
        await page.wait_for_selector('#users-body tr[data-user="satpam.baru"][data-active="0"]', timeout=20000)
        assert acc.verify("satpam.baru", PASSWORD) is None
        # A refused change says why, and changes nothing.
        await page.fill("#user-username", "pendek")
        await page.fill("#user-password", "short")
        await page.evaluate("document.getElementById('user-password').removeAttribute('minlength')")
        await page.click("#user-add")
        await page.wait_for_selector("#user-error", state="visible", timeout=20000)
        assert "10" in await text_of(page, "#user-error")
        assert acc.user("pendek") is None
        # Revoke the booth: two taps.
        revoke = '#kiosks-body tr[data-kiosk="jkt-booth-4"] .kiosk-revoke'
        await page.click(revoke)
        await page.click(revoke)
        await page.wait_for_selector('#kiosks-body tr[data-kiosk="jkt-booth-4"]', state="detached", timeout=20000)
        assert acc.kiosk_for_token(token) is None
        no_page_errors(page)
    finally:
        await close_all(pages, kiosk, agent)


async def _gone(page, selector):
    return await page.locator(selector).count() == 0


# ---------------------------------------------------------------- screenshots with live media


async def test_screenshots_of_a_busy_branch(lapak, pages, screenshots):
    """A branch with booths in every state, a help call, a board with load: screenshots for docs/."""
    tokens = jakarta_branch(lapak, booths=6)
    acc = accounts(lapak)
    acc.add_user("spv", PASSWORD, "supervisor", name="Ratna Dewi")
    lapak.config.agent_tokens["tok-rina"] = AgentIdentity(
        "agent-rina", name="Rina Kusuma", skills=frozenset({"jht", "jkk", "jp", "info"})
    )
    lapak.config.agent_tokens["tok-budi"] = AgentIdentity("agent-budi", name="Budi Santoso", capacity=4)
    rina = HeadlessAgent(lapak.url, "tok-rina")
    budi = HeadlessAgent(lapak.url, "tok-budi")
    kiosks = {}
    try:
        await rina.connect(media=True)
        await budi.connect(media=False)
        assert (await budi.call("agent.availability", {"availability": "away"}))["ok"]
        for n in (1, 2, 3, 4, 5):
            kiosks[n] = await connected_kiosk(lapak, tokens[n], auto_media=n in (1, 2, 3), tone_hz=600 + 150 * n)
        officer = await sign_in(pages, lapak, "/officer", "satpam.jkt", viewport=TABLET)
        await wait_card(officer, "jkt-booth-5", "free")

        async def start_from_page(n: int, service: str) -> None:
            before = kiosks[n].session_id
            await officer.click(f"{card(f'jkt-booth-{n}')} .booth-start")
            await officer.click(f"#start-dialog [data-service={service}]")
            await wait_for(lambda: kiosks[n].session_id not in (None, before), message=f"booth {n} session")

        await start_from_page(3, "jp")
        await start_from_page(1, "jht")
        await start_from_page(2, "jkk")
        await start_from_page(4, "jkm")  # Rina has no JKM skill, Budi is away: it waits
        for n in (1, 2, 3):
            await wait_for(lambda n=n: kiosks[n].state in ("on_hold", "talking"), timeout=30, message=f"booth {n} media")
        s1, s3 = kiosks[1].session_id, kiosks[3].session_id
        # Booth 3 is served to the end and rated: a closed row for the history.
        assert (await rina.end(s3, "resolved"))["ok"]
        await wait_for(lambda: kiosks[3].state == "ended", message="booth 3 ended")
        assert (await kiosks[3].call("session.rate", {"session_id": s3, "score": 5}))["ok"]
        assert (await rina.focus([s1]))["ok"]
        await wait_for(lambda: kiosks[1].state == "talking", message="booth 1 talking")
        # The hub sends branch.state on a focus change only since ... (see the report):
        # the help call below makes it send one in any case.
        assert (await kiosks[5].call("security.call", {}))["ok"]
        await officer.wait_for_selector('.help-banner[data-kiosk="jkt-booth-5"]', timeout=20000)
        await wait_card(officer, "jkt-booth-1", "talking")
        await wait_card(officer, "jkt-booth-2", "on_hold")
        await wait_card(officer, "jkt-booth-4", "waiting")
        await wait_card(officer, "jkt-booth-3", "free")
        await shoot(officer, screenshots, "officer-console")
        await officer.click(f"{card('jkt-booth-3')} .booth-start")
        await officer.wait_for_selector("#start-dialog[open]")
        await shoot(officer, screenshots, "officer-start-dialog")
        await officer.click("#start-close")
        # One more: started and cancelled from the page (a row of another kind in the history).
        await start_from_page(3, "jkm")  # nobody serves JKM now: it waits, then is cancelled
        await wait_card(officer, "jkt-booth-3", "waiting")
        await officer.click(f"{card('jkt-booth-3')} .booth-cancel")
        await officer.click("#cancel-confirm")
        await wait_card(officer, "jkt-booth-3", "free")
        no_page_errors(officer)

        board = await sign_in(pages, lapak, "/supervisor", "spv")
        await wait_for(lambda: _eq(text_of(board, "#total-waiting"), "1"), message="board waiting")
        await wait_for(lambda: board.evaluate("window.lapakBoard.dayLoads > 0"), message="day chart")
        await wait_for(
            lambda: _eq(board.evaluate("document.querySelector('[data-agent=\"agent-rina\"] .in-progress')?.dataset.value"), "2"),
            message="rina 2 in progress",
        )
        await shoot(board, screenshots, "supervisor-board", full_page=True)
        await board.goto(f"{lapak.url}/supervisor/history")
        await board.wait_for_selector(f'tr[data-session="{s3}"]', timeout=20000)
        await shoot(board, screenshots, "supervisor-history")
        await board.goto(f"{lapak.url}/admin")
        await board.wait_for_selector('#kiosks-body tr[data-kiosk="jkt-booth-6"]', timeout=20000)
        await board.select_option("#kiosk-branch", "jkt")
        await board.fill("#kiosk-booth", "7")
        await board.click("#kiosk-add")
        await board.wait_for_selector("#token-box", state="visible", timeout=20000)
        await shoot(board, screenshots, "supervisor-admin")
    finally:
        await close_all(pages, rina, budi, *kiosks.values())


# ---------------------------------------------------------------- claim files


async def test_supervisor_sees_submitted_claims_and_sets_retention(lapak, pages):
    from selfservice_helpers import JHT

    acc = accounts(lapak)
    acc.add_user("spv", PASSWORD, "supervisor", name="Ratna Dewi")
    kiosk = await connected_kiosk(lapak, lapak.kiosk_tokens[0])
    agent = HeadlessAgent(lapak.url, lapak.agent_tokens[0])
    try:
        sid = await kiosk.request("jht")
        await agent.connect(media=False)
        await agent.wait_sessions(1)
        assert (await agent.call("form.open", {"session_id": sid}))["ok"]
        for field, value in JHT.items():
            assert (await kiosk.call("form.edit", {"session_id": sid, "field": field, "value": value}))["ok"]
        ack = await agent.call("claim.submit", {"session_id": sid})
        assert ack["ok"], ack
        reference = ack["reference"]

        page = await sign_in(pages, lapak, "/supervisor/claims", "spv")
        row = f'tr[data-reference="{reference}"]'
        await page.wait_for_selector(row, timeout=20000)
        assert "JHT" in await text_of(page, row)
        # The manifest link opens the claim's JSON for the back office.
        href = await page.get_attribute(f"{row} a", "href")
        manifest = await page.evaluate("(u) => fetch(u).then((r) => r.json())", href)
        assert manifest["reference"] == reference
        # Retention: saved through the page, applied by the server.
        await page.fill("#retention-days", "30")
        await page.click("#retention-form button[type=submit]")
        await wait_for(lambda: lapak.app[SELFSERVICE].retention_days() == 30, message="retention saved")
    finally:
        await kiosk.close()
        await agent.close()
