"""Self-service at the booth, through a live server: the claim form filled together by member and
agent, its validation and refusals, and a form that survives a restart. Python clients (the
browser tests are in tests/browser/test_selfservice.py; documents, consent, recording and
retention are in tests/test_selfservice.py)."""

from __future__ import annotations

import json
from pathlib import Path

import aiohttp

from helpers import close_all, make_agent, make_room
from kiosk_client.client import until
from selfservice_helpers import JHT, NIK, collect, last_state, pushed
from server.appkeys import SELFSERVICE
from test_authorization import setup_accounts, sign_in


async def open_form(agent, kiosk):
    ack = await agent.call("form.open", {"session_id": kiosk.session_id})
    assert ack["ok"], ack
    return ack["form"]


async def test_the_form_is_filled_together_and_the_server_holds_it(server):
    agent, (kiosk,) = await make_room(server.url, 1)
    k_seen, a_seen = collect(kiosk.sio, "/kiosk"), collect(agent.sio, "/agent")
    sid = kiosk.session_id
    try:
        # Before the agent opens the form the member cannot type into it.
        ack = await kiosk.call("form.edit", {"session_id": sid, "field": "nik", "value": "3"})
        assert ack["error"]["code"] == "invalid_state"
        form = await open_form(agent, kiosk)
        assert form["open"] and not form["complete"] and form["service"] == "jht"
        # The member types the NIK key by key; both screens see every keystroke's result.
        for n in range(1, 17):
            ack = await kiosk.call("form.edit", {"session_id": sid, "field": "nik", "value": NIK[:n]})
            assert ack["ok"], ack
            rev = ack["form"]["revision"]
            for seen in (k_seen, a_seen):
                state = await last_state(seen, rev)
                assert state["fields"]["nik"] == NIK[:n]
            if n < 16:
                assert state["errors"]["nik"]["code"] == "nik_length"
        assert "nik" not in state["errors"]
        # A wrong province code is caught, in both languages.
        ack = await kiosk.call("form.edit", {"session_id": sid, "field": "nik", "value": "99" + NIK[2:]})
        assert ack["form"]["errors"]["nik"]["code"] == "nik_province"
        assert "provinsi" in ack["form"]["errors"]["nik"]["id"] and "province" in ack["form"]["errors"]["nik"]["en"]
        await kiosk.call("form.edit", {"session_id": sid, "field": "nik", "value": NIK})
        for field, value in JHT.items():
            if field != "nik":
                assert (await kiosk.call("form.edit", {"session_id": sid, "field": field, "value": value}))["ok"]
        # The birth date must agree with the NIK.
        ack = await kiosk.call("form.edit", {"session_id": sid, "field": "birth_date", "value": "18-08-1990"})
        assert ack["form"]["errors"]["birth_date"]["code"] == "birth_date_nik"
        # The agent corrects it; the kiosk sees the correction.
        ack = await agent.call("form.edit", {"session_id": sid, "field": "birth_date", "value": "17-08-1990"})
        state = await last_state(k_seen, ack["form"]["revision"])
        assert state["fields"]["birth_date"] == "17-08-1990" and "birth_date" not in state["errors"]
        assert state["complete"]
        # The agent points at a field: the kiosk is told which.
        ack = await agent.call("form.point", {"session_id": sid, "field": "account_number"})
        assert (await last_state(k_seen, ack["form"]["revision"]))["pointed"] == "account_number"
        # Somebody else's account: caught, and only the agent can accept it.
        ack = await kiosk.call("form.edit", {"session_id": sid, "field": "account_holder", "value": "Budi Santoso"})
        assert ack["form"]["errors"]["account_holder"]["code"] == "account_holder"
        assert ack["form"]["needs_confirmation"] == ["account_holder"] and not ack["form"]["complete"]
        ack = await agent.call("claim.submit", {"session_id": sid})
        assert ack["error"]["code"] == "invalid_state" and "account_holder" in ack["error"]["message"]
        ack = await agent.call("form.confirm", {"session_id": sid, "check": "account_holder"})
        assert ack["ok"] and ack["form"]["complete"] and ack["form"]["confirmed"] == ["account_holder"]
        # The form survives in SQLite exactly as both screens see it.
        stored = server.app[SELFSERVICE].store.form(sid)
        assert stored["fields"]["account_holder"] == "Budi Santoso" and stored["confirmed"]["account_holder"]
        # The claim: a reference number, shown to the member with a QR code made on the server.
        ack = await agent.call("claim.submit", {"session_id": sid})
        assert ack["ok"], ack
        reference = ack["reference"]
        assert reference.startswith("JHT-") and len(reference.split("-")[2]) == 6
        await until(lambda: k_seen["claim.done"], 5, "claim.done at the kiosk")
        assert k_seen["claim.done"][0]["reference"] == reference
        assert k_seen["claim.done"][0]["qr"].startswith("data:image/svg+xml")
        # The form is closed now.
        ack = await kiosk.call("form.edit", {"session_id": sid, "field": "phone", "value": "0811"})
        assert ack["error"]["code"] == "invalid_state"
        manifest = json.loads((Path(server.config.data_dir) / "selfservice" / "claims" / reference / "manifest.json").read_text())
        assert manifest["form"]["nik"] == NIK and manifest["confirmed"]["account_holder"]
        assert [h["to"] for h in manifest["history"]][:3] == ["requested", "queued", "assigned"]
        # Supervisors list claims; others may not.
        setup_accounts(server.hub)
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
            await sign_in(http, server.url, "boss")
            async with http.get(server.url + "/api/claims") as r:
                assert [c["reference"] for c in (await r.json())["claims"]] == [reference]
            async with http.get(server.url + f"/api/claims/{reference}") as r:
                assert (await r.json())["reference"] == reference
    finally:
        await close_all(kiosk, agent)


BAD_EDITS = [
    ({"session_id": "S", "field": "nik", "value": 3171}, "invalid_payload"),  # not text
    ({"session_id": "S", "field": "nik", "value": None}, "invalid_payload"),
    ({"session_id": "S", "field": "nik"}, "invalid_payload"),
    ({"session_id": "S", "field": "nik", "value": "1", "extra": 1}, "invalid_payload"),
    ({"session_id": "S", "field": "salary", "value": "1"}, "invalid_payload"),  # unknown field
    ({"session_id": "S", "field": "../x", "value": "1"}, "invalid_payload"),
    ({"session_id": "S", "field": "nik", "value": "12345678901234567"}, "invalid_payload"),  # over 16
    ({"session_id": "S", "field": "nik", "value": "31710A"}, "invalid_payload"),  # a letter in digits
    ({"session_id": "S", "field": "full_name", "value": "x" * 101}, "invalid_payload"),
    ({"session_id": "S", "field": "full_name", "value": "x" * 5000}, "invalid_payload"),
    ({"session_id": "S", "field": "full_name", "value": "Siti\u0000"}, "invalid_payload"),
    ({"session_id": "S", "field": "full_name", "value": "Siti\u202e"}, "invalid_payload"),
    ({"session_id": "S", "field": "reason", "value": "bored"}, "invalid_payload"),  # not an option
    ({"session_id": "S", "field": "birth_date", "value": "17/08/1990"}, "invalid_payload"),
    ({"session_id": "s-nope", "field": "nik", "value": "1"}, "unknown_session"),
    ("nik=1", "invalid_payload"),
]


async def test_malformed_edits_get_clear_errors_and_change_nothing(server):
    agent, (kiosk,) = await make_room(server.url, 1)
    sid = kiosk.session_id
    ss = server.app[SELFSERVICE]
    try:
        await open_form(agent, kiosk)
        await kiosk.call("form.edit", {"session_id": sid, "field": "full_name", "value": "Siti"})
        before = ss.store.form(sid)
        k_seen, a_seen = collect(kiosk.sio, "/kiosk"), collect(agent.sio, "/agent")
        for client in (kiosk, agent):
            for payload, code in BAD_EDITS:
                if isinstance(payload, dict):
                    payload = {**payload, "session_id": sid if payload["session_id"] == "S" else payload["session_id"]}
                ack = await client.call("form.edit", payload)
                assert ack["ok"] is False and ack["error"]["code"] == code, (payload, ack)
                assert ack["error"]["message"]
        for payload, code in [
            ({"session_id": sid, "field": "salary"}, "invalid_payload"),
            ({"session_id": sid, "check": "nik"}, "invalid_payload"),
        ]:
            event = "form.point" if "field" in payload else "form.confirm"
            assert (await agent.call(event, payload))["error"]["code"] == code
        # Nothing to confirm while the names agree (or are empty).
        assert (await agent.call("form.confirm", {"session_id": sid, "check": "account_holder"}))["error"]["code"] == "invalid_state"
        assert ss.store.form(sid) == before
        assert pushed(k_seen) == 0 and pushed(a_seen) == 0
    finally:
        await close_all(kiosk, agent)


async def test_no_form_event_opens_the_form_implicitly(server):
    """Only form.open shows the form on the booth; an agent's edit, point or confirm before it is refused."""
    agent, (kiosk,) = await make_room(server.url, 1)
    sid = kiosk.session_id
    ss = server.app[SELFSERVICE]
    try:
        k_seen, a_seen = collect(kiosk.sio, "/kiosk"), collect(agent.sio, "/agent")
        for client, event, payload in [
            (agent, "form.edit", {"session_id": sid, "field": "full_name", "value": "Siti"}),
            (kiosk, "form.edit", {"session_id": sid, "field": "full_name", "value": "Siti"}),
            (agent, "form.point", {"session_id": sid, "field": "nik"}),
            (agent, "form.confirm", {"session_id": sid, "check": "account_holder"}),
        ]:
            ack = await client.call(event, payload)
            assert ack["ok"] is False and ack["error"]["code"] == "invalid_state", (event, ack)
        assert ss.store.form(sid) is None, "nothing stored"
        assert pushed(k_seen) == 0 and pushed(a_seen) == 0, "nothing shown"
        form = await open_form(agent, kiosk)
        assert form["open"] is True
        assert (await agent.call("form.edit", {"session_id": sid, "field": "full_name", "value": "Siti"}))["ok"]
    finally:
        await close_all(kiosk, agent)



async def test_a_restart_loses_no_form(tmp_path):
    from conftest import make_config, start_server

    srv = await start_server(make_config(tmp_path))
    agent, (kiosk,) = await make_room(srv.url, 1)
    sid = kiosk.session_id
    await open_form(agent, kiosk)
    await kiosk.call("form.edit", {"session_id": sid, "field": "nik", "value": NIK})
    await agent.call("form.edit", {"session_id": sid, "field": "full_name", "value": "Siti Aminah"})
    await close_all(kiosk, agent)
    await srv.runner.cleanup()

    srv = await start_server(make_config(tmp_path))
    try:
        kiosk = await make_kiosk_back(srv.url)
        await until(lambda: kiosk.states and kiosk.sio.connected, 5, "kiosk back")
        agent = await make_agent(srv.url)
        await until(lambda: kiosk.state in ("on_hold", "talking"), 20, "session back with its agent")
        # The kiosk reconnecting after the agent got it back: it is told its form.
        await kiosk.sio.disconnect()
        kiosk2 = await make_kiosk_back(srv.url, collect_first=True)
        await until(lambda: kiosk2.ss["form.state"], 10, "form.state after restart")
        state = kiosk2.ss["form.state"][-1]
        assert state["session_id"] == sid and state["fields"]["nik"] == NIK and state["fields"]["full_name"] == "Siti Aminah"
        await close_all(kiosk2, agent, kiosk)
    finally:
        await srv.runner.cleanup()


async def make_kiosk_back(url: str, collect_first: bool = False):
    from kiosk_client.client import HeadlessKiosk

    kiosk = HeadlessKiosk(url, "kiosk-token-1", width=160, height=120, fps=10)
    if collect_first:
        kiosk.ss = collect(kiosk.sio, "/kiosk")
    await kiosk.connect()
    return kiosk
