"""What each screen was last told, so that no screen is told the same thing twice in a row.

The notifier (:mod:`signaling.notifier`) recomputes a screen's view (a booth's
``session.state``, an agent's ``room.state``) after each change near it; many
of those changes do not change what that screen shows. :class:`LastTold`
remembers the last view sent to each screen (namespace and screen room, e.g.
``kiosk:<id>``) per event, and lets the notifier send a view only when it differs. A client can therefore act on each
``session.state`` it receives (docs/protocol.md, "When a booth offers"). A
new connection to a screen forgets what it was told, so it is always told its
current state. With several nodes, a screen is told by the node holding its
socket only (:mod:`signaling.notifier`), so what is remembered of it is
exactly what it was sent.
"""

from __future__ import annotations


class LastTold:
    """The last payload of each event sent to each connected screen."""

    def __init__(self) -> None:
        self._last: dict[tuple[str, str], dict[str, dict]] = {}

    def is_news(self, namespace: str, screen: str, event: str, view: dict) -> bool:
        """True (and remembered) if ``view`` differs from what this screen was last sent for ``event``."""
        told = self._last.setdefault((namespace, screen), {})
        if told.get(event) == view:
            return False
        told[event] = view
        return True

    def last(self, namespace: str, screen: str, event: str) -> dict | None:
        """What this screen was last sent for ``event`` (None: nothing since it connected)."""
        return self._last.get((namespace, screen), {}).get(event)

    def forget(self, namespace: str, screen: str) -> None:
        """The connection is gone: a later one with the same id starts afresh."""
        self._last.pop((namespace, screen), None)

    def __len__(self) -> int:
        return len(self._last)
