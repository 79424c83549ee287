"""The member's pages at home: the claim portal ``/claim`` and the status page ``/claim/s/{token}``.

Mobile-first, Bahasa Indonesia by default (``?lang=en`` for English, and a
toggle). The portal renders the same form schemas the booth uses
(:mod:`signaling.forms`) and the documents each benefit needs; everything
else (checks, the status, booking, the interview) goes through the JSON API
of ``server/online_routes.py`` and the ``/kiosk`` socket. The token in the
status page's path is read by the page's script, never rendered into it.
"""

from __future__ import annotations

from pathlib import Path

import jinja2
from aiohttp import web

from server.i18n import DEFAULT_LANGUAGE, catalogues, normalise
from signaling.forms import all_schemas
from signaling.online import BENEFITS, REQUIRED_DOCUMENTS

HERE = Path(__file__).resolve().parent
_env = jinja2.Environment(
    loader=jinja2.ChoiceLoader(
        [jinja2.FileSystemLoader(HERE / "templates"), jinja2.FileSystemLoader(HERE.parent / "server" / "templates")]
    ),
    autoescape=jinja2.select_autoescape(["html"]),
)


def _page(request: web.Request, mode: str) -> web.Response:
    lang = normalise(request.query.get("lang"))
    texts = catalogues()
    forms = all_schemas()
    html = _env.get_template("claim.html").render(
        lang=lang,
        t=texts[lang],
        mode=mode,
        benefits=BENEFITS,
        i18n={"catalogues": texts, "lang": lang, "default": DEFAULT_LANGUAGE},
        boot={"mode": mode, "lang": lang, "benefits": list(BENEFITS),
              "forms": {b: forms[b] for b in BENEFITS}, "required": {b: list(REQUIRED_DOCUMENTS[b]) for b in BENEFITS}},
    )
    return web.Response(text=html, content_type="text/html",
                        headers={"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"})


async def claim_page(request: web.Request) -> web.Response:
    return _page(request, "new")


async def status_page(request: web.Request) -> web.Response:
    return _page(request, "status")


def setup(app: web.Application) -> None:
    app.router.add_get("/claim", claim_page, name="claim-page")
    app.router.add_get("/claim/s/{token}", status_page, name="claim-status-page")
