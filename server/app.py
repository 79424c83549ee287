"""The application factory: :func:`create_app` builds one whole Lapak service."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable

from aiohttp import web

import agent_console.web
import kiosk_client.web
from signaling.access import Access
from signaling.board import BoardPublisher
from signaling.hub import Hub
from signaling.namespaces import AgentNamespace, GuestNamespace, KioskNamespace, OfficerNamespace, SupervisorNamespace
from signaling.selfservice import SelfService, Settings as SelfServiceSettings
from signaling.server import SignalingServer
from signaling.tasks import Tasks

from . import appkeys, guest_page, pages, reports, routes, security_routes, selfservice_routes, static_routes
from .audit import refused_event
from .auth import SocketAuthenticator
from .config import Config
from .headers import security_headers
from .monitoring import MonitoringLog
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
    guest_page.setup,
)


def build_router(config: Config):
    """The media router for this config: in-process, or a pool of worker processes."""
    if config.media_workers > 0:
        from .media.workers import WorkerPool

        return WorkerPool(config.media_workers, ice_addresses=config.ice_addresses, router=config.media_router)
    from .media.router import load_router_class

    return load_router_class(config.media_router)(ice_addresses=config.ice_addresses)


def create_app(config: Config) -> web.Application:
    """Build the aiohttp application: pages, socket.io signaling, hub, storage, router."""
    app = web.Application(client_max_size=config.max_message_bytes, middlewares=[security_headers])
    app[appkeys.CONFIG] = config
    storage = Storage(config.database_path, clock=config.clock)
    router = build_router(config)
    sio = SignalingServer(
        async_mode="aiohttp",
        max_event_bytes=config.max_event_bytes,
        cors_allowed_origins=[],
        logger=False,
    )
    sio.attach(app)
    app[appkeys.SIGNALING] = sio
    tasks = Tasks("hub")
    hub = Hub(config, storage, router, sio.emit, tasks=tasks)
    hub.spans = MonitoringLog(storage.db)  # supervisors' monitoring spans (issue 14)
    router.on_event = hub.on_media_event
    selfservice = SelfService(
        hub,
        SelfServiceStore(storage.db, clock=config.clock),
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
    for namespace in namespaces:
        sio.register_namespace(namespace)
    # Revoked booths, disabled accounts, one socket per device (signaling/access.py).
    app[appkeys.ACCESS] = access = Access(hub, sio, config, namespaces)
    access.setup(app)
    app[appkeys.HUB] = hub

    async def health(request: web.Request) -> web.Response:
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

    async def start(app: web.Application) -> None:
        if hasattr(router, "start"):
            await router.start()
        await hub.restore()
        await selfservice.start()

    async def stop(app: web.Application) -> None:
        await selfservice.close()
        hub.close()
        await router.close()
        storage.close()

    app.on_startup.append(start)
    app.on_cleanup.append(stop)
    return app
