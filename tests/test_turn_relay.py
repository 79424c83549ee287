"""A booth behind a firewall that drops its UDP to the server: media goes through coturn, privately.

The booth is a headless kiosk process in a network namespace of its own
(bench/netns.py) whose nftables output chain drops every UDP datagram to the
server's address: neither direct media nor TURN over UDP gets out; TURN over
TCP does. coturn runs with a test secret; the server hands the booth
credentials made from it (``media.ice``). The agent and a neighbouring booth
stay on loopback. One coturn and one namespace serve the whole module.

The server's clock is the machine's here, on purpose: coturn checks the
credentials' expiry against its own (the machine's) clock.
"""

from __future__ import annotations

import asyncio
import subprocess
import time

import pytest
from aiohttp import web

from conftest import AGENT_TONE, KIOSK_TONES, RunningClock, free_port, make_config
from helpers import close_all, heard, kiosk_tones_in, listen, make_agent, make_kiosk
from kiosk_client.client import until
from nethost import HOST_ADDR, booth_host, unavailable
from server.app import create_app
from server.appkeys import HUB
from server.media import bridge
from server.turn import parse_turn_url
from turnhost import SECRET, BoothProcess, Coturn, drop_udp_to, missing, nft

pytestmark = pytest.mark.skipif(
    unavailable() is not None or missing() is not None, reason=str(unavailable() or missing())
)

HEARD_AT_BOOTH = 0.04
#: The server's "public" address (TEST-NET-3): inside the booth's namespace, translated to the server's.
PUBLIC = "203.0.113.7"


@pytest.fixture(scope="module")
def network(tmp_path_factory):
    """The booth's namespace (UDP to the server dropped) and one coturn on the server's side of the link."""
    with booth_host() as host:
        nft(host, drop_udp_to(HOST_ADDR, PUBLIC))
        subprocess.run(host.command("ip", "route", "add", f"{PUBLIC}/32", "via", HOST_ADDR), check=True)
        turn = Coturn(tmp_path_factory.mktemp("coturn"), HOST_ADDR).start()
        try:
            yield host, turn
        finally:
            turn.stop()


async def start(tmp_path, turn: Coturn, clock: RunningClock, **overrides):
    overrides.setdefault("turn_urls", (parse_turn_url(turn.url("tcp")),))
    config = make_config(tmp_path, clock=clock, turn_secret=SECRET, **overrides)
    config.ice_addresses = ["127.0.0.1", HOST_ADDR]
    config.port = free_port()
    app = create_app(config)
    runner = web.AppRunner(app)
    await runner.setup()
    for address in ("127.0.0.1", HOST_ADDR):
        await web.TCPSite(runner, address, config.port).start()
    return app, runner, config.port


def booth_peer_pair(app) -> dict | None:
    hub = app[HUB]
    session = hub.open_session_of("kiosk-1")
    room = hub.router.rooms.get("agent-1")
    peer = room.peers.get(session.session_id) if room is not None and session is not None else None
    return bridge.selected_pair(peer.pc) if peer is not None else None


async def test_a_booth_whose_udp_is_blocked_talks_through_the_relay_privately(tmp_path, network):
    host, turn = network
    app, runner, port = await start(tmp_path, turn, RunningClock(time.time()))
    url = f"http://127.0.0.1:{port}"
    agent = await make_agent(url)
    neighbour = await make_kiosk(url, 2)
    booth = await BoothProcess(host, f"http://{HOST_ADDR}:{port}", "kiosk-token-1", KIOSK_TONES[1], True).start()
    try:
        hub = app[HUB]
        await until(lambda: (s := hub.open_session_of("kiosk-1")) is not None and s.state == "active", 30,
                    "the booth's session active")
        session_id = hub.open_session_of("kiosk-1").session_id
        await until(lambda: session_id in agent.sessions(), 10, "the booth on a tile")
        await agent.focus_all()
        tile = agent.tile_of(session_id)
        await until(lambda: agent.tiles[tile].frames > 10, 20, "the booth's video at the agent")
        await until(lambda: booth.latest.get("frames", 0) > 10, 20, "the agent's video at the booth")
        server_side, booth_side = booth_peer_pair(app), booth.latest["pair"]
        print(f"server's pair for the booth: {server_side}; the booth's own: {booth_side}")
        assert server_side["remote"] == "relay" and booth_side["local"] == "relay"
        assert server_side["remote_address"][0] == "127.0.0.1", "coturn relays from loopback, as started"

        levels = (await listen([agent.audio, neighbour.audio]))
        assert {KIOSK_TONES[1], KIOSK_TONES[2]} <= heard(levels[0]), "the agent hears both members"
        assert AGENT_TONE in heard(levels[1]) and kiosk_tones_in(levels[1]) == {}, "the neighbour hears only the agent"
        await asyncio.sleep(1.2)  # a full second of the booth's own report
        at_booth = booth.latest["levels"]
        print(f"tones at the booth (Hz: level): {at_booth}")
        assert booth.level(AGENT_TONE) > HEARD_AT_BOOTH, "the booth hears the agent through the relay"
        assert booth.level(KIOSK_TONES[2]) < 0.01, "and never its neighbour"
    finally:
        await booth.stop()
        await close_all(neighbour, agent)
        await runner.cleanup()


async def test_expired_credentials_are_refused_by_coturn_and_fresh_ones_connect(tmp_path, network):
    host, turn = network
    clock = RunningClock(time.time() - 2 * 86400)  # the server hands credentials that expired yesterday
    app, runner, port = await start(tmp_path, turn, clock, reconnect_grace=30.0)
    url = f"http://127.0.0.1:{port}"
    agent = await make_agent(url)
    booth = await BoothProcess(host, f"http://{HOST_ADDR}:{port}", "kiosk-token-1", KIOSK_TONES[1], True).start()
    try:
        hub = app[HUB]
        await until(lambda: hub.open_session_of("kiosk-1") is not None, 20, "the booth's session")
        await until(lambda: booth.latest.get("errors"), 20, "the booth noticing it has no relay")
        assert "no relay candidate" in booth.latest["errors"][-1]["message"]
        assert booth.latest.get("frames", 0) == 0 and booth.latest.get("pair") is None, "no media without a relay"
        log = turn.logged()
        assert "401" in log, log[-1500:]  # coturn: "incoming packet message processed, error 401: Unauthorized"
        clock.set(time.time())  # the server's clock is right again: the next attempt gets valid credentials
        await until(lambda: booth.latest.get("state") in ("talking", "on_hold"), 30, "the booth connected")
        await agent.focus_all()
        await until(lambda: booth.latest.get("frames", 0) > 5, 45, "the agent's video at the booth, relayed")
        assert booth.latest["pair"]["local"] == "relay"
    finally:
        await booth.stop()
        await close_all(agent)
        await runner.cleanup()


async def test_a_server_behind_nat_is_reached_only_through_its_announced_address(tmp_path, network):
    """The booth reaches the server's media only at PUBLIC, translated; without announcing it, media never connects."""
    host, turn = network
    results = {}
    for announce in ((), (PUBLIC,)):
        app, runner, port = await start(tmp_path / f"run{len(announce)}", turn, RunningClock(time.time()),
                                        announce_addresses=announce, turn_urls=())
        agent = await make_agent(f"http://127.0.0.1:{port}")
        booth = await BoothProcess(host, f"http://{HOST_ADDR}:{port}", "kiosk-token-1", KIOSK_TONES[1]).start()
        try:
            hub = app[HUB]
            await until(lambda: hub.open_session_of("kiosk-1") is not None, 20, "the booth's session")
            try:
                await until(lambda: booth.latest.get("pair") is not None and booth.latest.get("state") == "on_hold", 12,
                            "the booth's media")
                await asyncio.sleep(1.0)
            except TimeoutError:
                pass
            stats = (await hub.router.stats())["rooms"].get("agent-1", {}).get("peers", {})
            session_id = hub.open_session_of("kiosk-1").session_id
            inbound = stats.get(session_id, {}).get("in", {}).get("audio", {}).get("packets", 0)
            results[announce] = (booth.latest.get("pair"), inbound)
        finally:
            await booth.stop()
            await close_all(agent)
            await runner.cleanup()
    print(f"without and with --announce-address: {results}")
    assert results[()][0] is None and results[()][1] == 0, "the bound address is unreachable from the booth"
    pair, inbound = results[(PUBLIC,)]
    assert pair["remote_address"][0] == PUBLIC and pair["local"] == "host", pair
    assert inbound > 20, "the booth's audio reaches the server through the translated address"
