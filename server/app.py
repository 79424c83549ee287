"""The application factory: :func:`create_app` builds one whole Lapak service."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable

from aiohttp import web

import agent_console.validate_web
import agent_console.web
import kiosk_client.claim_web
import kiosk_client.web
from signaling.access import Access
from signaling.board import BoardPublisher
from signaling.hub import Hub
from signaling.namespaces import AgentNamespace, GuestNamespace, KioskNamespace, OfficerNamespace, SupervisorNamespace
from signaling.overload import LoopLag, OverloadWatch
from signaling.selfservice import SelfService, Settings as SelfServiceSettings
from signaling.server import SignalingServer
from signaling.state.memory import MemoryState
from signaling.tasks import Tasks

from . import (
    appkeys, guest_page, online_routes, online_staff_routes, pages, reports, routes, security_routes, selfservice_routes,
    static_routes,
)
from .audit import refused_event
from .auth import SocketAuthenticator
from .config import Config
from .headers import security_headers
from .monitoring import MonitoringLog
from .online import build_online
from .selfservice_store import SelfServiceStore
from .storage import Storage

logger = logging.getLogger(__name__)

#: Every module that adds pages or routes to the app, in order; each is imported, so a missing one is an error.
PAGE_SETUPS: tuple[Callable[[web.Application], None], ...] = (
    static_routes.setup,
    routes.setup,
    reports.setup,
    pages.setup,
    kiosk_client.web.setup,
    agent_console.web.setup,
    selfservice_routes.setup,
    security_routes.setup,
    online_routes.setup,
    online_staff_routes.setup,
    kiosk_client.claim_web.setup,
    agent_console.validate_web.setup,
    guest_page.setup,
)


def build_router(config: Config):
    """The media router for this config: in-process, or a pool of worker processes."""
    from .media.network import MediaNetwork

    network = MediaNetwork(ports=config.rtc_ports, announce=tuple(config.announce_addresses))
    if config.media_workers > 0:
        from .media.workers import WorkerPool

        return WorkerPool(
            config.media_workers, ice_addresses=config.ice_addresses, router=config.media_router, network=network
        )
    from .media.router import load_router_class

    return load_router_class(config.media_router)(ice_addresses=config.ice_addresses, network=network)


def build_state(config: Config):
    """The hub's live state: in memory (one node), or in Redis shared by several nodes.

    Redis unreachable raises :class:`~signaling.state.redis_state.StateUnavailable`
    naming it and its address (``lapak serve`` prints it and exits non-zero).
    """
    if config.redis_url is None:
        return MemoryState(), None
    from signaling.fanout import FanoutManager
    from signaling.state.redis_state import RedisState

    state = RedisState(config.redis_url, node=config.node_id)
    return state, FanoutManager(config.redis_url)


def create_app(config: Config) -> web.Application:
    """Build the aiohttp application: pages, socket.io signaling, hub, storage, router."""
    app = web.Application(client_max_size=config.max_message_bytes, middlewares=[security_headers])
    app[appkeys.CONFIG] = config
    storage = Storage(config.database_target, clock=config.clock)
    state, fanout = build_state(config)
    router = build_router(config)
    cluster = None
    if config.redis_url is not None:  # several nodes: each room on one node (server/cluster.py)
        from .cluster import build_cluster

        cluster = build_cluster(config, state, router)
        router = cluster.router
    sio = SignalingServer(
        async_mode="aiohttp",
        max_event_bytes=config.max_event_bytes,
        cors_allowed_origins=[],
        logger=False,
        **({"client_manager": fanout} if fanout is not None else {}),
    )
    sio.attach(app)
    app[appkeys.SIGNALING] = sio
    tasks = Tasks("hub")
    hub = Hub(config, storage, router, sio.emit, tasks=tasks, state=state, node=config.node_id)
    if fanout is not None:
        hub.notifier.elsewhere = fanout  # screens whose sockets are on other nodes: asked, not told from here
        fanout.asked = hub.notifier.asked
    hub.spans = MonitoringLog(storage.database)  # supervisors' monitoring spans (issue 14)
    router.on_event = hub.on_media_event
    selfservice = SelfService(
        hub,
        SelfServiceStore(storage.database, clock=config.clock),
        SelfServiceSettings(data_dir=config.data_dir, retention_days=config.retention_days, clock=config.clock),
    )
    app[appkeys.SELFSERVICE] = selfservice
    board = BoardPublisher(hub)
    ports = {"authenticator": SocketAuthenticator(config, storage.accounts), "audit": refused_event}
    namespaces = [
        KioskNamespace("/kiosk", hub, config, selfservice, **ports),
        AgentNamespace("/agent", hub, config, selfservice, **ports),
        OfficerNamespace("/officer", hub, config, **ports),
        SupervisorNamespace("/supervisor", hub, config, board, **ports),
        GuestNamespace("/guest", hub, config, **ports),
    ]
    # The online door: members at home (docs/online-claims.md); phones join /kiosk with their status link.
    online = build_online(app, config, storage, hub, namespaces[0])
    online.claims.listeners.append(lambda claim: board.poke())  # the online channel's counts on the board, live
    for namespace in namespaces:
        sio.register_namespace(namespace)
    # Revoked booths, disabled accounts, one socket per device (signaling/access.py).
    app[appkeys.ACCESS] = access = Access(hub, sio, config, namespaces)
    access.setup(app)
    access.home_valid = online.door.still_valid  # a revoked status link ends its phone's access too
    app[appkeys.HUB] = hub
    if cluster is not None:
        cluster.watch_hub(hub, config)
        app[appkeys.CLUSTER] = cluster

    async def health(request: web.Request) -> web.Response:
        if cluster is not None:
            return cluster.health()
        return web.json_response({"ok": True})

    app.router.add_get("/healthz", health)

    for setup in PAGE_SETUPS:
        setup(app)

    async def owned_tasks(app: web.Application) -> AsyncIterator[None]:
        """The hub's background tasks (grace timers, media events, board updates) end with the app."""
        yield
        board.close()
        await tasks.close()

    app.cleanup_ctx.append(owned_tasks)

    if config.busy_lag > 0:  # a node far behind starts no new session (signaling/overload.py)
        app[appkeys.OVERLOAD] = OverloadWatch(
            LoopLag(config.busy_lag), lambda busy: hub.set_accepting(not busy, "overloaded")
        )

    async def start(app: web.Application) -> None:
        if appkeys.OVERLOAD in app:
            tasks.spawn(app[appkeys.OVERLOAD].run(), name="overload watch")
        if hasattr(router, "start"):
            await router.start()
        await hub.restore()
        if cluster is not None:
            await cluster.start()
        await selfservice.start()
        online.start()

    async def stop(app: web.Application) -> None:
        await selfservice.close()
        await online.close()
        if cluster is not None:
            await cluster.stop()
        hub.close()
        await router.close()
        if fanout is not None:
            await fanout.close()
        if hasattr(state, "close"):
            state.close()
        storage.close()

    app.on_startup.append(start)
    app.on_cleanup.append(stop)
    return app
