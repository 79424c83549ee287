"""Running the service in this process: start the app on its address, wait for a stop signal (``lapak serve``, ``lapak demo``)."""

from __future__ import annotations

import asyncio
import signal

from aiohttp import web

from .app import create_app
from .config import Config


async def run_app(config: Config) -> web.AppRunner:
    """Build the app for ``config`` and serve it on ``config.host:config.port``; the caller cleans the runner up."""
    from .netoptions import tls_context

    context = tls_context(str(config.tls_cert) if config.tls_cert else None, str(config.tls_key) if config.tls_key else None)
    runner = web.AppRunner(create_app(config))
    await runner.setup()
    await web.TCPSite(runner, config.host, config.port, ssl_context=context).start()
    return runner


async def wait_for_signal() -> None:
    """Return once SIGINT or SIGTERM arrives."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
