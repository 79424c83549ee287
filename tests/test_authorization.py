"""Who may do what: every HTTP route and every socket event, tried by every role.

The route table below must name every route the app has: a new route that is
not in it fails this test until someone decides who may use it.
"""

from __future__ import annotations

import aiohttp
import pytest
import socketio

from kiosk_client.client import until
from signaling.namespaces import AgentNamespace, KioskNamespace, OfficerNamespace, SupervisorNamespace

ROLES = ("anonymous", "kiosk", "agent", "officer", "supervisor")
STAFF = {"agent", "officer", "supervisor"}
EVERYONE = set(ROLES)

#: (method, route) -> roles that may use it. "local" routes also admit this machine.
ROUTES: dict[tuple[str, str], set[str]] = {
    ("GET", "/healthz"): EVERYONE,
    ("POST", "/login"): EVERYONE,
    ("POST", "/api/login"): EVERYONE,
    ("POST", "/logout"): EVERYONE,
    ("GET", "/api/me"): STAFF,
    ("GET", "/api/admin/branches"): {"supervisor"},
    ("POST", "/api/admin/branches"): {"supervisor"},
    ("GET", "/api/admin/users"): {"supervisor"},
    ("POST", "/api/admin/users"): {"supervisor"},
    ("POST", "/api/admin/users/{username}/active"): {"supervisor"},
    ("GET", "/api/admin/kiosks"): {"supervisor"},
    ("POST", "/api/admin/kiosks"): {"supervisor"},
    ("POST", "/api/admin/kiosks/{kiosk_id}/revoke"): {"supervisor"},
    ("GET", "/api/history"): {"supervisor"},
    ("GET", "/api/history.csv"): {"supervisor"},
    ("GET", "/api/day"): {"supervisor"},
    # self-service (server/selfservice_routes.py)
    ("POST", "/api/sessions/{session_id}/documents"): {"kiosk"},
    ("GET", "/api/sessions/{session_id}/documents/{document_id}"): {"agent", "supervisor"},
    ("GET", "/api/claims"): {"supervisor"},
    ("GET", "/api/claims/{reference}"): {"supervisor"},
    ("GET", "/api/claims/{reference}/{kind}/{name}"): {"supervisor"},
    ("GET", "/api/retention"): {"supervisor"},
    ("POST", "/api/retention"): {"supervisor"},
    # the audit trail, sign-in locks, passwords (server/security_routes.py)
    ("GET", "/supervisor/audit"): {"supervisor"},
    ("GET", "/api/audit"): {"supervisor"},
    ("GET", "/api/audit.csv"): {"supervisor"},
    ("GET", "/api/admin/signin-locks"): {"supervisor"},
    ("POST", "/api/admin/signin-locks/unlock"): {"supervisor"},
    ("POST", "/api/admin/users/{username}/password"): {"supervisor"},
}
#: Routes every role may load (pages show a sign-in or unregistered screen; static files; socket.io).
#: (No bare "/": it made every GET route exempt, so a new GET API route escaped the table.)
PUBLIC_PREFIXES = ("/static/", "/socket.io/", "/kiosk", "/login", "/agent", "/officer", "/supervisor", "/admin")
#: /metrics is for supervisors and for scrapers on this machine (the tests run on it).
LOCAL = {("GET", "/metrics")}

PASSWORD = "correct horse battery"


def setup_accounts(hub) -> None:
    acc = hub.storage.accounts
    acc.add_branch("jkt", "KC Jakarta")
    acc.add_branch("bdg", "KC Bandung")
    acc.add_user("sari", PASSWORD, "agent", name="Sari")
    acc.add_user("budi", PASSWORD, "officer", branch_id="jkt")
    acc.add_user("dewi", PASSWORD, "officer", branch_id="bdg")
    acc.add_user("boss", PASSWORD, "supervisor")


async def sign_in(http: aiohttp.ClientSession, url: str, username: str) -> None:
    async with http.post(url + "/api/login", json={"username": username, "password": PASSWORD}) as r:
        assert r.status == 200, await r.text()
        cookie = r.headers["Set-Cookie"]
        assert "HttpOnly" in cookie and "SameSite=Strict" in cookie


def concrete(path: str) -> str:
    return (
        path.replace("{username}", "sari").replace("{kiosk_id}", "nobody-booth-1")
        .replace("{session_id}", "s-nobody").replace("{document_id}", "d-nobody").replace("{reference}", "JHT-20260101-000001").replace("{kind}", "documents").replace("{name}", "d-nobody.jpg")
    )


def snapshot(hub) -> tuple:
    acc = hub.storage.accounts
    return (
        hub.storage.count_sessions(),
        tuple(u.public()["username"] + str(u.active) for u in acc.users()),
        tuple(b["branch_id"] for b in acc.branches()),
        tuple(k.kiosk_id for k in acc.kiosks()),
        tuple(hub.storage.db.execute("SELECT username, password_hash FROM users ORDER BY username")),
        tuple((lock["scope"], lock["key"]) for lock in acc.signin.locks()),
    )


async def test_every_http_route_is_in_the_table_and_enforced(server):
    setup_accounts(server.hub)
    app_routes = {
        (r.method, r.resource.canonical)
        for r in server.app.router.routes()
        if r.method != "HEAD" and r.resource is not None
    }
    known = set(ROUTES) | LOCAL
    missing = {
        route for route in app_routes - known
        if not (route[0] == "GET" and route[1].startswith(PUBLIC_PREFIXES)) and route[1] != "/socket.io/"
    }
    assert not missing, f"routes without a decision in the authorization table: {sorted(missing)}"

    users = {"agent": "sari", "officer": "budi", "supervisor": "boss"}
    for role in ROLES:
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
            if role in users:
                await sign_in(http, server.url, users[role])
            for (method, path), allowed in sorted(ROUTES.items()):
                if path in ("/login", "/api/login", "/logout"):
                    continue
                before = snapshot(server.hub)
                kwargs = {"json": {}} if method == "POST" else {}
                headers = {"Authorization": "Bearer kiosk-token-1"} if role == "kiosk" else {}
                async with http.request(method, server.url + concrete(path), allow_redirects=False, headers=headers, **kwargs) as r:
                    denied = r.status in (401, 403) or (r.status == 302 and "/login" in r.headers.get("Location", ""))
                    assert denied == (role not in allowed), f"{role} {method} {path}: {r.status}"
                    if denied:
                        assert snapshot(server.hub) == before, f"a refused {method} {path} changed something"


NAMESPACES = {
    "/kiosk": KioskNamespace.events,
    "/agent": AgentNamespace.events,
    "/officer": OfficerNamespace.events,
    "/supervisor": SupervisorNamespace.events,
}
EVERY_EVENT = sorted({e for events in NAMESPACES.values() for e in events})


async def connect(url: str, namespace: str, auth) -> tuple[socketio.AsyncClient | None, list]:
    client = socketio.AsyncClient(reconnection=False)
    refused: list = []
    client.on("connect_error", lambda data: refused.append(data), namespace=namespace)
    try:
        await client.connect(url, namespaces=[namespace], auth=auth, transports=["websocket"], wait_timeout=5)
    except socketio.exceptions.ConnectionError:
        return None, refused
    return client, refused


@pytest.mark.parametrize("role", ROLES)
async def test_each_namespace_admits_only_its_role(server, role):
    setup_accounts(server.hub)
    auth = {
        "anonymous": None,
        "kiosk": {"token": "kiosk-token-1"},
        "agent": {"username": "sari", "password": PASSWORD},
        "officer": {"username": "budi", "password": PASSWORD},
        "supervisor": {"username": "boss", "password": PASSWORD},
    }[role]
    own = {"kiosk": "/kiosk", "agent": "/agent", "officer": "/officer", "supervisor": "/supervisor"}.get(role)
    for namespace in NAMESPACES:
        before = snapshot(server.hub)
        client, refused = await connect(server.url, namespace, auth)
        if namespace == own:
            assert client is not None, f"{role} refused on its own namespace"
            # Events of other namespaces do not exist here.
            for event in EVERY_EVENT:
                if event in NAMESPACES[namespace]:
                    continue
                ack = await client.call(event, {}, namespace=namespace, timeout=5)
                assert ack["ok"] is False and ack["error"]["code"] == "unknown_event", (role, event, ack)
            await client.disconnect()
        else:
            assert client is None, f"{role} admitted to {namespace}"
            await until(lambda: refused, 5, "the refusal")
            assert refused[0]["data"] == {"code": "unauthorized"}
        assert snapshot(server.hub) == before


async def test_an_officer_reaches_only_their_own_branch(server):
    setup_accounts(server.hub)
    from server.config import KioskIdentity

    server.config.kiosk_tokens["jkt-token"] = KioskIdentity("jkt-1", branch="jkt", booth=1)
    booth, _ = await connect(server.url, "/kiosk", {"token": "jkt-token"})
    own, _ = await connect(server.url, "/officer", {"username": "budi", "password": PASSWORD})
    other, _ = await connect(server.url, "/officer", {"username": "dewi", "password": PASSWORD})
    seen_by_other: list = []
    other.on("branch.state", lambda d: seen_by_other.append(d), namespace="/officer")
    other.on("help.call", lambda d: seen_by_other.append(d), namespace="/officer")
    try:
        before = snapshot(server.hub)
        ack = await other.call("session.start", {"kiosk_id": "jkt-1", "service": "jht"}, namespace="/officer", timeout=5)
        assert ack["error"]["code"] == "unknown_kiosk"
        assert snapshot(server.hub) == before
        ack = await own.call("session.start", {"kiosk_id": "jkt-1", "service": "jht"}, namespace="/officer", timeout=5)
        assert ack["ok"], ack
        session_id = ack["session_id"]
        ack = await other.call("session.cancel", {"session_id": session_id}, namespace="/officer", timeout=5)
        assert ack["error"]["code"] == "unknown_session"
        ack = await other.call("help.answer", {"kiosk_id": "jkt-1"}, namespace="/officer", timeout=5)
        assert ack["error"]["code"] == "unknown_kiosk"
        await booth.call("security.call", {}, namespace="/kiosk", timeout=5)
        ack = await own.call("session.cancel", {"session_id": session_id}, namespace="/officer", timeout=5)
        assert ack["ok"], ack
        # The other branch's officer never heard of any of it.
        assert all(d.get("branch", "bdg") == "bdg" for d in seen_by_other)
        assert not any("kiosk_id" in d and d.get("kiosk_id") == "jkt-1" for d in seen_by_other)
    finally:
        for c in (booth, own, other):
            await c.disconnect()
