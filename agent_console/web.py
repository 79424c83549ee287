"""The agent console: six member tiles, talk/hold per session, notes, end.

``setup(app)`` adds ``GET /agent`` (the console) and ``/static/agent/`` (its
JavaScript and CSS). An agent signed in on ``/login`` opens it directly
(the socket carries the session cookie); a configured agent token, given as
``?token=...`` or typed into the page's form, also works (demo, tests).
``?lang=id|en`` picks the starting language.
"""

from __future__ import annotations

from pathlib import Path

import jinja2
from aiohttp import web

from server.appkeys import CONFIG
from server.auth import request_user
from server.config import DEFAULT_CAPACITY
from server.i18n import DEFAULT_LANGUAGE, catalogues, normalise
from signaling.forms import all_schemas

HERE = Path(__file__).resolve().parent
_env = jinja2.Environment(
    # Its own templates first, then the partials every page shares (server/templates/partials).
    loader=jinja2.ChoiceLoader(
        [jinja2.FileSystemLoader(HERE / "templates"), jinja2.FileSystemLoader(HERE.parent / "server" / "templates")]
    ),
    autoescape=jinja2.select_autoescape(["html"]),
)

#: Outcome codes offered when ending a session (labels in the catalogue).
OUTCOMES: tuple[str, ...] = ("resolved", "follow_up", "documents_missing", "referred", "member_left")

#: The agent console always shows this many tiles (the agent offer layout).
TILES = 6


async def agent_page(request: web.Request) -> web.Response:
    token = request.query.get("token", "")[:256]
    lang = normalise(request.query.get("lang"))
    config = request.app.get(CONFIG)
    identity = config.agent_for(token) if config is not None and token else None
    user = request_user(request)
    if identity is None and user is not None and user.role == "agent":
        identity = user.agent_identity()
        token = ""  # the socket authenticates with the session cookie
    texts = catalogues()
    html = _env.get_template("agent.html").render(
        lang=lang,
        t=texts[lang],
        i18n={"catalogues": texts, "lang": lang, "default": DEFAULT_LANGUAGE},
        boot={
            "token": token if identity else "",
            "signed_in": user is not None and user.role == "agent",
            "lang": lang,
            "outcomes": list(OUTCOMES),
            "tiles": TILES,
            "forms": all_schemas(),
            "agent": (
                {"agent_id": identity.agent_id, "name": identity.name, "capacity": identity.capacity}
                if identity
                else None
            ),
            "login_failed": bool(token) and identity is None,
        },
        identity=identity,
        capacity=identity.capacity if identity else DEFAULT_CAPACITY,
        tiles=range(1, TILES + 1),
        outcomes=OUTCOMES,
        login_failed=bool(token) and identity is None,
    )
    return web.Response(
        text=html,
        content_type="text/html",
        headers={"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"},
    )


def setup(app: web.Application) -> None:
    app.router.add_get("/agent", agent_page, name="agent-page")
    app.router.add_static("/static/agent/", HERE / "static", name="static-agent")
