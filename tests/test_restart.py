"""A server killed with SIGKILL mid-flow comes back with every session, queue, room and talk set."""

from __future__ import annotations

import asyncio
import json
import signal
import sqlite3
import subprocess
import sys
import time

import aiohttp

from conftest import free_port
from conftest import AGENT_TONE
from helpers import HEARD, HOLD_NOTES, SILENT, SMALL, close_all, make_agent
from kiosk_client.client import HeadlessKiosk, until


async def start(data, tokens, port, grace) -> subprocess.Popen:
    proc = subprocess.Popen(
        [sys.executable, "-m", "server.cli", "serve", "--port", str(port), "--data", str(data),
         "--tokens", str(tokens), "--media-workers", "0", "--reconnect-grace", str(grace), "--kiosk-self-start"],
        stdout=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    async with aiohttp.ClientSession() as http:
        while True:
            try:
                async with http.get(url + "/healthz") as r:
                    if r.status == 200:
                        return proc
            except aiohttp.ClientError:
                pass
            if time.monotonic() > deadline or proc.poll() is not None:
                raise RuntimeError("server did not start")
            await asyncio.sleep(0.1)


def kiosk(url: str, i: int) -> HeadlessKiosk:
    return HeadlessKiosk(url, f"kiosk-token-{i}", tone_hz=500 + 100 * i, pattern=i, **SMALL)


async def test_sigkill_and_restart_lose_nothing_and_sessions_resume(tmp_path):
    tokens = tmp_path / "tokens.json"
    tokens.write_text(json.dumps({
        "kiosks": {f"kiosk-token-{i}": {"kiosk_id": f"kiosk-{i}", "branch": "jkt", "booth": i} for i in range(1, 6)},
        "agents": {"agent-token-1": {"agent_id": "agent-1", "name": "Agen 1", "capacity": 2}},
    }))
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    proc = await start(tmp_path, tokens, port, grace=4)
    clients = []
    try:
        agent = await make_agent(url)
        kiosks = [kiosk(url, i) for i in range(1, 6)]
        clients = [agent, *kiosks]
        for k in kiosks:
            await k.connect()
            await k.request("jht")
            await asyncio.sleep(0.05)  # a clear arrival order
        await kiosks[0].wait_state("on_hold")
        await kiosks[1].wait_state("on_hold")
        # The agent talks to the first member; the second stays on hold.
        assert (await agent.talk(kiosks[0].session_id))["ok"]
        await kiosks[0].wait_state("talking")
        talking = kiosks[0].session_id
        await until(lambda: all(k.state == "waiting" for k in kiosks[2:]), 5, "three waiting")
        assert [k.states[-1]["position"] for k in kiosks[2:]] == [1, 2, 3]
        before = {k.session_id: agent.tile_of(k.session_id) for k in kiosks[:2]}

        proc.send_signal(signal.SIGKILL)
        proc.wait()
        for c in clients:
            c.sio.eio.state = "disconnected"  # the server is gone; drop our side quietly
        await close_all(*clients)

        # Every record is on disk, with its whole history.
        db = sqlite3.connect(tmp_path / "lapak.sqlite3")
        rows = dict(db.execute("SELECT session_id, state FROM sessions").fetchall())
        assert len(rows) == 5
        for k in kiosks[:2]:
            history = [r[0] for r in db.execute(
                "SELECT to_state FROM transitions WHERE session_id = ? ORDER BY id", (k.session_id,))]
            assert history == ["requested", "queued", "assigned", "connecting", "active"]
        assert dict(db.execute("SELECT session_id, talking FROM sessions WHERE talking = 1").fetchall()) == {talking: 1}
        db.close()

        proc = await start(tmp_path, tokens, port, grace=4)
        # Kiosk 5 never comes back; the others and the agent do.
        agent = await make_agent(url)
        back = [kiosk(url, i) for i in range(1, 5)]
        clients = [agent, *back]
        for k in back:
            await k.connect()
        t0 = time.monotonic()
        await until(lambda: all(k.session_id for k in back), 5, "kiosks told their sessions")
        assert [k.session_id for k in back] == [k.session_id for k in kiosks[:4]]
        # The queue came back in the same order.
        await until(lambda: [k.states[-1].get("position") for k in back[2:]] == [1, 2], 5, "queue order")
        # The two rooms resumed on the same tiles, with media, and the talk set came back:
        # the first member talks to the agent again, the second is still on hold.
        await back[0].wait_state("talking", 20)
        await back[1].wait_state("on_hold", 20)
        await until(lambda: agent.room["focus"] == [talking], 5, "the agent's talk set")
        for k in back[:2]:
            tile = agent.tile_of(k.session_id)
            assert tile == before[k.session_id]
            await until(lambda t=tile: agent.tiles[t].frames > 0, 20, "video after restart")
        resume = time.monotonic() - t0
        print(f"resume after restart: {resume:.2f}s from kiosk reconnect to agent's frames on both tiles")
        # Privacy after the restart: the talking member hears the agent and no other member;
        # the held one hears hold music, neither the agent nor another member.
        tones = [AGENT_TONE, *(500.0 + 100 * i for i in range(1, 6)), *HOLD_NOTES]
        await asyncio.sleep(0.5)
        for k in back[:2]:
            k.audio.clear()
        await asyncio.sleep(1.2)
        talker, held = (k.audio.levels(tones, 1.2) for k in back[:2])
        members = [500.0 + 100 * i for i in range(1, 6)]
        assert talker[AGENT_TONE] > HEARD and max(talker[f] for f in members) < SILENT, talker
        assert max(held[f] for f in HOLD_NOTES) > HEARD, held
        assert held[AGENT_TONE] < SILENT and max(held[f] for f in members) < SILENT, held
        # The member who did not come back is closed after the grace period, never left dangling.
        db = sqlite3.connect(tmp_path / "lapak.sqlite3")
        await until(
            lambda: db.execute("SELECT state, reason FROM sessions WHERE session_id = ?", (kiosks[4].session_id,)).fetchone()
            == ("abandoned", "member_disconnected"),
            10,
            "the absent member's session to end",
        )
        db.close()
    finally:
        await close_all(*clients)
        if proc.poll() is None:
            proc.terminate()
            proc.wait(10)
