"""A booth on a network of its own loses its link for a few seconds: the same session goes on.

The booth is a headless kiosk process in a network namespace (bench/netns.py),
talking to the server over a veth link; its traffic is really dropped by
taking the link down, while the agent's other members (on loopback) go on.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time

import pytest
from aiohttp import web

from conftest import free_port, make_config
from helpers import close_all, make_agent, make_kiosk
from kiosk_client.client import until
from nethost import HOST_ADDR, booth_host, unavailable
from server.app import create_app
from server.appkeys import HUB

pytestmark = pytest.mark.skipif(unavailable() is not None, reason=str(unavailable()))


async def test_a_booth_whose_link_drops_for_seconds_keeps_its_session(tmp_path):
    port = free_port()
    config = make_config(tmp_path)
    config.ice_addresses = ["127.0.0.1", HOST_ADDR]
    with booth_host() as host:
        app = create_app(config)
        runner = web.AppRunner(app)
        await runner.setup()
        for address in ("127.0.0.1", HOST_ADDR):
            await web.TCPSite(runner, address, port).start()
        url = f"http://127.0.0.1:{port}"
        booth = subprocess.Popen(
            host.command(
                sys.executable, "-m", "server.cli", "kiosk", "--server", f"http://{HOST_ADDR}:{port}",
                "--token", "kiosk-token-1", "--seconds", "120",
            ),
            stdout=subprocess.DEVNULL,
        )
        agent = await make_agent(url)
        neighbour = await make_kiosk(url, 2)
        try:
            hub = app[HUB]
            await until(lambda: hub.open_session_of("kiosk-1") is not None
                        and hub.open_session_of("kiosk-1").state == "active", 30, "the booth's session active")
            session_id = hub.open_session_of("kiosk-1").session_id
            await until(lambda: session_id in agent.sessions(), 10, "the booth on a tile")
            tile = agent.tile_of(session_id)
            other = agent.tile_of(neighbour.session_id)
            await until(lambda: agent.tiles[tile].frames > 10, 20, "the booth's video at the agent")
            history = hub.storage.transitions(session_id)

            host.link(False)  # the cable is pulled
            await asyncio.sleep(1.0)
            stalled, neighbour_frames = agent.tiles[tile].frames, agent.tiles[other].frames
            await asyncio.sleep(3.0)
            assert agent.tiles[tile].frames <= stalled + 1, "traffic was not really cut"
            assert agent.tiles[other].frames > neighbour_frames + 10, "the other member must not notice"

            host.link(True)  # and plugged back in
            t0 = time.monotonic()
            await until(lambda: agent.tiles[tile].frames > stalled + 10, 20, "the booth's video back")
            print(f"booth video back {time.monotonic() - t0:.2f}s after its link came back")
            session = hub.state.session(session_id)
            assert session.state == "active" and agent.tile_of(session_id) == tile
            assert hub.storage.transitions(session_id) == history, "a short drop changes nothing on record"
        finally:
            booth.terminate()
            booth.wait(10)
            await close_all(neighbour, agent)
            await runner.cleanup()
