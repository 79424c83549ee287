"""One drill for an engine lost while a node runs (Redis, PostgreSQL): the same booths, agent and checks.

A booth talking to its agent, a second booth idle; the engine goes: every
screen is told (``service.status``), a new session is refused with
``unavailable``, the running session's media still flows; the engine comes
back: screens are told again, a new session starts, nothing acknowledged was
lost. The tests stop and start their own engine between the steps.
"""

from __future__ import annotations

from agent_console.client import HeadlessAgent
from conftest import AGENT_TONE
from helpers import SMALL, close_all, heard, listen
from kiosk_client.client import HeadlessKiosk, until


def statuses(client) -> list[dict]:
    """Every ``service.status`` the client is sent, in order."""
    seen: list[dict] = []

    async def on_status(data: dict) -> None:
        seen.append(data)

    client.sio.on("service.status", on_status, namespace=client.namespace)
    return seen


class OutageDrill:
    """The clients of the drill on one node (``srv``), and its three checks."""

    def __init__(self, srv) -> None:
        self.srv = srv
        self.agent = HeadlessAgent(srv.url, "agent-token-1", tone_hz=AGENT_TONE, **SMALL)
        self.talking = HeadlessKiosk(srv.url, "kiosk-token-1", tone_hz=600.0, pattern=1, **SMALL)
        self.later = HeadlessKiosk(srv.url, "kiosk-token-2", auto_media=False)
        self.told: list[list[dict]] = []
        self.first: str | None = None
        self.second: str | None = None

    async def start(self) -> None:
        """Connect everyone; the first booth talking to the agent."""
        await self.agent.connect()
        for k in (self.talking, self.later):
            await k.connect()
        self.told = [statuses(self.talking), statuses(self.later), statuses(self.agent)]
        self.first = await self.talking.request("jht")
        await self.talking.wait_state("on_hold", 20)
        assert (await self.agent.talk(self.first))["ok"]
        await self.talking.wait_state("talking", 10)

    async def check_gone(self, reason: str) -> None:
        """The engine is gone: screens told why, new sessions refused, running media flowing."""
        await until(lambda: all(t and t[-1]["accepting"] is False for t in self.told), 5, "every screen told")
        assert self.told[0][-1] == {"accepting": False, "reason": reason}
        ack = await self.later.call("session.request", {"service": "jht"})
        assert ack["ok"] is False and ack["error"]["code"] == "unavailable"
        levels = await listen([self.agent.audio, self.talking.audio])
        assert 600.0 in heard(levels[0]) and AGENT_TONE in heard(levels[1])

    async def check_back(self, told_within: float = 5) -> None:
        """The engine is back: screens told, a new session starts, the running one was kept."""
        await until(lambda: all(t[-1]["accepting"] is True for t in self.told), told_within, "every screen told again")
        self.second = await self.later.request("jht")
        await self.later.wait_state("connecting", 10)
        assert self.srv.hub.state.session(self.first).state == "active"  # nothing acknowledged was lost
        await until(lambda: self.agent.sessions() == [self.first, self.second], 5, "the agent's two tiles")
        levels = await listen([self.agent.audio, self.talking.audio])
        assert AGENT_TONE in heard(levels[1])

    async def close(self) -> None:
        await close_all(self.talking, self.later, self.agent)
