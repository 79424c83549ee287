"""Shift start: fifty agents and three hundred booths connect at the same moment.

Every hub path that tells many screens awaits between sends, while other
connections change the same dictionaries; iterating a live dictionary across
such an await raised ``dictionary changed size during iteration`` and
refused connections. Real socket.io clients, media off.
"""

from __future__ import annotations

import asyncio
import logging
import time

from agent_console.client import HeadlessAgent
from conftest import make_config, start_server
from helpers import close_all
from kiosk_client.client import HeadlessKiosk, until

AGENTS = 50
BOOTHS = 300
#: Seconds between two arrivals (350 arrivals: about one second in all).
STAGGER = 0.003


class Failures(logging.Handler):
    """Every record at ERROR or above, from any logger (the server runs in this process)."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


async def test_fifty_agents_and_three_hundred_booths_connect_at_once(tmp_path):
    srv = await start_server(make_config(tmp_path, kiosks=BOOTHS, agents=AGENTS))
    failures = Failures()
    logging.getLogger().addHandler(failures)
    agents = [HeadlessAgent(srv.url, f"agent-token-{i}") for i in range(1, AGENTS + 1)]
    booths = [HeadlessKiosk(srv.url, f"kiosk-token-{i}", auto_media=False) for i in range(1, BOOTHS + 1)]
    try:
        # Everyone within about a second, interleaved as a shift start looks: each
        # agent's sign-in overlaps the sign-ins of others and of booths.
        clients: list[HeadlessAgent | HeadlessKiosk] = []
        for i, a in enumerate(agents):
            clients += [a, *booths[i * BOOTHS // AGENTS:(i + 1) * BOOTHS // AGENTS]]

        async def arrive(n: int, client: HeadlessAgent | HeadlessKiosk) -> None:
            await asyncio.sleep(n * STAGGER)
            if isinstance(client, HeadlessAgent):
                await client.connect(media=False)
            else:
                await client.connect()

        t0 = time.monotonic()
        results = await asyncio.gather(*(arrive(n, c) for n, c in enumerate(clients)), return_exceptions=True)
        refused = [(c.token, r) for c, r in zip(clients, results) if isinstance(r, BaseException)]
        assert refused == [], f"{len(refused)} connections failed, e.g. {refused[:3]}"
        await until(lambda: all(a.room for a in agents) and all(b.states for b in booths), 20, "every first state")
        print(f"{AGENTS} agents and {BOOTHS} booths connected and told in {time.monotonic() - t0:.1f}s")

        assert all(a.sio.connected for a in agents) and all(b.sio.connected for b in booths)
        for i, a in enumerate(agents, 1):
            first = a.rooms[0]
            assert (first["agent_id"], first["name"], first["capacity"], first["availability"]) == (
                f"agent-{i}", f"Agen {i}", 6, "available"
            ), first
            assert first["tiles"] == [None] * 6 and first["focus"] == []
        for b in booths:
            assert b.states[0] == {"session_id": None, "state": "idle"}, b.states[0]
        # The server knows every one of them, and nothing went wrong on its side.
        assert sum(1 for a in srv.hub.state.agents() if a.online) == AGENTS
        assert len(srv.hub.state.online_kiosks()) == BOOTHS
        assert [r.getMessage() for r in failures.records] == []
        # Each agent can transfer to every colleague once everybody is in (asked, not pushed).
        assert all("colleagues" not in a.room for a in agents)
        lists = await asyncio.gather(*(a.transfer_targets() for a in agents))
        assert [sorted(c["agent_id"] for c in cs) for cs in lists] == [
            sorted(f"agent-{j}" for j in range(1, AGENTS + 1) if j != i) for i in range(1, AGENTS + 1)
        ]
    finally:
        logging.getLogger().removeHandler(failures)
        await asyncio.gather(*(close_all(c) for c in [*agents, *booths]))
        await srv.runner.cleanup()
