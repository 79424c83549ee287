"""Supervisors and a guest in a room, proven on the wire (issue 14).

Six booths, an agent, two supervisors and a guest, each sending its own
tone; what each receives is analysed (FFT) over a random sequence of focus,
hold, mode changes, guest joins and removals. Every step has an oracle
written here independently of the matrix: who must be heard, and that no
other participant's tone is there at all.
"""

from __future__ import annotations

import asyncio
import random

import pytest
import pytest_asyncio

from agent_console.room_clients import HeadlessGuest, HeadlessSupervisor
from conftest import AGENT_TONE, KIOSK_TONES, make_config, start_server
from helpers import HEARD, HOLD_NOTES, SILENT, SMALL, close_all, make_agent
from kiosk_client.client import HeadlessKiosk, until
from test_authorization import PASSWORD, setup_accounts

pytestmark = pytest.mark.asyncio(loop_scope="module")

S1_TONE, S2_TONE, GUEST_TONE = 1700.0, 1900.0, 2100.0
KIOSK = [KIOSK_TONES[i] for i in range(1, 7)]
EVERYONE = [AGENT_TONE, *KIOSK, S1_TONE, S2_TONE, GUEST_TONE]
GUEST_PATTERN = 7


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def room(tmp_path_factory):
    srv = await start_server(make_config(tmp_path_factory.mktemp("data")))
    setup_accounts(srv.hub)
    srv.hub.storage.accounts.add_user("ayu", PASSWORD, "supervisor", name="Ayu")
    agent = await make_agent(srv.url, guest_video=True)  # with the six guest m-lines
    kiosks = []
    for i in range(1, 7):
        kiosk = HeadlessKiosk(srv.url, f"kiosk-token-{i}", tone_hz=KIOSK_TONES[i], tone_amplitude=0.12, pattern=i,
                              guest_video=True, **SMALL)
        await kiosk.connect()
        await kiosk.request("jht")
        kiosks.append(kiosk)
    for k in kiosks:
        await k.wait_state("on_hold", 20)
    s1 = HeadlessSupervisor(srv.url, "boss", PASSWORD, tone_hz=S1_TONE)
    s2 = HeadlessSupervisor(srv.url, "ayu", PASSWORD, tone_hz=S2_TONE)
    for s in (s1, s2):
        await s.connect()
    yield srv, agent, kiosks, s1, s2
    await close_all(*kiosks, agent, s1, s2)
    await srv.runner.cleanup()


async def invite_guest(srv, agent, kiosk) -> HeadlessGuest:
    ack = await agent.call("guest.invite", {"session_id": kiosk.session_id})
    assert ack["ok"], ack
    guest = HeadlessGuest(srv.url, ack["path"].rsplit("/", 1)[1], tone_hz=GUEST_TONE, pattern=GUEST_PATTERN)
    await guest.connect()
    assert (await guest.start_media())["ok"]
    return guest


async def listen(probes, seconds: float = 0.8, settle: float = 0.35) -> list[dict[float, float]]:
    await asyncio.sleep(settle)
    for p in probes:
        p.clear()
    await asyncio.sleep(seconds)
    return [p.levels(EVERYONE + list(HOLD_NOTES), seconds) for p in probes]


def check(who: str, levels: dict[float, float], must: set[float], hold: bool = False) -> None:
    """``must`` tones heard, every other participant's tone absent; hold audio iff ``hold``."""
    missing = {f for f in must if levels[f] <= HEARD}
    foreign = {f: round(v, 3) for f, v in levels.items() if f in EVERYONE and f not in must and v > SILENT}
    assert not missing, f"{who} does not hear {sorted(missing)}: {levels}"
    assert not foreign, f"{who} hears foreign tones {foreign}"
    if hold:
        assert max(levels[f] for f in HOLD_NOTES) > HEARD, f"{who} does not hear hold audio"


async def test_every_recipient_hears_exactly_its_row_over_a_random_life(room):
    srv, agent, kiosks, s1, s2 = room
    rng = random.Random(14)
    modes: dict[HeadlessSupervisor, str | None] = {s1: None, s2: None}
    guest: HeadlessGuest | None = None
    member = None  # the guest's member
    focus: set[int] = set()
    seen: set[str] = set()  # what the random life went through (the seed must cover every mode)
    try:
        plan = rng.sample(["listen", "whisper", "barge"], 3)  # every mode once, in a random order; then a leave
        actions = ("focus", "mode", "guest", "mode", "focus", "guest", "mode", "hold", "leave", "focus")
        for step, action in enumerate(actions):
            if action == "focus":
                focus = set(rng.sample(range(6), rng.randint(1, 3)))
                assert (await agent.focus([kiosks[i].session_id for i in sorted(focus)]))["ok"]
            elif action == "hold" and focus:
                held = sorted(focus)[0]
                focus.discard(held)
                assert (await agent.hold(kiosks[held].session_id))["ok"]
            elif action in ("mode", "leave"):
                s = (s1, s2, s1)[len(plan) % 3] if plan else rng.choice((s1, s2))
                mode = plan.pop() if action == "mode" else None
                if mode is None:
                    assert (await s.leave())["ok"]
                elif modes[s] is None:
                    assert (await s.join("agent-1", mode))["ok"]
                else:
                    assert (await s.mode(mode))["ok"]
                modes[s] = mode
            elif action == "guest":
                if guest is not None:
                    assert (await agent.call("guest.remove", {"session_id": kiosks[member].session_id}))["ok"]
                    await until(lambda: ("guest.state", {"state": "ended"}) in guest.events, 5, "guest told")
                    await guest.close()
                    guest, member = None, None
                member = rng.choice(sorted(focus) or [0])  # a new link, perhaps for another member
                guest = await invite_guest(srv, agent, kiosks[member])
            inside = {s: m for s, m in modes.items() if m is not None}
            seen |= set(inside.values()) | ({"two supervisors"} if len(inside) == 2 else set())
            seen |= {"guest talking"} if guest is not None and member in focus else set()
            seen |= {"guest on hold"} if guest is not None and member not in focus else set()
            await until(lambda: all(s.monitor and s.monitor.get("mode") == m for s, m in inside.items()), 5, "modes told")
            probes = [agent.audio] + [k.audio for k in kiosks] + [s.audio for s in inside] + ([guest.audio] if guest else [])
            levels = await listen(probes)
            barging = {s.tone_hz for s, m in inside.items() if m == "barge"}
            speaking = {s.tone_hz for s, m in inside.items() if m in ("whisper", "barge")}
            guest_heard = {GUEST_TONE} if guest is not None and member in focus else set()
            heard_by_agent = {KIOSK[i] for i in focus} | guest_heard
            check(f"step {step} agent", levels[0], heard_by_agent | speaking)
            for i, lv in enumerate(levels[1:7]):
                if i in focus:
                    check(f"step {step} kiosk {i + 1}", lv, {AGENT_TONE} | barging | (guest_heard if i == member else set()))
                else:
                    check(f"step {step} held kiosk {i + 1}", lv, set(), hold=True)
            for (s, m), lv in zip(inside.items(), levels[7:7 + len(inside)]):
                check(f"step {step} supervisor {s.username} ({m})", lv,
                      {AGENT_TONE} | heard_by_agent | (barging - {s.tone_hz}))
            if guest is not None:
                if member in focus:
                    check(f"step {step} guest", levels[-1], {AGENT_TONE, KIOSK[member]})
                else:
                    check(f"step {step} guest on hold", levels[-1], set(), hold=True)
        assert seen >= {"listen", "whisper", "barge", "two supervisors", "guest talking"}, seen
    finally:
        if guest is not None:
            await guest.close()
        for s, m in modes.items():
            if m is not None:
                await s.leave()


async def receivers_of_guest_video(srv) -> dict[str, list[int]]:
    """At the router: each peer receiving the guest's camera, and on which of its outgoing streams."""
    stats = (await srv.hub.router.stats())["rooms"]["agent-1"]
    (guest,) = [p["peer"] for p in stats["state"].get("participants", []) if p["role"] == "guest"]
    found = {peer: [i for i, out in enumerate(p["out"]) if out["source"] == f"{guest}:video"]
             for peer, p in stats["peers"].items()}
    return {peer: streams for peer, streams in found.items() if streams}, stats["state"]


async def test_video_supervisor_sees_tiles_and_agent_member_and_guest_see_each_other(room):
    srv, agent, kiosks, s1, _ = room
    member = kiosks[1]
    assert (await agent.focus([member.session_id]))["ok"]
    assert (await s1.join("agent-1", "listen"))["ok"]
    guest = await invite_guest(srv, agent, member)
    try:
        await until(lambda: s1.agent_video.frames > 3 and all(t.frames > 3 for t in s1.tiles), 10, "supervisor video")
        await until(lambda: guest.agent_video.frames > 3 and guest.member_video.frames > 3, 10, "guest video")
        await until(lambda: member.guest.frames > 3, 10, "the guest next to the agent")
        await asyncio.sleep(0.3)
        assert s1.agent_video.last_pattern == 0
        assert sorted(t.last_pattern for t in s1.tiles) == [1, 2, 3, 4, 5, 6]
        assert guest.agent_video.last_pattern == 0 and guest.member_video.last_pattern == 2
        assert member.guest.last_pattern == GUEST_PATTERN and member.video.last_pattern == 0
        # The agent sees the guest on the guest line of the member's tile, from a keyframe on; no other line.
        tile = agent.tile_of(member.session_id)
        await until(lambda: agent.guests[tile].frames > 3, 10, "the guest on the agent's console")
        assert agent.guests[tile].last_pattern == GUEST_PATTERN
        assert agent.guest_starts[tile].starts and not agent.guest_starts[tile].bad, agent.guest_starts[tile].starts
        before = [p.frames for p in agent.guests]  # (earlier guests of other members were seen on their tiles)
        await asyncio.sleep(0.5)
        assert [p.frames > b for p, b in zip(agent.guests, before)] == [i == tile for i in range(6)]
        # At the router the guest's camera goes to that line (audio, 6 tiles, then guest lines) and to
        # the member's guest line, and to nobody else: no supervisor, no other member.
        receivers, state = await receivers_of_guest_video(srv)
        assert receivers == {state["agent"]: [1 + 6 + tile], state["tiles"][tile]: [2]}, receivers
        others = [k for k in kiosks if k is not member]
        before = [k.guest.frames for k in others]
        await asyncio.sleep(0.5)
        assert [k.guest.frames for k in others] == before, "another member sees the guest"
        assert (await agent.hold(member.session_id))["ok"]  # on hold: the guest sees nobody
        await asyncio.sleep(0.4)
        frozen = (guest.agent_video.frames, guest.member_video.frames)
        await asyncio.sleep(0.5)
        assert (guest.agent_video.frames, guest.member_video.frames) == frozen
        seen = agent.guests[tile].frames  # the agent still sees the guest of a member on hold
        await until(lambda: agent.guests[tile].frames > seen + 3, 5, "the guest on the agent's console on hold")
        receivers, state = await receivers_of_guest_video(srv)
        assert receivers == {state["agent"]: [1 + 6 + tile]}, receivers
        # The console connects again while the guest's camera runs: its new guest line starts at a keyframe.
        starts = len(agent.guest_starts[tile].starts)
        await agent.start_media()
        await until(lambda: len(agent.guest_starts[tile].starts) > starts, 10, "the guest on the new connection")
        assert not agent.guest_starts[tile].bad, agent.guest_starts[tile].starts
        room_view = agent.room
        assert {"role": "guest", "session_id": member.session_id, "tile": agent.tile_of(member.session_id) + 1} in room_view["people"]
        assert any(p["role"] == "supervisor" and p["mode"] == "listen" for p in room_view["people"])
    finally:
        await guest.close()
        await s1.leave()
