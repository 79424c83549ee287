"""Self-service at the booth, through a live server: documents, consent and recording, the
claim file, retention, and who may touch any of it. Python clients (the form is in
tests/test_selfservice_forms.py, the browser tests in tests/browser/test_selfservice.py)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import aiohttp

from helpers import close_all, make_agent, make_kiosk, make_room
from kiosk_client.client import until
from selfservice_helpers import JHT, NIK, collect, png, pushed, upload
from server.appkeys import SELFSERVICE
from test_authorization import PASSWORD, connect, setup_accounts, sign_in
from test_selfservice_forms import open_form


async def test_nobody_else_gets_or_changes_the_form_documents_or_recording(server):
    setup_accounts(server.hub)
    agent, (kiosk,) = await make_room(server.url, 1)
    sid = kiosk.session_id
    other_kiosk = await make_kiosk(server.url, 2)  # waits in the queue: agent-1's room has it too
    other_agent = await make_agent(server.url, 2)
    officer, _ = await connect(server.url, "/officer", {"username": "budi", "password": PASSWORD})
    spies = {"other kiosk": collect(other_kiosk.sio, "/kiosk"), "other agent": collect(other_agent.sio, "/agent"),
             "officer": collect(officer, "/officer")}
    ss = server.app[SELFSERVICE]
    try:
        await open_form(agent, kiosk)
        await kiosk.call("form.edit", {"session_id": sid, "field": "nik", "value": NIK})
        req = await agent.call("doc.request", {"session_id": sid, "kind": "ktp"})
        status, body = await upload(server.url, sid, req["request_id"], png(64, 48))
        assert status == 201, body
        doc_id = body["document"]["document_id"]
        await agent.call("consent.request", {"session_id": sid})
        await kiosk.call("consent.answer", {"session_id": sid, "recording": True})
        before = (ss.store.form(sid), ss.store.documents(sid), ss.store.requests(sid))

        agent_events = ["form.open", "form.edit", "form.point", "form.confirm", "doc.request", "doc.capture",
                        "doc.review", "consent.request", "rec.start", "rec.stop", "claim.submit"]
        payload = {"session_id": sid, "field": "nik", "value": "1", "check": "account_holder", "kind": "ktp",
                   "document_id": doc_id, "accepted": True}
        from signaling.namespaces import AgentNamespace
        for event in agent_events:
            model = AgentNamespace.events[event][0]
            p = {k: v for k, v in payload.items() if k in model.model_fields}
            ack = await other_agent.call(event, p)
            assert ack["error"]["code"] == "unknown_session", (event, ack)
            ack = await officer.call(event, p, namespace="/officer", timeout=5)
            assert ack["error"]["code"] == "unknown_event", (event, ack)
        for event, p in [("form.edit", {"session_id": sid, "field": "nik", "value": "1"}),
                         ("consent.answer", {"session_id": sid, "recording": False})]:
            ack = await other_kiosk.call(event, p)
            assert ack["error"]["code"] == "unknown_session", (event, ack)
        # Over HTTP: another kiosk cannot upload into the session, nobody but the agent and supervisors see the photo.
        status, body = await upload(server.url, sid, req["request_id"], png(64, 48), token="kiosk-token-2")
        assert status == 404 and body["error"]["code"] == "unknown_session"
        url = f"{server.url}/api/sessions/{sid}/documents/{doc_id}"
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
            for headers, expected in [({"Authorization": "Bearer agent-token-1"}, 200),
                                      ({"Authorization": "Bearer agent-token-2"}, 404),
                                      ({"Authorization": "Bearer kiosk-token-1"}, 403),
                                      ({"Authorization": "Bearer kiosk-token-2"}, 403),
                                      ({"Authorization": "Bearer nonsense"}, 401),
                                      ({}, 401)]:
                async with http.get(url, headers=headers) as r:
                    assert r.status == expected, (headers, r.status)
            await sign_in(http, server.url, "budi")  # the security officer
            async with http.get(url) as r:
                assert r.status == 403
            async with http.get(server.url + "/api/claims") as r:
                assert r.status == 403
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
            await sign_in(http, server.url, "sari")  # an agent who does not hold this session
            async with http.get(url) as r:
                assert r.status == 404
        assert (ss.store.form(sid), ss.store.documents(sid), ss.store.requests(sid)) == before
        for who, seen in spies.items():
            assert pushed(seen) == 0, (who, seen)
    finally:
        if officer.connected:
            await officer.disconnect()
        await close_all(other_kiosk, other_agent, kiosk, agent)


async def test_documents_are_checked_stored_reviewed_and_replaced(server):
    agent, (kiosk,) = await make_room(server.url, 1)
    sid = kiosk.session_id
    k_seen, a_seen = collect(kiosk.sio, "/kiosk"), collect(agent.sio, "/agent")
    ss = server.app[SELFSERVICE]
    folder = Path(server.config.data_dir) / "selfservice" / "documents" / sid
    try:
        # No request yet: nothing may be uploaded.
        status, body = await upload(server.url, sid, "dr-none", png(8, 8))
        assert status == 409 and body["error"]["code"] == "invalid_state"
        req = await agent.call("doc.request", {"session_id": sid, "kind": "ktp"})
        await until(lambda: k_seen["doc.request"], 5, "doc.request at the kiosk")
        assert k_seen["doc.request"][0] == {"session_id": sid, "request_id": req["request_id"], "kind": "ktp", "retake": False}
        assert (await agent.call("doc.capture", {"session_id": sid}))["ok"]
        await until(lambda: k_seen["doc.capture"], 5, "doc.capture at the kiosk")
        # Refused: too large, not an image (whatever its name says), an image that lies about its type.
        server.config.max_document_bytes = 4096
        status, body = await upload(server.url, sid, req["request_id"], png(200, 200) + os.urandom(5000))
        assert status == 413 and body["error"]["code"] == "too_large"
        status, body = await upload(server.url, sid, req["request_id"], b"%PDF-1.4 not a photo", filename="x.jpg",
                                    content_type="image/jpeg")
        assert status == 415 and body["error"]["code"] == "not_an_image"
        status, body = await upload(server.url, sid, req["request_id"], b"GIF89a" + b"\0" * 100, filename="x.png")
        assert status == 415
        assert not folder.exists() or not any(folder.iterdir())
        server.config.max_document_bytes = 8 * 1024 * 1024
        assert ss.store.documents(sid) == [] and pushed(a_seen) == 1  # only doc.state of the request
        # A real photo: stored with its SHA-256, the agent is told, and can see it.
        first = png(320, 240)
        status, body = await upload(server.url, sid, req["request_id"], first)
        assert status == 201, body
        doc = body["document"]
        assert (doc["width"], doc["height"], doc["mime"]) == (320, 240, "image/png")
        import hashlib
        assert doc["sha256"] == hashlib.sha256(first).hexdigest()
        await until(lambda: a_seen["doc.received"], 5, "doc.received at the agent")
        assert a_seen["doc.received"][0]["document_id"] == doc["document_id"] and not k_seen["doc.received"]
        async with aiohttp.ClientSession() as http:
            async with http.get(server.url + doc["url"], headers={"Authorization": "Bearer agent-token-1"}) as r:
                assert r.status == 200 and await r.read() == first
        # Retake: the member is asked again; the new photo replaces the old one.
        assert (await agent.call("doc.review", {"session_id": sid, "document_id": doc["document_id"], "accepted": False}))["ok"]
        await until(lambda: len(k_seen["doc.request"]) == 2, 5, "the retake request")
        assert k_seen["doc.request"][1]["retake"] is True
        second = png(640, 480)
        status, body = await upload(server.url, sid, req["request_id"], second)
        assert status == 201
        files = list(folder.iterdir())
        assert [f.name for f in files] == [body["document"]["document_id"] + ".png"]
        assert {d["status"] for d in ss.store.documents(sid)} == {"replaced", "received"}
        async with aiohttp.ClientSession() as http:
            async with http.get(server.url + doc["url"], headers={"Authorization": "Bearer agent-token-1"}) as r:
                assert r.status == 404  # the replaced photo is gone
        ack = await agent.call("doc.review", {"session_id": sid, "document_id": body["document"]["document_id"], "accepted": True})
        assert ack["ok"]
        assert ss.store.requests(sid)[0]["state"] == "accepted"
        # Accepted: no more uploads for that request.
        status, _ = await upload(server.url, sid, req["request_id"], second)
        assert status == 409
    finally:
        await close_all(kiosk, agent)


async def test_recording_needs_consent_and_both_screens_see_it(server, monkeypatch):
    """The server's side of recording, with the router's two commands stubbed (the lead's part)."""
    agent, (kiosk,) = await make_room(server.url, 1)
    sid = kiosk.session_id
    k_seen, a_seen = collect(kiosk.sio, "/kiosk"), collect(agent.sio, "/agent")
    calls: list = []
    router = server.hub.router

    async def record_start(*, room_id, peer_id, path):
        calls.append(("start", room_id, peer_id, path))
        Path(path).write_bytes(b"\x1a\x45\xdf\xa3 webm")

    async def record_stop(*, room_id, peer_id):
        calls.append(("stop", room_id, peer_id))
        return {"path": calls[0][3], "seconds": 1.5}

    # The router must have both commands (raising=True: a router without them fails here).
    monkeypatch.setattr(router, "record_start", record_start)
    monkeypatch.setattr(router, "record_stop", record_stop)
    try:
        ack = await agent.call("rec.start", {"session_id": sid})
        assert ack["error"]["code"] == "forbidden" and not calls
        # A yes nobody asked for does not count, and recording stays forbidden.
        ack = await kiosk.call("consent.answer", {"session_id": sid, "recording": True})
        assert ack["error"]["code"] == "invalid_state", ack
        assert (await agent.call("rec.start", {"session_id": sid}))["error"]["code"] == "forbidden" and not calls
        assert (await agent.call("consent.request", {"session_id": sid}))["ok"]
        await until(lambda: k_seen["consent.request"], 5, "consent.request at the kiosk")
        assert (await kiosk.call("consent.answer", {"session_id": sid, "recording": False}))["ok"]
        assert (await agent.call("rec.start", {"session_id": sid}))["error"]["code"] == "forbidden"
        # The question was answered: a later yes needs a new question.
        ack = await kiosk.call("consent.answer", {"session_id": sid, "recording": True})
        assert ack["error"]["code"] == "invalid_state", ack
        assert (await agent.call("consent.request", {"session_id": sid}))["ok"]
        assert (await kiosk.call("consent.answer", {"session_id": sid, "recording": True}))["ok"]
        await until(lambda: a_seen["consent.state"] and a_seen["consent.state"][-1]["recording"] is True, 5, "consent at agent")
        ack = await agent.call("rec.start", {"session_id": sid})
        assert ack["ok"], ack
        assert calls[0][:3] == ("start", "agent-1", sid) and calls[0][3].endswith(".webm")
        assert Path(calls[0][3]).is_relative_to(Path(server.config.data_dir))
        for seen in (k_seen, a_seen):
            await until(lambda: seen["rec.state"] and seen["rec.state"][-1]["recording"], 5, "rec.state on")
        # The member withdraws consent: recording stops at once.
        assert (await kiosk.call("consent.answer", {"session_id": sid, "recording": False}))["ok"]
        assert calls[-1] == ("stop", "agent-1", sid)
        for seen in (k_seen, a_seen):
            await until(lambda: seen["rec.state"][-1]["recording"] is False, 5, "rec.state off")
        kinds = [e["kind"] for e in server.app[SELFSERVICE].store.events(sid)]
        assert kinds.count("consent.answer") == 3 and "rec.start" in kinds and "rec.stop" in kinds
        rec = server.app[SELFSERVICE].store.recordings(sid)[0]
        assert rec["seconds"] == 1.5
        # Recording again, then the session ends: the server stops it.
        await agent.call("consent.request", {"session_id": sid})
        await kiosk.call("consent.answer", {"session_id": sid, "recording": True})
        assert (await agent.call("rec.start", {"session_id": sid}))["ok"]
        await agent.end(sid)
        await until(lambda: calls[-1][0] == "stop", 5, "recording stopped at the end")
    finally:
        await close_all(kiosk, agent)


async def test_recording_end_to_end_through_the_router(server):
    assert hasattr(server.hub.router, "record_start") and hasattr(server.hub.router, "record_stop"), \
        "the media router has no record_start/record_stop"
    agent, (kiosk,) = await make_room(server.url, 1)
    sid = kiosk.session_id
    try:
        await agent.focus([sid])
        await agent.call("consent.request", {"session_id": sid})
        await kiosk.call("consent.answer", {"session_id": sid, "recording": True})
        assert (await agent.call("rec.start", {"session_id": sid}))["ok"]
        import asyncio
        await asyncio.sleep(2.0)  # two seconds of the interview
        ack = await agent.call("rec.stop", {"session_id": sid})
        assert ack["ok"], ack
        rec = server.app[SELFSERVICE].store.recordings(sid)[0]
        assert rec["path"] and Path(rec["path"]).exists() and Path(rec["path"]).stat().st_size > 1000
        assert rec["seconds"] and rec["seconds"] > 1
        # Recording again when the agent ends the session: the server stops it and keeps the file.
        assert (await agent.call("rec.start", {"session_id": sid}))["ok"]
        await asyncio.sleep(1.0)
        await agent.end(sid)
        ss = server.app[SELFSERVICE]
        await until(lambda: not ss.recording and ss.store.recordings(sid)[1]["stopped_at"], 5, "stopped at the end")
        second = ss.store.recordings(sid)[1]
        assert second["path"] and Path(second["path"]).exists(), second
    finally:
        await close_all(kiosk, agent)


async def test_retention_deletes_old_files_and_records_it(server):
    setup_accounts(server.hub)
    agent, (kiosk,) = await make_room(server.url, 1)
    sid = kiosk.session_id
    ss = server.app[SELFSERVICE]
    try:
        await open_form(agent, kiosk)
        for field, value in JHT.items():
            await kiosk.call("form.edit", {"session_id": sid, "field": field, "value": value})
        req = await agent.call("doc.request", {"session_id": sid, "kind": "ktp"})
        status, body = await upload(server.url, sid, req["request_id"], png(32, 32))
        doc = body["document"]
        reference = (await agent.call("claim.submit", {"session_id": sid}))["reference"]
        claim_dir = Path(server.config.data_dir) / "selfservice" / "claims" / reference
        assert (claim_dir / "documents" / f"{doc['document_id']}.png").exists()
        # A supervisor sets 30 days; nothing is that old yet.
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
            await sign_in(http, server.url, "boss")
            # The back office downloads the claim's files; nothing outside the folder is reachable.
            async with http.get(server.url + f"/api/claims/{reference}/documents/{doc['document_id']}.png") as r:
                assert r.status == 200 and await r.read() == (claim_dir / "documents" / f"{doc['document_id']}.png").read_bytes()
            for bad in ("documents/..%2Fmanifest.json", "documents/.hidden", "forms/x.json", "documents/nope.png"):
                async with http.get(server.url + f"/api/claims/{reference}/{bad}") as r:
                    assert r.status == 404, bad
            async with http.post(server.url + "/api/retention", json={"days": 0}) as r:
                assert r.status == 400
            async with http.post(server.url + "/api/retention", json={"days": 30}) as r:
                assert (await r.json()) == {"ok": True, "days": 30, "deleted": {"documents": 0, "recordings": 0}}
        assert await ss.sweep(now=server.config.clock() + 29 * 86400) == {"documents": 0, "recordings": 0}
        # 31 days on (a fake clock): the photo is gone, everywhere, and the deletion is on record.
        assert await ss.sweep(now=server.config.clock() + 31 * 86400) == {"documents": 1, "recordings": 0}
        assert not list((Path(server.config.data_dir) / "selfservice" / "documents" / sid).iterdir())
        assert not (claim_dir / "documents" / f"{doc['document_id']}.png").exists()
        manifest = json.loads((claim_dir / "manifest.json").read_text())
        assert manifest["documents"][0]["file"] is None and manifest["documents"][0]["deleted_by"] == "retention"
        assert manifest["form"]["nik"] == NIK  # the claim itself stays
        deleted = ss.store.events(sid, "retention.deleted")
        assert deleted and deleted[0]["data"]["document_id"] == doc["document_id"] and deleted[0]["data"]["days"] == 30
        assert ss.store.document(doc["document_id"])["deleted_at"] is not None
    finally:
        await close_all(kiosk, agent)


async def test_a_recording_left_open_by_a_stopped_server_is_closed_on_restart(tmp_path):
    from conftest import make_config, start_server

    srv = await start_server(make_config(tmp_path))
    store = srv.app[SELFSERVICE].store
    store.add_recording({"recording_id": "r-1", "session_id": "s-x", "agent_id": "agent-1",
                         "path": str(tmp_path / "r-1.webm"), "started_at": srv.config.clock() - 60,
                         "stopped_at": None, "seconds": None, "deleted_at": None})
    await srv.runner.cleanup()  # as if the process had stopped mid-recording
    srv = await start_server(make_config(tmp_path))
    try:
        (row,) = srv.app[SELFSERVICE].store.recordings("s-x")
        assert row["stopped_at"] is not None
        events = srv.hub.storage.database.rows(
            "SELECT data FROM ss_events WHERE session_id = 's-x' AND kind = 'rec.stop'"
        )
        assert events and "server stopped while recording" in events[0][0]
    finally:
        await srv.runner.cleanup()
