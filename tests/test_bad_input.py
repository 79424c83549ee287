"""Bad input gets a clear error (or a clean close) and changes nothing else."""

from __future__ import annotations

import asyncio

import pytest
import socketio

from helpers import close_all, make_agent, make_kiosk, make_room
from kiosk_client.client import until


async def raw_client(url: str, namespace: str, token: str | None, refusals: list | None = None):
    client = socketio.AsyncClient(reconnection=False)
    errors: list[dict] = []
    client.on("error", lambda data: errors.append(data), namespace=namespace)
    if refusals is not None:
        client.on("connect_error", lambda data: refusals.append(data), namespace=namespace)
    await client.connect(
        url, namespaces=[namespace], auth={"token": token} if token else None, transports=["websocket"], wait_timeout=5
    )
    return client, errors


def snapshot(server) -> tuple:
    hub = server.hub
    return (
        hub.storage.count_sessions(),
        tuple(sorted((s.session_id, s.state) for s in hub.state.sessions())),
        tuple(s.session_id for s in hub.state.queued()),
        tuple((a.agent_id, tuple(a.tiles), tuple(sorted(a.focus))) for a in hub.state.agents()),
    )


@pytest.mark.parametrize(
    "namespace,token",
    [("/agent", None), ("/agent", "kiosk-token-1"), ("/kiosk", "agent-token-1"), ("/kiosk", "nope"), ("/kiosk", None)],
)
async def test_wrong_or_missing_credentials_are_refused_at_connect(server, namespace, token):
    before = snapshot(server)
    refusals: list = []
    with pytest.raises(socketio.exceptions.ConnectionError):
        await raw_client(server.url, namespace, token, refusals)
    await until(lambda: refusals, 5, "the refusal's reason")
    assert refusals[0]["data"] == {"code": "unauthorized"}, refusals
    assert "token" in refusals[0]["message"]
    assert snapshot(server) == before


MALFORMED_KIOSK = [
    ("session.request", "jht", "invalid_payload"),
    ("session.request", ["jht"], "invalid_payload"),
    ("session.request", {"service": "pizza"}, "invalid_payload"),
    ("session.request", {"service": "jht", "extra": 1}, "invalid_payload"),
    ("session.request", {"service": 5}, "invalid_payload"),
    ("session.request", {}, "invalid_payload"),
    ("media.offer", {"session_id": "s-unknown", "sdp": "v=0 " * 10}, "unknown_session"),
    ("media.offer", {"session_id": "../../etc", "sdp": "x" * 20}, "invalid_payload"),
    ("session.leave", {"session_id": "s-doesnotexist"}, "unknown_session"),
    ("focus.set", {"session_ids": []}, "unknown_event"),
    ("session.end", {"session_id": "s-x"}, "unknown_event"),
    ("no.such.event", {}, "unknown_event"),
    ("session.request", {"service": "jht", "language": "x" * 70000}, "payload_too_large"),
]


async def test_malformed_kiosk_events_get_clear_errors_and_change_nothing(server):
    agent = await make_agent(server.url)
    client, errors = await raw_client(server.url, "/kiosk", "kiosk-token-5")
    try:
        before = snapshot(server)
        for event, payload, code in MALFORMED_KIOSK:
            ack = await client.call(event, payload, namespace="/kiosk", timeout=5)
            assert ack["ok"] is False, (event, payload)
            assert ack["error"]["code"] == code, (event, payload, ack)
            assert ack["error"]["message"]
        await until(lambda: len(errors) == len(MALFORMED_KIOSK), 5, "an error event per bad event")
        assert [e["code"] for e in errors] == [c for _, _, c in MALFORMED_KIOSK]
        assert snapshot(server) == before
        # Extra positional arguments are refused too.
        ack = await client.call("session.request", data=None, namespace="/kiosk", timeout=5)
        assert ack["ok"] is False
        # The server still serves: a good request works.
        ack = await client.call("session.request", {"service": "jkk"}, namespace="/kiosk", timeout=5)
        assert ack["ok"] is True
    finally:
        await client.disconnect()
        await agent.close()


async def test_a_malformed_sdp_is_refused_and_the_session_survives(server):
    agent, (kiosk,) = await make_room(server.url, 1)
    try:
        before = snapshot(server)
        for sdp in ["this is not sdp at all", "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n"]:
            ack = await kiosk.call("media.offer", {"session_id": kiosk.session_id, "sdp": sdp})
            assert ack["ok"] is False and ack["error"]["code"] == "invalid_sdp", ack
        assert snapshot(server) == before
        frames = agent.tiles[0].frames
        await asyncio.sleep(0.5)
        assert agent.tiles[0].frames > frames, "the existing media must go on"
        # An agent-shaped offer from a kiosk is refused with the layout it needs.
        agent_sdp = agent.pc.localDescription.sdp
        ack = await kiosk.call("media.offer", {"session_id": kiosk.session_id, "sdp": agent_sdp})
        assert ack["error"]["code"] == "invalid_sdp" and "m-lines" in ack["error"]["message"]
        assert snapshot(server) == before
    finally:
        await close_all(kiosk, agent)


async def test_an_agent_cannot_reach_another_agents_sessions(server):
    agent1, (kiosk,) = await make_room(server.url, 1)
    agent2 = await make_agent(server.url, 2)
    try:
        before = snapshot(server)
        for event, payload in [
            ("session.talk", {"session_id": kiosk.session_id}),
            ("session.hold", {"session_id": kiosk.session_id}),
            ("session.end", {"session_id": kiosk.session_id}),
            ("focus.set", {"session_ids": [kiosk.session_id]}),
        ]:
            ack = await agent2.call(event, payload)
            assert ack["ok"] is False and ack["error"]["code"] == "unknown_session", (event, ack)
        for event, payload, code in [
            ("focus.set", {"session_ids": "all"}, "invalid_payload"),
            ("focus.set", {"session_ids": ["a"] * 7}, "invalid_payload"),
            ("session.end", {"session_id": kiosk.session_id, "outcome": "DROP TABLE"}, "invalid_payload"),
            ("session.request", {"service": "jht"}, "unknown_event"),
            ("media.offer", {"sdp": "garbage garbage"}, "invalid_sdp"),
        ]:
            ack = await agent1.call(event, payload)
            assert ack["ok"] is False and ack["error"]["code"] == code, (event, ack)
        assert snapshot(server) == before
        assert kiosk.state == "on_hold"
    finally:
        await close_all(kiosk, agent1, agent2)


async def test_a_kiosk_cannot_use_another_kiosks_session(server):
    agent, (kiosk1,) = await make_room(server.url, 1)
    intruder = await make_kiosk(server.url, 2)
    try:
        await intruder.wait_state("on_hold", 20)
        before = snapshot(server)
        ack = await intruder.call("media.offer", {"session_id": kiosk1.session_id, "sdp": intruder.pc.localDescription.sdp})
        assert ack["ok"] is False and ack["error"]["code"] == "unknown_session"
        ack = await intruder.call("session.leave", {"session_id": kiosk1.session_id})
        assert ack["ok"] is False and ack["error"]["code"] == "unknown_session"
        assert snapshot(server) == before
    finally:
        await close_all(kiosk1, intruder, agent)


async def test_a_message_over_the_transport_limit_closes_only_that_socket(server):
    agent, (kiosk,) = await make_room(server.url, 1)
    client, _ = await raw_client(server.url, "/kiosk", "kiosk-token-6")
    try:
        before = snapshot(server)
        await client.emit("session.request", {"service": "jht", "language": "x" * (2 * 1024 * 1024)}, namespace="/kiosk")
        await until(lambda: not client.connected, 10, "the oversized sender to be disconnected")
        assert snapshot(server) == before
        assert kiosk.sio.connected and agent.sio.connected
        frames = agent.tiles[0].frames
        await asyncio.sleep(0.5)
        assert agent.tiles[0].frames > frames
    finally:
        await close_all(kiosk, agent)
        if client.connected:
            await client.disconnect()


async def test_a_client_cannot_forge_connect_or_disconnect_events(server):
    agent, (kiosk,) = await make_room(server.url, 1)
    try:
        before = snapshot(server)
        for event in ("disconnect", "connect", "connect_error"):
            ack = await kiosk.call(event, {"x": 1})
            assert ack["ok"] is False and ack["error"]["code"] == "unknown_event"
            ack = await agent.call(event, "transport close")
            assert ack["ok"] is False and ack["error"]["code"] == "unknown_event"
        assert snapshot(server) == before
        assert kiosk.state == "on_hold"
        assert (await agent.focus([kiosk.session_id]))["ok"], "the agent is still known after a forged disconnect"
        await kiosk.wait_state("talking", 5)
    finally:
        await close_all(kiosk, agent)


async def test_reserved_names_are_refused_with_an_error_event_like_every_other_refusal(server):
    client, errors = await raw_client(server.url, "/kiosk", "kiosk-token-3")
    try:
        for event in ("connect", "disconnect", "connect_error"):
            ack = await client.call(event, {}, namespace="/kiosk", timeout=5)
            assert ack["ok"] is False and ack["error"]["code"] == "unknown_event"
        await until(lambda: len(errors) == 3, 5, "an error event per reserved name")
        assert [(e["code"], e["event"]) for e in errors] == [
            ("unknown_event", "connect"), ("unknown_event", "disconnect"), ("unknown_event", "connect_error")]
        assert client.connected
    finally:
        await client.disconnect()


async def test_a_null_or_missing_payload_is_refused_and_changes_nothing(server):
    agent, (kiosk,) = await make_room(server.url, 1)
    try:
        before = snapshot(server)
        for client, event in [(kiosk, "security.call"), (agent, "focus.all")]:
            # null, and no payload at all (python-socketio sends ["event"] for data=None)
            ack = await client.sio.call(event, (None,), namespace=client.namespace, timeout=5)
            assert ack["ok"] is False and ack["error"]["code"] == "invalid_payload", (event, ack)
            ack = await client.sio.call(event, namespace=client.namespace, timeout=5)
            assert ack["ok"] is False and ack["error"]["code"] == "invalid_payload", (event, ack)
        assert snapshot(server) == before
        assert all(server.hub.state.help_since(k.kiosk_id) is None for k in server.config.kiosk_tokens.values()), "a refused security.call calls nobody"
        assert kiosk.state == "on_hold", "a refused focus.all talks to nobody"
        # {} is the payload of an event that needs nothing.
        assert (await kiosk.call("security.call", {}))["ok"]
        assert (await agent.call("focus.all", {}))["ok"]
        await kiosk.wait_state("talking", 5)
    finally:
        await close_all(kiosk, agent)


async def test_an_event_that_is_not_an_array_is_refused_cleanly(server, caplog):
    from rawsocket import RawSocket

    raw = await RawSocket.open(server.url)
    try:
        assert (await raw.connect("/kiosk", {"token": "kiosk-token-2"}))[0] == "connected"
        before = snapshot(server)
        for n, body in enumerate(['{"0":"session.request","1":{"service":"jht"}}', '"session.request"', "null",
                                  "[]", "[5]", '[null,{"service":"jht"}]'], start=1):
            ack = await raw.call("/kiosk", body, n)
            assert ack == [{"ok": False, "error": {"code": "invalid_payload", "message": ack[0]["error"]["message"]}}], body
        assert [e["code"] for e in raw.events("/kiosk", "error")] == ["invalid_payload"] * 6
        assert snapshot(server) == before
        assert not [r for r in caplog.records if r.exc_info], "no traceback"
        # The socket still serves.
        ack = await raw.call("/kiosk", '["session.request",{"service":"jht"}]', 99)
        assert ack[0]["ok"] is True
    finally:
        await raw.close()


async def test_a_huge_event_name_is_not_echoed_back(server):
    client, errors = await raw_client(server.url, "/kiosk", "kiosk-token-4")
    try:
        name = "x" * 60_000
        ack = await client.call(name, {}, namespace="/kiosk", timeout=5)
        assert ack["error"]["code"] == "unknown_event" and len(ack["error"]["message"]) < 200
        await until(lambda: errors, 5, "the error event")
        assert len(errors[0]["event"]) <= 65 and len(errors[0]["message"]) < 200
    finally:
        await client.disconnect()


async def test_rating_before_the_end_is_invalid_state_and_another_booths_session_is_unknown(server):
    agent, (kiosk,) = await make_room(server.url, 1)
    other = await make_kiosk(server.url, 2)
    try:
        ack = await kiosk.call("session.rate", {"session_id": kiosk.session_id, "score": 5})
        assert ack["error"]["code"] == "invalid_state", ack
        await agent.end(kiosk.session_id)
        await kiosk.wait_state("ended", 5)
        ack = await other.call("session.rate", {"session_id": kiosk.session_id, "score": 1})
        assert ack["error"]["code"] == "unknown_session", ack
        assert (await kiosk.call("session.rate", {"session_id": kiosk.session_id, "score": 5}))["ok"]
        ack = await kiosk.call("session.rate", {"session_id": kiosk.session_id, "score": 4})
        assert ack["error"]["code"] == "invalid_state"
    finally:
        await close_all(kiosk, other, agent)
