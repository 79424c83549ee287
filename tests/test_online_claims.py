"""The member's side of the online claim through the real server: form, documents, submit, status link, limits."""

from __future__ import annotations

import aiohttp
import pytest

from online_helpers import JHT_DOCS, PDF, Agent, Member, blurred_jpeg, online_server, sharp_jpeg, sharp_png
from selfservice_helpers import JHT


@pytest.fixture
async def online(tmp_path):
    srv = await online_server(tmp_path, trusted_proxies=("127.0.0.1",))
    async with aiohttp.ClientSession() as http:
        yield srv, http
    await srv.runner.cleanup()


async def test_claim_documents_asked_again_and_status(online):
    srv, http = online
    member = Member(http, srv.url, "10.0.0.1")
    status, data = await member.create()
    assert status == 201 and data["claim"]["state"] == "draft" and len(data["token"]) >= 43
    assert data["link"].endswith(f"/claim/s/{data['token']}") and data["qr"].startswith("data:image/svg+xml")
    # Submitting before every document is in is refused, and says which are missing.
    status, refused = await member.submit()
    assert status == 409 and refused["error"]["missing"] == list(JHT_DOCS)
    assert (await member.upload("ktp", sharp_jpeg(), source="camera", name="ktp.jpg"))[0] == 201
    assert (await member.upload("bank_book", PDF, name="buku.pdf"))[0] == 201
    assert (await member.upload("resignation_letter", sharp_png()))[0] == 201
    status, data = await member.submit()
    assert status == 200 and data["claim"]["state"] == "submitted"
    reference = data["claim"]["reference"]
    assert reference.startswith("ONL-JHT-20261130-")

    agent = Agent(http, srv.url, "agent-token-1")
    assert [c["reference"] for c in await agent.queue()] == [reference]
    status, claim = await agent.open(reference)
    assert status == 200 and claim["state"] == "checking" and claim["fields"]["account_number"] == JHT["account_number"]
    assert (await member.status())[1]["claim"]["state"] == "checking"
    docs = {d["kind"]: d for d in claim["documents"]}
    # Full resolution, as uploaded.
    async with http.get(f"{srv.url}/api/online/claims/{reference}/documents/{docs['ktp']['document_id']}",
                        headers=agent.headers) as r:
        assert r.status == 200 and r.headers["Content-Type"] == "image/jpeg" and await r.read() == sharp_jpeg()
    await agent.review(reference, docs["ktp"]["document_id"], True)
    await agent.review(reference, docs["bank_book"]["document_id"], True)
    status, claim = await agent.review(reference, docs["resignation_letter"]["document_id"], False, "Surat tidak terbaca")
    assert status == 200 and claim["state"] == "documents_requested"

    status, data = await member.status()
    assert data["claim"]["state"] == "documents_requested" and data["claim"]["reason"] == "Surat tidak terbaca"
    assert data["claim"]["documents"]["resignation_letter"]["status"] == "rejected"
    assert data["claim"]["next"] == "claim.next.documents_requested"
    # Only the document asked again may be sent again.
    status, refused = await member.upload("ktp", sharp_png())
    assert status == 409 and refused["error"]["code"] == "invalid_state"
    status, data = await member.upload("resignation_letter", sharp_png("SURAT KETERANGAN"))
    assert status == 201 and data["claim"]["state"] == "submitted"

    claim = await agent.accept_all(reference)
    assert claim["state"] == "interview_to_book"
    states = [h["state"] for h in (await member.status())[1]["claim"]["history"]]
    assert states == ["draft", "submitted", "checking", "documents_requested", "submitted", "checking",
                      "interview_to_book"]


async def test_bad_uploads_are_refused_and_change_nothing(online):
    srv, http = online
    member = Member(http, srv.url, "10.0.0.2")
    await member.create(lang="en")
    cases = [
        (b"just some text, not a document", 415, "unsupported_type"),
        (b"GIF89a" + b"\0" * 100, 415, "unsupported_type"),
        (sharp_png()[:2000], 422, "unreadable"),               # a cut-off photo
        (PDF[: len(PDF) // 2], 422, "unreadable"),             # a cut-off PDF
        (blurred_jpeg(), 422, "blurry"),
        (sharp_png(size=(200, 120)), 422, "too_small"),
        (b"\x89PNG\r\n\x1a\n" + b"\0" * (9 * 1024 * 1024), 413, "too_large"),
    ]
    for data, code, error in cases:
        status, body = await member.upload("ktp", data)
        assert (status, body["error"]["code"]) == (code, error), body
        assert body["error"]["message"]  # in the member's language
    status, body = await member.upload("ktp", blurred_jpeg())
    assert body["error"]["message"].startswith("Photo is blurred") or "blurred" in body["error"]["message"]  # English
    status, body = await member.upload("death_certificate", sharp_png())
    assert status == 400 and body["error"]["code"] == "invalid_payload"
    status, data = await member.status()
    assert data["claim"]["documents"] == {} and data["claim"]["state"] == "draft"


async def test_form_failing_validation_is_refused_in_the_members_language(online):
    srv, http = online
    member = Member(http, srv.url, "10.0.0.3")
    status, body = await member.create(fields={**JHT, "birth_date": "18-08-1990"})
    assert status == 400 and body["error"]["code"] == "invalid_form" and "birth_date" in body["error"]["errors"]
    status, body = await member.create(fields={**JHT, "account_holder": "Budi"}, lang="en")
    assert status == 400 and "account_holder" in body["error"]["errors"]
    assert body["error"]["message"] != (await member.create(fields={**JHT, "nik": "1"}, lang="id"))[1]["error"]["message"]
    status, body = await member.create(fields={**JHT, "nik": "31740557089000AB"})
    assert status == 400 and body["error"]["code"] == "invalid_payload"
    status, body = await member.create(service="info")
    assert status == 400
    for bad in ({"service": 5, "fields": JHT}, {"service": "jht", "fields": list(JHT)}, {"service": "jht"},
                {"service": "jht", "fields": {f"f{i}": "x" for i in range(41)}}, {"service": "jht", "fields": JHT, "lang": 7}):
        async with http.post(f"{srv.url}/api/claim", json=bad, headers=member.headers) as r:
            body = await r.json()
        if bad.get("lang") == 7:  # a language that is not a string is ignored, not refused
            assert r.status == 201, body
            continue
        assert (r.status, body["error"]["code"]) == (400, "invalid_payload"), (bad, body)
        assert body["error"]["key"] == "claim.error.invalid_payload", body  # as a body, before a form reads it
    assert member.token is None
    assert (await Agent(http, srv.url, "agent-token-1").queue()) == []


async def test_wrong_expired_revoked_links_and_attempt_limit(online):
    srv, http = online
    member = Member(http, srv.url, "10.0.0.4")
    await member.create()
    status, body = await member.status("x" * 43)
    assert status == 404 and body["error"]["code"] == "unknown_link" and body["error"]["message"]
    # Revoked by a supervisor: 410, and stays so.
    other = Member(http, srv.url, "10.0.0.5")
    reference = await other.file_claim()
    from server.online_routes import ONLINE

    claims = srv.app[ONLINE]
    claims.store.update_claim(claims.store.claim_by_reference(reference)["claim_id"], revoked=1)
    status, body = await other.status()
    assert status == 410 and body["error"]["code"] == "revoked_link"
    # Expired: the clock moves past the link's life.
    srv.config.clock.set(srv.config.clock() + claims.settings.link_days * 86400 + 1)
    status, body = await member.status()
    assert status == 410 and body["error"]["code"] == "expired_link"


async def test_status_link_attempts_are_limited_per_address(online):
    srv, http = online
    good = Member(http, srv.url, "10.0.1.1")
    await good.create()
    guesser = Member(http, srv.url, "10.9.9.9")
    for i in range(20):
        assert (await guesser.status(f"{i:043d}"))[0] == 404
    status, body = await guesser.status(f"{99:043d}")
    assert status == 429 and body["error"]["code"] == "too_many_attempts"
    # Even the right link is refused from that address now; from the member's own it works.
    guesser.token = good.token
    assert (await guesser.status())[0] == 429
    assert (await good.status())[0] == 200


async def test_claim_creation_is_limited_per_address(online):
    srv, http = online
    member = Member(http, srv.url, "10.0.2.2")
    for _ in range(5):
        assert (await member.create())[0] == 201
    status, body = await member.create()
    assert status == 429 and body["error"]["code"] == "too_many_attempts"
    assert (await Member(http, srv.url, "10.0.2.3").create())[0] == 201


async def test_status_link_is_not_guessable_and_shows_only_its_claim(online):
    srv, http = online
    members = [Member(http, srv.url, f"10.0.3.{i}") for i in range(6)]
    references = [await m.file_claim() for m in members]
    tokens = {m.token for m in members}
    assert len(tokens) == 6 and all(len(t) >= 43 for t in tokens)
    for member, reference in zip(members, references):
        status, data = await member.status()
        text = str(data)
        assert data["claim"]["reference"] == reference
        assert all(r not in text for r in references if r != reference)
        assert all(t not in text for t in tokens if t != member.token)
    # A token one character off is another (unknown) link.
    token = members[0].token
    assert (await members[1].status(token[:-1] + ("A" if token[-1] != "A" else "B")))[0] == 404
