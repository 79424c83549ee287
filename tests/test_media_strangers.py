"""Strangers' datagrams at the media ports change nothing: a flood while a private room runs.

Another local socket (a separate process, loopback only, a bounded count)
sends random bytes, STUN requests without the right credentials, SRTP and
SRTCP under a key nobody agreed on, and foreign DTLS records at every media
port of a running room. Meanwhile the room must keep its privacy (tones) and
its frame rates, and afterwards every connection is still the one it was.
"""

from __future__ import annotations

import asyncio
import json
import re
import sys
import time
from pathlib import Path

from conftest import KIOSK_TONES
from helpers import close_all, heard, hold_heard, kiosk_tones_in, listen, make_room
from kiosk_client.client import until

FLOOD = Path(__file__).with_name("stranger_flood.py")
PER_PORT = 2500
SECONDS = 3.0


def server_ports_and_ufrags(clients) -> tuple[list[int], dict[int, str]]:
    """The server's media ports and ICE ufrags, as each client's answer names them."""
    ports, ufrags = [], {}
    for c in clients:
        sdp = c.pc.remoteDescription.sdp
        ufrag = re.search(r"a=ice-ufrag:(\S+)", sdp).group(1)
        for port in re.findall(r"a=candidate:\S+ \d \S+ \d+ 127\.0\.0\.1 (\d+) typ host", sdp):
            if int(port) not in ufrags:  # one port per connection (max-bundle), named on every m-line
                ports.append(int(port))
                ufrags[int(port)] = ufrag
    return ports, ufrags


def ssrcs_of(clients) -> list[int]:
    return [int(s) for c in clients for s in re.findall(r"a=ssrc:(\d+) ", c.pc.remoteDescription.sdp)]


def frames(agent, kiosks) -> list[int]:
    return [agent.tiles[agent.tile_of(k.session_id)].frames for k in kiosks] + [kiosks[0].video.frames]


def pairs(router) -> dict[str, tuple]:
    """Per peer: its nominated ICE pair and how many candidate pairs it knows."""
    out = {}
    for peer_id, peer in router.rooms["agent-1"].peers.items():
        connection = peer.pc.getTransceivers()[0].receiver.transport.transport._connection
        nominated = connection._nominated.get(1)
        out[peer_id] = (nominated.remote_addr if nominated else None, len(connection._check_list), peer.state)
    return out


async def run_flood(args: dict) -> dict:
    """Run the stranger in its own process until it is done; returns its report."""
    flood = await asyncio.create_subprocess_exec(sys.executable, str(FLOOD), json.dumps(args),
                                                 stdout=asyncio.subprocess.PIPE)
    try:
        out, _ = await flood.communicate()
    finally:
        if flood.returncode is None:
            flood.kill()
            await flood.wait()
    return json.loads(out)


async def test_a_flood_of_strangers_datagrams_changes_nothing_in_a_running_room(server):
    agent, kiosks = await make_room(server.url, 3)
    try:
        focused = kiosks[0]
        assert (await agent.focus([focused.session_id]))["ok"]
        await until(lambda: focused.state == "talking" and focused.video.frames > 3, 10, "focused member sees the agent")
        router = server.hub.router
        before = pairs(router)
        ports, ufrags = server_ports_and_ufrags([agent, *kiosks])
        assert len(ports) == 4
        t0, f0 = time.monotonic(), frames(agent, kiosks)
        await asyncio.sleep(2.0)
        calm = [(b - a) / (time.monotonic() - t0) for a, b in zip(f0, frames(agent, kiosks))]

        args = {"ports": ports, "per_port": PER_PORT, "seconds": SECONDS, "ufrags": ufrags,
                "ssrcs": ssrcs_of([agent, *kiosks])}
        flood = asyncio.ensure_future(run_flood(args))
        await asyncio.sleep(0.3)
        t1, f1 = time.monotonic(), frames(agent, kiosks)
        # Privacy while the flood runs: the agent hears its one member, members hear no other member.
        levels = await listen([agent.audio] + [k.audio for k in kiosks], seconds=1.2, settle=0.1)
        rates = [(b - a) / (time.monotonic() - t1) for a, b in zip(f1, frames(agent, kiosks))]
        report = await flood
        assert sum(report["sent"].values()) >= 0.95 * PER_PORT * len(ports)

        assert heard(levels[0]) & set(KIOSK_TONES.values()) == {focused.tone_hz}
        for i, lv in enumerate(levels[1:]):
            assert kiosk_tones_in(lv) == {}, f"kiosk {i + 1} hears another kiosk during the flood: {lv}"
            assert i == 0 or hold_heard(lv)
        print(f"frame rates calm {[round(r, 1) for r in calm]}, during the flood {[round(r, 1) for r in rates]}")
        for name, calm_rate, rate in zip(["tile 1", "tile 2", "tile 3", "member"], calm, rates):
            assert rate >= 0.7 * calm_rate and rate >= 5, f"{name}: {rate:.1f} fps during the flood, {calm_rate:.1f} before"

        # Nothing changed: the same nominated pairs, no candidate learnt from a stranger, all connected.
        assert pairs(router) == before
        assert all(state == "connected" for _, _, state in before.values())
        f2 = frames(agent, kiosks)
        await asyncio.sleep(1.0)
        assert all(b > a + 3 for a, b in zip(f2, frames(agent, kiosks))), "media stopped after the flood"
        assert not focused.errors and not agent.errors
        # ...because they were dropped at the sockets, before DTLS or SRTP spent anything on them.
        stats = (await router.stats())["rooms"]["agent-1"]["peers"]
        dropped = sum(p["strangers_dropped"] for p in stats.values())
        not_stun = sum(n for kind, n in report["sent"].items() if not kind.startswith("stun"))
        print(f"stranger datagrams: {report}; dropped at the sockets: {dropped}")
        assert 0.9 * not_stun <= dropped <= not_stun

    finally:
        await close_all(*kiosks, agent)
