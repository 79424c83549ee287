"""Lapak on PostgreSQL as an operator runs it: ``lapak admin migrate --to``, ``lapak serve --database``.

Every command runs as its own process against the real PostgreSQL of
tests/pg_engine.py.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time

import aiohttp
import sqlalchemy as sa

from conftest import free_port
from helpers import SMALL, close_all, make_agent
from kiosk_client.client import HeadlessKiosk
from server import schema
from server.database import Database
from server.monitoring import MonitoringLog
from server.online_store import OnlineClaimStore
from server.selfservice_store import SelfServiceStore
from server.storage import Storage
from test_records_engines import T0, session


def lapak(*args: str, stdin: str = "") -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "server.cli", *args], input=stdin, capture_output=True, text=True,
                          timeout=60)


def pilot(data) -> dict[str, int]:
    """An SQLite data directory with rows in every table, written through the stores; rows per table."""
    storage = Storage(data / "lapak.sqlite3", clock=lambda: T0)
    try:
        acc = storage.accounts
        acc.add_branch("jkt", "KC Jakarta")
        acc.add_user("boss", "a-long-password", "supervisor")
        acc.add_user("sari", "a-long-password", "agent")
        acc.start_web_session(acc.user("boss"))
        kiosk_id, _ = acc.add_kiosk("jkt", 1)
        acc.revoke_kiosk(kiosk_id)
        acc.access_log.record("kiosk:" + kiosk_id, "kiosk_revoked", "boss", 1, at=T0)
        acc.signin.failed("sari", "10.0.0.9")
        storage.audit.record("kiosk.revoke", "boss", role="supervisor", target=kiosk_id)
        for n in range(3):
            record = session(f"s-{n}")
            storage.save(record, None, "kiosk", None)
            record.state = "closed"
            storage.save(record, "queued", "agent-sari", "resolved")
        store = SelfServiceStore(storage.database, lambda: T0)
        store.save_form("s-0", {"service": "jht", "fields": {"nama": "Sari Dewi ✓"}, "confirmed": {}, "opened": True,
                                "pointed": None, "revision": 1, "submitted": None})
        store.add_event("s-0", "consent.answer", {"recording": True}, "kiosk")
        store.add_request({"request_id": "r-1", "session_id": "s-0", "kind": "ktp", "state": "received",
                           "document_id": "d-1", "created_at": T0})
        store.add_document({"document_id": "d-1", "session_id": "s-0", "request_id": "r-1", "kind": "ktp",
                            "path": "documents/d-1.png", "sha256": "ab" * 32, "bytes": 10, "mime": "image/png",
                            "width": 4, "height": 3, "status": "received", "created_at": T0})
        store.add_recording({"recording_id": "rec-1", "session_id": "s-0", "agent_id": "agent-sari",
                             "path": "recordings/rec-1.webm", "started_at": T0, "stopped_at": T0 + 9, "seconds": 9.0})
        store.add_claim({"reference": "JHT-1", "seq": 1, "session_id": "s-0", "service": "jht", "kiosk_id": "kiosk-1",
                         "branch": "jkt", "agent_id": "agent-sari", "folder": "claims/JHT-1", "created_at": T0})
        store.set_setting("retention_days", "30")
        online = OnlineClaimStore(storage.database, lambda: T0)
        online.add_claim({"claim_id": "c-1", "reference": "ONL-1", "token_hash": "h" * 64, "token": "t", "service": "jht",
                          "lang": "id", "fields": {"nama": "Sari"}, "email": "sari@example.id", "state": "submitted",
                          "origin": "claim", "created_at": T0, "updated_at": T0, "expires_at": T0 + 1e6})
        online.add_document({"document_id": "od-1", "claim_id": "c-1", "kind": "ktp", "path": "online/od-1.png",
                             "mime": "image/png", "bytes": 10, "width": 4, "height": 3, "sha256": "cd" * 32,
                             "source": "camera", "status": "received", "created_at": T0})
        online.add_event("c-1", "submitted", {}, "member")
        online.queue_mail({"claim_id": "c-1", "to_addr": "sari@example.id", "subject": "Klaim", "body": "link"})
        online.add_hit("status", "10.0.0.9", T0)
        online.set_capacity("2026-11-30", 12)
        MonitoringLog(storage.database).add("boss", "agent-sari", "listen", T0, T0 + 5)
        return {t.name: storage.database.scalar(sa.select(sa.func.count()).select_from(t))
                for t in schema.metadata.sorted_tables}
    finally:
        storage.close()


def table_rows(database: Database) -> dict[str, list[tuple]]:
    with database.begin() as conn:
        return {t.name: sorted(map(tuple, conn.execute(t.select())), key=repr) for t in schema.metadata.sorted_tables}


def test_admin_migrate_copies_every_record_once(tmp_path, pg_url):
    counts = pilot(tmp_path)
    assert all(counts.values()), f"the pilot must hold rows in every table: {counts}"
    done = lapak("admin", "--data", str(tmp_path), "migrate", "--to", pg_url)
    assert done.returncode == 0, done.stderr
    for name, n in counts.items():
        assert any(line.split() == [name, str(n)] for line in done.stdout.splitlines()), (name, done.stdout)
    source, target = Database(tmp_path / "lapak.sqlite3"), Database(pg_url)
    try:
        assert table_rows(target) == table_rows(source)
        # The ids go on after the copied ones: new rows get fresh ids, no collision.
        Storage(target).accounts.add_user("baru", "a-long-password", "agent")
        assert target.scalar("SELECT user_id FROM users WHERE username = 'baru'") == counts["users"] + 1
    finally:
        source.close()
        target.close()
    # A second run refuses, names what is there, and writes nothing.
    again = lapak("admin", "--data", str(tmp_path), "migrate", "--to", pg_url)
    assert again.returncode == 2 and "already holds records" in again.stderr and "sessions (3 rows)" in again.stderr
    target = Database(pg_url)
    try:
        assert target.scalar("SELECT COUNT(*) FROM users") == counts["users"] + 1
    finally:
        target.close()
    # The operator's other commands work on PostgreSQL too.
    listed = lapak("admin", "--database", pg_url, "list")
    assert listed.returncode == 0 and "boss" in listed.stdout and "baru" in listed.stdout


def test_admin_migrate_refuses_a_missing_pilot_or_one_it_cannot_copy_whole(tmp_path, pg_url):
    done = lapak("admin", "--data", str(tmp_path / "nothing"), "migrate", "--to", pg_url)
    assert done.returncode == 2 and "no SQLite records" in done.stderr
    pilot(tmp_path)
    extra = Database(tmp_path / "lapak.sqlite3")
    try:
        extra.execute(sa.text("CREATE TABLE notes_from_a_newer_release (x TEXT)"))
    finally:
        extra.close()
    done = lapak("admin", "--data", str(tmp_path), "migrate", "--to", pg_url)
    assert done.returncode == 2 and "notes_from_a_newer_release" in done.stderr
    target = Database(pg_url)
    try:
        assert target.scalar("SELECT COUNT(*) FROM sessions") == 0
    finally:
        target.close()


def test_serve_refuses_to_start_without_its_database(tmp_path):
    port = free_port()  # nothing listens there
    url = f"postgresql://lapak:not-to-be-shown@127.0.0.1:{port}/records"
    started = time.monotonic()
    done = lapak("serve", "--port", str(free_port()), "--data", str(tmp_path), "--media-workers", "0", "--database", url)
    assert done.returncode == 3, (done.returncode, done.stderr)
    assert f"PostgreSQL database 'records' at 127.0.0.1:{port}" in done.stderr, done.stderr
    assert "not-to-be-shown" not in done.stderr + done.stdout
    assert time.monotonic() - started < 30
    bad = lapak("serve", "--data", str(tmp_path), "--database", "mysql://x@y/z")
    assert bad.returncode == 2 and "postgresql://" in bad.stderr


async def serve(tmp_path, database: str, port: int) -> subprocess.Popen:
    tokens = tmp_path / "tokens.json"
    tokens.write_text(json.dumps({
        "kiosks": {"kiosk-token-1": {"kiosk_id": "kiosk-1", "branch": "jkt", "booth": 1}},
        "agents": {"agent-token-1": {"agent_id": "agent-1", "name": "Agen 1", "capacity": 2}},
    }))
    proc = subprocess.Popen(
        [sys.executable, "-m", "server.cli", "serve", "--port", str(port), "--data", str(tmp_path / "data"),
         "--database", database, "--tokens", str(tokens), "--media-workers", "0", "--kiosk-self-start"],
        stdout=subprocess.PIPE, text=True,
    )
    deadline = time.monotonic() + 30
    async with aiohttp.ClientSession() as http:
        while True:
            try:
                async with http.get(f"http://127.0.0.1:{port}/healthz") as r:
                    if r.status == 200:
                        return proc
            except aiohttp.ClientError:
                pass
            if time.monotonic() > deadline or proc.poll() is not None:
                raise RuntimeError("server did not start")
            await asyncio.sleep(0.1)


async def test_serve_on_postgresql_records_a_whole_session(tmp_path, pg_url):
    port = free_port()
    proc = await serve(tmp_path, pg_url, port)
    url = f"http://127.0.0.1:{port}"
    clients = []
    try:
        assert "records in PostgreSQL database" in proc.stdout.readline()
        agent = await make_agent(url)
        kiosk = HeadlessKiosk(url, "kiosk-token-1", tone_hz=600.0, pattern=1, **SMALL)
        clients = [agent, kiosk]
        await kiosk.connect()
        await kiosk.request("jht")
        await kiosk.wait_state("on_hold", 20)
        assert (await agent.talk(kiosk.session_id))["ok"]
        await kiosk.wait_state("talking", 20)
        assert (await agent.end(kiosk.session_id, "resolved"))["ok"]
        await kiosk.wait_state("ended", 20)
        sid = kiosk.session_id
    finally:
        await close_all(*clients)
        proc.terminate()
        proc.wait(20)
    assert not (tmp_path / "data" / "lapak.sqlite3").exists()  # the records went to PostgreSQL only
    records = Database(pg_url)
    try:
        assert records.first("SELECT state, outcome, agent_id FROM sessions WHERE session_id = :s", {"s": sid}) == (
            "closed", "resolved", "agent-1")
        history = [r[0] for r in records.rows("SELECT to_state FROM transitions WHERE session_id = :s ORDER BY id",
                                              {"s": sid})]
        assert history[:5] == ["requested", "queued", "assigned", "connecting", "active"] and history[-1] == "closed"
    finally:
        records.close()
