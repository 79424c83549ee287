"""Wiring of the online door (members at home) into one app: claims, the phone's door, the mailer, the board.

:func:`build_online` is what ``create_app`` calls: it builds the claims
service on the service's database (:class:`server.online_store.OnlineClaimStore`),
the :class:`~signaling.online.door.HomeDoor` that lets phones into ``/kiosk``
with their status link, the :class:`~server.mailer.Mailer` (``--smtp``), and
puts the online channel on the supervisors' board.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path

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


#: The file under the data folder holding the key status links are derived from (created at first start).
LINK_KEY_FILE = "online-link.key"


def link_key(data_dir: Path) -> bytes:
    """The status links' key: ``<data>/online-link.key`` (64 hex digits, mode 0600), created if missing.

    It is kept out of the database on purpose: with the records alone no
    status link can be rebuilt. Nodes that share a database share this file
    too (copy it, as the TLS key), or their mails' links cannot be rebuilt.
    """
    path = Path(data_dir) / LINK_KEY_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        text = path.read_text(encoding="ascii").strip()
        try:
            key = bytes.fromhex(text)
        except ValueError:
            key = b""
        if len(key) < 32:
            raise ValueError(f"{path} does not hold a key of 64 hex digits") from None
        return key
    key = secrets.token_bytes(32)
    with os.fdopen(fd, "w", encoding="ascii") as f:
        f.write(key.hex() + "\n")
    return key


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
                              max_document_bytes=config.max_document_bytes,
                              link_key=link_key(config.data_dir))
    claims = OnlineClaims(OnlineClaimStore(storage.database, clock=config.clock), settings)
    door = HomeDoor(claims, hub, environ_address)
    kiosk_namespace.home = door
    mailer = Mailer(claims.store, config.smtp_url, config.clock, claims.link_token, public_url=config.public_url)
    claims.listeners.append(mailer.queue)
    hub.board_extras["online"] = lambda: online_report(claims)
    app[ONLINE], app[DOOR], app[MAILER] = claims, door, mailer
    return Online(claims, door, mailer)
