"""Who may do what: every HTTP route and every socket event, tried by every role.

The route table below must name every route the app has, GET or POST, page,
API or static folder, exactly once: a new route that is not in it fails this
test until someone decides who may use it, and an entry for a route that no
longer exists fails it too. Every role then tries every route (HEAD as well
as GET); a refused request changes nothing.
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

#: (method, route as aiohttp names it) -> roles that may use it. A GET route's HEAD twin is implied.
ROUTES: dict[tuple[str, str], set[str]] = {
    # Public: health, sign-in, static files, the socket.io transport (each namespace
    # authorizes on connect: test_each_namespace_admits_only_its_role).
    ("GET", "/healthz"): EVERYONE,
    ("GET", "/login"): EVERYONE,
    ("POST", "/login"): EVERYONE,
    ("POST", "/api/login"): EVERYONE,
    ("POST", "/logout"): EVERYONE,
    ("GET", "/static/vendor"): EVERYONE,
    ("GET", "/static/common"): EVERYONE,
    ("GET", "/static/staff"): EVERYONE,
    ("GET", "/static/kiosk"): EVERYONE,
    ("GET", "/static/agent"): EVERYONE,
    ("GET", "/static/guest"): EVERYONE,
    ("GET", "/socket.io/"): EVERYONE,
    ("POST", "/socket.io/"): EVERYONE,
    ("OPTIONS", "/socket.io/"): EVERYONE,
    # Pages. The booth's page without a valid ?token= shows only "this booth is not
    # registered"; everything behind it needs the token on the socket.
    ("GET", "/kiosk"): EVERYONE,
    # A guest's page: a link that would not admit says so (410); the socket's connect uses the link up.
    ("GET", "/guest/{token}"): EVERYONE,
    ("GET", "/agent"): {"agent"},
    ("GET", "/officer"): {"officer"},
    ("GET", "/supervisor"): {"supervisor"},
    ("GET", "/supervisor/history"): {"supervisor"},
    ("GET", "/supervisor/claims"): {"supervisor"},
    ("GET", "/admin"): {"supervisor"},
    # API
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
    # Metrics: supervisors, or a scraper's --metrics-token; never "this machine" (a same-host proxy is this machine).
    ("GET", "/metrics"): {"supervisor"},
    # self-service (server/selfservice_routes.py)
    ("POST", "/api/sessions/{session_id}/documents"): {"kiosk"},
    ("GET", "/api/sessions/{session_id}/documents/{document_id}"): {"agent", "supervisor"},
    ("GET", "/api/claims"): {"supervisor"},
    ("GET", "/api/claims/{reference}"): {"supervisor"},
    ("GET", "/api/claims/{reference}/{kind}/{name}"): {"supervisor"},
    ("GET", "/api/retention"): {"supervisor"},
    ("POST", "/api/retention"): {"supervisor"},
    # the online door (server/online_routes.py): the status link in the path is the member's only credential
    ("GET", "/claim"): EVERYONE,
    ("GET", "/claim/s/{token}"): EVERYONE,
    ("POST", "/api/claim"): EVERYONE,
    ("GET", "/api/claim/{token}"): EVERYONE,
    ("POST", "/api/claim/{token}/documents"): EVERYONE,
    ("POST", "/api/claim/{token}/submit"): EVERYONE,
    ("POST", "/api/claim/{token}/book"): EVERYONE,
    # ... and its back office (server/online_staff_routes.py; the claim's skill is checked per claim)
    ("GET", "/agent/claims"): {"agent"},
    ("GET", "/api/online/queue"): {"agent"},
    ("GET", "/api/online/claims/{reference}"): {"agent", "supervisor"},
    ("GET", "/api/online/claims/{reference}/documents/{document_id}"): {"agent", "supervisor"},
    ("POST", "/api/online/claims/{reference}/open"): {"agent"},
    ("POST", "/api/online/claims/{reference}/release"): {"agent"},
    ("POST", "/api/online/claims/{reference}/documents/{document_id}/review"): {"agent"},
    ("GET", "/api/online/sessions/{session_id}"): {"agent"},
    ("POST", "/api/online/claims/{reference}/outcome"): {"agent"},
    ("POST", "/api/online/claims/{reference}/revoke"): {"supervisor"},
    ("GET", "/api/online/capacity"): {"supervisor"},
    ("POST", "/api/online/capacity"): {"supervisor"},
    ("GET", "/api/online/report"): {"supervisor"},
    # the audit trail, sign-in locks, passwords (server/security_routes.py)
    ("GET", "/supervisor/audit"): {"supervisor"},
    ("GET", "/api/audit"): {"supervisor"},
    ("GET", "/api/audit.csv"): {"supervisor"},
    ("GET", "/api/admin/signin-locks"): {"supervisor"},
    ("POST", "/api/admin/signin-locks/unlock"): {"supervisor"},
    ("POST", "/api/admin/users/{username}/password"): {"supervisor"},
}
#: Sign-in and sign-out answer everyone (wrong credentials get 401 or ?failed=1,
#: sign-out sends to /login): only a 403 would be a refusal.
SIGN_IN = {("POST", "/login"), ("POST", "/api/login"), ("POST", "/logout")}
#: A file to fetch under each static folder.
STATIC_FILES = {
    "/static/vendor": "/static/vendor/socket.io.min.js",
    "/static/common": "/static/common/i18n.js",
    "/static/staff": "/static/staff/staff.js",
    "/static/kiosk": "/static/kiosk/kiosk.js",
    "/static/agent": "/static/agent/agent.js",
    "/static/guest": "/static/guest/guest.js",
}

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
    if path in STATIC_FILES:
        return STATIC_FILES[path]
    if path == "/socket.io/":
        return "/socket.io/?EIO=4&transport=polling"
    return (
        path.replace("{username}", "sari").replace("{kiosk_id}", "nobody-booth-1")
        .replace("{session_id}", "s-nobody").replace("{document_id}", "d-nobody").replace("{reference}", "JHT-20260101-000001").replace("{kind}", "documents").replace("{name}", "d-nobody.jpg").replace("{token}", "t" * 43)
    )


def snapshot(hub) -> tuple:
    acc = hub.storage.accounts
    return (
        hub.storage.count_sessions(),
        tuple(u.public()["username"] + str(u.active) for u in acc.users()),
        tuple(b["branch_id"] for b in acc.branches()),
        tuple(k.kiosk_id for k in acc.kiosks()),
        tuple(hub.storage.database.rows("SELECT username, password_hash FROM users ORDER BY username")),
        tuple((lock["scope"], lock["key"]) for lock in acc.signin.locks()),
    )


def refused(route: tuple[str, str], status: int, location: str) -> bool:
    """Did the server refuse this request for lack of rights?"""
    if route in SIGN_IN:
        return status == 403
    return status in (401, 403) or (status in (302, 303) and location.startswith("/login"))


def app_routes(app) -> set[tuple[str, str]]:
    """Every (method, route) the app serves, HEAD twins of GET routes left out."""
    routes = {(r.method, r.resource.canonical) for r in app.router.routes() if r.resource is not None}
    return {(m, p) for m, p in routes if not (m == "HEAD" and ("GET", p) in routes)}


async def test_every_route_is_in_the_table(server):
    served = app_routes(server.app)
    missing = sorted(served - set(ROUTES))
    stale = sorted(set(ROUTES) - served)
    assert not missing, f"routes without a decision in the authorization table: {missing}"
    assert not stale, f"the authorization table names routes the app does not have: {stale}"


@pytest.mark.parametrize("role", ROLES)
async def test_every_route_is_tried_by_every_role(server, role):
    setup_accounts(server.hub)
    users = {"agent": "sari", "officer": "budi", "supervisor": "boss"}
    headers = {"Authorization": "Bearer kiosk-token-1"} if role == "kiosk" else {}
    tries = [(route, route[0]) for route in ROUTES] + [(route, "HEAD") for route in ROUTES if route[0] == "GET"]
    tries.sort(key=lambda t: (t[0] in SIGN_IN, t[0][1] == "/logout", t[0], t[1]))  # signing in/out last
    wrong = []
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        if role in users:
            await sign_in(http, server.url, users[role])
        for route, method in tries:
            allowed = ROUTES[route]
            body = {"username": "nobody", "password": "wrong"} if route in SIGN_IN else {}
            kwargs = {"json": body} if method == "POST" else {}
            before = snapshot(server.hub)
            async with http.request(
                method, server.url + concrete(route[1]), allow_redirects=False, headers=headers, **kwargs
            ) as r:
                denied = refused(route, r.status, r.headers.get("Location", ""))
                if denied != (role not in allowed):
                    wrong.append(f"{method} {route[1]}: {r.status} ({'refused' if denied else 'served'})")
                if denied and snapshot(server.hub) != before:
                    wrong.append(f"a refused {method} {route[1]} changed something")
    assert not wrong, f"{role}: " + "; ".join(wrong)


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
    from signaling.core.vocabulary import KioskIdentity

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
