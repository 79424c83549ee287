"""The suite frees each test's web app after it (tests/hygiene.py, :func:`free_apps`).

A whole Lapak app (hub, state, database schema, routes) is thousands of
objects; aiohttp's module-level middleware cache kept every test's app
alive, and the suite's full garbage collections grew to 1.2-1.8 s pauses
that fell inside later tests. This checks that an app built and cleaned up
the way every test does is gone once the hygiene step has run.
"""

from __future__ import annotations

import asyncio
import weakref

from aiohttp import ClientSession

from conftest import make_config, start_server
from hygiene import free_apps


async def test_a_finished_tests_app_is_freed(tmp_path):
    srv = await start_server(make_config(tmp_path))
    async with ClientSession() as http:
        async with http.get(srv.url + "/healthz") as r:  # a request builds (and caches) the middleware chain
            assert r.status == 200
    app = weakref.ref(srv.app)
    hub = weakref.ref(srv.hub)
    await srv.runner.cleanup()
    del srv
    await asyncio.sleep(0.2)  # the tasks the cleanup cancelled finish (and let go of the app)
    free_apps()
    assert app() is None and hub() is None, "a finished test's app is still alive"
