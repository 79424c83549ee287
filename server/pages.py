"""Staff pages: sign-in, the security officer's console, the supervisor's board, history and admin.

``setup(app)`` adds:

- ``GET /login``: the sign-in form (it posts to ``POST /login`` in
  ``server/routes.py``, which redirects to the role's home);
- ``GET /officer`` (officers): the branch console, over socket.io ``/officer``;
- ``GET /supervisor`` (supervisors): the live board (``/supervisor`` namespace)
  and the day's chart (``GET /api/day``);
- ``GET /supervisor/history`` (supervisors): closed sessions, filters, CSV;
- ``GET /admin`` (supervisors): branches, users and kiosk provisioning
  through ``/api/admin/*``;
- ``/static/staff/``: the pages' JavaScript and CSS.

Pages are rendered in the language of ``?lang=id|en``, else of the
``lapak_lang`` cookie the language toggle sets, else Indonesian. Every
language's catalogue is in the page, so the toggle needs no reload. Signed-in
staff of the wrong role get a 403 page that says so and offers to sign in
again; anonymous visitors are sent to ``/login`` (:func:`server.auth.require_role`).
"""

from __future__ import annotations

from pathlib import Path

import jinja2
from aiohttp import web

from . import appkeys
from .appkeys import CONFIG, HUB
from .auth import HOME, require_role, request_user
from signaling.core.vocabulary import DEFAULT_CAPACITY, SERVICES
from .i18n import DEFAULT_LANGUAGE, LANGUAGES, catalogues, normalise

HERE = Path(__file__).resolve().parent
LANG_COOKIE = "lapak_lang"

#: Outcome codes an agent can end a session with (labels: ``agent.outcome.*``).
OUTCOMES: tuple[str, ...] = ("resolved", "follow_up", "documents_missing", "referred", "member_left")
#: End states of a closed session (labels: ``history.state.*``).
END_STATES: tuple[str, ...] = ("closed", "cancelled", "abandoned", "failed")

_env = jinja2.Environment(
    loader=jinja2.FileSystemLoader(HERE / "templates"),
    autoescape=jinja2.select_autoescape(["html"]),
)

#: Security headers (CSP, nosniff, frame-ancestors) come from server/headers.py for every response.
_HEADERS = {"Cache-Control": "no-store"}


def page_language(request: web.Request) -> str:
    lang = request.query.get("lang") or request.cookies.get(LANG_COOKIE)
    return normalise(lang)


def render(request: web.Request, template: str, *, status: int = 200, boot: dict | None = None, **context) -> web.Response:
    lang = page_language(request)
    texts = catalogues()
    user = context.pop("user", None)
    if user is None:
        user = request.get(appkeys.USER)
    html = _env.get_template(template).render(
        lang=lang,
        t=texts[lang],
        i18n={"catalogues": texts, "lang": lang, "default": DEFAULT_LANGUAGE},
        boot={"lang": lang, "now": request.app[CONFIG].clock(), **(boot or {})},
        user=user,
        languages=LANGUAGES,
        path=request.path,
        services=SERVICES,
        **context,
    )
    return web.Response(text=html, status=status, content_type="text/html", headers=_HEADERS)


def staff_page(*roles: str):
    """``require_role`` for pages, with a readable 403 page instead of plain text."""

    def wrap(handler):
        guarded = require_role(*roles)(handler)

        async def page(request: web.Request) -> web.StreamResponse:
            try:
                return await guarded(request)
            except web.HTTPForbidden:
                user = request_user(request)
                return render(
                    request,
                    "forbidden.html",
                    status=403,
                    user=user,
                    home=HOME.get(user.role, "/login") if user else "/login",
                )

        page.__name__ = handler.__name__
        page.__doc__ = handler.__doc__
        return page

    return wrap


# -- lists the pages offer as choices --------------------------------------------------


def _hub(request: web.Request):
    return request.app[HUB]


def known_branches(request: web.Request) -> list[dict]:
    """Branches of accounts and of configured kiosk tokens: ``[{branch_id, name}]``."""
    hub = _hub(request)
    branches = {b["branch_id"]: b["name"] for b in hub.storage.accounts.branches()}
    config = request.app.get(CONFIG)
    for kiosk in (config.kiosk_tokens.values() if config else ()):
        branches.setdefault(kiosk.branch, hub.branch_name(kiosk.branch))
    return [{"branch_id": k, "name": v} for k, v in sorted(branches.items())]


def known_agents(request: web.Request) -> list[dict]:
    """Agents of accounts, of configured tokens and currently known to the hub: ``[{agent_id, name}]``."""
    hub = _hub(request)
    agents: dict[str, str] = {}
    for user in hub.storage.accounts.users():
        if user.role == "agent":
            identity = user.agent_identity()
            agents[identity.agent_id] = identity.name
    config = request.app.get(CONFIG)
    for identity in (config.agent_tokens.values() if config else ()):
        agents.setdefault(identity.agent_id, identity.name)
    for agent in hub.state.agents():
        agents.setdefault(agent.agent_id, agent.identity.name)
    return [{"agent_id": k, "name": v} for k, v in sorted(agents.items(), key=lambda kv: kv[1].lower())]


# -- pages --------------------------------------------------------------------------------


async def login_page(request: web.Request) -> web.Response:
    nxt = request.query.get("next", "")[:200]
    if not (nxt.startswith("/") and not nxt.startswith("//")):
        nxt = ""
    user = request_user(request)
    return render(
        request,
        "login.html",
        user=user,
        failed=request.query.get("failed") == "1",
        limited=_limit_notice(request),
        next=nxt,
        home=HOME.get(user.role) if user else None,
    )


def _limit_notice(request: web.Request) -> dict | None:
    """What the sign-in page says after the limits refused a try (``?wait=S`` or ``?locked=S``)."""
    for kind in ("locked", "wait"):
        value = request.query.get(kind, "")
        if value.isdigit() and 0 < int(value) <= 86400:
            seconds = int(value)
            if kind == "locked":
                return {"key": "login.locked", "params": {"minutes": max(1, -(-seconds // 60))}}
            return {"key": "login.wait", "params": {"seconds": seconds}}
    return None


@staff_page("officer")
async def officer_page(request: web.Request) -> web.Response:
    user = request[appkeys.USER]
    hub = _hub(request)
    branch = user.branch_id or ""
    return render(
        request,
        "officer.html",
        branch_name=hub.branch_name(branch),
        boot={"branch": branch, "services": list(SERVICES)},
    )


@staff_page("supervisor")
async def claims_page(request: web.Request) -> web.Response:
    """Claim files handed to the back office, and the retention of their documents."""
    branches = known_branches(request)
    agents = known_agents(request)
    return render(
        request,
        "claims.html",
        section="claims",
        boot={
            "branches": {b["branch_id"]: b["name"] for b in branches},
            "agents": {a["agent_id"]: a["name"] for a in agents},
        },
    )


@staff_page("supervisor")
async def supervisor_page(request: web.Request) -> web.Response:
    return render(request, "supervisor.html", boot={"services": list(SERVICES)}, section="board")


@staff_page("supervisor")
async def history_page(request: web.Request) -> web.Response:
    branches = known_branches(request)
    agents = known_agents(request)
    return render(
        request,
        "history.html",
        section="history",
        branches=branches,
        agents=agents,
        outcomes=OUTCOMES,
        end_states=END_STATES,
        filters={k: request.query.get(k, "")[:40] for k in ("from", "to", "branch", "service", "agent", "outcome")},
        boot={
            "branches": {b["branch_id"]: b["name"] for b in branches},
            "agents": {a["agent_id"]: a["name"] for a in agents},
            # Monitoring spans name supervisors by username: their names for the table.
            "supervisors": {u.username: u.name for u in _hub(request).storage.accounts.users() if u.role == "supervisor"},
        },
    )


@staff_page("supervisor")
async def admin_page(request: web.Request) -> web.Response:
    return render(
        request,
        "admin.html",
        section="admin",
        max_capacity=DEFAULT_CAPACITY,
        boot={"services": list(SERVICES), "max_capacity": DEFAULT_CAPACITY},
    )


def setup(app: web.Application) -> None:
    app.router.add_get("/login", login_page, name="login-page")
    app.router.add_get("/officer", officer_page, name="officer-page")
    app.router.add_get("/supervisor", supervisor_page, name="supervisor-page")
    app.router.add_get("/supervisor/history", history_page, name="history-page")
    app.router.add_get("/supervisor/claims", claims_page, name="claims-page")
    app.router.add_get("/admin", admin_page, name="admin-page")
    app.router.add_static("/static/staff/", HERE / "static" / "staff", name="static-staff")
