"""The records database (PostgreSQL) lost while a node runs: no new sessions, screens told, media flowing, back.

A node in this process (real aiortc peers, media in-process) keeps its
records in a PostgreSQL of its own (tests/pg_engine.py); the test stops that
server mid-session and starts it again on the same port with its data.
"""

from __future__ import annotations

import logging

import psycopg

from conftest import make_config, start_server
from outage import OutageDrill
from pg_engine import PostgresServer


async def test_records_lost_and_back(tmp_path, caplog):
    engine = PostgresServer().start()
    url = engine.create_database()
    srv = await start_server(make_config(tmp_path / "node", database_url=url, access_check_seconds=0.05))
    drill = OutageDrill(srv)
    try:
        await drill.start()
        caplog.set_level(logging.INFO, logger="signaling.access")
        engine.halt()  # PostgreSQL gone
        await drill.check_gone("records_unavailable")
        lost = [r for r in caplog.records if r.name == "signaling.access" and r.levelno >= logging.ERROR]
        assert len(lost) == 1 and lost[0].exc_info is None, [r.getMessage() for r in lost]  # once, no traceback
        engine.start()  # back, with its data
        await drill.check_back(told_within=10)
        with psycopg.connect(url) as db:
            stored = dict(db.execute("SELECT session_id, state FROM sessions").fetchall())
        assert stored[drill.first] == "active" and drill.second in stored, stored  # "connecting" is "assigned" here
    finally:
        await drill.close()
        await srv.runner.cleanup()
        engine.stop()
