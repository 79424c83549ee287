"""Helpers for the staff-page browser tests: pages in Jakarta's locale, sign-in, booth cards, screenshots."""

from __future__ import annotations

import asyncio
from pathlib import Path

from kiosk_client.client import HeadlessKiosk

from .harness import wait_for

PASSWORD = "rahasia-cabang-2026"
TABLET = (1180, 820)
DESKTOP = (1440, 900)


def accounts(lapak):
    return lapak.hub.storage.accounts


def jakarta_branch(lapak, booths: int = 3) -> dict[int, str]:
    """Branch ``jkt`` with an officer and ``booths`` provisioned kiosks; returns booth -> token."""
    acc = accounts(lapak)
    acc.add_branch("jkt", "KC Jakarta Pusat")
    acc.add_user("satpam.jkt", PASSWORD, "officer", name="Agus Pratama", branch_id="jkt")
    return {n: acc.add_kiosk("jkt", n)[1] for n in range(1, booths + 1)}


async def open_page(pages, url: str, viewport=DESKTOP):
    """A page in its own context, in Indonesian and Jakarta time, as at a branch."""
    ctx = await pages.browser.new_context(
        viewport={"width": viewport[0], "height": viewport[1]},
        locale="id-ID",
        timezone_id="Asia/Jakarta",
        accept_downloads=True,
    )
    pages.contexts.append(ctx)
    page = await ctx.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    # (A refused API call logs "Failed to load resource": expected where a test provokes one.)
    page.on("console", lambda m: m.type == "error" and "Failed to load resource" not in m.text and errors.append(m.text))
    page.lapak_errors = errors
    await page.goto(url)
    return page


def no_page_errors(*pages_) -> None:
    for page in pages_:
        assert page.lapak_errors == [], page.lapak_errors


async def sign_in(pages, lapak, path: str, username: str, viewport=DESKTOP):
    """Open ``path`` anonymously (sent to /login), sign in through the form, land on ``path``."""
    page = await open_page(pages, f"{lapak.url}{path}", viewport=viewport)
    assert "/login" in page.url, page.url
    await page.fill("#username", username)
    await page.fill("#password", PASSWORD)
    async with page.expect_navigation():
        await page.click("#login-submit")
    assert page.url.endswith(path), page.url
    return page


async def connected_kiosk(lapak, token: str, **kw) -> HeadlessKiosk:
    kiosk = HeadlessKiosk(lapak.url, token, auto_media=kw.pop("auto_media", False), **kw)
    await kiosk.connect()
    return kiosk


def card(kiosk_id: str) -> str:
    return f'.booth[data-kiosk="{kiosk_id}"]'


async def card_state(page, kiosk_id: str) -> str | None:
    return await page.evaluate(
        "(sel) => { const c = document.querySelector(sel); return c ? c.dataset.state : null; }", card(kiosk_id)
    )


async def wait_card(page, kiosk_id: str, *states: str, timeout: float = 20.0):
    try:
        return await wait_for(
            lambda: _in(card_state(page, kiosk_id), states), timeout=timeout, message=f"{kiosk_id} in {states}"
        )
    except AssertionError as exc:
        raise AssertionError(f"{exc}; the card shows {await card_state(page, kiosk_id)!r}") from None


async def _in(coro, states):
    value = await coro
    return value if value in states else None


async def text_of(page, selector: str) -> str:
    return (await page.text_content(selector) or "").strip()


async def shoot(page, out: Path, name: str, full_page: bool = False) -> None:
    """Save a screenshot as ``out/name.png`` (the test's ``screenshots`` folder, never the checkout by itself)."""
    await page.evaluate("document.getElementById('toast') && (document.getElementById('toast').hidden = true)")
    await page.wait_for_timeout(900)  # let highlights and transitions settle
    path = out / f"{name}.png"
    await page.screenshot(path=str(path), full_page=full_page)
    try:  # small PNGs: a 256-colour palette is plenty for UI shots
        from PIL import Image

        with Image.open(path) as im:
            im.convert("RGB").quantize(colors=256, method=Image.Quantize.MEDIANCUT).save(path, optimize=True)
    except ImportError:  # pragma: no cover
        pass


async def close_all(pages, *clients) -> None:
    """Close the pages first, so no supervisor is watching (a pending board update
    outliving the server logs an error), then the headless clients."""
    await pages.close()
    await asyncio.sleep(0.6)
    for c in clients:
        try:
            await c.close()
        except Exception:
            pass


async def _eq(coro, value):
    return (await coro) == value
