"""Access that ends when it should: a revoked booth, a disabled account, a second socket for one device.

Every path is tried against a running server as an operator would use it:
the admin page's API (in the server's process) and ``lapak admin`` (another
process on the same database, which the server must notice by itself).
"""

from __future__ import annotations

import asyncio

import pytest

from access_helpers import Spy, lapak_admin, refused, staff, supervisor
from kiosk_client.client import until
from test_authorization import PASSWORD, setup_accounts


async def _booth_with_agent(server, booth: int = 3):
    """A provisioned jkt booth whose member is with agent Sari (session assigned), the form open and filled."""
    setup_accounts(server.hub)
    kiosk_id, token = server.hub.storage.accounts.add_kiosk("jkt", booth)
    kiosk = await Spy.connect(server.url, "/kiosk", {"token": token})
    agent = await Spy.connect(server.url, "/agent", staff("sari"))
    officer = await Spy.connect(server.url, "/officer", staff("budi"))
    ack = await kiosk.call("session.request", {"service": "jht"})
    assert ack["ok"], ack
    session_id = ack["session_id"]
    await until(lambda: any(s["state"] == "connecting" for s in kiosk.named("session.state")), 5, "assigned")
    assert (await agent.call("form.open", {"session_id": session_id}))["ok"]
    ack = await agent.call("form.edit", {"session_id": session_id, "field": "full_name", "value": "Siti Aminah"})
    assert ack["ok"], ack
    await until(lambda: any(f["fields"].get("full_name") == "Siti Aminah" for f in kiosk.named("form.state")), 5, "form")
    return kiosk_id, token, session_id, kiosk, agent, officer


async def _ended_for_revocation(server, kiosk, agent, officer, kiosk_id, session_id, mark: int, actor: str) -> None:
    """What must hold once a booth is revoked: socket gone, session ended with the reason, agent told, booth told nothing."""
    await until(lambda: kiosk.disconnected, 5, "the revoked booth's socket closed by the server")
    assert not server.hub.state.kiosk_online(kiosk_id)
    record = server.hub.storage.session(session_id)
    assert (record.state, record.reason) == ("cancelled", "kiosk_revoked")
    assert server.hub.storage.transitions(session_id)[-1][2:] == (actor, "kiosk_revoked")
    await until(lambda: agent.named("session.ended"), 5, "the agent told")
    assert agent.named("session.ended")[-1] == {"session_id": session_id, "booth": 3, "reason": "kiosk_revoked"}
    assert all(t is None for t in agent.named("room.state")[-1]["tiles"])
    # The agent's edits reach nobody now; the booth was sent nothing after the revocation.
    ack = await agent.call("form.edit", {"session_id": session_id, "field": "full_name", "value": "Budi Santoso"})
    assert ack["error"]["code"] == "unknown_session"
    await asyncio.sleep(0.2)
    assert kiosk.events[mark:] == []
    # The branch's officer no longer lists the booth; the token opens nothing.
    await until(lambda: all(b["kiosk_id"] != kiosk_id for b in officer.named("branch.state")[-1]["booths"]), 5, "board")


async def test_revoking_a_booth_on_the_admin_page_closes_its_socket_and_ends_its_session(server):
    kiosk_id, token, session_id, kiosk, agent, officer = await _booth_with_agent(server)
    http = await supervisor(server.url)
    try:
        mark = len(kiosk.events)
        async with http.post(f"{server.url}/api/admin/kiosks/{kiosk_id}/revoke", json={}) as r:
            assert r.status == 200
        # At once: by the time the page's revoke is answered, the server holds no socket of the booth.
        assert not server.hub.state.kiosk_online(kiosk_id)
        await _ended_for_revocation(server, kiosk, agent, officer, kiosk_id, session_id, mark, "supervisor:boss")
        assert await refused(server.url, "/kiosk", {"token": token})
        row = server.hub.storage.accounts.access_log.events(subject=f"kiosk:{kiosk_id}")[-1]
        assert (row["reason"], row["actor"], row["sockets"]) == ("kiosk_revoked", "supervisor:boss", 1)
    finally:
        await http.close()
        for c in (kiosk, agent, officer):
            await c.close()


async def test_revoking_a_booth_with_lapak_admin_is_noticed_by_the_running_server(server, tmp_path):
    kiosk_id, token, session_id, kiosk, agent, officer = await _booth_with_agent(server)
    try:
        mark = len(kiosk.events)
        await lapak_admin(tmp_path, "revoke-kiosk", kiosk_id)  # another process, same database
        await _ended_for_revocation(server, kiosk, agent, officer, kiosk_id, session_id, mark, "server")
    finally:
        for c in (kiosk, agent, officer):
            await c.close()


@pytest.mark.config(access_check_seconds=3600.0)
async def test_a_revoked_booths_next_event_is_refused_before_the_server_polls(server, tmp_path):
    """Between ``lapak admin revoke-kiosk`` and the server's next look, the booth's own events do nothing."""
    kiosk_id, token, session_id, kiosk, agent, officer = await _booth_with_agent(server)
    try:
        await lapak_admin(tmp_path, "revoke-kiosk", kiosk_id)
        await kiosk.emit("security.call", {})
        await kiosk.emit("form.edit", {"session_id": session_id, "field": "full_name", "value": "Eve"})
        await until(lambda: kiosk.disconnected, 5, "the socket closed on its first event")
        assert server.hub.state.help_since(kiosk_id) is None and not officer.named("help.call")
        assert "Eve" not in str(agent.events)
        assert server.hub.storage.session(session_id).reason == "kiosk_revoked"
    finally:
        for c in (kiosk, agent, officer):
            await c.close()


# ------------------------------------------------------------------ disabled staff


async def test_disabling_an_agent_closes_their_console_and_requeues_their_members_first(server):
    setup_accounts(server.hub)
    server.hub.storage.accounts.add_user("tono", PASSWORD, "agent", name="Tono", capacity=1)
    agent = await Spy.connect(server.url, "/agent", staff("tono"))
    first = await Spy.connect(server.url, "/kiosk", {"token": "kiosk-token-1"})
    later = await Spy.connect(server.url, "/kiosk", {"token": "kiosk-token-2"})
    http = await supervisor(server.url)
    try:
        first_id = (await first.call("session.request", {"service": "jht"}))["session_id"]
        await until(lambda: any(s["state"] == "connecting" for s in first.named("session.state")), 5, "assigned")
        later_id = (await later.call("session.request", {"service": "jht"}))["session_id"]
        await until(lambda: later.named("session.state")[-1]["position"] == 1, 5, "the later member waits")
        async with http.post(f"{server.url}/api/admin/users/tono/active", json={"active": False}) as r:
            assert r.status == 200
        assert server.hub.state.agent("agent-tono").node is None, "the console's socket is closed before the answer"
        await until(lambda: agent.disconnected, 5, "the disabled agent's socket closed")
        assert agent.named("access.ended") == [{"reason": "account_disabled"}]
        # The member goes back to the front of the queue, ahead of the one who came later.
        record = server.hub.storage.session(first_id)
        assert (record.state, record.reason, record.agent_id) == ("queued", "agent_disabled", None)
        await until(lambda: first.named("session.state")[-1]["state"] == "waiting", 5, "the member told")
        assert first.named("session.state")[-1]["position"] == 1
        await until(lambda: later.named("session.state")[-1]["position"] == 2, 5, "the later member behind")
        assert server.hub.storage.session(later_id).state == "queued"
        assert await refused(server.url, "/agent", staff("tono"))
    finally:
        await http.close()
        for c in (agent, first, later):
            await c.close()


async def test_disabling_an_officer_or_a_supervisor_closes_their_sockets(server):
    setup_accounts(server.hub)
    server.hub.storage.accounts.add_user("rina", PASSWORD, "supervisor")
    officer = await Spy.connect(server.url, "/officer", staff("budi"))
    board = await Spy.connect(server.url, "/supervisor", staff("rina"))
    http = await supervisor(server.url)
    try:
        for username, spy in (("budi", officer), ("rina", board)):
            async with http.post(f"{server.url}/api/admin/users/{username}/active", json={"active": False}) as r:
                assert r.status == 200
            await until(lambda: spy.disconnected, 5, f"{username}'s socket closed")
            assert spy.named("access.ended") == [{"reason": "account_disabled"}]
        assert await refused(server.url, "/officer", staff("budi"))
        assert await refused(server.url, "/supervisor", staff("rina"))
    finally:
        await http.close()
        for c in (officer, board):
            await c.close()


async def test_disabling_staff_with_lapak_admin_is_noticed_by_the_running_server(server, tmp_path):
    setup_accounts(server.hub)
    agent = await Spy.connect(server.url, "/agent", staff("sari"))
    officer = await Spy.connect(server.url, "/officer", staff("budi"))
    try:
        await lapak_admin(tmp_path, "disable-user", "sari")
        await lapak_admin(tmp_path, "disable-user", "budi")
        await until(lambda: agent.disconnected and officer.disconnected, 5, "both sockets closed")
        assert server.hub.state.agent("agent-sari").node is None
        await lapak_admin(tmp_path, "enable-user", "sari")
        assert not await refused(server.url, "/agent", staff("sari"))
    finally:
        for c in (agent, officer):
            await c.close()


@pytest.mark.config(access_check_seconds=3600.0)
async def test_a_disabled_officers_next_event_is_refused_before_the_server_polls(server, tmp_path):
    setup_accounts(server.hub)
    kiosk_id, token = server.hub.storage.accounts.add_kiosk("jkt", 1)
    kiosk = await Spy.connect(server.url, "/kiosk", {"token": token})
    officer = await Spy.connect(server.url, "/officer", staff("budi"))
    try:
        await lapak_admin(tmp_path, "disable-user", "budi")
        await officer.emit("session.start", {"kiosk_id": kiosk_id, "service": "jht"})
        await until(lambda: officer.disconnected, 5, "the socket closed on its first event")
        assert server.hub.open_session_of(kiosk_id) is None and server.hub.storage.count_sessions() == 0
    finally:
        for c in (kiosk, officer):
            await c.close()


# ------------------------------------------------------------------ one socket per device


async def test_a_second_socket_with_a_booths_token_replaces_the_first(server):
    kiosk_id, token, session_id, old, agent, officer = await _booth_with_agent(server)
    try:
        new = await Spy.connect(server.url, "/kiosk", {"token": token})
        await until(lambda: old.disconnected, 5, "the old socket closed")
        assert old.named("access.ended") == [{"reason": "replaced"}]
        mark = len(old.events)
        # The new socket has the session back; the old one gets none of the member's data any more.
        await until(lambda: new.named("session.state"), 5, "the session on the new socket")
        assert new.named("session.state")[-1]["session_id"] == session_id
        ack = await agent.call("form.edit", {"session_id": session_id, "field": "full_name", "value": "Siti Rahma"})
        assert ack["ok"], ack
        await until(lambda: any(f["fields"].get("full_name") == "Siti Rahma" for f in new.named("form.state")), 5, "new")
        assert old.events[mark:] == []
        assert server.hub.storage.session(session_id).state == "assigned", "the member's session goes on"
        # Stored, and shown to the branch's officer.
        await until(lambda: officer.named("booth.replaced"), 5, "the officer told")
        seen = officer.named("booth.replaced")[-1]
        assert (seen["kiosk_id"], seen["booth"]) == (kiosk_id, 3)
        row = server.hub.storage.accounts.access_log.events(subject=f"kiosk:{kiosk_id}")[-1]
        assert (row["reason"], row["sockets"]) == ("replaced", 1)
        await new.close()
    finally:
        for c in (old, agent, officer):
            await c.close()


async def test_a_second_console_of_an_agent_takes_over_and_the_first_is_told(server):
    first = await Spy.connect(server.url, "/agent", {"token": "agent-token-1"})
    kiosk = await Spy.connect(server.url, "/kiosk", {"token": "kiosk-token-1"})
    try:
        session_id = (await kiosk.call("session.request", {"service": "jht"}))["session_id"]
        await until(lambda: any(r["tiles"][0] for r in first.named("room.state")), 5, "the member on tile 1")
        second = await Spy.connect(server.url, "/agent", {"token": "agent-token-1"})
        await until(lambda: first.disconnected, 5, "the first console closed")
        assert first.named("access.ended") == [{"reason": "replaced"}]
        await until(lambda: second.named("room.state"), 5, "the room on the new console")
        assert second.named("room.state")[-1]["tiles"][0]["session_id"] == session_id
        assert server.hub.storage.session(session_id).state == "assigned"
        row = server.hub.storage.accounts.access_log.events(subject="agent:agent-1")[-1]
        assert (row["reason"], row["sockets"]) == ("replaced", 1)
        await second.close()
    finally:
        for c in (first, kiosk):
            await c.close()


async def test_a_booth_added_by_another_process_appears_on_its_branch_board(server, tmp_path):
    """The hub keeps each branch's booths between changes (signaling/hub/directory.py); a booth that
    ``lapak admin`` adds (another process) makes the server read them again once it notices."""
    kiosk_id, token, session_id, kiosk, agent, officer = await _booth_with_agent(server)
    try:
        def listed() -> bool:
            return any(b["booth"] == 5 for b in officer.named("branch.state")[-1]["booths"])

        assert (await agent.call("session.talk", {"session_id": session_id}))["ok"]
        await until(lambda: officer.named("branch.state"), 5, "a board")
        assert not listed()
        await lapak_admin(tmp_path, "add-kiosk", "--branch", "jkt", "--booth", "5")
        for _ in range(50):  # every call for the officer tells the branch's board what the server knows then
            assert (await kiosk.call("security.call", {}))["ok"]
            await asyncio.sleep(0.1)
            if listed():
                break
        assert listed()
    finally:
        for c in (kiosk, agent, officer):
            await c.close()
