"""Routings of one room made on two nodes reach the room's node in either order: the newest stands.

A room's routing is made by whichever node ran the command that changed it
(a booth's request on the booth's node, the agent's hold on the agent's
node) and told to the room's node, locally or over the relay. Two routings
of one room made on two nodes can therefore arrive in the other order than
they were made. Each carries the number of the read of the shared state it
was made from (``RoomState.seq``, :meth:`State.commit_room`), and the media
router applies none older than the one it has: a member put on hold is
never given the agent back by a routing that was overtaken on its way.
"""

from __future__ import annotations

import logging

import pytest

from agent_console.client import HeadlessAgent
from conftest import AGENT_TONE, KIOSK_TONES, make_config, start_server
from helpers import SMALL, close_all, heard, kiosk_tones_in, listen
from kiosk_client.client import HeadlessKiosk, until
from redis_engine import redis_engine, redis_url  # noqa: F401
from server import appkeys
from server.media.router import Router
from signaling.core.matrix import RoomState

TILES = ("k0", "k1") + (None,) * 4


def talking_to(member: str, seq: int) -> RoomState:
    return RoomState(agent="A", tiles=TILES, focus=frozenset({member}), seq=seq)


async def test_the_router_applies_no_routing_older_than_the_one_it_has():
    router = Router()
    try:
        await router.set_room("r", talking_to("k0", 5))
        await router.set_room("r", talking_to("k1", 4))  # made from an earlier read, overtaken on its way
        assert router.rooms["r"].state.focus == {"k0"}
        await router.set_room("r", talking_to("k1", 5).to_dict())  # the same read again (as the relay carries it)
        assert router.rooms["r"].state.focus == {"k1"}
        await router.set_room("r", talking_to("k0", 0))  # not ordered (one process, a test): applied
        assert router.rooms["r"].state.focus == {"k0"}
        await router.close_room("r")
        await router.set_room("r", talking_to("k1", 3))  # a late, older routing does not open the closed room
        assert "r" not in router.rooms
        await router.set_room("r", talking_to("k1", 6))
        assert router.rooms["r"].state.focus == {"k1"}
        for bad in ("7", -1, 2.5, True, None):  # a malformed number (a relayed message) is refused, nothing changes
            with pytest.raises(ValueError, match="seq"):
                await router.set_room("r", {**talking_to("k0", 0).to_dict(), "seq": bad})
        assert router.rooms["r"].state.focus == {"k1"} and router._seq["r"] == 6
    finally:
        await router.close()


async def test_a_routing_overtaken_between_nodes_never_gives_a_held_member_the_agent(tmp_path, redis_url, caplog):
    """The agent's room is on node B. Node A routes the room (a booth on A assigned) while the agent talks to
    member 1; that routing is held back on its way. Meanwhile the agent, on B, puts member 1 on hold and talks
    to member 2. When node A's routing arrives late, member 1 must stay on hold: on the wire, member 1 hears
    neither the agent nor member 2, and member 2 hears the agent (real aiortc peers, node B's media)."""
    caplog.set_level(logging.INFO, logger="server.media.router")
    a = await start_server(make_config(tmp_path / "a", redis_url=redis_url, node_id="node-a"))
    b = await start_server(make_config(tmp_path / "b", redis_url=redis_url, node_id="node-b"))
    agent = HeadlessAgent(b.url, "agent-token-1", tone_hz=AGENT_TONE, pattern=0, **SMALL)
    first = HeadlessKiosk(b.url, "kiosk-token-1", tone_hz=KIOSK_TONES[1], pattern=1, **SMALL)
    second = HeadlessKiosk(a.url, "kiosk-token-2", tone_hz=KIOSK_TONES[2], pattern=2, **SMALL)
    relay = a.app[appkeys.CLUSTER].router.relay
    tell = relay.tell
    held: list[tuple[str, str, dict]] = []

    async def hold_back(node: str, cmd: str, **args) -> None:
        if cmd == "set_room":
            held.append((node, cmd, args))
        else:
            await tell(node, cmd, **args)

    try:
        await agent.connect()  # the console and the room on node B
        await first.connect()
        s1 = await first.request("jht")
        await until(lambda: agent.sessions() == [s1], 10, "member 1 on the agent's tiles")
        assert (await agent.focus([s1]))["ok"]
        await first.wait_state("talking", 20)
        room = b.app[appkeys.CLUSTER].router.local.rooms["agent-1"]
        assert room.state.focus == {s1}
        relay.tell = hold_back
        await second.connect()
        s2 = await second.request("jht")  # node A assigns member 2 and routes the room: talking to member 1
        await until(lambda: agent.sessions() == [s1, s2] and held, 10, "node A's routing, held on its way")
        relay.tell = tell
        assert held[-1][2]["state"]["focus"] == [s1]
        assert (await agent.focus([s2]))["ok"]  # node B: member 1 on hold, talk to member 2
        await second.wait_state("talking", 20)  # member 2's media connected to node B: nothing more to route
        await first.wait_state("on_hold", 10)
        assert room.state.focus == {s2}
        for node, cmd, args in held:  # node A's routing arrives now, after node B's
            await tell(node, cmd, **args)
        await until(lambda: "ignored" in caplog.text or room.state.focus != {s2}, 5, "node A's late routing")
        assert room.state.focus == {s2}, "a routing overtaken on its way gave member 1 the agent again"
        levels = await listen([first.audio, second.audio])
        assert AGENT_TONE not in heard(levels[0]), f"member 1, on hold, hears the agent: {levels[0]}"
        assert AGENT_TONE in heard(levels[1]), f"member 2 does not hear the agent: {levels[1]}"
        assert kiosk_tones_in(levels[0]) == {} and kiosk_tones_in(levels[1]) == {}, levels  # no member hears another
    finally:
        relay.tell = tell
        await close_all(first, second, agent)
        await a.runner.cleanup()
        await b.runner.cleanup()
