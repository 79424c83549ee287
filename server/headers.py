"""Security headers on every response, in one aiohttp middleware.

Every page, API answer, static file and error gets:

- ``Content-Security-Policy`` (:data:`CSP`): scripts, styles, connections
  (socket.io's polling and WebSocket: CSP's ``'self'`` covers ``ws:``/``wss:``
  of the same host) and media only from this origin; images also ``data:``
  (the claim's QR code) and ``blob:`` (document photos the console fetched);
  no inline script and no inline event handler (``onclick=``): pages pass data
  in ``data-*`` attributes or ``<script type="application/json">`` blocks,
  which are never executed; no plugins; no ``<base>``; forms post only here;
  and ``frame-ancestors 'none'``: no site may frame a Lapak page;
- ``X-Content-Type-Options: nosniff`` (an upload is never run as a script or
  page), ``X-Frame-Options: DENY`` (for browsers without ``frame-ancestors``),
  ``Referrer-Policy: no-referrer`` (a kiosk's token in its URL never leaks).

WebRTC needs nothing more: media flows over the peer connection, which CSP
does not govern, and streams are attached with ``srcObject``.
"""

from __future__ import annotations

from aiohttp import web
from aiohttp.typedefs import Handler

CSP = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data: blob:",
        "media-src 'self' blob:",
        "connect-src 'self'",
        "font-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)

HEADERS: dict[str, str] = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
}


def _add(response: web.StreamResponse) -> None:
    if getattr(response, "prepared", False):  # a WebSocket or a stream already sent its headers
        return
    for name, value in HEADERS.items():
        response.headers.setdefault(name, value)


@web.middleware
async def security_headers(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Add :data:`HEADERS` to the answer, whether the handler returns it or raises it."""
    try:
        response = await handler(request)
    except web.HTTPException as exc:
        _add(exc)
        raise
    _add(response)
    return response
