"""The guest's page: a member's interpreter or family member, joining with a one-time link (issue 14).

``setup(app)`` adds ``GET /guest/{token}`` (the page the agent's link and
QR code open, phone-sized) and ``/static/guest/`` (its JavaScript and CSS).
Showing the page does not use the link up: only the page's socket
connection to ``/guest`` does (``docs/protocol.md``, "Guest namespace").
A link that would not admit any more (used, removed, replaced, expired, its
session over) is told at once, in the guest's language, with status 410.
The page starts in the language of ``?lang=id|en`` (Indonesian by default).
"""

from __future__ import annotations

from pathlib import Path

import jinja2
from aiohttp import web

from .appkeys import HUB
from .i18n import DEFAULT_LANGUAGE, catalogues, normalise

HERE = Path(__file__).resolve().parent
_env = jinja2.Environment(
    loader=jinja2.FileSystemLoader(HERE / "templates"),
    autoescape=jinja2.select_autoescape(["html"]),
)
#: The link's token is in the path: never send it on, never keep the page.
_HEADERS = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}


async def guest_page(request: web.Request) -> web.Response:
    token = request.match_info["token"][:64]
    lang = normalise(request.query.get("lang"))
    usable = request.app[HUB].guest_link_open(token) is not None
    texts = catalogues()
    html = _env.get_template("guest.html").render(
        lang=lang,
        t=texts[lang],
        i18n={"catalogues": texts, "lang": lang, "default": DEFAULT_LANGUAGE},
        boot={"token": token if usable else "", "lang": lang},
        state="check" if usable else "invalid",
    )
    return web.Response(text=html, status=200 if usable else 410, content_type="text/html", headers=_HEADERS)


def setup(app: web.Application) -> None:
    app.router.add_get("/guest/{token}", guest_page, name="guest-page")
    app.router.add_static("/static/guest/", HERE / "static" / "guest", name="static-guest")
