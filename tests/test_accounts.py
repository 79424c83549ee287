"""Accounts as stored: slow password hashes, kiosk tokens shown once and revocable, disabled users, metrics."""

from __future__ import annotations

import aiohttp
import pytest

from helpers import close_all, make_room
from kiosk_client.client import HeadlessKiosk, until
from test_authorization import PASSWORD, connect, setup_accounts


async def test_passwords_are_argon2_and_kiosk_tokens_are_kept_only_as_digests(server):
    acc = server.hub.storage.accounts
    setup_accounts(server.hub)
    stored = dict(server.hub.storage.database.rows("SELECT username, password_hash FROM users"))
    assert all(h.startswith("$argon2") for h in stored.values())
    assert PASSWORD not in " ".join(stored.values())
    kiosk_id, token = acc.add_kiosk("jkt", 7)
    dump = server.hub.storage.database.dump_text()
    assert token not in dump, "the provisioning token must not be stored"

    # The token works; once revoked it does not, and nothing else changed.
    kiosk = HeadlessKiosk(server.url, token, auto_media=False)
    await kiosk.connect()
    await until(lambda: kiosk.state == "idle", 5, "the booth told it is idle")
    await kiosk.close()
    acc.revoke_kiosk(kiosk_id)
    client, refused = await connect(server.url, "/kiosk", {"token": token})
    assert client is None
    await until(lambda: refused, 5, "refusal")
    assert refused[0]["data"] == {"code": "unauthorized"}
    # The booth number can be provisioned again, under a new id; the old records keep the old one.
    new_id, new_token = acc.add_kiosk("jkt", 7)
    assert new_id != kiosk_id and new_token != token


async def test_a_disabled_user_is_signed_out_and_cannot_sign_in(server):
    setup_accounts(server.hub)
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        async with http.post(server.url + "/api/login", json={"username": "budi", "password": PASSWORD}) as r:
            assert r.status == 200
        async with http.get(server.url + "/api/me") as r:
            assert (await r.json())["username"] == "budi"
        server.hub.storage.accounts.set_active("budi", False)
        async with http.get(server.url + "/api/me") as r:
            assert r.status == 401
        async with http.post(server.url + "/api/login", json={"username": "budi", "password": PASSWORD}) as r:
            assert r.status == 401 and (await r.json())["error"]["code"] == "unauthorized"
        async with http.post(server.url + "/api/login", json={"username": "boss", "password": "wrong password"}) as r:
            assert r.status == 401


@pytest.mark.config(metrics_token="scraper-token-for-tests")
async def test_metrics_count_queues_sessions_and_router_traffic(server):
    agent, kiosks = await make_room(server.url, 2)
    try:
        async with aiohttp.ClientSession(headers={"Authorization": "Bearer scraper-token-for-tests"}) as http:
            async with http.get(server.url + "/metrics") as r:
                assert r.status == 200 and "openmetrics" in r.headers["Content-Type"]
                text = await r.text()
        lines = dict(line.rsplit(" ", 1) for line in text.splitlines() if line and not line.startswith("#"))
        assert lines['lapak_agent_sessions{agent="agent-1"}'] == "2"
        assert lines["lapak_router_peers"] == "3"
        assert float(lines['lapak_router_packets_forwarded_total{kind="video"}']) > 0
        assert lines['lapak_queue_waiting{service="jht"}'] == "0"
        assert text.rstrip().endswith("# EOF")
    finally:
        await close_all(*kiosks, agent)
