"""A booth and a console end up shown what is stored, whichever node changed it and in whatever order.

The failure this guards (CI, tests/test_three_nodes.py): node A read a
booth's session, and before its message went out node B changed the session
and told the booth; node A's older view then arrived last, and the booth
showed "connecting" for good while its session was active.

Two whole apps in this process on one real Redis (as tests/test_node_failover.py).
The agent's console is on node B, both booths on node A. Node A's notifier
starts telling both booths what it reads, and its first send is held (the
``await`` during which anything else may run); meanwhile the agent, on node
B, ends the other booth's session. When node A goes on, that booth's view,
read before the end, is out of date: what the booth shows last must still be
"ended". A round trip on the booth's own socket after node A has finished
makes sure every message node A sent it has arrived. The same for the
agent's console: node A, where the booths are, tells the room while the
agent, on node B, ends a session.
"""

from __future__ import annotations

import asyncio
import contextlib

from access_helpers import Spy, staff
from agent_console.client import HeadlessAgent
from agent_console.room_clients import HeadlessSupervisor
from helpers import close_all, make_agent, make_kiosk
from kiosk_client.client import HeadlessKiosk, until
from redis_engine import redis_engine, redis_url  # noqa: F401
from server.appkeys import SIGNALING
from signaling.changes import Changes
from signaling.core.vocabulary import KioskIdentity
from signaling.fanout import ASK, ASK_ROOM
from test_authorization import PASSWORD, setup_accounts
from conftest import make_config, start_server
from test_node_failover import node


class Gate:
    """Holds the first ``event`` a node sends on ``namespace`` until released (records to whom)."""

    def __init__(self, emit, event: str = "session.state", namespace: str = "/kiosk") -> None:
        self._emit = emit
        self.event, self.namespace = event, namespace
        self.held = asyncio.Event()
        self.release = asyncio.Event()
        self.screen: str | None = None

    async def __call__(self, event, data, **kwargs):
        if event == self.event and kwargs.get("namespace") == self.namespace and self.screen is None:
            self.screen = kwargs.get("to")
            self.held.set()
            await self.release.wait()
        return await self._emit(event, data, **kwargs)


@contextlib.asynccontextmanager
async def agent_on_b_booths_on_a(tmp_path, redis_url):
    """Nodes A and B; the agent's console on B, two booths on A, both sessions on the agent's tiles."""
    a = await node(tmp_path, redis_url, "node-a")
    b = await node(tmp_path, redis_url, "node-b")
    agent = HeadlessAgent(b.url, "agent-token-1")
    kiosks = [HeadlessKiosk(a.url, f"kiosk-token-{i}", auto_media=False) for i in (1, 2)]
    try:
        await agent.connect(media=False)
        sessions = []
        for k in kiosks:
            await k.connect()
            sessions.append(await k.request("jht"))
        for k in kiosks:
            await k.wait_state("connecting", 10)
        await until(lambda: agent.sessions() == sessions, 10, "both on the agent's tiles")
        yield a, agent, kiosks
    finally:
        await close_all(*kiosks, agent)
        for srv in (a, b):
            await srv.runner.cleanup()


async def test_a_view_read_before_another_nodes_change_does_not_stay_on_the_booth(tmp_path, redis_url):
    async with agent_on_b_booths_on_a(tmp_path, redis_url) as (a, agent, kiosks):
        notifier = a.hub.notifier
        gate = notifier._emit = Gate(notifier._emit)
        for i in (1, 2):
            notifier.new_screen("/kiosk", f"kiosk:kiosk-{i}")  # node A tells both again: news to both
        telling = asyncio.create_task(notifier.tell(Changes(sessions={k.session_id for k in kiosks})))
        try:
            await asyncio.wait_for(gate.held.wait(), 10)
            other = kiosks[0] if gate.screen == "kiosk:kiosk-2" else kiosks[1]
            assert (await agent.end(other.session_id))["ok"]  # on node B, while node A's pass waits
            await other.wait_state("ended", 10)
        finally:
            gate.release.set()
            await asyncio.wait_for(telling, 10)
        assert (await other.call("media.ice", {}))["ok"]  # after everything node A sent this booth
        assert other.states[-1]["state"] == "ended", [(s["state"], s.get("session_id")) for s in other.states]
        assert a.hub.state.session(other.session_id).ended


async def test_a_room_read_before_the_agents_own_change_does_not_stay_on_the_console(tmp_path, redis_url):
    async with agent_on_b_booths_on_a(tmp_path, redis_url) as (a, agent, kiosks):
        sessions = [k.session_id for k in kiosks]
        notifier = a.hub.notifier
        gate = notifier._emit = Gate(notifier._emit, "room.state", "/agent")
        notifier.new_screen("/agent", "agent:agent-1")  # node A would tell the console again
        telling = asyncio.create_task(notifier.tell(Changes(consoles={"agent-1"})))
        held = asyncio.create_task(gate.held.wait())
        try:
            await asyncio.wait({telling, held}, timeout=10, return_when=asyncio.FIRST_COMPLETED)
            assert (await agent.end(sessions[0]))["ok"]  # on node B, the console's node
            await until(lambda: agent.sessions() == sessions[1:], 10, "the ended session off the tiles")
        finally:
            gate.release.set()
            held.cancel()
            await asyncio.wait_for(telling, 10)
        assert (await agent.call("transfer.targets", {}))["ok"]  # after everything node A sent the console
        assert agent.sessions() == sessions[1:] == [s for s in a.hub.state.agent("agent-1").tiles if s]


async def test_a_malformed_request_to_tell_booths_changes_nothing_and_the_channel_goes_on(tmp_path, redis_url):
    """What node A is asked over the shared channel is checked: garbage, unknown ids, a booth not here, too many;
    a session named with another booth is told to its own booth only; a client cannot send the request."""
    a = await node(tmp_path, redis_url, "node-a")
    b = await node(tmp_path, redis_url, "node-b")
    kiosk = HeadlessKiosk(a.url, "kiosk-token-1", auto_media=False)
    other = HeadlessKiosk(a.url, "kiosk-token-2", auto_media=False)  # on node A too, with no session
    try:
        await kiosk.connect()
        await other.connect()
        session = await kiosk.request("jht")
        await kiosk.wait_state("waiting", 10)
        ack = await other.call(ASK, {"booths": [[session, "kiosk-2"]]})  # a booth may not ask
        assert not ack["ok"] and ack["error"]["code"] == "unknown_event", ack
        sent: list = []
        notifier = a.hub.notifier
        emit = notifier._emit

        async def counted(event, data, **kwargs):
            sent.append((event, kwargs.get("to")))
            return await emit(event, data, **kwargs)

        notifier._emit = counted
        for junk in (None, "x", 7, [], {"booths": "x"}, {"booths": [["a"], [1, 2], ["s", "kiosk-1", "z"], "s"]},
                     {"consoles": "agent-1"}, {"consoles": [None, 3, ["agent-1"], "agent-9"]},
                     {"rooms": [None, {"a": 1}, "agent-9"]}, {"branches": "jkt"}, {"branches": [7, "no-branch"]},
                     {"booths": [["no-such-session", "kiosk-1"], [session, "kiosk-9"]]},
                     {"booths": [[f"s{i}", "kiosk-9"] for i in range(20_000)]}):
            await notifier.asked(junk)
        assert sent == []  # nothing told: no such session, or not a booth of this node
        manager = b.app[SIGNALING].manager
        for junk in ("garbage", {"booths": None}, [1, 2]):
            await manager.emit(ASK, junk, namespace="/kiosk", room=ASK_ROOM)
        notifier.new_screen("/kiosk", "kiosk:kiosk-1")  # a real request after the junk: still answered
        await manager.ask({"booths": [[session, "kiosk-2"]]})  # booth 1's session named with booth 2
        await until(lambda: ("session.state", "kiosk:kiosk-1") in sent, 10, "the booth told after the junk")
        assert ("session.state", "kiosk:kiosk-2") not in sent
        assert (await other.call("media.ice", {}))["ok"]  # after anything node A sent booth 2
        assert all(s.get("session_id") != session for s in other.states), other.states
        assert a.hub.state.session(session).state == "queued"
    finally:
        await close_all(kiosk, other)
        for srv in (a, b):
            await srv.runner.cleanup()


async def test_an_officer_and_a_supervisor_on_node_b_are_told_what_changes_on_node_a(tmp_path, redis_url):
    """The booth, its agent and the room on node A; the branch's officer and a supervisor on node B.
    Node A tells neither directly: it asks, and node B tells its own screens what it reads."""
    booths = {f"kiosk-token-{i}": KioskIdentity(f"kiosk-{i}", branch="jkt", booth=i) for i in (1, 2)}
    a, b = [await start_server(make_config(tmp_path / n, redis_url=redis_url, node_id=n, kiosk_tokens=booths))
            for n in ("node-a", "node-b")]
    for srv in (a, b):
        setup_accounts(srv.hub)  # officer budi of branch jkt, supervisor boss
    agent = await make_agent(a.url)
    officer = await Spy.connect(b.url, "/officer", staff("budi"))
    boss = HeadlessSupervisor(b.url, "boss", PASSWORD, tone_hz=1700.0)
    kiosks: list = []
    try:
        kiosks.append(await make_kiosk(a.url, 1))
        await kiosks[0].wait_state("on_hold", 20)

        def booth_1() -> dict:
            boards = officer.named("branch.state")
            return next((x for x in boards[-1]["booths"] if x["booth"] == 1), {}) if boards else {}

        await until(lambda: booth_1().get("state") == "on_hold", 10, "the board on node B shows booth 1 on hold")
        await boss.connect()
        assert (await boss.join("agent-1", "listen"))["ok"]
        await until(lambda: boss.monitor and boss.monitor["mode"] == "listen", 10, "monitor.state on node B")
        assert (await agent.talk(kiosks[0].session_id))["ok"]  # on node A
        await until(lambda: booth_1().get("state") == "talking", 10, "the board on node B shows booth 1 talking")
        await until(lambda: any(t and t["state"] == "talking" for t in boss.monitor["tiles"]), 10,
                    "the supervisor on node B sees the agent talking to booth 1")
        assert (await agent.end(kiosks[0].session_id))["ok"]
        await until(lambda: not any(boss.monitor["tiles"]), 10, "the supervisor on node B sees the tile free")
    finally:
        await close_all(*kiosks, agent, boss)
        await officer.sio.disconnect()
        for srv in (a, b):
            await srv.runner.cleanup()
