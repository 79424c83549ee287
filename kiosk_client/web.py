"""The kiosk page: what a member sees and touches in a booth.

``setup(app)`` adds ``GET /kiosk`` (the page) and ``/static/kiosk/`` (its
JavaScript and CSS). The page authenticates with the kiosk token from the
query string (``?token=...``, until devices are provisioned) and starts in
the language of ``?lang=id|en`` (Indonesian by default). Every language's
catalogue is rendered into the page, so the member can switch language
without a reload.
"""

from __future__ import annotations

from pathlib import Path

import jinja2
from aiohttp import web

from server.appkeys import CONFIG, HUB
from server.auth import kiosk_identity
from signaling.core.vocabulary import SERVICES
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


async def kiosk_page(request: web.Request) -> web.Response:
    token = request.query.get("token", "")[:256]
    lang = normalise(request.query.get("lang"))
    config = request.app.get(CONFIG)
    hub = request.app.get(HUB)
    identity = kiosk_identity(config, hub.storage.accounts, {"token": token}) if config and hub else None
    texts = catalogues()
    html = _env.get_template("kiosk.html").render(
        lang=lang,
        t=texts[lang],
        i18n={"catalogues": texts, "lang": lang, "default": DEFAULT_LANGUAGE},
        boot={
            "token": token,
            "lang": lang,
            "services": list(SERVICES),
            "forms": all_schemas(),
            "kiosk": (
                {"kiosk_id": identity.kiosk_id, "branch": identity.branch, "booth": identity.booth}
                if identity
                else None
            ),
        },
        identity=identity,
        services=SERVICES,
        self_start=config.kiosk_self_start if config is not None else False,
    )
    return web.Response(
        text=html,
        content_type="text/html",
        headers={"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"},
    )


def setup(app: web.Application) -> None:
    app.router.add_get("/kiosk", kiosk_page, name="kiosk-page")
    app.router.add_static("/static/kiosk/", HERE / "static", name="static-kiosk")
