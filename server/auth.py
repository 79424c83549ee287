"""Who is asking: browser sign-in, cookies, and credentials of socket connections.

Staff sign in on ``/login``; the browser then holds an HttpOnly, SameSite
cookie naming a server-side session. Socket.io connections from the same
browser carry that cookie. Headless clients may instead send
``{"username", "password"}`` (staff) or ``{"token"}`` (kiosks, and agents
configured with a token) in the socket.io ``auth`` payload.

Every password is checked by :func:`sign_in`, which applies the sign-in
limits of :mod:`server.signin` (per username and per client address).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from http.cookies import SimpleCookie
from typing import Any

from aiohttp import web

from . import appkeys
from .accounts import Accounts, User
from .client_address import environ_address
from .config import Config
from signaling.core.vocabulary import AgentIdentity, KioskIdentity, StaffIdentity
from .signin import Refusal

COOKIE = "lapak_session"


def cookie_token(cookie_header: str | None) -> str | None:
    if not cookie_header:
        return None
    jar = SimpleCookie()
    try:
        jar.load(cookie_header)
    except Exception:
        return None
    morsel = jar.get(COOKIE)
    return morsel.value if morsel else None


@dataclass(frozen=True)
class SignIn:
    """The answer to a sign-in: the user, or why not (``refusal`` when limited, else wrong credentials)."""

    user: User | None
    refusal: Refusal | None = None


def sign_in(accounts: Accounts, username: Any, password: Any, address: str) -> SignIn:
    """Check a username and password within the sign-in limits (:mod:`server.signin`).

    A username or address that must wait or is locked is refused before the
    password is looked at; a wrong password is counted.
    """
    if not (isinstance(username, str) and isinstance(password, str)) or len(username) > 80 or len(password) > 200:
        return SignIn(None)
    limiter = accounts.signin
    refusal = limiter.check(username, address)
    if refusal is not None:
        return SignIn(None, refusal)
    user = accounts.verify(username, password)
    if user is not None:
        limiter.succeeded(username)
        return SignIn(user)
    limiter.failed(username, address)
    return SignIn(None)


def staff_user(accounts: Accounts, auth: Any, environ: dict | None) -> User | None:
    """The staff user behind a socket connection: by cookie, or by username and password (limited)."""
    if isinstance(auth, dict) and isinstance(auth.get("username"), str) and isinstance(auth.get("password"), str):
        return sign_in(accounts, auth["username"], auth["password"], environ_address(environ)).user
    header = (environ or {}).get("HTTP_COOKIE")
    return accounts.user_for_web_session(cookie_token(header))


def kiosk_identity(config: Config, accounts: Accounts, auth: Any) -> KioskIdentity | None:
    token = auth.get("token") if isinstance(auth, dict) else None
    if not isinstance(token, str):
        return None
    return config.kiosk_for(token) or accounts.kiosk_for_token(token)


def agent_identity(config: Config, accounts: Accounts, auth: Any, environ: dict | None) -> AgentIdentity | None:
    token = auth.get("token") if isinstance(auth, dict) else None
    if isinstance(token, str) and token:
        return config.agent_for(token)
    user = staff_user(accounts, auth, environ)
    if user is None or user.role != "agent":
        return None
    return user.agent_identity()


def staff_identity(accounts: Accounts, auth: Any, environ: dict | None, role: str) -> StaffIdentity | None:
    user = staff_user(accounts, auth, environ)
    if user is None or user.role != role:
        return None
    return StaffIdentity(user.username, user.name, user.role, user.branch_id)


# -- HTTP ----------------------------------------------------------------------

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def request_user(request: web.Request) -> User | None:
    accounts = request.app[appkeys.HUB].storage.accounts
    return accounts.user_for_web_session(request.cookies.get(COOKIE))


def require_role(*roles: str) -> Callable[[Handler], Handler]:
    """Decorate a route: signed-in staff of ``roles`` only.

    Pages send others to the sign-in page; API routes (``/api/``) answer
    401 (not signed in) or 403 (signed in, wrong role) with a JSON error.
    """

    def wrap(handler: Handler) -> Handler:
        async def guarded(request: web.Request) -> web.StreamResponse:
            user = request_user(request)
            api = request.path.startswith("/api/")
            if user is None:
                if api:
                    raise web.HTTPUnauthorized(
                        text='{"error": {"code": "unauthorized", "message": "Sign in first."}}',
                        content_type="application/json",
                    )
                raise web.HTTPFound(f"/login?next={request.path}")
            if user.role not in roles:
                raise web.HTTPForbidden(
                    text='{"error": {"code": "forbidden", "message": "Your role may not open this."}}'
                    if api
                    else "Your role may not open this page.",
                    content_type="application/json" if api else "text/plain",
                )
            request[appkeys.USER] = user
            return await handler(request)

        guarded.__name__ = handler.__name__
        guarded.__doc__ = handler.__doc__
        return guarded

    return wrap


HOME = {"agent": "/agent", "officer": "/officer", "supervisor": "/supervisor"}
#: Pages each role may open (a sign-in's ``next`` outside these goes home instead).
PAGES = {"agent": ("/agent",), "officer": ("/officer",), "supervisor": ("/supervisor", "/admin")}


def landing(role: str, target: str | None) -> str:
    """Where a user of ``role`` goes after signing in: ``target`` if their role may open it."""
    if target and target.startswith("/") and not target.startswith("//"):
        if any(target == p or target.startswith(p + "/") or target.startswith(p + "?") for p in PAGES[role]):
            return target
    return HOME[role]


class SocketAuthenticator:
    """The socket namespaces' :class:`signaling.ports.Authenticator`: tokens, accounts and cookies."""

    def __init__(self, config: Config, accounts: Accounts) -> None:
        self.config = config
        self.accounts = accounts

    def kiosk(self, auth: Any) -> KioskIdentity | None:
        return kiosk_identity(self.config, self.accounts, auth)

    def agent(self, auth: Any, environ: dict | None) -> AgentIdentity | None:
        return agent_identity(self.config, self.accounts, auth, environ)

    def staff(self, auth: Any, environ: dict | None, role: str) -> StaffIdentity | None:
        return staff_identity(self.accounts, auth, environ, role)
