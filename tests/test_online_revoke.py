"""A status link revoked while its phone is in the interview: the phone is told and closed, the session ends.

The link is the phone's only credential, so revoking it ends the access it
gave, as revoking a booth does (``signaling/access.py``): the phone receives
``access.ended {"reason": "link_revoked"}`` and its socket is closed, the
interview's session ends with the reason ``link_revoked``, the agent is told
and their tile is freed, and the link opens nothing any more.
"""

from __future__ import annotations

import aiohttp

from access_helpers import Spy, supervisor
from kiosk_client.client import until
from online_helpers import Agent, Member, online_server
from server.online_routes import ONLINE
from signaling.core.daytime import wib
from test_authorization import setup_accounts
from test_online_interview import refused_code

SLOT = wib("2026-11-30 11:00")


async def test_revoking_the_link_ends_the_phones_interview(tmp_path):
    srv = await online_server(tmp_path, trusted_proxies=("127.0.0.1",))
    setup_accounts(srv.hub)
    spies: list[Spy] = []
    boss = await supervisor(srv.url)
    try:
        async with aiohttp.ClientSession() as http:
            member = Member(http, srv.url, "10.6.0.1")
            reference = await member.file_claim()
            await Agent(http, srv.url, "agent-token-2").accept_all(reference)
            assert (await member.book({"slot": SLOT}))[0] == 200
        srv.config.clock.set(SLOT - 60)
        agent = await Spy.connect(srv.url, "/agent", {"token": "agent-token-1"})
        phone = await Spy.connect(srv.url, "/kiosk", {"claim": member.token})
        spies += [agent, phone]
        ack = await phone.call("interview.join", {"language": "id"})
        assert ack["ok"], ack
        session_id = ack["session_id"]
        await until(lambda: any(t for r in agent.named("room.state") for t in r["tiles"]), 5, "the tile")

        async with boss.post(f"{srv.url}/api/online/claims/{reference}/revoke", json={}) as r:
            assert r.status == 200
        # At once: by the time the revoke is answered, the phone has been told and its socket is gone.
        assert phone.named("access.ended") == [{"reason": "link_revoked"}]
        await until(lambda: phone.disconnected, 5, "the phone's socket closed")
        record = srv.hub.storage.session(session_id)
        assert record.state in ("cancelled", "failed") and record.reason == "link_revoked"
        await until(lambda: agent.named("session.ended"), 5, "the agent told")
        assert agent.named("session.ended")[-1]["reason"] == "link_revoked"
        await until(lambda: all(t is None for t in agent.named("room.state")[-1]["tiles"]), 5, "the tile freed")
        assert await refused_code(srv.url, member.token) == "revoked_link"
        row = srv.hub.storage.accounts.access_log.events(subject=f"kiosk:home-{srv.app[ONLINE].store.claim_by_reference(reference)['claim_id']}")[-1]
        assert (row["reason"], row["sockets"]) == ("link_revoked", 1)
    finally:
        await boss.close()
        for spy in spies:
            await spy.close()
        await srv.runner.cleanup()


async def test_a_link_revoked_elsewhere_ends_the_phone_at_its_next_event(tmp_path):
    """Another node (or a direct write) revoked it: the phone's next event is refused and ends its access."""
    srv = await online_server(tmp_path, trusted_proxies=("127.0.0.1",))
    phone = None
    try:
        async with aiohttp.ClientSession() as http:
            member = Member(http, srv.url, "10.6.0.2")
            reference = await member.file_claim()
            await Agent(http, srv.url, "agent-token-2").accept_all(reference)
            assert (await member.book({"slot": SLOT}))[0] == 200
        srv.config.clock.set(SLOT - 60)
        phone = await Spy.connect(srv.url, "/kiosk", {"claim": member.token})
        store = srv.app[ONLINE].store
        store.update_claim(store.claim_by_reference(reference)["claim_id"], revoked=1)
        await phone.emit("interview.join", {"language": "id"})
        await until(lambda: phone.disconnected, 5, "the socket closed on its first event")
        assert phone.named("access.ended") == [{"reason": "link_revoked"}]
        assert store.claim_by_reference(reference)["session_id"] is None, "the join did nothing"
    finally:
        if phone is not None:
            await phone.close()
        await srv.runner.cleanup()
