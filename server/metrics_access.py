"""Who may read ``/metrics``: a scraper's token, a separate listener, or a signed-in supervisor.

Never the source address: behind nginx or Caddy on the same machine every
outside request arrives from 127.0.0.1. So:

- ``--metrics-token T``: a scraper sends ``Authorization: Bearer T``
  (compared in constant time);
- ``--metrics-listen HOST:PORT``: a second listener that serves only
  ``/metrics`` (nothing else, not even ``/healthz``), meant for an address the
  proxy does not forward to; it asks for the token too when one is set;
- a supervisor signed in on the main site sees them in the browser.

Anyone else gets 401 (no or a wrong credential) or 403 (signed-in staff of
another role), and not a byte of the metrics.
"""

from __future__ import annotations

import argparse
import hmac
from collections.abc import Awaitable, Callable

from aiohttp import web

from . import appkeys
from .auth import request_user

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

#: Set on the separate listener's application.
SEPARATE: web.AppKey[bool] = web.AppKey("metrics_separate", bool)
RUNNER: web.AppKey[web.AppRunner] = web.AppKey("metrics_runner", web.AppRunner)


def host_port(text: str) -> tuple[str, int]:
    """Parse ``HOST:PORT`` (``[::1]:9464`` for IPv6), for ``--metrics-listen``."""
    host, sep, port = text.rpartition(":")
    host = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise argparse.ArgumentTypeError(f"expected HOST:PORT, e.g. 127.0.0.1:9464, not {text!r}")
    return host, int(port)


def _bearer_matches(request: web.Request, token: str | None) -> bool:
    header = request.headers.get("Authorization", "")
    if not token or not header.startswith("Bearer "):
        return False
    return hmac.compare_digest(header[len("Bearer "):].strip().encode(), token.encode())


def check(request: web.Request) -> None:
    """Raise 401 or 403 unless this request may read the metrics."""
    token = request.app[appkeys.CONFIG].metrics_token
    if _bearer_matches(request, token):
        return
    if request.app.get(SEPARATE) and not token:
        return  # the separate listener without a token: reachable only where the operator bound it
    user = request_user(request)
    if user is None:
        raise web.HTTPUnauthorized(
            text="Metrics need the scraper's token (Authorization: Bearer) or a supervisor's sign-in.",
            headers={"WWW-Authenticate": 'Bearer realm="lapak-metrics"'},
        )
    if user.role != "supervisor":
        raise web.HTTPForbidden(text="Metrics are for supervisors and the configured scraper.")


def serve_separately(app: web.Application, handler: Handler) -> None:
    """With ``Config.metrics_listen``, run a second site that serves only ``handler`` at ``/metrics``."""
    config = app[appkeys.CONFIG]
    if config.metrics_listen is None:
        return
    host, port = config.metrics_listen

    async def start(app: web.Application) -> None:
        side = web.Application()
        side[appkeys.CONFIG] = config
        side[appkeys.HUB] = app[appkeys.HUB]
        side[appkeys.SIGNALING] = app[appkeys.SIGNALING]
        side[SEPARATE] = True
        side.router.add_get("/metrics", handler)
        runner = web.AppRunner(side, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, host, port).start()
        app[RUNNER] = runner

    async def stop(app: web.Application) -> None:
        runner = app.get(RUNNER)
        if runner is not None:
            await runner.cleanup()

    app.on_startup.append(start)
    app.on_shutdown.append(stop)
