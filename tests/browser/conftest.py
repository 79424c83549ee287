"""Fixtures for the browser tests: one headless Chromium, the real server.

Everything runs in the session's asyncio loop: the Lapak app (with its
in-process media router) is served on a free loopback port, and the pages
are driven with playwright's async API. Each page gets its own browser
context whose microphone is a WebAudio oscillator of a distinct frequency
(see harness.py), so what each page receives can be checked with an FFT.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from .harness import CHROMIUM, Pages, Server, launch_browser, start_server

playwright_api = pytest.importorskip("playwright.async_api")

if not Path(CHROMIUM).exists():  # pragma: no cover - machine without chromium
    pytest.skip(f"no Chromium at {CHROMIUM}", allow_module_level=True)


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def browser() -> AsyncIterator[object]:
    async with playwright_api.async_playwright() as pw:
        b = await launch_browser(pw)
        yield b
        await b.close()


@pytest_asyncio.fixture(loop_scope="session")
async def lapak(tmp_path) -> AsyncIterator[Server]:
    server = await start_server(tmp_path)
    try:
        yield server
    finally:
        await server.close()


@pytest_asyncio.fixture(loop_scope="session")
async def pages(browser) -> AsyncIterator[Pages]:
    p = Pages(browser)
    try:
        yield p
    finally:
        await p.close()
