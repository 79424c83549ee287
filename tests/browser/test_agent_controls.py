"""The agent console's availability and transfer controls, in Chromium, through the real server."""

from __future__ import annotations

import asyncio

import pytest

from agent_console.client import HeadlessAgent
from kiosk_client.client import HeadlessKiosk

from .harness import agent_ready, wait_for

pytestmark = pytest.mark.asyncio(loop_scope="session")

SMALL = {"width": 160, "height": 120, "fps": 10}


async def test_away_takes_no_new_members_and_transfer_hands_one_to_a_colleague(lapak, pages):
    console = await pages.open(lapak.agent_url(0), tone=440.0)
    await agent_ready(console)
    colleague = HeadlessAgent(lapak.url, lapak.agent_tokens[1], **SMALL)
    kiosk = HeadlessKiosk(lapak.url, lapak.kiosk_tokens[0], tone_hz=600.0, pattern=1, **SMALL)
    try:
        # Away: the console's own agent takes no new member.
        await console.select_option("#availability-select", "away")
        await wait_for(lambda: lapak.hub.state.agent("agent-1").availability == "away", message="agent away")
        await wait_for(lambda: console.evaluate("document.getElementById('availability').dataset.availability === 'away'"),
                       message="the console shows away")
        await kiosk.connect()
        await kiosk.request("jht")
        await asyncio.sleep(1.0)
        assert kiosk.state == "waiting" and kiosk.states[-1]["eta_seconds"] is None
        # Available again: the member is served by this agent.
        await console.select_option("#availability-select", "available")
        await kiosk.wait_state("on_hold", 20)
        assert lapak.hub.state.session(kiosk.session_id).agent_id == "agent-1"

        # Transfer to a colleague from the tile's dialog.
        await colleague.connect()
        await wait_for(lambda: lapak.hub.state.agent("agent-2") is not None and lapak.hub.state.agent("agent-2").online,
                       timeout=20, message="the colleague signed in")
        tile = await console.evaluate(
            "(id) => window.lapakAgent.tiles.findIndex((t) => t && t.session_id === id) + 1", kiosk.session_id
        )
        assert tile >= 1
        await console.click(f"#tile-{tile} .tile-transfer")
        # The dialog asks for the colleagues when it opens (transfer.targets); room.state no longer carries them.
        await wait_for(lambda: console.evaluate("!!document.querySelector('#transfer-to option[value=\"agent:agent-2\"]')"),
                       timeout=20, message="the colleague listed in the dialog")
        assert await console.evaluate("!('colleagues' in window.lapakAgent.room)")
        await console.select_option("#transfer-to", "agent:agent-2")
        await console.click("#transfer-confirm")
        await wait_for(lambda: kiosk.session_id in colleague.sessions(), timeout=20, message="the member with agent 2")
        assert any(s["state"] == "transferred" for s in kiosk.states)
        await kiosk.wait_state("on_hold", 20)
        await wait_for(lambda: console.evaluate(
            "(id) => !window.lapakAgent.tiles.some((t) => t && t.session_id === id)", kiosk.session_id
        ), message="the tile freed on the console")
    finally:
        await kiosk.close()
        await colleague.close()
