"""Access that ends: a revoked booth, a disabled staff account, a device that connects twice.

Credentials are checked when a socket connects (:mod:`server.auth`); this
module ends access that was valid then and is not any more:

- **A booth is revoked** (admin page, or ``lapak admin revoke-kiosk`` in
  another process): every live socket of the booth is closed without
  another word, then its open session ends (``cancelled``, or ``failed`` if
  it was active) with the reason ``kiosk_revoked``; its agent is told
  (``session.ended``).
- **A member at home's status link is revoked** (a supervisor,
  ``POST /api/online/claims/{ref}/revoke``): the phone is told
  ``access.ended {"reason": "link_revoked"}`` and closed, and its interview
  ends as a revoked booth's (reason ``link_revoked``, its agent told). Every
  event from a phone re-checks its link, so a revocation by another node
  ends it at its next event.
- **A staff account is disabled**: its sockets on every namespace are told
  ``access.ended {"reason": "account_disabled"}`` and closed; an agent's
  members go back to the front of their queues at once (reason
  ``agent_disabled``), as when an agent does not come back.
- **One socket per booth, one console per agent**: a new connection with
  the same credentials replaces the older one, which is told
  ``access.ended {"reason": "replaced"}`` and closed; a booth's replacement
  is shown to its branch's officers (``booth.replaced``).

The server learns of another process's changes two ways: every event from
a booth or a staff account re-checks that it is still valid (one indexed
read of the records), and a watcher reads the records' counters
(``Storage.versions``: ``access``, bumped whenever a booth is revoked or an
account disabled, by any process or node; ``directory``, when a branch or a
booth is added or revoked) every ``Config.access_check_seconds``. When
``access`` moved it compares every live socket and open session with the
database; when ``directory`` moved the hub reads its branches' booths and
names again (signaling/hub/directory.py). Each ending
is stored in the access log (:mod:`server.access_log`).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import time
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

import socketio
from aiohttp import web

from signaling.core.errors import RecordsUnavailable
from signaling.core.vocabulary import HOME_BRANCH, AgentIdentity, KioskIdentity, StaffIdentity

if TYPE_CHECKING:  # pragma: no cover
    from .hub import Hub
    from .ports import Settings
    from .namespaces import RoleNamespace

logger = logging.getLogger(__name__)

Socket = tuple["RoleNamespace", str, Any]


def username_of(identity: Any) -> str | None:
    """The staff account behind a socket's identity (None for booths and configured agent tokens)."""
    if isinstance(identity, (StaffIdentity, AgentIdentity)):
        return identity.username
    return None


def device_of(identity: Any) -> str | None:
    """What may hold only one live socket: a booth, or an agent's console."""
    if isinstance(identity, KioskIdentity):
        return f"kiosk:{identity.kiosk_id}"
    if isinstance(identity, AgentIdentity):
        return f"agent:{identity.agent_id}"
    return None


class Access:
    """Ends live access that is no longer granted, and keeps one socket per device."""

    def __init__(self, hub: "Hub", sio: socketio.AsyncServer, config: "Settings", namespaces: Iterable["RoleNamespace"]) -> None:
        self.hub = hub
        #: The records database failed at the last poll (logged once per outage).
        self._records_lost = False
        self.sio = sio
        self.config = config
        self.namespaces = list(namespaces)
        for namespace in self.namespaces:
            namespace.access = self
        self._order: dict[tuple[str, str], int] = {}  # (namespace, sid) -> admission number
        self._counter = itertools.count()
        self._task: asyncio.Task | None = None
        self._versions: dict[str, int] | None = None
        #: Is a member at home's status link still good? (the online door's check; None: no online door)
        self.home_valid: Callable[[KioskIdentity], bool] | None = None

    @property
    def accounts(self):
        return self.hub.storage.accounts

    def sockets(self, match: Callable[[Any], bool]) -> list[Socket]:
        return [(ns, sid, i) for ns in self.namespaces for sid, i in list(ns.identities.items()) if match(i)]

    # -- checks on every event -----------------------------------------------------

    def still_valid(self, identity: Any) -> bool:
        """Is this socket's identity still granted? (One indexed read for booths, phones and accounts.)"""
        if isinstance(identity, KioskIdentity) and identity.branch == HOME_BRANCH:
            return self.home_valid is None or self.home_valid(identity)
        if isinstance(identity, KioskIdentity):
            return not self.accounts.revoked_kiosks([identity.kiosk_id])
        username = username_of(identity)
        return username is None or not self.accounts.disabled_users([username])

    async def refuse(self, identity: Any) -> None:
        """An event came from an identity that is no longer valid: end its access everywhere."""
        if isinstance(identity, KioskIdentity) and identity.branch == HOME_BRANCH:
            await self.link_revoked(identity, "server")
        elif isinstance(identity, KioskIdentity):
            await self.kiosk_revoked(identity, "server")
        else:
            username = username_of(identity)
            if username is not None:
                await self.user_disabled(username, "server")

    # -- one socket per device -----------------------------------------------------

    async def admit(self, namespace: "RoleNamespace", sid: str, identity: Any) -> None:
        """A new socket of a booth or agent console replaces the ones admitted before it."""
        self._order[(namespace.namespace, sid)] = mine = next(self._counter)
        device = device_of(identity)
        if device is None:
            return
        older = [
            (ns, s, i)
            for ns, s, i in self.sockets(lambda i: device_of(i) == device)
            if self._order.get((ns.namespace, s), -1) < mine
        ]
        if not older:
            return
        for ns, s, _ in older:
            await self._close(ns, s, "replaced", tell=True, transport=False)
        self.accounts.access_log.record(device, "replaced", device, len(older), detail="a newer connection took over")
        if isinstance(identity, KioskIdentity):
            notice = {"kiosk_id": identity.kiosk_id, "booth": identity.booth, "at": time.time()}
            await self.hub.emit("booth.replaced", notice, to=f"branch:{identity.branch}", namespace="/officer")

    def forget(self, namespace: "RoleNamespace", sid: str) -> None:
        self._order.pop((namespace.namespace, sid), None)

    # -- endings ---------------------------------------------------------------------

    async def kiosk_revoked(self, kiosk: KioskIdentity, actor: str) -> None:
        """Close every socket of the booth (telling it nothing), then end its session."""
        live = self.sockets(lambda i: isinstance(i, KioskIdentity) and i.kiosk_id == kiosk.kiosk_id)
        for ns, sid, _ in live:
            await self._close(ns, sid, "kiosk_revoked", tell=False, transport=True)
        self.hub.directory.forget()  # the branch's board lists the booth no more
        await self.hub.end_kiosk_access(kiosk, actor, "kiosk_revoked")
        self.accounts.access_log.record(f"kiosk:{kiosk.kiosk_id}", "kiosk_revoked", actor, len(live))

    async def link_revoked(self, phone: KioskIdentity, actor: str) -> None:
        """A member at home whose status link was revoked: the phone is told why and closed, its session ends."""
        live = self.sockets(lambda i: isinstance(i, KioskIdentity) and i.kiosk_id == phone.kiosk_id)
        for ns, sid, _ in live:
            await self._close(ns, sid, "link_revoked", tell=True, transport=True)
        await self.hub.end_kiosk_access(phone, actor, "link_revoked")
        self.accounts.access_log.record(f"kiosk:{phone.kiosk_id}", "link_revoked", actor, len(live))

    async def user_disabled(self, username: str, actor: str) -> None:
        """Close every socket of the account (telling it why); an agent's members go back to their queues."""
        live = self.sockets(lambda i: username_of(i) == username)
        for ns, sid, _ in live:
            await self._close(ns, sid, "account_disabled", tell=True, transport=True)
        agents = {i.agent_id for _, _, i in live if isinstance(i, AgentIdentity)}
        agents |= {a.agent_id for a in self.hub.state.agents() if a.identity.username == username}
        for agent_id in sorted(agents):
            await self.hub.end_agent_access(agent_id, "agent_disabled")
        self.accounts.access_log.record(f"user:{username}", "account_disabled", actor, len(live))

    async def _close(self, ns: "RoleNamespace", sid: str, reason: str, *, tell: bool, transport: bool) -> None:
        eio_sid = self.sio.manager.eio_sid_from_sid(sid, ns.namespace)
        if tell:
            await ns.emit("access.ended", {"reason": reason}, to=sid)
        await ns.disconnect(sid)
        if transport and eio_sid is not None:
            await self.sio.eio.disconnect(eio_sid)

    # -- noticing another process's changes ------------------------------------------

    async def sweep(self) -> None:
        """Compare every live socket and open session with the database; end what is no longer granted."""
        kiosks = {i.kiosk_id: i for _, _, i in self.sockets(lambda i: isinstance(i, KioskIdentity))}
        for session in self.hub.state.sessions():
            if not session.ended and session.kiosk_id not in kiosks:
                kiosks[session.kiosk_id] = KioskIdentity(session.kiosk_id, branch=session.branch, booth=session.booth)
        for kiosk_id in sorted(self.accounts.revoked_kiosks(kiosks)):
            await self.kiosk_revoked(kiosks[kiosk_id], "server")
        users = {username_of(i) for _, _, i in self.sockets(lambda i: username_of(i) is not None)}
        users |= {a.identity.username for a in self.hub.state.agents() if a.identity.username and a.sessions}
        for username in sorted(self.accounts.disabled_users(u for u in users if u)):
            await self.user_disabled(username, "server")

    def _read_versions(self) -> dict[str, int]:
        return self.hub.storage.versions()

    async def _watch(self) -> None:
        """Sweep whenever another connection (``lapak admin``, another process) has written to the database."""
        while True:
            await asyncio.sleep(self.config.access_check_seconds)
            try:
                versions = self._read_versions()
                seen, self._versions = self._versions or versions, versions
                if versions["directory"] != seen["directory"]:
                    self.hub.directory.forget()  # a branch or booth was added or revoked: boards read them again
                if versions["access"] != seen["access"]:
                    await self.sweep()
            except RecordsUnavailable as exc:
                if not self._records_lost:  # once per outage, not every poll
                    logger.error("records unavailable: taking no new sessions until they are back (%s)", exc)
                    self._records_lost = True
                await self.hub.records_unavailable()
                continue
            except Exception:
                logger.exception("checking for revoked booths and disabled accounts failed")
                continue
            if self._records_lost:
                logger.warning("records reachable again: taking sessions")
                self._records_lost = False
            await self.hub.set_accepting(True, "records_unavailable")

    def setup(self, app: web.Application) -> None:
        """Run the watcher while the app runs (on the hub's tasks, so it is also cancelled if shutdown skips this)."""

        async def start(app: web.Application) -> None:
            self._versions = self._read_versions()
            self._task = self.hub.tasks.spawn(self._watch(), name="access watch")

        async def stop(app: web.Application) -> None:
            if self._task is not None:
                self._task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await self._task
                self._task = None

        app.on_startup.append(start)
        app.on_shutdown.append(stop)
