"""Sign-in limits and the audit trail as people see them, in real Chromium.

A staff member who keeps typing a wrong password is told to wait, then that
sign-in is locked, in Indonesian and on the toggle in English; the supervisor
sees the lock on /admin, lifts it, and the staff member signs in. The audit
page lists those acts with filters and a CSV download. The limiter's clock is
injected (no test waits out a lock).
"""

from __future__ import annotations

import csv
import io

import pytest

from .harness import wait_for
from .test_text_is_text import WATCH, shows, unharmed

pytestmark = [
    pytest.mark.asyncio(loop_scope="session"),
    pytest.mark.filterwarnings("ignore:It is recommended to use web.RequestKey"),
]

PASSWORD = "rahasia-cabang-2026"


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


async def open_page(pages, url: str):
    ctx = await pages.browser.new_context(viewport={"width": 1280, "height": 860}, locale="id-ID",
                                          timezone_id="Asia/Jakarta", accept_downloads=True)
    pages.contexts.append(ctx)
    await ctx.add_init_script(WATCH)
    page = await ctx.new_page()
    page.lapak_errors = []
    page.on("pageerror", lambda e: page.lapak_errors.append(str(e)))
    # (The wrong passwords this test types are 302s, not errors.)
    page.on("console", lambda m: m.type == "error" and "Failed to load resource" not in m.text
            and page.lapak_errors.append(m.text))
    await page.goto(url)
    return page


async def try_password(page, username: str, password: str) -> None:
    await page.fill("#username", username)
    await page.fill("#password", password)
    async with page.expect_navigation():
        await page.click("#login-submit")


async def test_a_locked_sign_in_says_so_and_the_supervisor_unlocks_it(lapak, pages):
    acc = lapak.hub.storage.accounts
    acc.add_user("sari", PASSWORD, "agent", name="Siti Rahma")
    acc.add_user("boss", PASSWORD, "supervisor", name="Ratna Dewi")
    clock = Clock(1_767_225_600.0)  # 2026-01-01 07:00 WIB
    acc.signin.clock = clock
    lapak.hub.storage.audit.clock = clock

    page = await open_page(pages, f"{lapak.url}/login")
    for _ in range(3):
        await try_password(page, "sari", "salah sandi")
        assert "Nama pengguna atau kata sandi salah" in await page.text_content("#login-error")
    await try_password(page, "sari", PASSWORD)  # too soon: not even checked
    assert page.url.endswith("/login?wait=5")
    await shows(page, "Terlalu banyak percobaan yang salah. Tunggu 5 detik, lalu coba lagi.", "#login-error")
    clock.now += 5
    await try_password(page, "sari", "salah sandi")
    clock.now += 10
    await try_password(page, "sari", "salah sandi")  # the 5th: locked
    await try_password(page, "sari", PASSWORD)
    assert page.url.endswith("/login?locked=900")
    await shows(page, "Masuk dikunci sementara", "#login-error")
    await shows(page, "Coba lagi dalam 15 menit, atau minta supervisor membuka kuncinya.", "#login-error")
    await page.click("#lang-toggle")
    await shows(page, "Sign-in is locked for a while after too many wrong attempts. Try again in 15 minutes, "
                      "or ask a supervisor to unlock it.", "#login-error")
    assert await page.get_attribute("#login-error", "role") == "alert"
    await unharmed(page, "sign-in")

    # The supervisor sees the lock on /admin and lifts it.
    admin = await open_page(pages, f"{lapak.url}/login?next=/admin")
    await try_password(admin, "boss", PASSWORD)
    assert admin.url.endswith("/admin")
    row = '#locks-body tr[data-scope="username"][data-key="sari"]'
    await admin.wait_for_selector(row)
    assert "Nama pengguna" in await admin.text_content(row) and "5" in await admin.text_content(row)
    await admin.click(f"{row} .lock-unlock")
    await admin.wait_for_selector(row, state="detached")
    await shows(admin, "Tidak ada yang terkunci.", "#locks-body")
    # ...and gives sari a new password from the users' list.
    user_row = '#users-body tr[data-user="sari"]'
    await admin.fill(f"{user_row} .user-password", "kata-sandi-baru-2026")
    await admin.click(f"{user_row} .user-password-save")
    await shows(admin, "Kata sandi baru untuk Siti Rahma disimpan", "#toast")
    await unharmed(admin, "admin")

    await page.goto(f"{lapak.url}/login")
    await try_password(page, "sari", "kata-sandi-baru-2026")
    assert page.url.endswith("/agent"), page.url

    # The audit page: the lock, the unlock and the password, with who and where; filters; CSV.
    audit = await open_page(pages, f"{lapak.url}/login?next=/supervisor/audit")
    await try_password(audit, "boss", PASSWORD)
    await wait_for(lambda: audit.evaluate("window.lapakAudit.loads > 0"), message="audit loaded")
    actions = await audit.evaluate("[...document.querySelectorAll('#audit-body tr')].map((r) => r.dataset.action)")
    assert actions == ["user.password", "signin.unlock", "signin.locked"]
    await shows(audit, "Kunci masuk dibuka", '#audit-body tr[data-action="signin.unlock"]')
    await shows(audit, "127.0.0.1", '#audit-body tr[data-action="signin.unlock"]')
    await shows(audit, "boss", '#audit-body tr[data-action="signin.unlock"]')
    await audit.select_option("#f-action", "signin.locked")
    await wait_for(lambda: audit.evaluate("window.lapakAudit.loads > 1 && window.lapakAudit.entries.length === 1"),
                   message="filtered by action")
    assert audit.url.endswith("/supervisor/audit?action=signin.locked")
    await audit.fill("#f-from", "2026-01-02")
    await audit.click("#apply")
    await audit.wait_for_selector("#audit-empty:not([hidden])")
    await audit.fill("#f-from", "2026-01-01")
    await audit.click("#apply")
    await audit.wait_for_selector("#audit-empty", state="hidden")
    async with audit.expect_download() as dl:
        await audit.click("#csv")
    download = await dl.value
    rows = list(csv.reader(io.StringIO(open(await download.path(), encoding="utf-8").read())))
    assert [r[3] for r in rows[1:]] == ["signin.locked"] and rows[1][1] == "sari"
    await audit.click("#lang-toggle")
    await shows(audit, "Sign-in locked", "#audit-body")
    await unharmed(audit, "audit")
