"""The online channel on the supervisor's live board, in real headless Chromium.

Claims move without the hub changing (a member submits from home, an agent
opens the claim for validation): the board is pushed anyway (the claims'
listener pokes the board publisher) and draws the online channel's counts
beside the branches.
"""

from __future__ import annotations

import aiohttp
import pytest

from online_helpers import Agent, Member

from .harness import wait_for
from .staff import PASSWORD, _eq, accounts, sign_in, text_of

pytestmark = [
    pytest.mark.asyncio(loop_scope="session"),
    pytest.mark.filterwarnings("ignore:It is recommended to use web.RequestKey"),
]

CELL = '[data-online="{}"] .online-value'


async def test_board_shows_the_online_channel_live(lapak, pages):
    accounts(lapak).add_user("spv", PASSWORD, "supervisor", name="Ratna Dewi")
    page = await sign_in(pages, lapak, "/supervisor", "spv")
    await wait_for(lambda: page.evaluate("window.lapakBoard.boards > 0"), message="first board.state")
    assert await text_of(page, CELL.format("submitted")) == "0"
    assert await text_of(page, CELL.format("waiting_validation")) == "0"
    boards = await page.evaluate("window.lapakBoard.boards")
    async with aiohttp.ClientSession() as http:
        reference = await Member(http, lapak.url).file_claim()  # no hub change: the claim's move pushes the board
        await wait_for(lambda: _eq(text_of(page, CELL.format("submitted")), "1"), message="submitted 0 -> 1")
        assert (await text_of(page, CELL.format("waiting_validation"))).startswith("1 (")
        status, _ = await Agent(http, lapak.url, lapak.agent_tokens[0]).open(reference)
        assert status == 200
        await wait_for(lambda: _eq(text_of(page, CELL.format("checking")), "1"), message="checking 0 -> 1")
        assert await text_of(page, CELL.format("waiting_validation")) == "0"
    # A burst of moves is a bounded number of pushes (one per publisher interval), not one per move.
    assert await page.evaluate("window.lapakBoard.boards") - boards <= 4
    assert "Kanal daring" in await text_of(page, "#online-title")
