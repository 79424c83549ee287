"""Three ``lapak serve`` processes, one Redis, HAProxy in front; node B is killed with SIGKILL.

The harness starts everything itself on loopback, in temporary folders, on
free ports: one ``redis-server`` (tests/redis_engine.py), three nodes and
HAProxy (tests/haproxy_engine.py, the configuration of docs/operations.md).
Every client goes through HAProxy; its ``lapak_node`` cookie puts the two
booths on node A and the agent on node B, so the agent's room lives on node B
and each booth's offer is answered by node B through node A.

Then node B gets ``kill -9``. Within 10 s a live node holds the room; the
booths (still on node A) are told a new media attempt and offer again for the
same sessions; the agent, whose socket died with node B, reconnects through
HAProxy to a live node and offers again. The FFT check holds before and
after, and every record is there: the three nodes share one PostgreSQL
(tests/pg_engine.py, ``--database``), in which each session of the test has
one row and an unbroken chain of transitions (each starts where the one
before ended: none lost, none stored twice).
"""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import sys
import time

import aiohttp
import psycopg
import redis

from conftest import AGENT_TONE, free_port
from haproxy_engine import HAProxy
from helpers import SMALL, close_all, heard, kiosk_tones_in, listen
from agent_console.client import HeadlessAgent
from kiosk_client.client import HeadlessKiosk, until
from redis_engine import redis_engine  # noqa: F401

NODES = ("node-a", "node-b", "node-c")
TONES = {1: 600.0, 2: 900.0}


async def start_node(tmp_path, name: str, port: int, redis_url: str, tokens, database: str) -> subprocess.Popen:
    log = open(tmp_path / f"{name}.log", "wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "server.cli", "serve", "--port", str(port), "--data", str(tmp_path / name),
         "--tokens", str(tokens), "--media-workers", "0", "--reconnect-grace", "30", "--kiosk-self-start",
         "--redis", redis_url, "--node-id", name, "--database", database],
        stdout=subprocess.DEVNULL, stderr=log,
    )
    log.close()
    return proc


async def healthy(url: str, proc: subprocess.Popen, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    async with aiohttp.ClientSession() as http:
        while True:
            try:
                async with http.get(url + "/healthz") as r:
                    if r.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            if time.monotonic() > deadline or proc.poll() is not None:
                raise RuntimeError(f"node at {url} did not start")
            await asyncio.sleep(0.1)


def on(client, node: str):
    client.headers = {"Cookie": f"lapak_node={node}"}  # HAProxy's stickiness cookie: ask for this node
    return client


async def private_and_flowing(agent: HeadlessAgent, kiosks: list[HeadlessKiosk]) -> None:
    """The agent hears both booths; each booth hears the agent and never the other booth."""
    levels = await listen([agent.audio] + [k.audio for k in kiosks])
    assert heard(levels[0]) >= set(TONES.values()), f"the agent hears {levels[0]}"
    for k, lv in zip(kiosks, levels[1:]):
        assert AGENT_TONE in heard(lv), f"booth {k.pattern} does not hear the agent: {lv}"
        assert kiosk_tones_in(lv) == {}, f"booth {k.pattern} hears another booth: {lv}"


def history(database: str, session_id: str) -> list[str]:
    """Every stored transition of a session, in the shared PostgreSQL, in the order they were stored."""
    with psycopg.connect(database) as db:
        rows = db.execute("SELECT to_state, reason FROM transitions WHERE session_id = %s ORDER BY id",
                          (session_id,)).fetchall()
    return [f"{state}:{reason}" if reason else state for state, reason in rows]


def complete(database: str, sessions: list[str]) -> None:
    """One row per session of the test, ended; each one's transitions an unbroken chain from its start."""
    with psycopg.connect(database) as db:
        rows = dict(db.execute("SELECT session_id, state FROM sessions").fetchall())
        chains = {s: db.execute("SELECT from_state, to_state FROM transitions WHERE session_id = %s ORDER BY id",
                                (s,)).fetchall() for s in sessions}
    assert rows == {s: "closed" for s in sessions}, rows
    for s, chain in chains.items():
        before = None
        for from_state, to_state in chain:
            assert from_state == before, f"{s}: {before} then {from_state}->{to_state}: {chain}"
            before = to_state


async def test_node_b_killed_its_room_moves_and_the_same_sessions_resume(tmp_path, redis_engine, pg_url):
    redis_engine.flush()
    tokens = tmp_path / "tokens.json"
    tokens.write_text(json.dumps({
        "kiosks": {f"kiosk-token-{i}": {"kiosk_id": f"kiosk-{i}", "branch": "jkt", "booth": i} for i in TONES},
        "agents": {"agent-token-1": {"agent_id": "agent-1", "name": "Agen 1", "capacity": 6}},
    }))
    ports = {name: free_port() for name in NODES}
    procs = {name: await start_node(tmp_path, name, ports[name], redis_engine.url, tokens, pg_url)
             for name in NODES}
    lb = HAProxy(tmp_path / "haproxy", ports)
    r = redis.Redis.from_url(redis_engine.url, decode_responses=True)
    clients: list = []
    try:
        for name in NODES:
            await healthy(f"http://127.0.0.1:{ports[name]}", procs[name])
        lb.start()
        await until(lambda: r.exists(*(f"lapak:alive:{n}" for n in NODES)) == 3, 10, "three heartbeats")
        agent = on(HeadlessAgent(lb.url, "agent-token-1", tone_hz=AGENT_TONE, **SMALL), "node-b")
        kiosks = [on(HeadlessKiosk(lb.url, f"kiosk-token-{i}", tone_hz=t, pattern=i, **SMALL), "node-a")
                  for i, t in TONES.items()]
        clients = [agent, *kiosks]
        await agent.connect()
        assert r.hget("lapak:agent:node", "agent-1") == "node-b"
        assert r.hget("lapak:rooms", "agent-1") == "node-b"  # the agent's room lives on node B
        for k in kiosks:
            await k.connect()
            await k.request("jht")
        assert set(r.hgetall("lapak:kiosks").values()) == {"node-a"}  # the booths' sockets are on node A
        await agent.wait_sessions(2)
        await agent.focus_all()
        for k in kiosks:
            await k.wait_state("talking", 20)
        await private_and_flowing(agent, kiosks)
        sessions = [k.session_id for k in kiosks]
        attempts = [k.states[-1]["attempt"] for k in kiosks]

        procs["node-b"].send_signal(signal.SIGKILL)  # no goodbye
        procs["node-b"].wait()
        killed = time.monotonic()
        await until(lambda: r.hget("lapak:rooms", "agent-1") in ("node-a", "node-c"), 10, "the room taken")
        moved = time.monotonic() - killed
        assert moved < 10
        agent.sio.eio.state = "disconnected"  # its socket died with node B
        await agent.reconnect()  # through HAProxy, which sends it to a live node
        assert r.hget("lapak:agent:node", "agent-1") in ("node-a", "node-c")
        for k, attempt in zip(kiosks, attempts):
            # A new attempt (one; another only if the new connection failed on a loaded machine), talking again.
            try:
                await until(lambda k=k, a=attempt: k.states[-1].get("attempt", 0) > a and k.state == "talking", 30,
                            "the booth talking again, on a new attempt")
            except TimeoutError as exc:
                told = [(x["state"], x.get("attempt")) for x in k.states[-6:]]
                raise AssertionError(f"{exc}: told {told}, stored {history(pg_url, k.session_id)}") from None
        resumed = time.monotonic() - killed
        assert [k.session_id for k in kiosks] == sessions  # the same sessions
        assert [agent.tile_of(s) for s in sessions] == [0, 1]
        await private_and_flowing(agent, kiosks)
        for k in kiosks:
            assert k.offers.count((k.session_id, k.states[-1]["attempt"])) == 1  # one offer for the new attempt

        for s in sessions:
            assert (await agent.end(s))["ok"]
        for k in kiosks:
            await k.wait_state("ended", 10)
        for s in sessions:
            steps = history(pg_url, s)
            assert steps[:6] == [
                "requested:session started", "queued", f"assigned:agent-1, tile {sessions.index(s) + 1}", "connecting",
                "active:media connected", "connecting:media_restarted",
            ], steps
            assert steps[-3:] == ["active:media connected", "wrap_up:agent_ended", "closed:resolved"], steps
        complete(pg_url, sessions)
        print(f"room moved {moved:.1f} s after SIGKILL; booths talking again after {resumed:.1f} s")
    except BaseException:
        for name in NODES:  # what each node logged, for the report of a failure on a machine nobody watches
            text = (tmp_path / f"{name}.log").read_text(errors="replace").splitlines()
            print(f"--- {name}.log (last 40 lines)", *text[-40:], sep="\n")
        raise
    finally:
        for c in clients:
            c.sio.eio.state = "disconnected" if not c.sio.connected else c.sio.eio.state
        await close_all(*clients)
        lb.stop()
        for proc in procs.values():
            if proc.poll() is None:
                proc.terminate()
        for proc in procs.values():
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        r.close()
