"""The socket layer tried from outside, frame by frame: strangers, binary packets, garbage, size.

Every attack here is sent by :class:`rawsocket.RawSocket`, which writes
engine.io and socket.io frames by hand, as an attacker would; none of it goes
through python-socketio's client.
"""

from __future__ import annotations

import asyncio
import json
import logging
import subprocess
import sys
import time

import aiohttp
import psutil
import pytest
import socketio

from conftest import free_port
from kiosk_client.client import until
from rawsocket import RawSocket
from server import appkeys
from signaling.refusals import Refusals
from signaling.server import ENVELOPE_BYTES, SignalingServer, check_compatible
from test_authorization import setup_accounts, sign_in

#: A binary-event header announcing a million attachments: python-socketio would keep that many messages.
BINARY_HEADER = '451000000-{ns}["doc",{{"_placeholder":true,"num":0}}]'
#: An attachment python-socketio takes as it comes: a text message that also decodes as a packet.
ATTACHMENT = '42["doc","' + "a" * 50_000 + '"]'


def signaling(server) -> SignalingServer:
    return server.app[appkeys.SIGNALING]


async def test_the_default_namespace_refuses_everyone(server):
    for auth in (None, {"token": "kiosk-token-1"}, {"token": "agent-token-1"}):
        raw = await RawSocket.open(server.url)
        try:
            outcome, body = await raw.connect("/", auth)
            assert outcome == "refused", (auth, outcome, body)
            assert body["data"] == {"code": "unauthorized"} and "/kiosk" in body["message"]
        finally:
            await raw.close()
    # python-socketio's own client gets the same answer.
    client = socketio.AsyncClient(reconnection=False)
    with pytest.raises(socketio.exceptions.ConnectionError):
        await client.connect(server.url, transports=["websocket"], wait_timeout=5)


@pytest.mark.parametrize("namespace", ["/", "/kiosk"])
async def test_a_binary_header_drops_the_connection_and_keeps_nothing(server, namespace):
    sio = signaling(server)
    raw = await RawSocket.open(server.url)
    try:
        if namespace == "/kiosk":
            assert (await raw.connect("/kiosk", {"token": "kiosk-token-1"}))[0] == "connected"
        else:
            assert (await raw.connect("/"))[0] == "refused"
        prefix = "" if namespace == "/" else namespace + ","
        await raw.send(BINARY_HEADER.format(ns=prefix))
        for _ in range(20):  # the attachments the header announced, if anyone still listens
            if not await raw.send(ATTACHMENT):
                break
        assert await raw.wait_websocket_closed(5), "the connection must be dropped at the header, not later"
        assert sio._binary_packet == {}, "python-socketio must keep no attachment"
        assert signaling(server).refusals.counts["binary"] == 1
    finally:
        await raw.close()
    assert server.hub.state.online_kiosks() == [], "the dropped booth is gone from the hub"


async def test_binary_messages_and_binary_packet_types_drop_the_connection(server):
    refusals = signaling(server).refusals
    for frame in [b"\x04binary", '450-/kiosk,["session.request",{"service":"jht"}]',
                  '461-/kiosk,1[{"_placeholder":true,"num":0}]']:
        raw = await RawSocket.open(server.url)
        try:
            assert (await raw.connect("/kiosk", {"token": "kiosk-token-1"}))[0] == "connected"
            await raw.send(frame)
            assert await raw.wait_closed(5), frame
        finally:
            await raw.close()
    assert refusals.counts["binary"] == 3
    assert signaling(server)._binary_packet == {}


async def test_a_message_over_the_bound_drops_the_connection_and_one_under_it_is_refused(server):
    limit = server.config.max_event_bytes + ENVELOPE_BYTES
    refusals = signaling(server).refusals
    raw = await RawSocket.open(server.url)
    try:
        assert (await raw.connect("/kiosk", {"token": "kiosk-token-1"}))[0] == "connected"
        # Just over the event limit but inside the transport's: a clear error, the socket stays.
        body = json.dumps(["session.request", {"service": "jht", "language": "x" * (server.config.max_event_bytes + 10)}])
        ack = await raw.call("/kiosk", body, 1)
        assert ack[0]["error"]["code"] == "payload_too_large"
        # Over the transport's bound: dropped.
        body = json.dumps(["session.request", {"service": "jht", "language": "x" * limit}])
        await raw.send(f"42/kiosk,2{body}")
        assert await raw.wait_closed(5)
    finally:
        await raw.close()
    await until(lambda: refusals.counts["too_large"] == 1, 5, "the oversized message counted")
    assert server.hub.storage.count_sessions() == 0


async def test_an_oversized_long_polling_body_is_answered_and_leaves_nothing_behind(server):
    """engine.io's own drop waited for the client to poll again: a stranger's request hung forever."""
    sio = signaling(server)
    async with aiohttp.ClientSession() as http:
        for _ in range(20):
            async with http.get(server.url + "/socket.io/?EIO=4&transport=polling") as r:
                sid = json.loads((await r.text())[1:])["sid"]
            body = "4" + "x" * (server.config.max_event_bytes + ENVELOPE_BYTES)
            async with http.post(server.url + f"/socket.io/?EIO=4&transport=polling&sid={sid}", data=body,
                                 timeout=aiohttp.ClientTimeout(total=5)) as r:
                assert r.status == 400
            assert sid not in sio.eio.sockets


GARBAGE = ["", "x", "9", "4x", "4" + json.dumps(["not", "a", "packet"]), '42/kiosk,1["session.request",',
           '44/kiosk,{"message":"forged"}', "47/kiosk,", '4{"a":1}']


async def test_undecodable_packets_drop_the_connection_with_one_log_line_and_a_count(server, caplog):
    setup_accounts(server.hub)
    caplog.set_level(logging.DEBUG)
    for frame in GARBAGE:
        raw = await RawSocket.open(server.url)
        try:
            assert (await raw.connect("/kiosk", {"token": "kiosk-token-1"}))[0] == "connected"
            await raw.send(frame)
            assert await raw.wait_closed(5), f"{frame!r} must drop the connection"
        finally:
            await raw.close()
    # The same garbage over long-polling: engine.io decodes it; it is counted, not traced back.
    async with aiohttp.ClientSession() as http:
        async with http.get(server.url + "/socket.io/?EIO=4&transport=polling") as r:
            sid = json.loads((await r.text())[1:])["sid"]
        async with http.post(server.url + f"/socket.io/?EIO=4&transport=polling&sid={sid}", data="9") as r:
            assert r.status in (200, 400)
    refusals = signaling(server).refusals
    assert refusals.counts["undecodable"] == len(GARBAGE) + 1
    lines = [r for r in caplog.records if r.name == "signaling.server"]
    assert len(lines) == 1 and "undecodable" in lines[0].getMessage(), [r.getMessage() for r in lines]
    tracebacks = [r for r in caplog.records if r.exc_info]
    assert not tracebacks, [(r.name, r.getMessage()) for r in tracebacks]
    # ... and /metrics says how many.
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        await sign_in(http, server.url, "boss")
        async with http.get(server.url + "/metrics") as r:
            text = await r.text()
    assert f'lapak_socket_refused_packets_total{{reason="undecodable"}} {len(GARBAGE) + 1}' in text, text


def test_refusals_are_logged_one_line_per_interval(caplog):
    now = [1000.0]
    refusals = Refusals(logging.getLogger("test.refusals"), interval=30.0, clock=lambda: now[0])
    caplog.set_level(logging.WARNING, "test.refusals")
    for _ in range(50):
        refusals.record("undecodable", "x" * 500, "203.0.113.9")
    now[0] += 29.9
    refusals.record("binary", "a header", "203.0.113.9")
    assert len(caplog.records) == 1 and len(caplog.records[0].getMessage()) < 300
    now[0] += 0.2
    refusals.record("binary", "a header", "203.0.113.9")
    assert len(caplog.records) == 2 and "50 more refused" in caplog.records[1].getMessage()
    assert refusals.counts == {"undecodable": 50, "binary": 2, "too_large": 0}


def test_a_python_socketio_without_the_overridden_method_fails_at_start(monkeypatch):
    check_compatible()
    monkeypatch.delattr(socketio.AsyncServer, "_handle_eio_message")
    with pytest.raises(RuntimeError, match="_handle_eio_message"):
        SignalingServer(async_mode="aiohttp", max_event_bytes=1024)


# -- memory, measured on a server process --------------------------------------------------

async def _serve(tmp_path) -> tuple[subprocess.Popen, str]:
    tokens = tmp_path / "tokens.json"
    tokens.write_text(json.dumps({"kiosks": {"kiosk-token-1": {"kiosk_id": "kiosk-1", "branch": "jkt", "booth": 1}}}))
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "server.cli", "serve", "--port", str(port), "--data", str(tmp_path / "data"),
         "--tokens", str(tokens), "--media-workers", "0"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    async with aiohttp.ClientSession() as http:
        while True:
            try:
                async with http.get(url + "/healthz") as r:
                    if r.status == 200:
                        return proc, url
            except aiohttp.ClientError:
                pass
            if time.monotonic() > deadline or proc.poll() is not None:
                proc.kill()
                raise RuntimeError("server did not start")
            await asyncio.sleep(0.1)


async def _attack(url: str, namespace: str, messages: int, size: int) -> int:
    """Announce a million attachments, then send ``messages`` of ``size`` bytes; how many went out."""
    raw = await RawSocket.open(url)
    sent = 0
    try:
        if namespace == "/kiosk":
            assert (await raw.connect("/kiosk", {"token": "kiosk-token-1"}))[0] == "connected"
        else:
            await raw.connect("/")
        await raw.send(BINARY_HEADER.format(ns="" if namespace == "/" else namespace + ","))
        blob = '42["doc","' + "a" * size + '"]'  # text attachments: they pass any check on binary frames
        for _ in range(messages):
            if raw.ws.closed or not await raw.send(blob):
                break
            sent += 1
        await raw.wait_closed(3)
    finally:
        await raw.close()
    return sent


async def test_a_stranger_cannot_grow_the_servers_memory(tmp_path):
    """Before the guard: +60 MB per attack below (the issue measured +106 MB for 120 x 900 kB)."""
    proc, url = await _serve(tmp_path)
    try:
        process = psutil.Process(proc.pid)
        await _attack(url, "/kiosk", 1, 1000)  # warm up: first connections import and allocate
        await asyncio.sleep(0.5)
        before = process.memory_info().rss
        for namespace in ("/", "/kiosk"):
            # 1 000 attachments of 60 kB: each under the message bound, so only the attachment guard stops them.
            await _attack(url, namespace, 1000, 60_000)
        await asyncio.sleep(1.0)
        grown = (process.memory_info().rss - before) / 1e6
        assert grown < 20, f"the server grew by {grown:.0f} MB"
    finally:
        proc.terminate()
        proc.wait(10)
