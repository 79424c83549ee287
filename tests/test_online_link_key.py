"""The status link is never stored: the records hold its hash and a nonce; the key that rebuilds it is a file.

A dump of the whole database (every table, every row) holds no live token,
also after mails were queued; the mail sent carries the link rebuilt from
the key; another key cannot rebuild it (the mail is kept as failed, never sent
with a wrong link); a database from revision 0003 (the token in clear) is
upgraded: the token is gone from the claim and its mails, the old link still
opens the claim.
"""

from __future__ import annotations

import json
import os
import stat

import aiohttp
import pytest
import sqlalchemy as sa

from online_helpers import Member, online_server
from server import migrations
from server.database import Database
from server.mailer import LINK_MARK, parse_smtp_url
from server.online import LINK_KEY_FILE, link_key
from server.online_routes import MAILER, ONLINE
from server.online_store import OnlineClaimStore
from signaling.online import token_hash


async def test_the_records_never_hold_a_live_token(tmp_path):
    srv = await online_server(tmp_path, trusted_proxies=("127.0.0.1",))
    try:
        async with aiohttp.ClientSession() as http:
            members = [Member(http, srv.url, f"10.0.1.{i}") for i in range(3)]
            for member in members:
                await member.file_claim()  # submitted: a mail is queued (the form has an e-mail address)
            tokens = [m.token for m in members]
            claims = srv.app[ONLINE]
            rows = [claims.store.claim_by_token(token_hash(t)) for t in tokens]
            assert all(r is not None and r["state"] == "submitted" for r in rows)
            mails = claims.store.mails()
            assert len(mails) == 3 and all(LINK_MARK in m["body"] for m in mails)
            dump = claims.store.database.dump_text()
            assert rows[0]["token_hash"] in dump, "the dump is of the records the claims live in"
            for token in tokens:
                assert token not in dump
            # The server rebuilds each link from the key and the nonce, and only the right one.
            assert [claims.link_token(r) for r in rows] == tokens
            key_file = tmp_path / LINK_KEY_FILE
            assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
            assert link_key(tmp_path) == claims.settings.link_key, "the same key after a restart"
    finally:
        await srv.runner.cleanup()


async def test_another_key_cannot_rebuild_the_link_and_the_mail_is_kept_as_failed(tmp_path):
    srv = await online_server(tmp_path, trusted_proxies=("127.0.0.1",))
    try:
        async with aiohttp.ClientSession() as http:
            member = Member(http, srv.url, "10.0.2.1")
            await member.file_claim()
        claims = srv.app[ONLINE]
        claims.settings.link_key = os.urandom(32)  # the key file replaced
        mailer = srv.app[MAILER]
        mailer.target = parse_smtp_url("smtp://127.0.0.1:9")  # never reached: nothing is sent
        assert await mailer.send_due() == 0
        [mail] = claims.store.mails()
        assert mail["state"] == "failed" and "cannot be rebuilt" in mail["last_error"]
    finally:
        await srv.runner.cleanup()


def test_a_broken_key_file_is_refused(tmp_path):
    (tmp_path / LINK_KEY_FILE).write_text("not hex\n")
    with pytest.raises(ValueError, match="64 hex digits"):
        link_key(tmp_path)


def test_a_database_from_revision_0003_loses_its_tokens(tmp_path):
    path = tmp_path / "lapak.sqlite3"
    old = Database(path, migrate=False)
    token = "T" * 43
    with old.begin() as conn:
        migrations.upgrade(conn, "0003")
        conn.execute(sa.text(
            "INSERT INTO oc_claims (claim_id, reference, token_hash, token, service, lang, fields, state, origin, "
            "created_at, updated_at, expires_at) VALUES ('oc-old', 'ONL-JHT-1', :h, :t, 'jht', 'id', :f, 'submitted', "
            "'http://x', 1, 1, 9e12)"), {"h": token_hash(token), "t": token, "f": json.dumps({})})
        for state in ("sent", "queued"):
            conn.execute(sa.text(
                "INSERT INTO oc_mail (claim_id, to_addr, subject, body, state, next_at, created_at) "
                "VALUES ('oc-old', 'a@b.c', 's', :b, :s, 1, 1)"), {"b": f"Buka http://x/claim/s/{token}\n", "s": state})
    old.close()
    database = Database(path)  # opening migrates to the newest revision
    try:
        assert token not in database.dump_text()
        store = OnlineClaimStore(database)
        claim = store.claim_by_token(token_hash(token))
        assert claim is not None and claim["token_nonce"] is None, "the old link still opens its claim"
        mails = store.mails("oc-old")
        assert all(LINK_MARK in m["body"] for m in mails)
        assert [m["state"] for m in mails] == ["sent", "failed"] and "0004" in mails[1]["last_error"]
    finally:
        database.close()

