"""Text that members and staff type is shown as text on every screen, in real Chromium.

Markup and script-like input goes into every field people type into: the
member's form at the booth (sent by the booth page itself) and at the agent's
console, the agent's note, the branch's and the staff's names typed on the
admin page, a colleague's name, a username tried at the sign-in page. Then
every screen that shows them is opened: the booth, the agent console, the
officer's console, the supervisor's board, history, claim files and the
claim's manifest, the admin page and the audit trail. On each, the literal
text must be visible, no element may have been made of it, ``window.__pwned``
must stay undefined, and no Content-Security-Policy violation may be reported
(an injected handler would be one: CSP is the second wall, not the first).
"""

from __future__ import annotations

import json

import aiohttp
import pytest

from agent_console.client import HeadlessAgent
from server.appkeys import SELFSERVICE
from signaling.core.vocabulary import AgentIdentity

from .harness import start_session, wait_for, wait_state

pytestmark = [
    pytest.mark.asyncio(loop_scope="session"),
    pytest.mark.filterwarnings("ignore:It is recommended to use web.RequestKey"),
]

PASSWORD = "rahasia-cabang-2026"
ATTACK = '<img src=x onerror=window.__pwned=1> "><script>window.__pwned=1</script>'


def typed(label: str) -> str:
    """What someone typed into the field called ``label``: a name with markup in it."""
    return f"{label} {ATTACK}"


BRANCH = typed("KC")
AGENT = typed("Siti")
BOSS = typed("Ratna")
COLLEAGUE = typed("Budi")
MEMBER_NAME = typed("Nama")
EMPLOYER = typed("PT")
NOTE = typed("Catatan")
TRIED_USERNAME = typed("u")[:80]

#: Every page reports CSP violations into window.__csp.
WATCH = """
window.__csp = [];
document.addEventListener("securitypolicyviolation", (e) => window.__csp.push(`${e.violatedDirective} ${e.blockedURI} ${e.sourceFile}:${e.lineNumber}`));
"""

JKK = {"nik": "3174055708900012", "kpj": "12345678901", "accident_date": "10-01-2026", "phone": "081234567890"}


async def open_page(pages, url: str, viewport=(1440, 900)):
    ctx = await pages.browser.new_context(viewport={"width": viewport[0], "height": viewport[1]},
                                          permissions=["camera", "microphone"])
    pages.contexts.append(ctx)
    await ctx.add_init_script(WATCH)
    page = await ctx.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: m.type == "error" and "Failed to load resource" not in m.text and errors.append(m.text))
    page.lapak_errors = errors
    await page.goto(url)
    return page


async def sign_in(pages, url: str, path: str, username: str, viewport=(1440, 900)):
    page = await open_page(pages, f"{url}/login?next={path}", viewport)
    await page.fill("#username", username)
    await page.fill("#password", PASSWORD)
    async with page.expect_navigation():
        await page.click("#login-submit")
    assert page.url.endswith(path), page.url
    return page


async def shows(page, text: str, selector: str = "body", timeout: float = 15.0) -> None:
    """``text`` is visible, as text, inside ``selector``."""
    await wait_for(
        lambda: page.evaluate("([s, t]) => [...document.querySelectorAll(s)].some((e) => e.innerText.includes(t))",
                              [selector, text]),
        timeout=timeout, message=f"{text!r} shown as text in {selector}",
    )


async def option_texts(page, selector: str) -> list[str]:
    return await page.evaluate("(s) => [...document.querySelectorAll(s + ' option')].map((o) => o.text)", selector)


async def unharmed(page, where: str) -> None:
    """Nothing typed became markup or ran, and the page's CSP saw nothing to block."""
    state = await page.evaluate("""() => ({
        pwned: typeof window.__pwned,
        imgs: document.querySelectorAll('img[src="x"], [onerror]').length,
        scripts: [...document.querySelectorAll("script")].filter((s) => !s.src && s.type !== "application/json").length,
        csp: window.__csp,
    })""")
    assert state == {"pwned": "undefined", "imgs": 0, "scripts": 0, "csp": []}, (where, state)
    assert page.lapak_errors == [], (where, page.lapak_errors)


async def test_markup_typed_anywhere_is_shown_as_text_everywhere(lapak, pages):
    url = lapak.url
    acc = lapak.hub.storage.accounts
    acc.add_user("boss", PASSWORD, "supervisor", name=BOSS)
    # The supervisor types the branch's and the staff's names on the admin API (as /admin does).
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        async with http.post(url + "/api/login", json={"username": "boss", "password": PASSWORD}) as r:
            assert r.status == 200
        for path, body in (("/api/admin/branches", {"branch_id": "jkt", "name": BRANCH}),
                           ("/api/admin/users", {"username": "sari", "password": PASSWORD, "role": "agent", "name": AGENT}),
                           ("/api/admin/users", {"username": "satpam", "password": PASSWORD, "role": "officer", "branch": "jkt"}),
                           ("/api/admin/kiosks", {"branch": "jkt", "booth": 1})):
            async with http.post(url + path, json=body) as r:
                assert r.status == 201, await r.text()
                answer = await r.json()
        token = answer["token"]  # the booth's, from the last answer
    # A stranger tries a username full of markup until it locks.
    async with aiohttp.ClientSession() as anon:
        for _ in range(3):
            async with anon.post(url + "/api/login", json={"username": TRIED_USERNAME, "password": "wrong"}):
                pass
    acc.signin.failed(TRIED_USERNAME, "198.51.100.4")
    acc.signin.failed(TRIED_USERNAME, "198.51.100.4")  # the 5th: locked (the limiter's own clock, no waiting)
    # A colleague whose name is markup is on duty (listed in the agent's transfer dialog).
    lapak.config.agent_tokens["colleague-token"] = AgentIdentity("agent-colleague", name=COLLEAGUE)
    colleague = HeadlessAgent(url, "colleague-token")
    try:
        agent = await sign_in(pages, url, "/agent", "sari", viewport=(1600, 900))
        await wait_for(lambda: agent.evaluate("document.body.dataset.media === 'connected'"), timeout=20, message="agent media")
        officer = await sign_in(pages, url, "/officer", "satpam", viewport=(1180, 820))
        board = await sign_in(pages, url, "/supervisor", "boss")
        kiosk = await open_page(pages, f"{url}/kiosk?token={token}", viewport=(1280, 800))
        await start_session(kiosk, "jkk")
        await wait_state(kiosk, "on_hold", "talking", timeout=30)
        await colleague.connect(media=False)  # after the member is seated with sari

        # The agent talks to the member (the booth shows the agent's name) and opens the form.
        await agent.wait_for_selector("#tile-1 .tile-ss")
        await agent.click("#tile-1 .tile-talk")
        await wait_state(kiosk, "talking")
        await agent.click("#tile-1 .tile-ss")
        await agent.click("#ss-open-form")
        await kiosk.wait_for_selector("#ss-form:not([hidden])")
        # Typed at the console...
        await agent.fill('#ss-panel [data-field="full_name"] .ss-input', MEMBER_NAME)
        # ...and sent by the booth's own page, as a tampered booth would.
        ack = await kiosk.evaluate("""(value) => new Promise((resolve) => window.lapakKiosk.socket.emit(
            "form.edit", {session_id: window.lapakKiosk.sessionId, field: "employer", value}, resolve))""", EMPLOYER)
        assert ack["ok"], ack
        await agent.fill("#tile-1 .tile-note", NOTE)

        await shows(kiosk, MEMBER_NAME, '#ss-fields [data-field="full_name"] .ss-value-text')
        await shows(kiosk, EMPLOYER, '#ss-fields [data-field="employer"] .ss-value-text')
        await shows(kiosk, AGENT)
        await wait_for(lambda: agent.input_value('#ss-panel [data-field="employer"] .ss-input'), message="employer at the console")
        assert await agent.input_value('#ss-panel [data-field="employer"] .ss-input') == EMPLOYER
        assert await agent.input_value('#ss-panel [data-field="full_name"] .ss-input') == MEMBER_NAME
        await shows(agent, BRANCH, "#tile-1 .tile-branch")
        await shows(agent, AGENT, ".brand-sub")
        await agent.click("#tile-1 .tile-transfer")
        async def colleague_listed() -> bool:  # the dialog asks for its targets when it opens
            return any(COLLEAGUE in o for o in await option_texts(agent, "#transfer-to"))

        await wait_for(colleague_listed, message="the colleague in the transfer list")
        await agent.click('#transfer-dialog button[value="cancel"]')
        await shows(officer, BRANCH, "#branch-name")
        await shows(board, AGENT, ".agent-name")
        await shows(board, BRANCH, ".branch-name")
        await shows(board, BOSS, "#who")
        for page, where in ((kiosk, "booth"), (agent, "agent console"), (officer, "officer"), (board, "board")):
            await unharmed(page, where)

        # The form is put right and the claim submitted; the session ends with the note.
        await agent.fill('#ss-panel [data-field="full_name"] .ss-input', "SITI AMINAH")
        for field, value in JKK.items():
            await agent.fill(f'#ss-panel [data-field="{field}"] .ss-input', value)
        await agent.wait_for_selector("#ss-submit:not([disabled])", timeout=15000)
        await agent.click("#ss-submit")
        await agent.wait_for_selector("#ss-claim-ref")
        (claim,) = lapak.app[SELFSERVICE].store.claims()
        reference = claim["reference"]
        assert reference in await agent.text_content("#ss-claim-ref")
        await agent.click("#tile-1 .tile-end")
        assert await agent.input_value("#end-note") == NOTE
        await shows(agent, BRANCH, "#end-who")
        await agent.click("#end-confirm")
        await wait_state(kiosk, "ended", "idle", timeout=20)
        await unharmed(agent, "agent console after the claim")
        await unharmed(kiosk, "booth after the claim")

        history = await sign_in(pages, url, "/supervisor/history", "boss")
        await shows(history, AGENT, "#history-body")
        await shows(history, BRANCH, "#history-body")
        assert any(AGENT in o for o in await option_texts(history, "#f-agent"))
        assert any(BRANCH in o for o in await option_texts(history, "#f-branch"))
        await unharmed(history, "history")

        claims = await sign_in(pages, url, "/supervisor/claims", "boss")
        await claims.wait_for_selector(f'tr[data-reference="{reference}"]', timeout=20000)
        await shows(claims, AGENT, "#claims-body")
        await shows(claims, BRANCH, "#claims-body")
        await unharmed(claims, "claims")
        # The claim's manifest, opened by the back office in the browser, is JSON shown as text.
        async with claims.context.expect_page() as opened:
            await claims.click(f'tr[data-reference="{reference}"] a')
        manifest = await opened.value
        await manifest.wait_for_load_state()
        raw = await manifest.evaluate("document.body.innerText")
        assert json.loads(raw)["form"]["employer"] == EMPLOYER
        assert await manifest.evaluate("typeof window.__pwned") == "undefined"
        assert await manifest.evaluate("document.querySelectorAll('img').length") == 0

        admin = await sign_in(pages, url, "/admin", "boss")
        await shows(admin, AGENT, "#users-body")
        await shows(admin, BRANCH, "#branches-body")
        await shows(admin, TRIED_USERNAME, "#locks-body")
        await unharmed(admin, "admin")

        audit = await sign_in(pages, url, "/supervisor/audit", "boss")
        await shows(audit, BRANCH, "#audit-body")  # the branch.add entry's detail
        await shows(audit, AGENT, "#audit-body")  # the user.add entry's detail
        await shows(audit, TRIED_USERNAME, "#audit-body")  # the signin.locked entry's actor
        await unharmed(audit, "audit")
    finally:
        await colleague.close()
