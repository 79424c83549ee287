"""Building blocks for end-to-end tests: a room of real aiortc peers, and listening."""

from __future__ import annotations

import asyncio
import logging

from agent_console.client import HeadlessAgent
from kiosk_client.client import HeadlessKiosk, until
from kiosk_client.synthetic import AudioProbe

from conftest import AGENT_TONE, KIOSK_TONES

HOLD_NOTES = (523.25, 659.25, 783.99)
ALL_TONES = [AGENT_TONE, *KIOSK_TONES.values(), *HOLD_NOTES]

#: A tone counts as heard above this amplitude (full scale 1.0; sent at 0.3).
HEARD = 0.04
#: ...and as absent below this one.
SILENT = 0.01

SMALL = {"width": 160, "height": 120, "fps": 10}


async def make_agent(url: str, n: int = 1, **options) -> HeadlessAgent:
    agent = HeadlessAgent(url, f"agent-token-{n}", tone_hz=AGENT_TONE, pattern=0, **SMALL, **options)
    await agent.connect()
    return agent


async def make_kiosk(url: str, i: int, service: str = "jht") -> HeadlessKiosk:
    kiosk = HeadlessKiosk(url, f"kiosk-token-{i}", tone_hz=KIOSK_TONES[i], pattern=i, **SMALL)
    await kiosk.connect()
    await kiosk.request(service)
    return kiosk


async def make_room(url: str, n: int) -> tuple[HeadlessAgent, list[HeadlessKiosk]]:
    """An agent and ``n`` kiosks, all connected, everyone on hold."""
    agent = await make_agent(url)
    kiosks = [await make_kiosk(url, i) for i in range(1, n + 1)]
    for k in kiosks:
        await k.wait_state("on_hold", 20)
    await until(lambda: all(t.frames > 0 for t in agent.tiles[:n]), 20, "video on every tile")
    return agent, kiosks


async def close_all(*clients) -> None:
    for c in clients:
        try:
            await c.close()
        except Exception:  # a test may already have killed it
            pass


async def listen(probes: list[AudioProbe], seconds: float = 1.2, settle: float = 0.4) -> list[dict[float, float]]:
    """Let routing settle, then record ``seconds`` of audio on every probe and measure tones."""
    await asyncio.sleep(settle)
    for p in probes:
        p.clear()
    await asyncio.sleep(seconds)
    return [p.levels(ALL_TONES, seconds) for p in probes]


def heard(levels: dict[float, float]) -> set[float]:
    return {f for f, v in levels.items() if v > HEARD}


def kiosk_tones_in(levels: dict[float, float], except_tone: float | None = None) -> dict[float, float]:
    """Kiosk tones above the silence threshold (a privacy leak if any)."""
    return {f: v for f, v in levels.items() if f in KIOSK_TONES.values() and f != except_tone and v > SILENT}


def hold_heard(levels: dict[float, float]) -> bool:
    return max(levels[f] for f in HOLD_NOTES) > HEARD


class DecodeErrors(logging.Handler):
    """Counts aiortc's 'failed to decode' warnings (a frame a peer could not decode)."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.count = 0

    def emit(self, record: logging.LogRecord) -> None:
        if "failed to decode" in record.getMessage():
            self.count += 1
