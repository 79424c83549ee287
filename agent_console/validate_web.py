"""The back office's page for online claims: ``/agent/claims``, the validation queue and one claim.

For agents (signed in, or ``?token=`` of a configured agent, as ``/agent``).
``?claim=REF`` opens one claim (its documents at full resolution, accept or
ask again with a reason); ``?session=ID`` opens the claim of the home
member on one of the agent's tiles, with the interview's outcome buttons:
the console's tile links here. Data comes from ``server/online_staff_routes.py``.
"""

from __future__ import annotations

from pathlib import Path

import jinja2
from aiohttp import web

from server.appkeys import CONFIG
from server.auth import HOME, request_user
from server.i18n import DEFAULT_LANGUAGE, catalogues, normalise
from server.pages import render

HERE = Path(__file__).resolve().parent
_env = jinja2.Environment(
    loader=jinja2.ChoiceLoader(
        [jinja2.FileSystemLoader(HERE / "templates"), jinja2.FileSystemLoader(HERE.parent / "server" / "templates")]
    ),
    autoescape=jinja2.select_autoescape(["html"]),
)


async def validate_page(request: web.Request) -> web.Response:
    token = request.query.get("token", "")[:256]
    lang = normalise(request.query.get("lang"))
    identity = request.app[CONFIG].agent_for(token) if token else None
    if identity is None:
        user = request_user(request)
        if user is None:
            raise web.HTTPFound("/login?next=/agent/claims")
        if user.role != "agent":
            return render(request, "forbidden.html", status=403, user=user, home=HOME.get(user.role, "/login"))
        token = ""
    texts = catalogues()
    html = _env.get_template("validate.html").render(
        lang=lang, t=texts[lang],
        i18n={"catalogues": texts, "lang": lang, "default": DEFAULT_LANGUAGE},
        boot={"token": token, "lang": lang, "claim": request.query.get("claim", "")[:60],
              "session": request.query.get("session", "")[:40]},
    )
    return web.Response(text=html, content_type="text/html",
                        headers={"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"})


def setup(app: web.Application) -> None:
    app.router.add_get("/agent/claims", validate_page, name="agent-claims-page")
