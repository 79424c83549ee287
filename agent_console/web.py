"""The agent console: six member tiles, talk/hold per session, notes, end.

``setup(app)`` adds ``GET /agent`` (the console) and ``/static/agent/`` (its
JavaScript and CSS). The console is only for an agent: one signed in on
``/login`` (the socket carries the session cookie), or the holder of a
configured agent token given as ``?token=...`` (the link ``lapak demo``
prints; tests). Anyone else is sent to ``/login`` (no or a wrong
credential) or gets the 403 page every staff page shows (staff of another
role), as :func:`server.pages.staff_page` does. ``?lang=id|en`` picks the
starting language.
"""

from __future__ import annotations

from pathlib import Path

import jinja2
from aiohttp import web

from server.appkeys import CONFIG
from server.auth import HOME, request_user
from server.i18n import DEFAULT_LANGUAGE, catalogues, normalise
from server.pages import render
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
    identity = request.app[CONFIG].agent_for(token) if token else None
    user = request_user(request)
    if identity is None:
        if user is None:
            raise web.HTTPFound("/login?next=/agent")
        if user.role != "agent":
            return render(request, "forbidden.html", status=403, user=user, home=HOME.get(user.role, "/login"))
        identity = user.agent_identity()
        token = ""  # the socket authenticates with the session cookie
    texts = catalogues()
    html = _env.get_template("agent.html").render(
        lang=lang,
        t=texts[lang],
        i18n={"catalogues": texts, "lang": lang, "default": DEFAULT_LANGUAGE},
        boot={
            "token": token,
            "signed_in": not token,
            "lang": lang,
            "outcomes": list(OUTCOMES),
            "tiles": TILES,
            "forms": all_schemas(),
            "agent": {"agent_id": identity.agent_id, "name": identity.name, "capacity": identity.capacity},
        },
        identity=identity,
        capacity=identity.capacity,
        tiles=range(1, TILES + 1),
        outcomes=OUTCOMES,
    )
    return web.Response(
        text=html,
        content_type="text/html",
        headers={"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"},
    )


def setup(app: web.Application) -> None:
    app.router.add_get("/agent", agent_page, name="agent-page")
    app.router.add_static("/static/agent/", HERE / "static", name="static-agent")
