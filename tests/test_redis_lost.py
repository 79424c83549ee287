"""Redis lost while a node runs: no new sessions, screens told, running media forwarded; back when Redis is.

A node (in this process, real aiortc peers, media in-process) on its own
``redis-server`` that keeps its data across a restart (append-only file), as
a production Redis for the live state must. The test stops that server
mid-session and starts it again on the same port.
"""

from __future__ import annotations

from conftest import make_config, start_server
from outage import OutageDrill
from redis_engine import RedisEngine


async def test_redis_lost_and_back(tmp_path):
    engine = RedisEngine(tmp_path / "redis", persist=True).start()
    srv = await start_server(make_config(tmp_path / "node", redis_url=engine.url, node_id="node-a",
                                         node_heartbeat=0.25, node_ttl=1.0))
    drill = OutageDrill(srv)
    try:
        await drill.start()
        engine.stop(keep_folder=True)  # Redis gone
        await drill.check_gone("state_unavailable")
        engine.start()  # Redis back, with what it held
        await drill.check_back()
    finally:
        await drill.close()
        await srv.runner.cleanup()
        engine.stop()
