"""A booth whose network is gone longer than ICE's consent timeout, its socket kept up, comes back to its session.

The booth is a headless kiosk process in a network namespace of its own
(bench/netns.py). A firewall rule inside the namespace (nftables) drops every
UDP datagram between it and the server, in and out, while its socket.io
connection (TCP) stays up. The server's consent checks (RFC 7675, shortened
here through the bridge to about 2.5 s) give up; the server must take that
as a failed peer connection, start a new media attempt for the same session
and tell the booth (``media.restart``), which offers a new peer connection.
Once the rule is gone the new connection comes up: same session, new peer
connection, the tones flow again and nobody hears a neighbour.
"""

from __future__ import annotations

import asyncio
import subprocess
import time

import pytest
from aiohttp import web

from conftest import AGENT_TONE, KIOSK_TONES, free_port, make_config
from helpers import close_all, heard, kiosk_tones_in, listen, make_agent, make_kiosk
from kiosk_client.client import until
from nethost import HOST_ADDR, booth_host, unavailable
from server.app import create_app
from server.appkeys import HUB
from server.media import bridge
from turnhost import BoothProcess, missing, nft

pytestmark = pytest.mark.skipif(
    unavailable() is not None or missing() is not None, reason=str(unavailable() or missing())
)

#: Consent checked every 0.3 s (0.24 to 0.36), given up after 3 misses of 0.5 s each: about 2.5 s.
CONSENT = (0.3, 3)
#: How long the booth's UDP is dropped: well past the shortened consent timeout.
DROP_SECONDS = 5.0

DROP_UDP = f"""table ip lapakdrop {{
  chain outbound {{ type filter hook output priority 0; policy accept;
    ip daddr {HOST_ADDR} meta l4proto udp drop
  }}
  chain inbound {{ type filter hook input priority 0; policy accept;
    ip saddr {HOST_ADDR} meta l4proto udp drop
  }}
}}
"""


@pytest.fixture(scope="module")
def booth_ns():
    with booth_host() as host:
        yield host


@pytest.fixture
def short_consent():
    previous = bridge.set_consent_timing(*CONSENT)
    yield
    bridge.set_consent_timing(*previous)


async def start(tmp_path):
    config = make_config(tmp_path, reconnect_grace=60.0)
    config.ice_addresses = ["127.0.0.1", HOST_ADDR]
    config.port = free_port()
    app = create_app(config)
    runner = web.AppRunner(app)
    await runner.setup()
    for address in ("127.0.0.1", HOST_ADDR):
        await web.TCPSite(runner, address, config.port).start()
    return app, runner, config.port


def server_peer(app, session_id: str):
    room = app[HUB].router.rooms.get("agent-1")
    return room.peers.get(session_id) if room is not None else None


async def test_a_booth_gone_past_the_consent_timeout_comes_back_to_its_session(tmp_path, booth_ns, short_consent):
    app, runner, port = await start(tmp_path)
    hub = app[HUB]
    url = f"http://127.0.0.1:{port}"
    agent = await make_agent(url)
    neighbour = await make_kiosk(url, 2)
    booth = await BoothProcess(booth_ns, f"http://{HOST_ADDR}:{port}", "kiosk-token-1", KIOSK_TONES[1]).start()
    dropped = False
    try:
        await until(lambda: (s := hub.open_session_of("kiosk-1")) is not None and s.state == "active", 30,
                    "the booth's session active")
        session_id = hub.open_session_of("kiosk-1").session_id
        await until(lambda: session_id in agent.sessions(), 10, "the booth on a tile")
        await agent.focus_all()
        tile = agent.tile_of(session_id)
        await until(lambda: agent.tiles[tile].frames > 5 and booth.latest.get("frames", 0) > 5, 20, "video both ways")
        first_peer, offers = server_peer(app, session_id), booth.latest["offers"]
        assert offers == 1

        nft(booth_ns, DROP_UDP)
        dropped, t0 = True, time.monotonic()
        await until(lambda: booth.latest.get("offers", 0) > offers, DROP_SECONDS,
                    "a new offer while the booth's UDP is dropped (consent expired at the server)")
        failed_after = time.monotonic() - t0
        assert first_peer.state == "failed" and first_peer.consent_lost
        await asyncio.sleep(max(0.0, DROP_SECONDS - (time.monotonic() - t0)))
        assert hub.state.kiosk_online("kiosk-1"), "the booth's socket stayed up all through the drop"
        subprocess.run(booth_ns.command("nft", "delete", "table", "ip", "lapakdrop"), check=True, capture_output=True)
        dropped, t1 = False, time.monotonic()

        frames = agent.tiles[tile].frames
        await until(lambda: hub.session(session_id).state == "active", 30, "the session active again")
        await until(lambda: agent.tiles[tile].frames > frames + 5, 15, "the booth's video back at the agent")
        back_after = time.monotonic() - t1
        print(f"consent expired {failed_after:.1f} s into the drop; media back {back_after:.1f} s after it ended; "
              f"offers {booth.latest['offers']}")
        assert booth.latest["session"] == session_id and agent.tile_of(session_id) == tile
        second_peer = server_peer(app, session_id)
        assert second_peer is not first_peer and second_peer.state == "connected", "a new peer connection"
        reasons = [t[3] for t in hub.storage.transitions(session_id)]
        assert "media_failed" in reasons, reasons

        frames_at_booth = booth.latest.get("frames", 0)
        await until(lambda: booth.latest.get("frames", 0) > frames_at_booth + 5, 15, "the agent's video at the booth")
        levels = await listen([agent.audio, neighbour.audio])
        assert {KIOSK_TONES[1], KIOSK_TONES[2]} <= heard(levels[0]), "the agent hears both members again"
        assert AGENT_TONE in heard(levels[1]) and kiosk_tones_in(levels[1]) == {}, "the neighbour hears only the agent"
        await asyncio.sleep(1.2)  # a full second of the booth's own report
        assert booth.level(AGENT_TONE) > 0.04, "the booth hears the agent again"
        assert booth.level(KIOSK_TONES[2]) < 0.01, "and never its neighbour"
    finally:
        if dropped:
            subprocess.run(booth_ns.command("nft", "delete", "table", "ip", "lapakdrop"), capture_output=True)
        await booth.stop()
        await close_all(neighbour, agent)
        await runner.cleanup()
