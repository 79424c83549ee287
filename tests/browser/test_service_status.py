"""service.status on the pages: the booth, the agent's console and the officer's board show a banner while
the node takes no new sessions (its Redis or its records away), and drop it when the service is back."""

from __future__ import annotations

import pytest

from .harness import KIOSK_TONES, wait_for
from .staff import jakarta_branch, no_page_errors, sign_in

pytestmark = pytest.mark.asyncio(loop_scope="session")

BOOTH = "Layanan sedang mengalami gangguan, sesi baru belum dapat dimulai. Sesi yang berjalan tetap tersambung."


async def banner(page) -> str | None:
    return await page.evaluate(
        "(() => { const b = document.getElementById('service-banner'); return b && !b.hidden ? b.innerText : null; })()"
    )


async def test_every_screen_shows_the_service_is_away_and_back(lapak, pages):
    jakarta_branch(lapak, booths=1)
    kiosk = await pages.open(lapak.kiosk_url(0), KIOSK_TONES[0])
    agent = await pages.open(lapak.agent_url(0), 440.0)
    officer = await sign_in(pages, lapak, "/officer", "satpam.jkt")
    screens = (kiosk, agent, officer)
    for page in screens:
        await wait_for(lambda page=page: page.evaluate("document.body.dataset.socket === 'connected'"))
    assert [await banner(p) for p in screens] == [None, None, None]

    # As the node's Redis watch does (the records' watcher would see its database up and clear its own reason).
    await lapak.hub.set_accepting(False, "state_unavailable")
    for page in screens:
        await wait_for(lambda page=page: page.evaluate("document.body.dataset.service === 'down'"))
    assert await banner(kiosk) == BOOTH
    assert "gangguan" in await banner(agent) and "gangguan" in await banner(officer)
    await kiosk.click("#lang-toggle")
    assert await banner(kiosk) == ("The service is having a problem: new sessions cannot start yet. "
                                   "Sessions already running stay connected.")

    await lapak.hub.set_accepting(True, "state_unavailable")
    for page in screens:
        await wait_for(lambda page=page: page.evaluate("document.body.dataset.service === ''"))
    assert [await banner(p) for p in screens] == [None, None, None]
    no_page_errors(officer)
