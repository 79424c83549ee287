"""What each screen is sent, counted: one change, one message to each screen it concerns.

A session start must reach the officers of its branch with one ``branch.state``
per change (not one per internal step), and none of another branch's
officers; with twenty agents signed in, one agent's focus change must reach
that agent's console alone. Real sockets through the real server; media off
(signaling is what is counted).
"""

from __future__ import annotations

import asyncio
import contextlib

from access_helpers import Spy, staff
from agent_console.client import HeadlessAgent
from conftest import make_config, start_server
from helpers import close_all
from kiosk_client.client import HeadlessKiosk, until
from test_authorization import setup_accounts
from signaling.core.vocabulary import KioskIdentity

AGENTS = 20


@contextlib.asynccontextmanager
async def twenty_agents(tmp_path):
    """A server with :data:`AGENTS` consoles and one booth connected (media off); all closed after."""
    srv = await start_server(make_config(tmp_path, kiosks=1, agents=AGENTS))
    agents = [HeadlessAgent(srv.url, f"agent-token-{i}") for i in range(1, AGENTS + 1)]
    kiosk = HeadlessKiosk(srv.url, "kiosk-token-1", auto_media=False)
    try:
        for agent in agents:
            await agent.connect(media=False)
        await kiosk.connect()
        yield agents, kiosk
    finally:
        await close_all(kiosk, *agents)
        await srv.runner.cleanup()


def rooms_told(agents, before: dict) -> dict:
    """How many ``room.state`` each console got since ``before`` (only those that got any)."""
    return {a.token: len(a.rooms) - before[a.token] for a in agents if len(a.rooms) != before[a.token]}


async def settle() -> None:
    """Let every message already sent arrive (loopback: well under this)."""
    await asyncio.sleep(0.3)


async def test_a_session_start_tells_its_branch_once_and_no_other_branch(tmp_path):
    srv = await start_server(make_config(tmp_path, kiosks=0, agents=0, kiosk_self_start=True))
    setup_accounts(srv.hub)
    srv.config.kiosk_tokens["jkt-token"] = KioskIdentity("jkt-1", branch="jkt", booth=1)
    kiosk = HeadlessKiosk(srv.url, "jkt-token", auto_media=False)
    agent = await Spy.connect(srv.url, "/agent", staff("sari"))
    own = await Spy.connect(srv.url, "/officer", staff("budi"))
    other = await Spy.connect(srv.url, "/officer", staff("dewi"))
    try:
        await kiosk.connect()
        await until(lambda: own.named("branch.state") and own.named("branch.state")[-1]["booths"][0]["online"], 5, "online")
        await settle()
        before_own, before_other = len(own.named("branch.state")), len(other.named("branch.state"))
        await kiosk.request("jht")  # queued and given to Sari at once: one change
        await kiosk.wait_state("connecting", 5)
        await settle()
        told = own.named("branch.state")[before_own:]
        assert [b["booths"][0]["state"] for b in told] == ["connecting"], told
        assert len(other.named("branch.state")) == before_other, "another branch's officer was told"
    finally:
        await close_all(kiosk, agent, own, other)
        await srv.runner.cleanup()


async def two_branches(tmp_path):
    """A server with the accounts of tests/test_authorization.py and one self-starting booth in Jakarta and in
    Bandung: (server, Jakarta's booth, Bandung's booth), not yet connected."""
    srv = await start_server(make_config(tmp_path, kiosks=0, agents=0, kiosk_self_start=True))
    setup_accounts(srv.hub)
    srv.config.kiosk_tokens["jkt-token"] = KioskIdentity("jkt-1", branch="jkt", booth=1)
    srv.config.kiosk_tokens["bdg-token"] = KioskIdentity("bdg-1", branch="bdg", booth=1)
    return srv, HeadlessKiosk(srv.url, "jkt-token", auto_media=False), HeadlessKiosk(srv.url, "bdg-token", auto_media=False)


async def test_a_member_joining_a_room_tells_no_other_members_branch(tmp_path):
    """One agent's room holds members of two branches: a change to one member's booth is its branch's news only."""
    srv, jakarta, bandung = await two_branches(tmp_path)
    agent = await Spy.connect(srv.url, "/agent", staff("sari"))
    jkt = await Spy.connect(srv.url, "/officer", staff("budi"))
    bdg = await Spy.connect(srv.url, "/officer", staff("dewi"))
    try:
        await jakarta.connect()
        await bandung.connect()
        await jakarta.request("jht")
        await jakarta.wait_state("connecting", 5)  # in Sari's room
        await settle()
        before_jkt, before_bdg = len(jkt.named("branch.state")), len(bdg.named("branch.state"))
        await bandung.request("jht")  # the same room (Sari has free tiles): Jakarta's booth shows what it showed
        await bandung.wait_state("connecting", 5)
        await settle()
        assert [b["booths"][0]["state"] for b in bdg.named("branch.state")[before_bdg:]] == ["connecting"]
        assert len(jkt.named("branch.state")) == before_jkt, jkt.named("branch.state")[before_jkt:]
        assert [t["state"] for t in jakarta.states].count("connecting") == 1, jakarta.states
    finally:
        await close_all(jakarta, bandung, agent, jkt, bdg)
        await srv.runner.cleanup()


async def test_when_the_queue_moves_a_waiting_booths_board_shows_its_new_position(tmp_path):
    """No agent online: two booths of two branches wait; the first leaves, the other's board shows it 1st."""
    srv, jakarta, bandung = await two_branches(tmp_path)
    jkt = await Spy.connect(srv.url, "/officer", staff("budi"))
    try:
        for kiosk in (bandung, jakarta):
            await kiosk.connect()
            await kiosk.request("jht")
            await kiosk.wait_state("waiting", 5)
        await until(lambda: jkt.named("branch.state")[-1]["booths"][0]["position"] == 2, 5, "2nd on the board")
        await bandung.leave()  # the other branch's booth: the queue moves, Jakarta's booth is 1st now
        await until(lambda: jakarta.states[-1]["position"] == 1, 5, "1st on the booth")
        await until(lambda: jkt.named("branch.state")[-1]["booths"][0]["position"] == 1, 5, "1st on the board")
    finally:
        await close_all(bandung, jakarta, jkt)
        await srv.runner.cleanup()


async def test_with_twenty_agents_a_focus_change_tells_one_console(tmp_path):
    async with twenty_agents(tmp_path) as (agents, kiosk):
        session_id = await kiosk.request("jht")
        await until(lambda: any(session_id in a.sessions() for a in agents), 5, "assigned")
        (serving,) = [a for a in agents if session_id in a.sessions()]
        await settle()
        before = {a.token: len(a.rooms) for a in agents}
        assert (await serving.talk(session_id))["ok"]
        await until(lambda: serving.room["focus"] == [session_id], 5, "focus shown")
        await settle()
        sent = rooms_told(agents, before)
        assert sent == {serving.token: 1}, sent


async def test_with_twenty_agents_an_assignment_and_an_end_tell_one_console(tmp_path):
    """The transfer targets change with every assignment, yet no other console is told (it asks)."""
    async with twenty_agents(tmp_path) as (agents, kiosk):
        await settle()
        before = {a.token: len(a.rooms) for a in agents}
        session_id = await kiosk.request("jht")
        await until(lambda: any(session_id in a.sessions() for a in agents), 5, "assigned")
        (serving,) = [a for a in agents if session_id in a.sessions()]
        await settle()
        sent = rooms_told(agents, before)
        assert sent == {serving.token: 1}, sent
        # The others still see the serving agent's one free tile fewer, when they ask.
        other = next(a for a in agents if a is not serving)
        listed = {c["agent_id"]: c["free"] for c in await other.transfer_targets()}
        assert listed[serving.room["agent_id"]] == 5 and len(listed) == AGENTS - 1, listed

        before = {a.token: len(a.rooms) for a in agents}
        assert (await serving.end(session_id))["ok"]
        await until(lambda: session_id not in serving.sessions(), 5, "ended")
        await settle()
        sent = rooms_told(agents, before)
        assert sent == {serving.token: 1}, sent
        # A console that leaves tells no other console either.
        before = {a.token: len(a.rooms) for a in agents}
        await other.close()
        await settle()
        assert all(len(a.rooms) == before[a.token] for a in agents if a is not other)
