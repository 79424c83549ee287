"""Network quality, measured and shown: a booth whose uplink loses and delays is poor on its tile, at the booth, in /metrics.

The booth is a headless kiosk process in a network namespace of its own
(bench/netns.py); its link to the server first runs clean (good), then
loses and delays what the booth sends (poor), then runs clean again (good,
once it held for two samples).

This machine's kernel has no ``sch_netem`` ("Specified qdisc kind is
unknown"), so the impairment is made inside the namespace with what it has:
random loss with an nftables ``numgen`` rule, and delay with a ``tbf`` queue
slower than the booth's stream, which holds 200 ms of packets before it
drops (queueing delay, as a congested uplink has). Where ``netem`` exists,
``tc qdisc add dev <veth> root netem delay 150ms loss 10%`` is the same test. The
agent's view of ``room.state`` (the tile), the booth's ``media.network`` and
``/metrics`` must all say so; a neighbouring booth on loopback stays good all
along. The router samples every 2 s: each phase takes a few seconds.
"""

from __future__ import annotations

import re
import subprocess

import aiohttp
import pytest
from aiohttp import web

from conftest import KIOSK_TONES, free_port, make_config
from helpers import close_all, make_agent, make_kiosk
from kiosk_client.client import until
from nethost import HOST_ADDR, booth_host, unavailable
from server.app import create_app
from server.appkeys import HUB
from turnhost import BoothProcess, missing, nft

pytestmark = pytest.mark.skipif(
    unavailable() is not None or missing() is not None, reason=str(unavailable() or missing())
)

TOKEN = "scraper-secret-0123456789"
LOSS_PERCENT = 10
TBF = ("rate", "150kbit", "burst", "4kb", "latency", "200ms")


@pytest.fixture(scope="module")
def booth_ns():
    with booth_host() as host:
        yield host


async def start(tmp_path):
    config = make_config(tmp_path, metrics_token=TOKEN)
    config.ice_addresses = ["127.0.0.1", HOST_ADDR]
    config.port = free_port()
    app = create_app(config)
    runner = web.AppRunner(app)
    await runner.setup()
    for address in ("127.0.0.1", HOST_ADDR):
        await web.TCPSite(runner, address, config.port).start()
    return app, runner, config.port


LOSS = f"""table ip lapakloss {{
  chain outbound {{ type filter hook output priority 0; policy accept;
    ip daddr {HOST_ADDR} meta l4proto udp numgen random mod 100 < {LOSS_PERCENT} drop
  }}
}}
"""


def impair(ns) -> None:
    """Loss (nftables, random) and delay (tbf: a queue that holds ``TBF_LATENCY`` before it drops) on the booth's uplink."""
    nft(ns, LOSS)
    subprocess.run(ns.command("tc", "qdisc", "add", "dev", ns.veth_ns, "root", "tbf", *TBF), check=True, capture_output=True)


def restore(ns, check: bool = True) -> None:
    subprocess.run(ns.command("nft", "delete", "table", "ip", "lapakloss"), check=check, capture_output=True)
    subprocess.run(ns.command("tc", "qdisc", "del", "dev", ns.veth_ns, "root"), check=check, capture_output=True)


async def booth_metric(url: str, kiosk: str) -> dict[str, float]:
    """The booth's ``lapak_booth_network_*`` samples (name and direction: value)."""
    async with aiohttp.ClientSession() as http:
        async with http.get(url + "/metrics", headers={"Authorization": f"Bearer {TOKEN}"}) as response:
            text = await response.text()
    found = {}
    for line in text.splitlines():
        m = re.match(r'(lapak_booth_network_\w+)\{kiosk="' + kiosk + r'"[^}]*?(?:direction="(\w+)")?\} (\S+)$', line)
        if m:
            found[m[1] + (f":{m[2]}" if m[2] else "")] = float(m[3])
    return found


def tile_network(agent, session_id: str) -> dict:
    return agent.room["tiles"][agent.tile_of(session_id)]["network"] or {}


async def test_a_booth_with_loss_and_delay_is_poor_on_its_tile_at_the_booth_and_in_metrics(tmp_path, booth_ns):
    app, runner, port = await start(tmp_path)
    hub = app[HUB]
    url = f"http://127.0.0.1:{port}"
    agent = await make_agent(url)
    neighbour = await make_kiosk(url, 2)
    booth = await BoothProcess(booth_ns, f"http://{HOST_ADDR}:{port}", "kiosk-token-1", KIOSK_TONES[1]).start()
    shaped = False
    try:
        await until(lambda: (s := hub.open_session_of("kiosk-1")) is not None and s.state == "active", 30,
                    "the booth's session active")
        session_id = hub.open_session_of("kiosk-1").session_id
        await agent.focus_all()
        seen: dict[str, tuple] = {}

        async def level_everywhere(level: str, timeout: float) -> None:
            await until(lambda: tile_network(agent, session_id).get("level") == level
                        and (booth.latest.get("network") or {}).get("level") == level, timeout,
                        f"{level} on the booth's tile and at the booth")
            metrics = await booth_metric(url, "kiosk-1")
            seen[level] = (tile_network(agent, session_id), metrics)
            assert metrics["lapak_booth_network_level"] == ("good", "fair", "poor").index(level), metrics

        await level_everywhere("good", 15)
        await until(lambda: tile_network(agent, session_id).get("rtt_ms") is not None, 10, "the round trip measured")
        good = tile_network(agent, session_id)
        assert good["loss_up"] < 0.03 and good["rtt_ms"] is not None and good["rtt_ms"] < 100, good

        impair(booth_ns)
        shaped = True
        await level_everywhere("poor", 15)
        await until(lambda: (tile_network(agent, session_id).get("rtt_ms") or 0) > 120, 15, "the delay in the round trip")
        poor = tile_network(agent, session_id)
        assert poor["loss_up"] > 0.05, poor
        seen["poor"] = (poor, await booth_metric(url, "kiosk-1"))
        neighbour_tile = tile_network(agent, neighbour.session_id)
        assert neighbour_tile.get("level") == "good", f"the neighbour's network is not the booth's: {neighbour_tile}"
        metrics = seen["poor"][1]
        assert metrics["lapak_booth_network_loss_ratio:up"] > 0.05 and metrics["lapak_booth_network_rtt_seconds"] > 0.12

        restore(booth_ns)
        shaped = False
        await level_everywhere("good", 20)
        for level, (tile, metrics) in seen.items():
            print(f"{level}: tile {tile}; metrics {metrics}")
    finally:
        if shaped:
            restore(booth_ns, check=False)
        await booth.stop()
        await close_all(neighbour, agent)
        await runner.cleanup()
