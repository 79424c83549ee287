"""Static files shared by every page: vendored libraries and common assets.

- ``/static/vendor/`` serves ``server/static/vendor/`` (socket.io client,
  with its licence next to it);
- ``/static/common/`` serves ``server/static/common/`` (shared CSS and the
  small JavaScript modules the kiosk page and the agent console share).
"""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

STATIC_DIR = Path(__file__).resolve().parent / "static"


def setup(app: web.Application) -> None:
    app.router.add_static("/static/vendor/", STATIC_DIR / "vendor", name="static-vendor")
    app.router.add_static("/static/common/", STATIC_DIR / "common", name="static-common")
