"""Rules that docs/protocol.md states and a client written from it relies on, enforced end to end."""

from __future__ import annotations

import json

import aiohttp

from helpers import close_all, make_room
from kiosk_client.client import until
from rawsocket import RawSocket
from signaling.core.vocabulary import MAX_NOTE_CHARS, OUTCOMES
from test_authorization import PASSWORD, setup_accounts, sign_in


async def test_session_end_takes_only_the_listed_outcomes_and_a_bounded_note(server):
    agent, (kiosk,) = await make_room(server.url, 1)
    sid = kiosk.session_id
    try:
        for payload in [
            {"session_id": sid, "outcome": "pizza"},
            {"session_id": sid, "outcome": "RESOLVED"},
            {"session_id": sid, "outcome": "resolved", "note": "x" * (MAX_NOTE_CHARS + 1)},
            {"session_id": sid, "outcome": "resolved", "note": 5},
        ]:
            ack = await agent.call("session.end", payload)
            assert ack["ok"] is False and ack["error"]["code"] == "invalid_payload", (payload, ack)
        assert server.hub.state.session(sid).state == "active"
        assert set(OUTCOMES) == {"resolved", "follow_up", "documents_missing", "referred", "member_left"}
        ack = await agent.call("session.end", {"session_id": sid, "outcome": "referred", "note": "é" * MAX_NOTE_CHARS})
        assert ack["ok"], ack
        record = server.hub.storage.session(sid)
        assert record.outcome == "referred" and record.note == "é" * MAX_NOTE_CHARS
    finally:
        await close_all(kiosk, agent)


async def test_a_booth_that_reconnects_gets_its_session_its_quality_and_its_self_service_back(server):
    agent, (kiosk,) = await make_room(server.url, 1)
    sid = kiosk.session_id
    assert (await agent.call("form.open", {"session_id": sid}))["ok"]
    await until(lambda: kiosk.quality and kiosk.quality["level"] == "thumbnail", 5, "the held booth's quality")
    await kiosk.sio.disconnect()  # the booth's page reloads: its socket is gone, the session waits
    await until(lambda: not server.hub.state.kiosk_online("kiosk-1"), 5, "the socket gone")
    raw = await RawSocket.open(server.url)
    try:
        assert (await raw.connect("/kiosk", {"token": "kiosk-token-1"}))[0] == "connected"
        def seen() -> list[str]:  # events arrive from the connect on, even before its acknowledgement
            return [json.loads(f[len("42/kiosk,"):])[0] for f in raw.received
                    if isinstance(f, str) and f.startswith("42/kiosk,")]

        while not set(seen()) >= {"session.state", "media.quality", "form.state", "rec.state"}:
            try:
                assert await raw.recv(5) is not None
            except TimeoutError:
                raise AssertionError(f"after {seen()} nothing more came") from None
        names = seen()
        assert names[0] == "session.state", names
        state = raw.events("/kiosk", "session.state")[0]
        assert (state["session_id"], state["state"], state["agent"]["id"]) == (sid, "on_hold", "agent-1")
        assert raw.events("/kiosk", "media.quality")[0]["level"] == "thumbnail"
        assert raw.events("/kiosk", "form.state")[0]["open"] is True
        assert raw.events("/kiosk", "rec.state")[0] == {"session_id": sid, "recording": False}
    finally:
        await raw.close()
        await close_all(kiosk, agent)


async def test_the_admin_api_takes_the_documented_bodies(server):
    setup_accounts(server.hub)
    accounts = server.hub.storage.accounts
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        await sign_in(http, server.url, "boss")
        api = server.url + "/api/admin"
        async with http.post(api + "/branches", json={"branch_id": "sby", "name": "KC Surabaya"}) as r:
            assert r.status == 201 and await r.json() == {"ok": True}
        async with http.get(api + "/branches") as r:
            assert {"branch_id": "sby", "name": "KC Surabaya"} in (await r.json())["branches"]
        async with http.post(api + "/users", json={"username": "rina", "password": PASSWORD, "role": "agent",
                                                   "name": "Rina", "skills": "jht,jkk", "capacity": 3}) as r:
            body = await r.json()
            assert r.status == 201 and body["user"] == {"username": "rina", "name": "Rina", "role": "agent",
                                                        "branch": None, "skills": ["jht", "jkk"], "capacity": 3,
                                                        "active": True}
        # A yes/no field: JSON false, a form's "false" (which bool() would take for true), nothing else.
        async with http.post(api + "/users/rina/active", json={"active": False}) as r:
            assert r.status == 200
        assert accounts.user("rina").active is False
        async with http.post(api + "/users/rina/active", data={"active": "false"}) as r:
            assert r.status == 200
        assert accounts.user("rina").active is False
        for bad in ({"active": "yes"}, {"active": 1}, {}):
            async with http.post(api + "/users/rina/active", json=bad) as r:
                assert r.status == 400 and (await r.json())["error"]["code"] == "invalid_payload", bad
        assert accounts.user("rina").active is False
        async with http.post(api + "/users/rina/active", data={"active": "true"}) as r:
            assert r.status == 200
        assert accounts.user("rina").active is True
        async with http.post(api + "/kiosks", json={"branch": "sby", "booth": 2}) as r:
            body = await r.json()
            assert r.status == 201 and body["kiosk_id"] == "sby-booth-2" and body["token"]
        async with http.get(api + "/kiosks") as r:
            assert {"kiosk_id": "sby-booth-2", "branch": "sby", "booth": 2} in (await r.json())["kiosks"]
        async with http.post(api + "/kiosks/sby-booth-2/revoke") as r:
            assert r.status == 200 and await r.json() == {"ok": True}
        async with http.post(api + "/kiosks/sby-booth-2/revoke") as r:
            assert r.status == 400 and (await r.json())["error"]["code"] == "invalid"
