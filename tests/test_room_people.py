"""Supervisors and guests in an agent's room: signalling, defined behaviour, bad input and the audit trail (issue 14)."""

from __future__ import annotations

import pytest
import socketio

from agent_console.room_clients import HeadlessGuest, HeadlessSupervisor
from conftest import make_config, start_server
from helpers import close_all, make_agent, make_kiosk
from kiosk_client.client import until
from test_authorization import PASSWORD, setup_accounts


@pytest.fixture
async def desk(tmp_path):
    """An agent with two members on hold, a supervisor signed in; the clock is the test's."""
    srv = await start_server(make_config(tmp_path))
    setup_accounts(srv.hub)
    agent = await make_agent(srv.url)
    kiosks = [await make_kiosk(srv.url, i) for i in (1, 2)]
    for k in kiosks:
        await k.wait_state("on_hold", 20)
    boss = HeadlessSupervisor(srv.url, "boss", PASSWORD, tone_hz=1700.0)
    await boss.connect()
    yield srv, agent, kiosks, boss
    await close_all(*kiosks, agent, boss)
    await srv.runner.cleanup()


def refusals(srv, action: str = "room.refused") -> list[dict]:
    return srv.hub.storage.audit.entries(action=action)


def token_of(ack: dict) -> str:
    return ack["path"].rsplit("/", 1)[1]


async def test_supervisor_joins_changes_mode_and_leaves_and_everyone_is_told(desk):
    srv, agent, kiosks, boss = desk
    member = kiosks[0]
    assert (await agent.talk(member.session_id))["ok"]
    assert (await boss.join("agent-1", "listen"))["ok"]
    await until(lambda: boss.monitor and boss.monitor["mode"] == "listen", 5, "monitor.state")
    assert [t["session_id"] for t in boss.monitor["tiles"] if t] == agent.sessions()
    await until(lambda: any(p.get("mode") == "listen" for p in agent.room["people"]), 5, "the agent sees the supervisor")
    assert member.states[-1]["supervisors"] == []  # listening: the member is not told, hears nobody
    assert (await boss.mode("barge"))["ok"]
    await until(lambda: member.states[-1].get("supervisors") == ["boss"] or member.states[-1].get("supervisors"), 5,
                "the member sees a second staff member")
    assert kiosks[1].states[-1]["supervisors"] == []  # on hold: nobody barges in on them
    assert (await boss.mode("whisper"))["ok"]
    await until(lambda: member.states[-1]["supervisors"] == [], 5, "a whisper is not shown to the member")
    assert (await boss.leave())["ok"]
    await until(lambda: agent.room["people"] == [], 5, "the agent sees the room empty again")
    spans = srv.hub.spans.spans()
    assert [(s["supervisor"], s["agent_id"], s["mode"]) for s in reversed(spans)] == [
        ("boss", "agent-1", "listen"), ("boss", "agent-1", "barge"), ("boss", "agent-1", "whisper")]
    assert all(s["end"] >= s["start"] for s in spans)
    state = (await srv.hub.router.stats())["rooms"]["agent-1"]["state"]
    assert "participants" not in state  # leaving restores the room exactly


async def test_two_supervisors_and_an_agent_who_leaves(desk):
    srv, agent, kiosks, boss = desk
    srv.hub.storage.accounts.add_user("ayu", PASSWORD, "supervisor", name="Ayu")
    ayu = HeadlessSupervisor(srv.url, "ayu", PASSWORD, tone_hz=1900.0)
    await ayu.connect()
    try:
        assert (await boss.join("agent-1", "whisper"))["ok"]
        assert (await ayu.join("agent-1", "listen"))["ok"]
        await until(lambda: len(agent.room["people"]) == 2, 5, "two supervisors on the console")
        await agent.drop()  # the agent's console goes: supervisors stay, told the agent is offline
        await until(lambda: boss.monitor and boss.monitor["online"] is False, 5, "told the agent left")
        state = (await srv.hub.router.stats())["rooms"]["agent-1"]["state"]
        assert state["agent"] is None and len(state["participants"]) == 2
    finally:
        await ayu.close()


async def test_a_guest_link_works_once_for_its_session_only(desk):
    srv, agent, kiosks, boss = desk
    member, other = kiosks
    ack = await agent.call("guest.invite", {"session_id": member.session_id})
    assert ack["ok"] and ack["qr"].startswith("data:image/svg+xml") and ack["path"].startswith("/guest/")
    guest = HeadlessGuest(srv.url, token_of(ack), tone_hz=2100.0, pattern=7)
    await guest.connect()
    assert (await guest.start_media())["ok"]
    await until(lambda: {"role": "guest", "session_id": member.session_id, "tile": agent.tile_of(member.session_id) + 1}
                in agent.room["people"], 5, "the guest's tile with its member")
    again = HeadlessGuest(srv.url, token_of(ack), tone_hz=2100.0, pattern=7)
    with pytest.raises(socketio.exceptions.ConnectionError):  # used twice
        await again.connect()
    # A guest trying agent or kiosk events: refused, nothing changes, stored.
    before = agent.room
    for event, payload in (("focus.all", {}), ("session.leave", {"session_id": member.session_id}),
                           ("guest.invite", {"session_id": other.session_id})):
        reply = await guest.call(event, payload)
        assert reply["error"]["code"] == "unknown_event", reply
    assert agent.room == before
    assert len([e for e in refusals(srv) if e["role"] == "guest" and e["detail"]["event"] != "connect"]) == 3
    # Removed: out of the room, and the link never works again.
    assert (await agent.call("guest.remove", {"session_id": member.session_id}))["ok"]
    await until(lambda: ("guest.state", {"state": "ended"}) in guest.events, 5, "the guest told")
    await until(lambda: agent.room["people"] == [], 5, "the guest's tile gone")
    assert (await guest.call("media.offer", {"sdp": "v=0" * 10}))["error"]["code"] == "unknown_session"
    await guest.close()
    await close_all(again)


async def test_links_refused_after_removal_session_end_expiry_and_for_another_session(desk):
    srv, agent, kiosks, boss = desk
    member, other = kiosks
    removed = await agent.call("guest.invite", {"session_id": member.session_id})
    fresh = await agent.call("guest.invite", {"session_id": member.session_id})  # a new link ends the older one
    ended = await agent.call("guest.invite", {"session_id": other.session_id})
    assert (await agent.end(other.session_id))["ok"]
    expiring = await agent.call("guest.invite", {"session_id": member.session_id})
    srv.config.clock.set(srv.config.clock() + srv.hub.guest_link_seconds + 1)  # the link's time is up
    for ack in (removed, ended, expiring, fresh):
        guest = HeadlessGuest(srv.url, token_of(ack), tone_hz=2100.0, pattern=7)
        with pytest.raises(socketio.exceptions.ConnectionError):
            await guest.connect()
        await close_all(guest)
    assert len([e for e in refusals(srv) if e["detail"]["event"] == "connect"]) == 4
    # A link for another agent's session, or for none: unknown_session, stored.
    for session_id in ("nope", other.session_id):
        reply = await agent.call("guest.invite", {"session_id": session_id})
        assert reply["error"]["code"] == "unknown_session"


async def test_bad_monitoring_is_refused_changes_nothing_and_is_stored(desk):
    srv, agent, kiosks, boss = desk
    reply = await agent.call("monitor.join", {"agent_id": "agent-1", "mode": "listen", "sdp": "v=0" * 10})
    assert reply["error"]["code"] == "unknown_event"  # an agent is not a supervisor
    officer = socketio.AsyncClient(reconnection=False)
    with pytest.raises(socketio.exceptions.ConnectionError):  # nor may an officer open /supervisor
        await officer.connect(srv.url, namespaces=["/supervisor"], auth={"username": "budi", "password": PASSWORD},
                              transports=["websocket"])
    reply = await boss.join("agent-1", "shout")
    assert reply["error"]["code"] == "unknown_mode"
    reply = await boss.join("agent-9", "listen")
    assert reply["error"]["code"] == "unknown_agent"
    assert (await boss.mode("barge"))["error"]["code"] == "invalid_state"  # not in a room
    assert (await boss.join("agent-1", "listen"))["ok"]
    assert (await boss.mode("loud"))["error"]["code"] == "unknown_mode"
    await until(lambda: boss.monitor is not None, 5, "monitor.state")
    assert boss.monitor["mode"] == "listen"
    state = (await srv.hub.router.stats())["rooms"]["agent-1"]["state"]
    assert state["participants"] == [{"peer": "supervisor-boss", "role": "supervisor", "mode": "listen"}]
    stored = refusals(srv)
    assert {(e["actor"], e["detail"]["event"]) for e in stored} >= {
        ("agent-1", "monitor.join"), ("boss", "monitor.join"), ("boss", "monitor.mode")}
    await officer.disconnect()


async def test_supervisors_and_guests_get_their_own_turn_credentials(tmp_path):
    """``media.ice`` on /supervisor and /guest: time-limited TURN credentials named for that person (issue 13)."""
    from server.netoptions import parse_turn_url

    srv = await start_server(make_config(tmp_path, turn_urls=(parse_turn_url("turn:127.0.0.1:3478?transport=tcp"),),
                                         turn_secret="s3cret", turn_ttl=3600))
    setup_accounts(srv.hub)
    agent = await make_agent(srv.url)
    member = await make_kiosk(srv.url, 1)
    boss = HeadlessSupervisor(srv.url, "boss", PASSWORD, tone_hz=1700.0)
    guest = None
    try:
        await member.wait_state("on_hold", 20)
        await boss.connect()
        [entry] = (await boss.call("media.ice", {}))["ice_servers"]
        assert entry["username"].endswith(":supervisor-boss") and entry["credential"]
        ack = await agent.call("guest.invite", {"session_id": member.session_id})
        guest = HeadlessGuest(srv.url, token_of(ack), tone_hz=2100.0, pattern=7)
        await guest.connect()
        [entry] = (await guest.call("media.ice", {}))["ice_servers"]
        assert entry["username"].split(":", 1)[1].startswith("guest-") and entry["credential"]
    finally:
        await close_all(*([guest] if guest else []), member, agent, boss)
        await srv.runner.cleanup()
