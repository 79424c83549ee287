"""The records stores on both engines (SQLite and a real PostgreSQL), migrations, and a lost engine.

Each store test runs twice through ``records_target`` (tests/pg_engine.py):
on an SQLite file and on a fresh PostgreSQL database, with the same code.
"""

from __future__ import annotations

import sqlite3
import subprocess
import sys

import pytest
import sqlalchemy as sa

from pg_engine import PostgresServer
from server import migrations
from server.accounts import AccountError
from server.database import Database
from server.selfservice_store import SelfServiceStore
from server.storage import Storage
from signaling.core.errors import RecordsUnavailable
from signaling.core.session import Session

T0 = 1_750_000_000.0


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> float:
        return self.now


def session(sid: str, state: str = "queued", **kw) -> Session:
    values = dict(session_id=sid, kiosk_id="kiosk-1", branch="jkt", booth=1, service="jht", language="id",
                  state=state, created_at=T0, updated_at=T0, queued_at=T0)
    values.update(kw)
    return Session(**values)


def test_sessions_and_transitions(records_target):
    clock = Clock()
    storage = Storage(records_target, clock=clock)
    try:
        first, second = session("s-1"), session("s-2", queued_at=T0 - 5)
        storage.save(first, "requested", "kiosk", None)
        storage.save(second, None, "kiosk", None)
        assert [s.session_id for s in storage.load_open()] == ["s-2", "s-1"]  # oldest queued first
        clock.now += 10
        first.state, first.agent_id, first.talking = "active", "agent-1", True
        storage.save(first, "queued", "agent-1", "taken")
        storage.save(first, "active", "agent-1", None)  # same state: the row only, no transition
        assert storage.session("s-1").talking is True and storage.session("s-1").updated_at == T0 + 10
        first.state = "closed"
        storage.save(first, "active", "agent-1", "resolved")
        assert storage.transitions("s-1") == [
            ("requested", "queued", "kiosk", None),
            ("queued", "active", "agent-1", "taken"),
            ("active", "closed", "agent-1", "resolved"),
        ]
        assert storage.handled_since(T0) == {"agent-1": 1} and storage.handled_since(T0 + 11) == {}
        assert [s.session_id for s in storage.closed_sessions()] == ["s-1"]
        assert [s.session_id for s in storage.load_open()] == ["s-2"]
        assert storage.count_sessions() == 2 and storage.session("nope") is None
    finally:
        storage.close()


def test_accounts_and_the_access_counter(records_target):
    storage = Storage(records_target)
    acc = storage.accounts
    try:
        version = storage.data_version()
        acc.add_branch("jkt", "KC Jakarta")
        with pytest.raises(AccountError, match="exists already"):
            acc.add_branch("jkt", "again")
        acc.add_user("sari", "a-long-password", "agent", skills=["jht"], capacity=3)
        with pytest.raises(AccountError, match="exists already"):
            acc.add_user("sari", "a-long-password", "agent")
        assert acc.verify("sari", "a-long-password").capacity == 3 and acc.verify("sari", "wrong-password") is None
        kiosk_id, token = acc.add_kiosk("jkt", 1)
        with pytest.raises(AccountError, match="provisioned already"):  # one live device per booth (partial index)
            acc.add_kiosk("jkt", 1)
        assert acc.kiosk_for_token(token).kiosk_id == kiosk_id
        assert storage.data_version() == version  # adding things ends no one's access
        assert storage.versions()["directory"] == 2  # but the boards' lists changed: a branch, a booth
        acc.revoke_kiosk(kiosk_id)
        assert storage.data_version() == version + 1
        assert storage.versions()["directory"] == 3
        assert acc.revoked_kiosks([kiosk_id, "other"]) == {kiosk_id} and acc.kiosk_for_token(token) is None
        assert acc.add_kiosk("jkt", 1)[0] == "jkt-booth-1-2"  # re-provisioned after the revoke
        cookie = acc.start_web_session(acc.user("sari"))
        acc.set_active("sari", False)
        assert storage.data_version() == version + 2
        assert acc.user_for_web_session(cookie) is None and acc.disabled_users(["sari", "ghost"]) == {"sari", "ghost"}
        acc.access_log.record("kiosk:" + kiosk_id, "kiosk_revoked", "boss", 1, at=T0)
        assert [e["subject"] for e in acc.access_log.events()] == ["kiosk:" + kiosk_id]
    finally:
        storage.close()


def test_selfservice_store(records_target):
    clock = Clock()
    store = SelfServiceStore(Database(records_target), clock)
    try:
        form = {"service": "jht", "fields": {"nama": "Sari"}, "confirmed": {}, "opened": True, "pointed": None,
                "revision": 1, "submitted": None}
        store.save_form("s-1", form)
        store.save_form("s-1", {**form, "revision": 2})  # replaced, not added
        assert store.form("s-1")["revision"] == 2 and store.form("s-1")["fields"] == {"nama": "Sari"}
        for n in range(3):  # the same time: insertion order decides
            store.add_request({"request_id": f"r-{2 - n}", "session_id": "s-1", "kind": "ktp", "state": "asked",
                               "document_id": None, "created_at": T0})
        store.set_request("r-2", "received", "d-1")  # PostgreSQL moves an updated row to the end of its table
        assert [r["request_id"] for r in store.requests("s-1")] == ["r-2", "r-1", "r-0"]
        assert store.request("r-2")["document_id"] == "d-1"
        store.add_event("s-1", "consent.answer", {"recording": True}, "kiosk")
        assert store.consent("s-1") == {"recording": True, "at": T0}
        store.add_claim({"reference": "JHT-1", "seq": store.next_claim_seq(), "session_id": "s-1", "service": "jht",
                         "kiosk_id": "kiosk-1", "branch": "jkt", "agent_id": "agent-1", "folder": "c/1",
                         "created_at": T0})
        assert store.next_claim_seq() == 2 and store.claim_of("s-1")["reference"] == "JHT-1"
        store.set_setting("retention_days", "30")
        store.set_setting("retention_days", "60")
        assert store.setting("retention_days") == "60" and store.setting("nothing") is None
    finally:
        store.database.close()


#: The tables of the SQLite-only releases this test writes before versioning (sessions without ``talking``).
OLD_SCHEMA = """
CREATE TABLE sessions (session_id TEXT PRIMARY KEY, kiosk_id TEXT NOT NULL, branch TEXT NOT NULL,
    booth INTEGER NOT NULL, service TEXT NOT NULL, language TEXT NOT NULL, state TEXT NOT NULL, agent_id TEXT,
    tile INTEGER, created_at REAL NOT NULL, updated_at REAL NOT NULL, outcome TEXT, note TEXT NOT NULL DEFAULT '',
    reason TEXT, queued_at REAL, rating INTEGER);
CREATE TABLE transitions (id INTEGER PRIMARY KEY AUTOINCREMENT, session_id TEXT NOT NULL REFERENCES sessions(session_id),
    from_state TEXT, to_state TEXT NOT NULL, at REAL NOT NULL, actor TEXT NOT NULL, reason TEXT);
CREATE TABLE ss_doc_requests (request_id TEXT PRIMARY KEY, session_id TEXT NOT NULL, kind TEXT NOT NULL,
    state TEXT NOT NULL, document_id TEXT, created_at REAL NOT NULL);
"""


def test_an_sqlite_file_from_before_versioning_is_adopted(tmp_path):
    path = tmp_path / "lapak.sqlite3"
    old = sqlite3.connect(path)
    old.executescript(OLD_SCHEMA)
    old.execute("INSERT INTO sessions VALUES ('s-old', 'kiosk-1', 'jkt', 1, 'jht', 'id', 'queued', NULL, NULL, "
                f"{T0}, {T0}, NULL, '', NULL, {T0}, NULL)")
    old.executemany("INSERT INTO ss_doc_requests VALUES (?, 's-old', 'ktp', 'asked', NULL, ?)",
                    [("r-b", T0), ("r-a", T0)])
    old.commit()
    old.close()
    storage = Storage(path)
    try:
        assert [(s.session_id, s.talking) for s in storage.load_open()] == [("s-old", False)]
        with storage.database.begin() as conn:
            assert migrations.current(conn) == migrations.head()
        # The rows keep their order (seq from rowid), and the tables added later exist.
        assert storage.database.rows("SELECT request_id, seq FROM ss_doc_requests ORDER BY seq") == [("r-b", 1), ("r-a", 2)]
        assert [r["request_id"] for r in SelfServiceStore(storage.database).requests("s-old")] == ["r-b", "r-a"]
        assert storage.accounts.branches() == [] and storage.data_version() == 0
    finally:
        storage.close()
    again = Storage(path)  # opening an up-to-date file changes nothing
    try:
        assert again.session("s-old") is not None
    finally:
        again.close()


def test_nodes_starting_at_once_on_an_empty_postgresql_migrate_it_once(pg_url):
    opening = "import sys; from server.database import Database; Database(sys.argv[1]).close()"
    nodes = [subprocess.Popen([sys.executable, "-c", opening, pg_url], stderr=subprocess.PIPE, text=True)
             for _ in range(3)]
    errors = [node.communicate(timeout=60)[1] for node in nodes]
    assert [node.returncode for node in nodes] == [0, 0, 0], errors
    database = Database(pg_url)
    try:
        with database.begin() as conn:
            assert migrations.current(conn) == migrations.head()
        assert database.scalar("SELECT COUNT(*) FROM record_versions") == 2  # access, directory: each inserted once
    finally:
        database.close()


def test_a_lost_postgresql_fails_writes_loudly_and_they_work_again_when_it_returns():
    server = PostgresServer().start()
    try:
        storage = Storage(server.create_database())
        try:
            record = session("s-1")
            storage.save(record, None, "kiosk", None)
            server.halt()  # gone and back between two writes: the pooled connection is stale, and replaced
            server.start()
            storage.save(record, "queued", "kiosk", None)
            server.halt()
            record.state = "assigned"
            with pytest.raises(RecordsUnavailable, match="PostgreSQL database"):
                storage.save(record, "queued", "dispatcher", None)
            with pytest.raises(RecordsUnavailable):
                storage.load_open()
            server.start()
            storage.save(record, "queued", "dispatcher", None)  # the pool reconnects by itself
            assert [t[1] for t in storage.transitions("s-1")] == ["queued", "assigned"]
        finally:
            storage.close()
    finally:
        server.stop()


def test_a_refused_write_is_not_taken_for_a_lost_engine(records_target):
    database = Database(records_target)
    try:
        database.execute(sa.text("INSERT INTO branches (branch_id, name) VALUES ('x', 'X')"))
        with pytest.raises(sa.exc.IntegrityError):
            database.execute(sa.text("INSERT INTO branches (branch_id, name) VALUES ('x', 'X')"))
    finally:
        database.close()
