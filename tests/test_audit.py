"""The audit trail: administrative acts and refused accesses, with who, when and from where;
filters and CSV for supervisors; refusals capped; a proxy's X-Forwarded-For believed only when trusted."""

from __future__ import annotations

import argparse
import csv
import io

import aiohttp
import pytest

from server.database import Database

from conftest import make_config, start_server
from helpers import close_all, make_room
from selfservice_helpers import JHT, png, upload
from server import audit as audit_module
from server.admin import add_parser, run
from server.audit import AuditLog
from server.client_address import client_address
from server.storage import Storage
from test_authorization import PASSWORD, connect, setup_accounts, sign_in
from test_signin_limits import START, Clock

CLIENT = "203.0.113.9"


@pytest.fixture
async def audited(tmp_path):
    clock = Clock()
    srv = await start_server(make_config(tmp_path, clock=clock, trusted_proxies=("127.0.0.1",)))
    setup_accounts(srv.hub)
    srv.extra["clock"] = clock
    yield srv
    await srv.runner.cleanup()


async def supervisor(url: str, forwarded: str = CLIENT) -> aiohttp.ClientSession:
    http = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True), headers={"X-Forwarded-For": forwarded})
    await sign_in(http, url, "boss")
    return http


async def test_every_administrative_act_is_recorded_with_who_when_and_where(audited):
    url, clock = audited.url, audited.extra["clock"]
    acts = [
        ("POST", "/api/admin/branches", {"branch_id": "sby", "name": "KC Surabaya"}, "branch.add", "sby"),
        ("POST", "/api/admin/users", {"username": "rina", "password": PASSWORD, "role": "agent"}, "user.add", "rina"),
        ("POST", "/api/admin/users/rina/active", {"active": False}, "user.disable", "rina"),
        ("POST", "/api/admin/users/rina/active", {"active": True}, "user.enable", "rina"),
        ("POST", "/api/admin/users/rina/password", {"password": "another long secret"}, "user.password", "rina"),
        ("POST", "/api/admin/kiosks", {"branch": "sby", "booth": 2}, "kiosk.add", "sby-booth-2"),
        ("POST", "/api/admin/kiosks/sby-booth-2/revoke", {}, "kiosk.revoke", "sby-booth-2"),
        ("POST", "/api/retention", {"days": 30}, "retention.set", "retention"),
        ("GET", "/api/history.csv", None, "history.export", "history.csv"),
    ]
    http = await supervisor(url)
    try:
        for method, path, body, _, _ in acts:
            clock.advance(60)
            async with http.request(method, url + path, json=body) as r:
                assert r.status in (200, 201), (path, r.status, await r.text())
        # Refused acts are not acts: nothing is recorded for them.
        async with http.post(url + "/api/admin/users/nobody/active", json={"active": False}) as r:
            assert r.status == 400
        async with http.get(url + "/api/audit") as r:
            entries = (await r.json())["entries"]
        assert [(e["action"], e["target"]) for e in reversed(entries)] == [(a[3], a[4]) for a in acts]
        for n, e in enumerate(reversed(entries), start=1):
            assert (e["actor"], e["role"], e["address"], e["at"]) == ("boss", "supervisor", CLIENT, START + 60 * n)
        by_action = {e["action"]: e for e in entries}
        assert by_action["retention.set"]["detail"] == {"days": 30, "was": 90}
        assert by_action["user.add"]["detail"]["role"] == "agent"
        assert "another long secret" not in str(entries) and PASSWORD not in str(entries)

        async def query(q: str) -> list[str]:
            async with http.get(url + "/api/audit?" + q) as r:
                assert r.status == 200, (q, await r.text())
                return [e["action"] for e in (await r.json())["entries"]]

        assert len(await query("actor=bos")) == len(acts)
        assert await query("actor=sari") == []
        assert await query("action=user.disable") == ["user.disable"]
        assert await query("action=user.") == ["user.password", "user.enable", "user.disable", "user.add"]
        assert len(await query("from=2026-01-01&to=2026-01-01")) == len(acts)
        assert await query("from=2026-01-02") == []
        for bad in ("from=yesterday", "action=user.delete", "action=drop."):
            async with http.get(url + "/api/audit?" + bad) as r:
                assert r.status == 400 and (await r.json())["error"]["code"] == "invalid_payload", bad
    finally:
        await http.close()


async def test_csv_export_is_recorded_and_shows_typed_names_as_text(audited):
    url, clock = audited.url, audited.extra["clock"]
    # A stranger tries a username that is a spreadsheet formula until it locks: it reaches the trail.
    formula = "=HYPERLINK(\"http://x\",\"y\")"
    async with aiohttp.ClientSession() as anon:
        for i in range(5):
            clock.advance(61)
            async with anon.post(url + "/api/login", json={"username": formula, "password": "wrong"}) as r:
                assert r.status == 401
    http = await supervisor(url)
    try:
        async with http.get(url + "/api/audit.csv?action=signin.locked") as r:
            assert r.status == 200 and r.headers["Content-Type"].startswith("text/csv")
            assert r.headers["Content-Disposition"] == 'attachment; filename="lapak-audit-20260101-0705.csv"'
            rows = list(csv.reader(io.StringIO(await r.text())))
        assert rows[0] == ["time", "actor", "role", "action", "target", "address", "detail"]
        assert rows[1] == ["2026-01-01T07:05:05+07:00", "'" + formula, "", "signin.locked", "username:" + formula,
                           "127.0.0.1", "scope=username"]
        async with http.get(url + "/api/audit?action=audit.export") as r:
            (export,) = (await r.json())["entries"]
        assert (export["actor"], export["address"], export["detail"]) == ("boss", CLIENT, {"rows": 1, "action": "signin.locked"})
    finally:
        await http.close()


async def test_downloads_and_refused_sessions_over_http_and_socket_are_recorded(server):
    setup_accounts(server.hub)
    log = server.hub.storage.audit
    agent, (kiosk,) = await make_room(server.url, 1)
    sid = kiosk.session_id
    other, _ = await connect(server.url, "/kiosk", {"token": "kiosk-token-2"})
    try:
        await agent.call("form.open", {"session_id": sid})
        for field, value in JHT.items():
            await kiosk.call("form.edit", {"session_id": sid, "field": field, "value": value})
        req = await agent.call("doc.request", {"session_id": sid, "kind": "ktp"})
        status, body = await upload(server.url, sid, req["request_id"], png(32, 32))
        doc = body["document"]
        reference = (await agent.call("claim.submit", {"session_id": sid}))["reference"]
        async with aiohttp.ClientSession() as http:
            for token, expected in (("agent-token-1", 200), ("agent-token-2", 404)):
                async with http.get(server.url + doc["url"], headers={"Authorization": f"Bearer {token}"}) as r:
                    assert r.status == expected
        status, _ = await upload(server.url, sid, req["request_id"], png(8, 8), token="kiosk-token-2")
        assert status == 404
        http = await supervisor(server.url, forwarded="198.51.100.1")  # no trusted proxy here: ignored
        try:
            async with http.get(server.url + f"/api/claims/{reference}") as r:
                assert r.status == 200
            async with http.get(server.url + f"/api/claims/{reference}/documents/{doc['document_id']}.png") as r:
                assert r.status == 200
        finally:
            await http.close()
        # Over socket.io: another booth asks for this session, and for one that does not exist.
        for session_id in (sid, "s-made-up"):
            ack = await other.call("form.edit", {"session_id": session_id, "field": "nik", "value": "1"}, namespace="/kiosk")
            assert ack["error"]["code"] == "unknown_session"

        seen = [(e["action"], e["actor"], e["role"], e["target"], e["address"]) for e in reversed(log.entries())]
        assert seen == [
            ("document.view", "agent-1", "agent", doc["document_id"], "127.0.0.1"),
            ("session.refused", "agent-2", "agent", sid, "127.0.0.1"),
            ("session.refused", "kiosk-2", "kiosk", sid, "127.0.0.1"),
            ("claim.view", "boss", "supervisor", reference, "127.0.0.1"),
            ("claim.file", "boss", "supervisor", reference, "127.0.0.1"),
            ("session.refused", "kiosk-2", "kiosk", sid, "127.0.0.1"),
            ("session.refused", "kiosk-2", "kiosk", "s-made-up", "127.0.0.1"),
        ]
        refused_events = log.entries(action="session.refused")[:2]
        assert [e["detail"] for e in refused_events] == [{"event": "form.edit", "exists": False},
                                                        {"event": "form.edit", "exists": True}]
    finally:
        await other.disconnect()
        await close_all(kiosk, agent)


async def test_refusals_are_capped_per_actor_and_counted(audited):
    clock, log = audited.extra["clock"], audited.hub.storage.audit
    booth, _ = await connect(audited.url, "/kiosk", {"token": "kiosk-token-1"})
    try:
        for n in range(60):
            ack = await booth.call("session.leave", {"session_id": f"s-guess-{n}"}, namespace="/kiosk")
            assert ack["error"]["code"] == "unknown_session"
        stored = log.entries(action="session.refused")
        assert len(stored) == audit_module.REFUSALS_PER_ACTOR
        clock.advance(audit_module.REFUSAL_WINDOW)
        await booth.call("session.leave", {"session_id": "s-guess-later"}, namespace="/kiosk")
        latest = log.entries(action="session.refused")[0]
        assert latest["target"] == "s-guess-later" and latest["detail"]["suppressed"] == 40
    finally:
        await booth.disconnect()


def test_refusals_are_capped_in_total_and_acts_are_kept(monkeypatch, records_target):
    monkeypatch.setattr(audit_module, "MAX_REFUSALS", 30)
    clock = Clock()
    log = AuditLog(Database(records_target), clock)
    log.record("kiosk.add", "boss", role="supervisor", target="first")
    for n in range(200):
        log.refused("session.refused", f"kiosk-{n}", role="kiosk", target="x" * 500, detail={"junk": "y" * 5000})
    assert len(log.entries(action="session.refused")) == 30
    assert [e["target"] for e in log.entries(action="kiosk.add")] == ["first"]
    newest = log.entries(action="session.refused")[0]
    assert newest["actor"] == "kiosk-199" and len(newest["target"]) == 200 and len(str(newest["detail"])) < 2100
    with pytest.raises(ValueError):
        log.record("made.up", "boss")
    # Actor and action filters match literally ("_" and "%" are not wildcards) on both engines.
    log.record("user.add", "a_b%c", role="supervisor")
    log.record("user.add", "axbyc", role="supervisor")
    assert [e["actor"] for e in log.entries(actor="_b%")] == ["a_b%c"]
    assert len(log.entries(action="user.")) == 2 and log.entries(action="user_") == []
    log.database.close()


@pytest.mark.parametrize(
    ("remote", "header", "trusted", "expected"),
    [
        ("192.0.2.1", None, (), "192.0.2.1"),
        ("192.0.2.1", CLIENT, (), "192.0.2.1"),  # not trusted: the header is ignored
        ("127.0.0.1", CLIENT, ("127.0.0.1",), CLIENT),
        ("127.0.0.1", f"10.1.1.1, {CLIENT}", ("127.0.0.1",), CLIENT),  # the left one is the client's own claim
        ("127.0.0.1", f"{CLIENT}, 10.0.0.5", ("127.0.0.1", "10.0.0.0/8"), CLIENT),  # through two proxies
        ("127.0.0.1", "not-an-address", ("127.0.0.1",), "127.0.0.1"),
        ("127.0.0.1", "10.0.0.5", ("127.0.0.1", "10.0.0.0/8"), "127.0.0.1"),  # only proxies: the nearest
        ("192.0.2.7", CLIENT, ("127.0.0.1",), "192.0.2.7"),  # a stranger claiming to be a proxy
        (None, CLIENT, ("127.0.0.1",), "unknown"),
    ],
)
def test_the_client_address(remote, header, trusted, expected):
    assert client_address(remote, header, trusted) == expected


def test_lapak_admin_acts_are_recorded_as_the_terminal(tmp_path, capsys):
    p = argparse.ArgumentParser()
    add_parser(p.add_subparsers(dest="command"))
    for argv in (["add-branch", "jkt", "KC Jakarta"], ["add-kiosk", "--branch", "jkt", "--booth", "1"],
                 ["revoke-kiosk", "jkt-booth-1"]):
        assert run(p.parse_args(["admin", "--data", str(tmp_path), *argv])) == 0
    storage = Storage(tmp_path / "lapak.sqlite3")
    try:
        seen = [(e["action"], e["role"], e["address"], e["target"]) for e in reversed(storage.audit.entries())]
        assert seen == [("branch.add", "cli", "local", "jkt"), ("kiosk.add", "cli", "local", "jkt-booth-1"),
                        ("kiosk.revoke", "cli", "local", "jkt-booth-1")]
        assert all(e["actor"].startswith("cli:") for e in storage.audit.entries())
    finally:
        storage.close()
