"""Shared fixtures: a real Lapak server on a free loopback port, and its credentials.

Every server runs on an injected clock (:data:`TEST_TIME`, a Monday morning
in WIB), never on the machine's clock, date or time zone. The suite's
hygiene (processes reaped, the checkout left as it was, screenshots in a
temporary folder) is the ``hygiene`` plugin (tests/hygiene.py).

Browser tests launch Debian's Chromium with :data:`CHROMIUM_ARGS`; note
``--allow-loopback-in-peer-connection``: the media router offers only
127.0.0.1 as ICE candidate in tests, and Chromium ignores loopback unless
told otherwise.
"""

from __future__ import annotations

import logging
import socket
from dataclasses import dataclass, field
from pathlib import Path

import hypothesis  # noqa: F401  - imported early: a late import crashed CPython 3.11.7 at exit
import pytest
from aiohttp import web

from server.app import create_app
from server.config import Config
from signaling.core.vocabulary import AgentIdentity, KioskIdentity
from signaling.core.daytime import RunningClock

from browser.harness import TEST_TIME  # one test time for every server (see harness.py)
from pg_engine import pg_url, postgres, records_target  # noqa: F401  - fixtures: a real PostgreSQL

pytest_plugins = ["hygiene"]


CHROMIUM = "/usr/lib/chromium/chromium"
CHROMIUM_ARGS = [
    "--use-fake-ui-for-media-stream",
    "--use-fake-device-for-media-stream",
    "--allow-loopback-in-peer-connection",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--no-sandbox",
    "--disable-gpu",
    "--autoplay-policy=no-user-gesture-required",
]

#: Tone of each kiosk (index 1..6) and of the agent, far from the hold melody.
KIOSK_TONES = {1: 600.0, 2: 750.0, 3: 900.0, 4: 1050.0, 5: 1200.0, 6: 1350.0, 7: 1500.0}
AGENT_TONE = 450.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def make_config(data_dir: Path, kiosks: int = 7, agents: int = 2, **overrides) -> Config:
    """Seven booths and two agents on loopback, at :data:`TEST_TIME` (pass ``clock=`` for another)."""
    overrides.setdefault("clock", RunningClock(TEST_TIME))
    overrides.setdefault("busy_lag", 0.0)  # a loaded test machine must not refuse sessions (tests/test_overload.py turns it on)
    overrides.setdefault("kiosk_tokens", {
        f"kiosk-token-{i}": KioskIdentity(f"kiosk-{i}", branch="Jakarta Pusat", booth=i) for i in range(1, kiosks + 1)
    })
    return Config(
        data_dir=data_dir,
        agent_tokens={
            f"agent-token-{i}": AgentIdentity(f"agent-{i}", name=f"Agen {i}") for i in range(1, agents + 1)
        },
        ice_addresses=["127.0.0.1"],
        **overrides,
    )


@dataclass
class RunningServer:
    url: str
    app: web.Application
    config: Config
    runner: web.AppRunner
    extra: dict = field(default_factory=dict)

    @property
    def hub(self):
        from server import appkeys

        return self.app[appkeys.HUB]


#: ``--state redis``: the Redis every test server keeps its live state in (started once per run).
SHARED_STATE: dict = {}


async def start_server(config: Config) -> RunningServer:
    if SHARED_STATE.get("engine") is not None and config.redis_url is None:
        config.redis_url = SHARED_STATE["engine"].url
    port = free_port()
    config.port = port
    app = create_app(config)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", port)
    await site.start()
    return RunningServer(f"http://127.0.0.1:{port}", app, config, runner)


@pytest.fixture
async def server(tmp_path, request):
    """A running Lapak service on loopback, media router in-process."""
    marker = request.node.get_closest_marker("config")
    overrides = marker.kwargs if marker else {}
    srv = await start_server(make_config(tmp_path, **overrides))
    yield srv
    await srv.runner.cleanup()


def pytest_addoption(parser):
    parser.addoption(
        "--state", choices=["memory", "redis"], default="memory",
        help="where test servers keep their live state: in memory (default) or in a real Redis "
        "(started by the harness, emptied before each test): runs hub-level tests against both",
    )


def pytest_sessionstart(session):
    if session.config.getoption("--state") == "redis":
        from redis_engine import RedisEngine

        SHARED_STATE["engine"] = RedisEngine().start()  # before any test: not one test's leftover process


def pytest_sessionfinish(session):
    engine = SHARED_STATE.pop("engine", None)
    if engine is not None:
        engine.stop()


@pytest.fixture(autouse=True)
def _fresh_shared_state():
    """With ``--state redis``, each test starts from an empty Redis."""
    if SHARED_STATE.get("engine") is not None:
        SHARED_STATE["engine"].flush()


def pytest_configure(config):
    config.addinivalue_line("markers", "config(**kw): override Config fields for the server fixture")
    logging.getLogger("aioice").setLevel(logging.WARNING)
