"""The queue end to end: 14 members, 2 agents of capacity 6, real clients; and transfer."""

from __future__ import annotations

import asyncio

import pytest

from agent_console.client import HeadlessAgent
from helpers import close_all, make_room
from kiosk_client.client import HeadlessKiosk, until
from kiosk_client.synthetic import tone_levels

TINY = {"width": 96, "height": 64, "fps": 5}
SERVICES = ["jht", "jkk", "jht", "info", "jp", "jht", "jkm", "jht", "jkk", "jht", "info", "jht", "jht", "jht"]


@pytest.mark.config(kiosks=14)
async def test_fourteen_members_two_agents_fair_and_within_capacity(server):
    agents = [HeadlessAgent(server.url, f"agent-token-{i}", tone_hz=450.0, **TINY) for i in (1, 2)]
    kiosks = [
        HeadlessKiosk(server.url, f"kiosk-token-{i}", tone_hz=300.0 + 50 * i, pattern=i % 9, **TINY)
        for i in range(1, 15)
    ]
    try:
        for a in agents:
            await a.connect()
        for k, service in zip(kiosks, SERVICES):
            await k.connect()
            await k.request(service)
        await until(lambda: sum(len(a.sessions()) for a in agents) == 12, 20, "twelve sessions assigned")
        waiting = [k for k in kiosks if k.state == "waiting"]
        assert [k.token for k in waiting] == ["kiosk-token-13", "kiosk-token-14"], "the last two arrivals wait"
        assert [k.states[-1]["position"] for k in waiting] == [1, 2]  # both JHT: 1st and 2nd in the JHT queue
        assert all(k.states[-1]["eta_seconds"] and k.states[-1]["eta_seconds"] > 0 for k in waiting)
        # Never above capacity, on any room.state either agent was ever sent.
        for a in agents:
            assert max(sum(1 for t in r["tiles"] if t) for r in a.rooms) <= 6
            assert len(a.sessions()) == 6
        # Fair order: assigned in order of arrival.
        hub = server.hub
        assigned_at = {
            k.session_id: next(
                at for (at, to) in hub.storage.database.rows(
                    "SELECT at, to_state FROM transitions WHERE session_id = :s ORDER BY id", {"s": k.session_id}
                ) if to == "assigned"
            )
            for k in kiosks[:12]
        }
        order = sorted(assigned_at, key=assigned_at.get)
        assert order == [k.session_id for k in kiosks[:12]]
        # The queue moves: agent 1 ends a JHT session; member 13 is served, member 14 becomes 1st.
        freed = agents[0].sessions()[0]
        await agents[0].end(freed, "resolved")
        await until(lambda: kiosks[12].state in ("connecting", "on_hold"), 10, "member 13 served")
        await until(lambda: kiosks[13].states[-1].get("position") == 1, 5, "member 14 moves up to 1st")
        assert kiosks[12].session_id in agents[0].sessions()
        assert max(len(a.sessions()) for a in agents) <= 6
    finally:
        await close_all(*kiosks, *agents)


async def test_transfer_to_a_named_agent_moves_the_media_and_keeps_privacy(server):
    agent1, kiosks = await make_room(server.url, 2)
    agent2 = HeadlessAgent(server.url, "agent-token-2", tone_hz=1700.0, pattern=8, width=160, height=120, fps=10)
    await agent2.connect()
    try:
        moving, staying = kiosks
        await agent1.focus_all()
        ack = await agent1.call("session.transfer", {"session_id": moving.session_id, "agent_id": "agent-2"})
        assert ack["ok"], ack
        await until(lambda: any(s["state"] == "transferred" for s in moving.states), 5, "the member told of the transfer")
        await until(lambda: moving.session_id in agent2.sessions(), 10, "the session on agent 2")
        assert moving.session_id not in agent1.sessions()
        await moving.wait_state("on_hold", 20)
        tile = agent2.tile_of(moving.session_id)
        await until(lambda: agent2.tiles[tile].last_pattern == moving.pattern, 15, "the member's video at agent 2")
        await agent2.focus([moving.session_id])
        await moving.wait_state("talking", 5)
        await asyncio.sleep(0.5)
        moving.audio.clear()
        staying.audio.clear()
        agent1.audio.clear()
        agent2.audio.clear()
        await asyncio.sleep(1.2)
        tones = [450.0, 1700.0, moving.tone_hz, staying.tone_hz]
        heard_moving = tone_levels(moving.audio.samples(1.2), tones)
        heard_staying = tone_levels(staying.audio.samples(1.2), tones)
        heard_a1 = tone_levels(agent1.audio.samples(1.2), tones)
        heard_a2 = tone_levels(agent2.audio.samples(1.2), tones)
        assert heard_moving[1700.0] > 0.04 and heard_moving[450.0] < 0.01 and heard_moving[staying.tone_hz] < 0.01
        assert heard_staying[450.0] > 0.04 and heard_staying[1700.0] < 0.01 and heard_staying[moving.tone_hz] < 0.01
        assert heard_a2[moving.tone_hz] > 0.04 and heard_a2[staying.tone_hz] < 0.01
        assert heard_a1[staying.tone_hz] > 0.04 and heard_a1[moving.tone_hz] < 0.01
        await asyncio.sleep(0.3)
        assert moving.video.last_pattern == 8, "the member now sees agent 2"
        states = [t[1] for t in server.hub.storage.transitions(moving.session_id)]
        assert "transferred" in states and states[-1] == "active"
    finally:
        await close_all(*kiosks, agent1, agent2)
