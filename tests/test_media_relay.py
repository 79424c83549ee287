"""The media relay between nodes (signaling/nodes/relay.py) on a real Redis.

A command asked of another node (``call``) comes back with its result or its
error by name; a command told (``tell``: a room's routing, a peer removed)
gets no reply, arrives in the order sent, and a failure is logged where it
happened; either to a node that is not listening fails at once.
"""

from __future__ import annotations

import asyncio
import logging

import pytest

from redis_engine import redis_engine, redis_url  # noqa: F401
from signaling.core.errors import OfferError
from signaling.nodes.relay import MediaRelay, NodeUnreachable


class Owner:
    """A node's media side as the relay sees it: records what it was told, refuses on request."""

    def __init__(self) -> None:
        self.done: list[tuple[str, dict]] = []

    async def __call__(self, cmd: str, args: dict):
        if cmd == "refuse":
            raise OfferError("no such codec")
        await asyncio.sleep(0.001 * (args.get("n", 0) % 3))  # uneven work: order must not depend on it
        self.done.append((cmd, args))
        return {"done": len(self.done)}


async def two_nodes(url: str) -> tuple[MediaRelay, MediaRelay, Owner]:
    owner = Owner()

    async def nothing(cmd: str, args: dict) -> None:
        raise AssertionError("node A serves nothing here")

    a = MediaRelay(url, "node-a", nothing, prefix="t:")
    b = MediaRelay(url, "node-b", owner, prefix="t:")
    await a.start()
    await b.start()
    return a, b, owner


async def test_told_commands_arrive_in_order_and_get_no_reply(redis_url, caplog):
    a, b, owner = await two_nodes(redis_url)
    try:
        for n in range(40):
            await a.tell("node-b", "set_room", room_id="agent-1", n=n)
        assert not a._pending  # nothing waits for a reply
        # A call after them for the same room is carried out after them, each in turn, whatever each takes.
        done = await a.call("node-b", "stats", room_id="agent-1")
        assert done == {"done": 41}
        assert [args["n"] for cmd, args in owner.done if cmd == "set_room"] == list(range(40))
        # A told command that fails is logged on the owner; the sender is not told and nothing is raised.
        with caplog.at_level(logging.WARNING, logger="signaling.nodes.relay"):
            await a.tell("node-b", "refuse", room_id="agent-1")
            await a.call("node-b", "stats", room_id="agent-1")  # in turn after the refused one
        assert any("refuse from node-a not carried out" in r.getMessage() for r in caplog.records), caplog.records
    finally:
        await a.close()
        await b.close()


async def test_a_call_returns_the_owners_error_by_name_and_a_silent_node_fails_at_once(redis_url):
    a, b, owner = await two_nodes(redis_url)
    try:
        with pytest.raises(OfferError, match="no such codec"):
            await a.call("node-b", "refuse", room_id="agent-1")
        with pytest.raises(NodeUnreachable, match="node-gone is not listening"):
            await a.tell("node-gone", "set_room", room_id="agent-1")
        with pytest.raises(NodeUnreachable, match="node-gone is not listening"):
            await a.call("node-gone", "add_peer", room_id="agent-1")
        assert owner.done == []
    finally:
        await a.close()
        await b.close()


async def test_a_malformed_message_is_dropped_and_the_relay_goes_on(redis_url, caplog):
    """Whatever else lands on a node's channel is logged and dropped: no pending call fails, nothing runs."""
    import redis.asyncio as aioredis

    a, b, owner = await two_nodes(redis_url)
    raw = aioredis.Redis.from_url(redis_url)
    try:
        waiting = asyncio.ensure_future(a.call("node-b", "stats", room_id="agent-1"))
        await asyncio.sleep(0)
        with caplog.at_level(logging.WARNING, logger="signaling.nodes.relay"):
            for junk in ("not json", "7", "[1, 2]", '{"reply": [1]}', '{"reply": "x"}', '{"cmd": 5}',
                         '{"cmd": "set_room", "args": [1]}', '{"cmd": "set_room", "id": "x", "args": {}}'):
                for channel in ("t:media:node-a", "t:media:node-b"):
                    await raw.publish(channel, junk)
            assert (await waiting) == {"done": 1}  # answered, not failed by the junk around it
            assert await a.call("node-b", "stats", room_id="agent-1") == {"done": 2}
        assert [cmd for cmd, _ in owner.done] == ["stats", "stats"]  # the junk ran nothing
        dropped = [r for r in caplog.records if "dropped" in r.getMessage()]
        assert len(dropped) == 16, [r.getMessage() for r in caplog.records]
        assert not any("listening again" in r.getMessage() for r in caplog.records)
    finally:
        await raw.aclose()
        await a.close()
        await b.close()
