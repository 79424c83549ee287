"""Errors that cross layers: raised by one side of a seam, caught by the other.

They live in the pure core so that whoever catches them (the hub, the
namespaces, a worker's wire protocol) needs no import of the side that raises
them: the control process must not load aiortc just to name ``OfferError``.
"""

from __future__ import annotations


class OfferError(ValueError):
    """The offer cannot be answered: unparseable, or not the role's media layout.

    Raised by the media router's ``add_peer``; the hub turns it into the
    ``bad_offer`` error code.
    """


class UnsupportedRouting(ValueError):
    """A routing state the media router cannot carry out (for example a mix for a member).

    Refused whole, before anything changes: the room keeps its previous routing.
    """


class WorkerError(RuntimeError):
    """A media worker failed to carry out a command (or died)."""


#: The errors a media worker sends back by name (``{"error": {"type": ...}}``)
#: and the pool raises again as themselves; any other type becomes
#: :class:`WorkerError`.
BY_NAME: dict[str, type[Exception]] = {"OfferError": OfferError, "UnsupportedRouting": UnsupportedRouting}


class RecordsUnavailable(RuntimeError):
    """The records database (SQLite file or PostgreSQL) could not be read or written.

    Raised by the stores in ``server`` (``server.database.Database``) instead
    of the driver's own error, so that the hub and the namespaces can catch it
    without knowing the engine: the write did not happen, and nothing must be
    acknowledged as if it had. The stores reconnect by themselves when the
    engine is back (pooled connections are checked before use).
    """
