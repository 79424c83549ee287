"""Wiring of the online door (members at home) into one app: claims, the phone's door, the mailer, the board.

:func:`build_online` is what ``create_app`` calls: it builds the claims
service on the service's database (:class:`server.online_store.OnlineClaimStore`),
the :class:`~signaling.online.door.HomeDoor` that lets phones into ``/kiosk``
with their status link, the :class:`~server.mailer.Mailer` (``--smtp``), and
puts the online channel on the supervisors' board.
"""

from __future__ import annotations

from dataclasses import dataclass

from aiohttp import web

from signaling.hub import Hub
from signaling.online import OnlineClaims, OnlineSettings
from signaling.online.door import HomeDoor

from .client_address import environ_address
from .config import Config
from .mailer import Mailer
from .online_report import online_report
from .online_routes import DOOR, MAILER, ONLINE
from .online_store import OnlineClaimStore
from .storage import Storage


@dataclass
class Online:
    claims: OnlineClaims
    door: HomeDoor
    mailer: Mailer

    def start(self) -> None:
        self.mailer.start()

    async def close(self) -> None:
        await self.mailer.close()


def build_online(app: web.Application, config: Config, storage: Storage, hub: Hub, kiosk_namespace) -> Online:
    settings = OnlineSettings(data_dir=config.data_dir, clock=config.clock,
                              interview_capacity=config.interview_capacity,
                              max_document_bytes=config.max_document_bytes)
    claims = OnlineClaims(OnlineClaimStore(storage.database, clock=config.clock), settings)
    door = HomeDoor(claims, hub, environ_address)
    kiosk_namespace.home = door
    mailer = Mailer(claims.store, config.smtp_url, config.clock, public_url=config.public_url)
    claims.listeners.append(mailer.queue)
    hub.board_extras["online"] = lambda: online_report(claims)
    app[ONLINE], app[DOOR], app[MAILER] = claims, door, mailer
    return Online(claims, door, mailer)
