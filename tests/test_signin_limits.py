"""Sign-in limits over HTTP and socket.io: wrong passwords slow down, then lock; supervisors see and lift locks.

The server's clock is injected (``Config.clock``): no test waits or depends on the wall clock.
"""

from __future__ import annotations


import aiohttp
import pytest

from server.database import Database

from conftest import make_config, start_server
from kiosk_client.client import until
from server import signin
from server.signin import Policy, SignInLimiter
from test_authorization import PASSWORD, connect, setup_accounts

START = 1_767_225_600.0  # 2026-01-01 07:00 WIB


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, now: float = START) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
async def limited(tmp_path):
    clock = Clock()
    srv = await start_server(make_config(tmp_path, clock=clock, trusted_proxies=("127.0.0.1",)))
    setup_accounts(srv.hub)
    srv.extra["clock"] = clock
    yield srv
    await srv.runner.cleanup()


async def login(url: str, username: str, password: str, forwarded: str | None = None) -> tuple[int, dict, dict]:
    headers = {"X-Forwarded-For": forwarded} if forwarded else {}
    async with aiohttp.ClientSession() as http:
        async with http.post(url + "/api/login", json={"username": username, "password": password}, headers=headers) as r:
            return r.status, await r.json(), dict(r.headers)


async def test_one_username_slows_down_then_locks_and_the_lock_ends_by_itself(limited):
    url, clock = limited.url, limited.extra["clock"]
    for _ in range(3):
        status, body, _ = await login(url, "sari", "wrong password")
        assert status == 401 and body["error"]["code"] == "unauthorized"
    # After the 3rd wrong password: wait 5 s, even with the right one (it is not even looked at).
    status, body, headers = await login(url, "sari", PASSWORD)
    assert status == 429 and body["error"]["code"] == "too_many_attempts"
    assert body["error"]["retry_after"] == 5 and headers["Retry-After"] == "5"
    clock.advance(5)
    assert (await login(url, "sari", "wrong password"))[0] == 401  # the 4th: now 10 s
    clock.advance(9)
    status, body, _ = await login(url, "sari", PASSWORD)
    assert status == 429 and body["error"]["retry_after"] == 1
    clock.advance(1)
    assert (await login(url, "sari", "wrong password"))[0] == 401  # the 5th: locked
    status, body, _ = await login(url, "sari", PASSWORD)
    assert status == 429 and body["error"]["code"] == "locked" and body["error"]["retry_after"] == 900
    assert "15 minutes" in body["error"]["message"] and "supervisor" in body["error"]["message"]
    # Refused tries during the lock do not prolong it.
    clock.advance(899)
    assert (await login(url, "sari", PASSWORD))[1]["error"]["retry_after"] == 1
    clock.advance(1)
    assert (await login(url, "sari", PASSWORD))[0] == 200
    # Other users were never affected, and the lock was written in the audit trail.
    assert (await login(url, "boss", PASSWORD))[0] == 200
    entries = limited.hub.storage.audit.entries(action="signin.locked")
    assert [(e["actor"], e["target"], e["address"]) for e in entries] == [("sari", "username:sari", "127.0.0.1")]


async def test_a_right_password_clears_the_count_and_unknown_names_look_the_same(limited):
    url, clock = limited.url, limited.extra["clock"]
    for _ in range(2):
        await login(url, "sari", "wrong password")
    assert (await login(url, "sari", PASSWORD))[0] == 200
    for _ in range(2):
        assert (await login(url, "sari", "wrong password"))[0] == 401
    assert (await login(url, "sari", PASSWORD))[0] == 200  # two more were fine: the count had started again

    # A username that does not exist answers exactly like one that does.
    answers = {}
    for name in ("budi", "nobody"):
        seen = []
        for i in range(5):
            if i:
                clock.advance(61)  # longer than any wait
            status, body, _ = await login(url, name, "wrong password")
            seen.append((status, body["error"]["code"]))
        status, body, _ = await login(url, name, "wrong password")
        seen.append((status, body["error"]["code"], body["error"]["retry_after"]))
        answers[name] = seen
    assert answers["budi"] == answers["nobody"]
    assert answers["budi"] == [(401, "unauthorized")] * 5 + [(429, "locked", 900)]


async def test_one_address_is_limited_across_usernames_and_a_proxy_is_believed_only_when_trusted(limited):
    url, clock = limited.url, limited.extra["clock"]
    client = "203.0.113.9"
    # 20 wrong passwords from one client, two per username (never enough to limit a username).
    for n in range(20):
        if n == 10:
            # After the 10th, a try within 5 s must wait, whoever it is for.
            clock.advance(2)
            assert (await login(url, "boss", PASSWORD, forwarded=client))[1]["error"]["code"] == "too_many_attempts"
        if n:
            clock.advance(61)  # longer than any wait
        status, body, _ = await login(url, f"guess{n // 2}", "wrong password", forwarded=client)
        assert status == 401, (n, body)
    status, body, _ = await login(url, "boss", PASSWORD, forwarded=client)
    assert status == 429 and body["error"]["code"] == "locked"
    # The address behind the proxy is locked, not the proxy: others behind it sign in.
    assert (await login(url, "boss", PASSWORD, forwarded="198.51.100.7"))[0] == 200
    assert (await login(url, "boss", PASSWORD))[0] == 200
    # The client cannot step out of its lock by writing its own X-Forwarded-For in front of the proxy's.
    assert (await login(url, "boss", PASSWORD, forwarded=f"198.51.100.7, {client}"))[0] == 429
    locks = limited.hub.storage.accounts.signin.locks()
    assert [(lk["scope"], lk["key"]) for lk in locks] == [("address", client)]


async def test_without_a_trusted_proxy_the_forwarded_header_is_ignored(tmp_path):
    clock = Clock()
    srv = await start_server(make_config(tmp_path, clock=clock))
    try:
        setup_accounts(srv.hub)
        for n in range(20):
            await login(srv.url, f"guess{n // 2}", "wrong password", forwarded=f"203.0.113.{n}")
            clock.advance(60)
        # Twenty "different" forwarded addresses were one address: this machine's, now locked.
        status, body, _ = await login(srv.url, "boss", PASSWORD, forwarded="203.0.113.200")
        assert status == 429 and body["error"]["code"] == "locked"
        assert [(lk["scope"], lk["key"]) for lk in srv.hub.storage.accounts.signin.locks()] == [("address", "127.0.0.1")]
    finally:
        await srv.runner.cleanup()


async def test_the_sign_in_form_is_sent_back_with_the_wait_or_the_lock(limited):
    url, clock = limited.url, limited.extra["clock"]
    async with aiohttp.ClientSession() as http:
        async def form(password: str) -> str:
            async with http.post(url + "/login", data={"username": "sari", "password": password}, allow_redirects=False) as r:
                assert r.status == 302
                return r.headers["Location"]

        assert [await form("wrong password") for _ in range(3)] == ["/login?failed=1"] * 3
        assert await form(PASSWORD) == "/login?wait=5"
        clock.advance(5)
        await form("wrong password")
        clock.advance(10)
        await form("wrong password")
        assert await form(PASSWORD) == "/login?locked=900"
        async with http.get(url + "/login?locked=900&lang=en") as r:
            assert "Try again in 15 minutes" in await r.text()
        async with http.get(url + "/login?wait=5") as r:
            assert "Tunggu 5 detik" in await r.text()


async def test_socket_sign_in_with_a_password_is_limited_the_same_way(limited):
    url = limited.url
    for _ in range(5):
        client, refused = await connect(url, "/officer", {"username": "budi", "password": "wrong password"})
        assert client is None
        limited.extra["clock"].advance(30)
    client, refused = await connect(url, "/officer", {"username": "budi", "password": PASSWORD})
    assert client is None, "a locked username must not connect, even with the right password"
    await until(lambda: refused, 5, "the refusal")
    assert refused[0]["data"] == {"code": "unauthorized"}
    assert (await login(url, "budi", PASSWORD))[1]["error"]["code"] == "locked"


async def test_the_supervisor_sees_locks_and_lifts_them(limited):
    url = limited.url
    for i in range(5):
        if i:
            limited.extra["clock"].advance(30)
        await login(url, "sari", "wrong password")
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        async with http.post(url + "/api/login", json={"username": "boss", "password": PASSWORD}) as r:
            assert r.status == 200
        async with http.get(url + "/api/admin/signin-locks") as r:
            locks = (await r.json())["locks"]
        assert [(lk["scope"], lk["key"], lk["failures"], lk["retry_after"]) for lk in locks] == [("username", "sari", 5, 900)]
        async with http.post(url + "/api/admin/signin-locks/unlock", json={"scope": "username", "key": "nobody"}) as r:
            assert r.status == 404
        async with http.post(url + "/api/admin/signin-locks/unlock", json={"scope": "everyone", "key": "sari"}) as r:
            assert r.status == 400 and (await r.json())["error"]["code"] == "invalid_payload"
        async with http.post(url + "/api/admin/signin-locks/unlock", json={"scope": "username", "key": "sari"}) as r:
            assert r.status == 200
        async with http.get(url + "/api/admin/signin-locks") as r:
            assert (await r.json())["locks"] == []
    assert (await login(url, "sari", PASSWORD))[0] == 200
    unlocks = limited.hub.storage.audit.entries(action="signin.unlock")
    assert [(e["actor"], e["role"], e["target"], e["address"], e["at"]) for e in unlocks] == [
        ("boss", "supervisor", "username:sari", "127.0.0.1", limited.extra["clock"].now)
    ]


def test_strangers_cannot_grow_the_failure_table_without_bound(monkeypatch, records_target):
    monkeypatch.setattr(signin, "MAX_ROWS", 50)
    clock = Clock()
    limiter = SignInLimiter(Database(records_target), clock, Policy())
    for n in range(200):
        limiter.failed(f"user{n}", f"10.0.{n // 250}.{n % 250}")
        clock.advance(0.01)
    count = limiter.database.scalar("SELECT COUNT(*) FROM signin_failures")
    assert count <= 50
    # The newest are kept: the last username counted goes on counting.
    assert limiter.database.scalar("SELECT failures FROM signin_failures WHERE key = 'user199'") == 1
    # Stale rows go on the next write once the window has passed.
    clock.advance(Policy().window + 1)
    limiter.failed("late", "10.9.9.9")
    assert limiter.database.scalar("SELECT COUNT(*) FROM signin_failures") == 2
    limiter.database.close()
