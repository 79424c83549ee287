"""The records database (PostgreSQL) lost while a node runs: no new sessions, screens told, media flowing, back.

A node in this process (real aiortc peers, media in-process) keeps its
records in a PostgreSQL of its own (tests/pg_engine.py); the test stops that
server mid-session and starts it again on the same port with its data.
"""

from __future__ import annotations

import logging

import psycopg

from agent_console.client import HeadlessAgent
from conftest import AGENT_TONE, make_config, start_server
from helpers import SMALL, close_all, heard, listen
from kiosk_client.client import HeadlessKiosk, until
from pg_engine import PostgresServer
from test_redis_lost import statuses


async def test_records_lost_and_back(tmp_path, caplog):
    engine = PostgresServer().start()
    url = engine.create_database()
    srv = await start_server(make_config(tmp_path / "node", database_url=url, access_check_seconds=0.05))
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

        caplog.set_level(logging.INFO, logger="signaling.access")
        engine.halt()  # PostgreSQL gone
        await until(lambda: all(t and t[-1]["accepting"] is False for t in told), 5, "every screen told")
        assert told[0][-1] == {"accepting": False, "reason": "records_unavailable"}
        ack = await later.call("session.request", {"service": "jht"})
        assert ack["ok"] is False and ack["error"]["code"] == "unavailable"
        levels = await listen([agent.audio, talking.audio])  # the running session's media still flows
        assert 600.0 in heard(levels[0]) and AGENT_TONE in heard(levels[1])
        lost = [r for r in caplog.records if r.name == "signaling.access" and r.levelno >= logging.ERROR]
        assert len(lost) == 1 and lost[0].exc_info is None, [r.getMessage() for r in lost]  # once, no traceback

        engine.start()  # back, with its data
        await until(lambda: all(t[-1]["accepting"] is True for t in told), 10, "every screen told again")
        second = await later.request("jht")
        await later.wait_state("connecting", 10)
        assert srv.hub.state.session(first).state == "active"  # nothing acknowledged was lost
        await until(lambda: agent.sessions() == [first, second], 5, "the agent's two tiles")
        levels = await listen([agent.audio, talking.audio])
        assert AGENT_TONE in heard(levels[1])
        with psycopg.connect(url) as db:
            stored = dict(db.execute("SELECT session_id, state FROM sessions").fetchall())
        assert stored[first] == "active" and second in stored, stored  # the booth's "connecting" is "assigned" here
    finally:
        await close_all(talking, later, agent)
        await srv.runner.cleanup()
        engine.stop()
