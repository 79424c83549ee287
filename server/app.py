"""The application factory: :func:`create_app` builds one whole Lapak service."""

from __future__ import annotations

import importlib
import logging

from aiohttp import web

from signaling.access import Access
from signaling.hub import Hub
from signaling.board import BoardPublisher
from signaling.selfservice import SelfService, Settings as SelfServiceSettings
from signaling.server import SignalingServer
from signaling.namespaces import AgentNamespace, KioskNamespace, OfficerNamespace, SupervisorNamespace

from . import appkeys
from .config import Config
from .headers import security_headers
from .selfservice_store import SelfServiceStore
from .storage import Storage

logger = logging.getLogger(__name__)

#: Modules that add pages to the app, each with ``setup(app)``; a missing one is skipped.
PAGE_MODULES = (
    "server.static_routes", "server.routes", "server.reports", "server.pages", "kiosk_client.web", "agent_console.web",
    "server.selfservice_routes", "server.security_routes",
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
    hub = Hub(config, storage, router, sio.emit)
    router.on_event = hub.on_media_event
    selfservice = SelfService(
        hub,
        SelfServiceStore(storage.db, clock=config.clock),
        SelfServiceSettings(data_dir=config.data_dir, retention_days=config.retention_days, clock=config.clock),
    )
    app[appkeys.SELFSERVICE] = selfservice
    board = BoardPublisher(hub)
    namespaces = [
        KioskNamespace("/kiosk", hub, config, selfservice),
        AgentNamespace("/agent", hub, config, selfservice),
        OfficerNamespace("/officer", hub, config),
        SupervisorNamespace("/supervisor", hub, config, board),
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

    for name in PAGE_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
            continue
        module.setup(app)

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
