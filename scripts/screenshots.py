"""Refresh the committed screenshots in docs/screenshots (tests never write there).

Kiosk states and the agent console: runs the real server on a free loopback
port and drives headless Chromium (the same harness as tests/browser)
through one whole session. Staff pages (sign-in, officer console,
supervisor board, history, admin): runs the staff-page tests that take them,
with ``--screenshots OUT`` so they land here instead of a temporary folder.

    python scripts/screenshots.py [--out docs/screenshots] [--part all|kiosk|staff]

The server runs on the tests' injected clock (a Monday morning, WIB), so the
pictures do not depend on when they were taken. Needs Debian's chromium at
/usr/lib/chromium/chromium (or LAPAK_CHROMIUM) and the python playwright
package; nothing is downloaded.
"""

from __future__ import annotations

import argparse
import asyncio
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "browser"))

import harness  # noqa: E402
from harness import AGENT_TONE, KIOSK_TONES, Pages, agent_ready, start_session, wait_for, wait_state  # noqa: E402

KIOSK_VIEW = (1280, 800)
AGENT_VIEW = (1600, 900)


async def shoot(page, out: Path, name: str) -> Path:
    path = out / f"{name}.png"
    await page.wait_for_timeout(400)  # let transitions and video settle
    await page.screenshot(path=str(path))
    try:  # keep the PNGs small: a 256-colour palette is plenty for UI shots
        from PIL import Image

        with Image.open(path) as im:
            im.convert("RGB").quantize(colors=256, method=Image.Quantize.MEDIANCUT).save(path, optimize=True)
    except ImportError:
        pass
    print(f"{path.relative_to(ROOT) if path.is_relative_to(ROOT) else path} ({path.stat().st_size // 1024} KiB)")
    return path


async def force_screen(page, state: str) -> None:
    """Show a transient screen (as the page does in that state) long enough to shoot it."""
    await page.evaluate("(s) => { document.body.dataset.state = s; }", state)


async def main(out: Path) -> None:
    from playwright.async_api import async_playwright

    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        server = await harness.start_server(Path(tmp))
        async with async_playwright() as pw:
            browser = await harness.launch_browser(pw)
            pages = Pages(browser, verbose=False)
            try:
                kiosk = await pages.open(server.kiosk_url(0), KIOSK_TONES[0], viewport=KIOSK_VIEW)
                await wait_for(lambda: kiosk.evaluate("document.body.dataset.socket === 'connected'"))
                await shoot(kiosk, out, "kiosk-1-idle")

                english = await pages.open(server.kiosk_url(1, lang="en"), KIOSK_TONES[1], viewport=KIOSK_VIEW)
                await shoot(english, out, "kiosk-1b-idle-english")

                await kiosk.click("[data-service=jht]")
                await kiosk.wait_for_selector("#check-continue:not([disabled])")
                await kiosk.wait_for_timeout(600)
                await shoot(kiosk, out, "kiosk-2-device-check")

                await kiosk.click("#check-continue")
                await wait_state(kiosk, "waiting")
                await shoot(kiosk, out, "kiosk-3-waiting")

                await force_screen(kiosk, "connecting")
                await shoot(kiosk, out, "kiosk-4-connecting")
                await force_screen(kiosk, "waiting")

                agent = await pages.open(server.agent_url(), AGENT_TONE, viewport=AGENT_VIEW)
                await agent_ready(agent)
                await wait_state(kiosk, "on_hold", timeout=30)
                await shoot(kiosk, out, "kiosk-6-on-hold")

                others = [english]
                for i in range(2, 6):
                    others.append(await pages.open(server.kiosk_url(i), KIOSK_TONES[i], viewport=(640, 400)))
                for n, k in enumerate(others):
                    await start_session(k, ["info", "jkk", "jp", "jkm", "jht"][n])
                    await wait_state(k, "waiting", "connecting", "on_hold", timeout=30)
                for k in others:
                    await wait_state(k, "on_hold", timeout=30)

                await agent.click("#tile-1 .tile-talk")
                await wait_state(kiosk, "talking")
                await kiosk.wait_for_timeout(1500)
                await shoot(kiosk, out, "kiosk-5-talking")

                await agent.fill("#tile-4 .tile-note", "Klaim JHT: KTP dan KK sudah ditunjukkan")
                await agent.mouse.move(800, 30)
                await agent.wait_for_timeout(1500)
                await shoot(agent, out, "agent-console-six-tiles")

                await force_screen(kiosk, "transferred")
                await shoot(kiosk, out, "kiosk-7-transferred")
                await force_screen(kiosk, "talking")

                await kiosk.evaluate("() => { const m = window.lapakKiosk.socket.io; m.reconnection(false); m.engine.close(); }")
                await kiosk.wait_for_selector("#reconnecting:visible")
                await shoot(kiosk, out, "kiosk-8-reconnecting")
                await kiosk.evaluate("() => { const s = window.lapakKiosk.socket; s.io.reconnection(true); s.connect(); }")
                await kiosk.wait_for_selector("#reconnecting", state="hidden", timeout=20000)

                await agent.click("#tile-1 .tile-end")
                await agent.wait_for_selector("#end-dialog[open]")
                await agent.select_option("#end-outcome", "resolved")
                await shoot(agent, out, "agent-console-end-dialog")
                await agent.click("#end-confirm")
                await wait_state(kiosk, "ended")
                await shoot(kiosk, out, "kiosk-9-ended-rating")
                await kiosk.click(".rate[data-rating='5']")
                await kiosk.wait_for_selector("#rating-thanks:visible")
            finally:
                await pages.close()
                await browser.close()
                await server.close()


def staff(out: Path) -> int:
    """The staff pages' screenshots, taken by their tests into ``out``."""
    return subprocess.run(
        [sys.executable, "-m", "pytest", "tests/browser/test_staff_pages.py", "-q",
         "-k", "screenshots_of_a_busy_branch or sign_in_page", "--screenshots", str(out.resolve())],
        cwd=ROOT,
    ).returncode


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    parser.add_argument("--part", choices=("all", "kiosk", "staff"), default="all")
    args = parser.parse_args()
    if args.part in ("all", "kiosk"):
        asyncio.run(main(args.out))
    if args.part in ("all", "staff"):
        sys.exit(staff(args.out))
