"""Typed keys for what the application factory stores on the aiohttp app."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

from .config import Config

if TYPE_CHECKING:  # pragma: no cover
    from signaling.hub import Hub

CONFIG: web.AppKey[Config] = web.AppKey("config", Config)
HUB: web.AppKey["Hub"] = web.AppKey("hub")
