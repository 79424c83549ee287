"""The seams to libraries we do not own: aiortc/aioice behind server.media.bridge, python-socketio's overrides.

Each private name Lapak relies on is checked when the part that uses it
starts, and an upgrade that removes one fails at start, naming it, instead
of failing later in a call.
"""

from __future__ import annotations

import ast
import os
from pathlib import Path

import pytest
import socketio

from server.media import bridge
from server.media.workers import WorkerPool
from signaling.core.errors import WorkerError
from signaling.server import _OVERRIDDEN, SignalingServer

ROOT = Path(__file__).resolve().parent.parent


def _drop_after_init(monkeypatch, cls, attribute: str) -> None:
    """Make ``cls``'s instances lack ``attribute``, as a future aiortc that renamed it would."""
    init = cls.__init__

    def __init__(self, *args, **kwargs):
        init(self, *args, **kwargs)
        delattr(self, attribute)

    monkeypatch.setattr(cls, "__init__", __init__)


def test_the_bridge_names_a_missing_instance_attribute(monkeypatch):
    from aiortc.rtcdtlstransport import RTCDtlsTransport
    from aiortc.rtcrtptransceiver import RTCRtpTransceiver

    bridge.check_compatibility()  # no loop running: the probe brings its own
    _drop_after_init(monkeypatch, RTCRtpTransceiver, "_offerDirection")
    _drop_after_init(monkeypatch, RTCDtlsTransport, "_tx_srtp")
    with pytest.raises(RuntimeError, match=r"RTCRtpTransceiver\._offerDirection, RTCDtlsTransport\._tx_srtp"):
        bridge.check_compatibility()


async def test_the_bridge_check_runs_inside_a_loop_too(monkeypatch):
    import aioice.ice

    bridge.check_compatibility()
    monkeypatch.delattr(aioice.ice, "get_host_addresses")
    with pytest.raises(RuntimeError, match=r"aioice\.ice\.get_host_addresses"):
        bridge.check_compatibility()


async def test_a_media_worker_that_lacks_what_the_bridge_needs_fails_at_start(tmp_path, monkeypatch):
    """A worker on an aiortc without ``RTCRtpSender._send_rtcp``: the pool's start fails, naming it."""
    (tmp_path / "sitecustomize.py").write_text(
        "import aiortc.rtcrtpsender\ndel aiortc.rtcrtpsender.RTCRtpSender._send_rtcp\n"
    )
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(tmp_path), str(ROOT), os.environ.get("PYTHONPATH", "")]))
    pool = WorkerPool(1, ["127.0.0.1"])
    try:
        with pytest.raises(WorkerError, match=r"did not start \(exit code 1\).*RTCRtpSender\._send_rtcp"):
            await pool.start()
    finally:
        await pool.close()


@pytest.mark.parametrize("name", sorted(_OVERRIDDEN))
def test_signaling_server_fails_at_start_without_each_override(monkeypatch, name):
    for cls in socketio.AsyncServer.__mro__:  # wherever python-socketio defines it
        if name in vars(cls):
            monkeypatch.delattr(cls, name)
    with pytest.raises(RuntimeError, match=f"AsyncServer.{name}"):
        SignalingServer(async_mode="aiohttp", max_event_bytes=1024)


#: Private names used outside the bridge on purpose: our own classes' internals.
ALLOWED = {("bench/janus_room.py", "_post"), ("bench/janus_room.py", "_tx")}


def test_no_private_touch_outside_the_bridge():
    """Outside server/media/bridge.py, the media code, the clients and the benchmark read no ``x._name``."""
    found = []
    for folder in ("server/media", "kiosk_client", "agent_console", "bench"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            rel = path.relative_to(ROOT).as_posix()
            if rel in ("server/media/bridge.py", "server/media/bridge_ice.py"):  # the bridge and its ICE half
                continue
            for node in ast.walk(ast.parse(path.read_text())):
                if (
                    isinstance(node, ast.Attribute)
                    and node.attr.startswith("_")
                    and not node.attr.startswith("__")
                    and not (isinstance(node.value, ast.Name) and node.value.id in ("self", "cls"))
                    and (rel, node.attr) not in ALLOWED
                ):
                    found.append(f"{rel}:{node.lineno} .{node.attr}")
    assert found == []


async def test_the_fast_receive_path_reads_the_audio_level_negotiated_after_it_was_installed():
    """aiortc configures a transport's header extensions once DTLS is up, after the router taps it."""
    import struct
    import types

    from aiortc.rtcrtpparameters import RTCRtpHeaderExtensionParameters, RTCRtpReceiveParameters
    from aiortc.rtp import HeaderExtensionsMap

    from server.media.receive import ReceiverSource

    async def slow(data: bytes, arrival_time_ms: int) -> None:
        raise AssertionError("a packet of a known SSRC took aiortc's path")

    transport = types.SimpleNamespace(_rtp_header_extensions_map=HeaderExtensionsMap(), _handle_rtp_data=slow)
    source = ReceiverSource("peer:audio", "audio", {111}, lambda ssrc: None)
    bridge.fast_receive_path(transport, {1234: source})
    transport._rtp_header_extensions_map.configure(  # what RTCDtlsTransport._register_rtp_receiver does
        RTCRtpReceiveParameters(
            headerExtensions=[RTCRtpHeaderExtensionParameters(id=1, uri="urn:ietf:params:rtp-hdrext:ssrc-audio-level")]
        )
    )
    # one-byte extension (RFC 8285): id 1, one byte of data, voice activity set, 33 -dBov; padded to a word
    extension = struct.pack("!HH", 0xBEDE, 1) + bytes([0x10, 0x80 | 33, 0, 0])
    packet = struct.pack("!BBHLL", 0x90, 111, 7, 960, 1234) + extension + b"opus"
    await transport._handle_rtp_data(packet, 0)
    assert source.packets == 1
    assert source.level == 33


async def test_the_socket_guard_lets_the_peers_own_datagrams_through_over_ipv6():
    """An IPv6 socket reports (host, port, flowinfo, scope_id); the peer's candidates are (host, port)."""
    import asyncio
    import types

    import aioice

    lookup = bridge.replace_host_addresses(lambda use_ipv4, use_ipv6: ["::1"])
    try:
        ours = aioice.Connection(ice_controlling=False, components=1, use_ipv4=False, use_ipv6=True)
        theirs = aioice.Connection(ice_controlling=True, components=1, use_ipv4=False, use_ipv6=True)
        await asyncio.gather(ours.gather_candidates(), theirs.gather_candidates())
    finally:
        bridge.replace_host_addresses(lookup)
    try:
        for a, b in ((ours, theirs), (theirs, ours)):
            a.remote_username, a.remote_password = b.local_username, b.local_password
            for candidate in b.local_candidates:
                await a.add_remote_candidate(candidate)
            await a.add_remote_candidate(None)
        await asyncio.wait_for(asyncio.gather(ours.connect(), theirs.connect()), 10)
        strangers = bridge.guard_sockets(types.SimpleNamespace(transport=types.SimpleNamespace(_connection=ours)))
        for i in range(3):
            await theirs.send(bytes([0x80, i]) + b"srtp")
            assert await asyncio.wait_for(ours.recv(), 2) == bytes([0x80, i]) + b"srtp"
        assert strangers.dropped == 0
    finally:
        await asyncio.gather(ours.close(), theirs.close())
