"""Several nodes on one Redis: a booth on one node served by an agent on another; Redis missing at start.

Two whole Lapak apps in this process, each with its own hub, RedisState and
socket.io server, share one real ``redis-server`` (tests/redis_engine.py):
what one node emits reaches the sockets of the other through python-socketio's
``AsyncRedisManager``. Media off: this is the control plane.
"""

from __future__ import annotations

import subprocess
import sys

from agent_console.client import HeadlessAgent
from conftest import free_port, make_config, start_server
from helpers import close_all
from kiosk_client.client import HeadlessKiosk, until
from redis_engine import redis_engine, redis_url  # noqa: F401
from server import appkeys
from signaling.changes import Changes


async def test_a_booth_on_node_a_is_served_by_an_agent_on_node_b(tmp_path, redis_url):
    a = await start_server(make_config(tmp_path / "a", redis_url=redis_url, node_id="node-a"))
    b = await start_server(make_config(tmp_path / "b", redis_url=redis_url, node_id="node-b"))
    kiosk = HeadlessKiosk(a.url, "kiosk-token-1", auto_media=False)
    agent = HeadlessAgent(b.url, "agent-token-1")
    try:
        await agent.connect(media=False)
        await kiosk.connect()
        assert a.hub.state.agent("agent-1").node == "node-b"  # what node B wrote, node A reads
        session_id = await kiosk.request("jht")
        await kiosk.wait_state("connecting", 10)  # node A dispatched to the agent on node B
        await until(lambda: agent.sessions() == [session_id], 10, "the tile on node B's console")
        await agent.talk(session_id)
        await agent.end(session_id)  # node B ends it; node A's booth is told
        await kiosk.wait_state("ended", 10)
        assert b.hub.state.session(session_id).state == "cancelled"
        assert b.hub.state.open_session_of("kiosk-1") is None
        fanout = a.app[appkeys.SIGNALING].manager.stats
        assert fanout.received > 0 and fanout.seconds > 0  # node A decoded what node B published
    finally:
        await close_all(kiosk, agent)
        await a.runner.cleanup()
        await b.runner.cleanup()


def test_serve_names_an_unreachable_redis_and_exits_non_zero(tmp_path):
    dead = f"redis://127.0.0.1:{free_port()}/0"
    result = subprocess.run(
        [sys.executable, "-m", "server.cli", "serve", "--redis", dead, "--port", str(free_port()),
         "--data", str(tmp_path / "data"), "--media-workers", "0"],
        capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 2, result
    assert f"Redis at {dead} is unreachable" in result.stderr, result.stderr


def consecutive_repeats(states: list[dict]) -> list[dict]:
    return [b for a, b in zip(states, states[1:]) if a == b]


async def test_a_screen_told_by_both_nodes_is_never_told_the_same_state_twice(tmp_path, redis_url):
    """A booth's node and its agent's node both tell the booth; neither repeats what the other just told.

    Each node remembers what each screen was last told (``LastTold``) and
    learns what the other nodes told from the shared socket.io channel, which
    it decodes anyway. Without that, the agent's node re-sends the booth
    every view the booth's node sent (and the other members of the room each
    view of theirs), half again as many messages per session.
    """
    a = await start_server(make_config(tmp_path / "a", redis_url=redis_url, node_id="node-a"))
    b = await start_server(make_config(tmp_path / "b", redis_url=redis_url, node_id="node-b"))
    first = HeadlessKiosk(a.url, "kiosk-token-1", auto_media=False)
    second = HeadlessKiosk(a.url, "kiosk-token-2", auto_media=False)
    agent = HeadlessAgent(b.url, "agent-token-1")
    try:
        await agent.connect(media=False)
        for kiosk in (first, second):
            await kiosk.connect()
            await kiosk.request("jht")
            await kiosk.wait_state("connecting", 10)  # node A assigned it to the agent on node B
        await until(lambda: len(agent.sessions()) == 2, 10, "both tiles on node B's console")
        await agent.talk(first.session_id)  # node B changes the room: the first booth's view is as node A told it
        await agent.talk(second.session_id)
        await agent.hold(second.session_id)
        await agent.end(second.session_id)
        await second.wait_state("ended", 10)
        await a.hub.finish(Changes(rooms={"agent-1"}))  # node A routes the room again: nothing new to tell
        await agent.end(first.session_id)
        await first.wait_state("ended", 10)
        for kiosk in (first, second):
            assert not consecutive_repeats(kiosk.states), kiosk.states
        assert not consecutive_repeats(agent.rooms), agent.rooms
    finally:
        await close_all(first, second, agent)
        await a.runner.cleanup()
        await b.runner.cleanup()
