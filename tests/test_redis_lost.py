"""Redis lost while a node runs: no new sessions, screens told, running media forwarded; back when Redis is.

A node (in this process, real aiortc peers, media in-process) on its own
``redis-server`` that keeps its data across a restart (append-only file), as
a production Redis for the live state must. The test stops that server
mid-session and starts it again on the same port.
"""

from __future__ import annotations

from agent_console.client import HeadlessAgent
from conftest import AGENT_TONE, make_config, start_server
from helpers import SMALL, close_all, heard, listen
from kiosk_client.client import HeadlessKiosk, until
from redis_engine import RedisEngine


def statuses(client) -> list[dict]:
    """Every ``service.status`` the client is sent, in order."""
    seen: list[dict] = []

    async def on_status(data: dict) -> None:
        seen.append(data)

    client.sio.on("service.status", on_status, namespace=client.namespace)
    return seen


async def test_redis_lost_and_back(tmp_path):
    engine = RedisEngine(tmp_path / "redis", persist=True).start()
    srv = await start_server(make_config(tmp_path / "node", redis_url=engine.url, node_id="node-a",
                                         node_heartbeat=0.25, node_ttl=1.0))
    agent = HeadlessAgent(srv.url, "agent-token-1", tone_hz=AGENT_TONE, **SMALL)
    talking = HeadlessKiosk(srv.url, "kiosk-token-1", tone_hz=600.0, pattern=1, **SMALL)
    later = HeadlessKiosk(srv.url, "kiosk-token-2", auto_media=False)
    try:
        await agent.connect()
        for k in (talking, later):
            await k.connect()
        told = [statuses(talking), statuses(later), statuses(agent)]
        first = await talking.request("jht")
        await talking.wait_state("on_hold", 20)
        assert (await agent.talk(first))["ok"]
        await talking.wait_state("talking", 10)

        engine.stop(keep_folder=True)  # Redis gone
        await until(lambda: all(t and t[-1]["accepting"] is False for t in told), 5, "every screen told")
        assert told[0][-1] == {"accepting": False, "reason": "state_unavailable"}
        ack = await later.call("session.request", {"service": "jht"})
        assert ack["ok"] is False and ack["error"]["code"] == "unavailable"
        levels = await listen([agent.audio, talking.audio])  # the running session's media still flows
        assert 600.0 in heard(levels[0]) and AGENT_TONE in heard(levels[1])

        engine.start()  # Redis back, with what it held
        await until(lambda: all(t[-1]["accepting"] is True for t in told), 5, "every screen told again")
        second = await later.request("jht")
        await later.wait_state("connecting", 10)
        assert srv.hub.state.session(first).state == "active"  # nothing acknowledged was lost
        await until(lambda: agent.sessions() == [first, second], 5, "the agent's two tiles")
        levels = await listen([agent.audio, talking.audio])
        assert AGENT_TONE in heard(levels[1])
    finally:
        await close_all(talking, later, agent)
        await srv.runner.cleanup()
        engine.stop()
