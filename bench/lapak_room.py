"""One Lapak room under load: the project's headless agent and six headless kiosks, media pumped.

The clients are :class:`agent_console.client.HeadlessAgent` and
:class:`kiosk_client.client.HeadlessKiosk`, the same ones tests and ``lapak
kiosk`` / ``lapak agent`` use, given a :class:`bench.pumped.PumpedMedia` so
that they send pre-encoded clips through the pump and count at the RTP level.
This module adds only what the benchmark measures. Latency probes:

- session start: from a kiosk's ``session.request`` to the agent's first
  *decoded* frame of that member on its tile;
- focus switch: from the agent's ``focus.set`` to the first packet of the new
  member's audio at the agent, recognised by its tone (Opus decode + DFT bin);
- first frame: from the same ``focus.set`` to the newly focused kiosk's first
  complete, decoded frame of the agent's video (the PLI round trip).
"""

from __future__ import annotations

import asyncio
import logging
import random
import time

from agent_console.client import HeadlessAgent
from kiosk_client.client import HeadlessKiosk, until
from kiosk_client.synthetic import identify_pattern

from .generator import Generator
from .media import TONES
from .probes import FirstFrame, ToneDetector
from .pumped import PumpedMedia, add_room_counts
from .rtp import Counter

logger = logging.getLogger("bench.lapak_room")

#: A loaded machine answers slowly: wait longer than tests do.
CONNECT_TIMEOUT = 20.0
CALL_TIMEOUT = 60.0


class BenchKiosk:
    """A headless kiosk plus what the benchmark counts of it."""

    def __init__(self, room: "LapakRoom", token: str, pattern: int) -> None:
        gen = room.gen
        self.room = room
        self.pattern = pattern
        self.video = Counter(f"{token[:6]}:video-in", "video")
        self.audio = Counter(f"{token[:6]}:audio-in", "audio")
        self.agent_audio = 0
        self.hold_audio = 0
        self.switched_at = 0.0
        self.first = FirstFrame(self._first_frame)
        agent_payloads = set(gen.clips.audio[0])

        def on_audio(payload: bytes, marker: bool) -> None:
            if payload in agent_payloads:
                self.agent_audio += 1
            else:
                self.hold_audio += 1

        self.audio.on_packet = on_audio
        self.video.on_packet = self.first.feed
        self.media = PumpedMedia(
            token[:6], pattern, gen.clips, gen.pump, gen.tasks,
            counter_for=lambda t, index: self.audio if t.kind == "audio" else self.video,
            initially_routed=lambda kind: kind == "video",  # audio only while focused
        )
        self.client = HeadlessKiosk(room.server, token, pattern=pattern, ice_addresses=gen.ice, media=self.media)
        self.client.connect_timeout = CONNECT_TIMEOUT
        self.client.call_timeout = CALL_TIMEOUT

    @property
    def session_id(self) -> str | None:
        return self.client.session_id

    @property
    def streams(self):
        return self.media.streams

    def _first_frame(self, frame) -> None:
        gen = self.room.gen
        gen.decoded += 1
        gen.first_frame.append(time.monotonic() - self.switched_at)
        if identify_pattern(frame) != 0:
            gen.wrong_pattern += 1


class BenchAgent:
    """A headless agent plus what the benchmark counts of it."""

    def __init__(self, room: "LapakRoom", token: str) -> None:
        gen = room.gen
        self.room = room
        self.tiles = [Counter(f"{token[:6]}:tile{i + 1}", "video") for i in range(6)]
        self.audio = Counter(f"{token[:6]}:audio-in", "audio")
        self.tile_first: list[float | None] = [None] * 6
        self.firsts = [FirstFrame(lambda f, i=i: self._tile_frame(i, f)) for i in range(6)]
        for i, tile in enumerate(self.tiles):
            tile.on_packet = self.firsts[i].feed
            self.firsts[i].arm()
        self.payload_owner = {p: k for k in range(1, 7) for p in gen.clips.audio[k]}
        self.kiosk_audio = 0
        self.tones = ToneDetector()
        self.awaiting: tuple[int, float] | None = None  # (kiosk pattern, since)
        self.awaiting_payload: tuple[int, float] | None = None
        self.audio.on_packet = self._on_audio
        self.media = PumpedMedia(token[:6], 0, gen.clips, gen.pump, gen.tasks, counter_for=self._counter_for)
        self.client = HeadlessAgent(room.server, token, ice_addresses=gen.ice, media=self.media)
        self.client.connect_timeout = CONNECT_TIMEOUT
        self.client.call_timeout = CALL_TIMEOUT

    @property
    def streams(self):
        return self.media.streams

    def _counter_for(self, t, index: int) -> Counter | None:
        if t.kind == "audio":
            return self.audio
        return self.tiles[index - 2] if index >= 2 else None

    def _tile_frame(self, index: int, frame) -> None:
        gen = self.room.gen
        gen.decoded += 1
        self.tile_first[index] = time.monotonic()
        tile = (self.client.room or {}).get("tiles", [None] * 6)[index]
        kiosk = self.room.kiosk_by_session(tile["session_id"]) if tile else None
        if kiosk is not None:
            gen.session_start.append(self.tile_first[index] - kiosk.client.requested_at)
            if identify_pattern(frame) != kiosk.pattern:
                gen.wrong_pattern += 1

    def _on_audio(self, payload: bytes, marker: bool) -> None:
        owner = self.payload_owner.get(payload)
        if owner is not None:
            self.kiosk_audio += 1
        if self.awaiting is None and self.awaiting_payload is None:
            return
        gen = self.room.gen
        now = time.monotonic()
        if self.awaiting_payload is not None and owner == self.awaiting_payload[0]:
            gen.focus_audio_payload.append(now - self.awaiting_payload[1])
            self.awaiting_payload = None
        if self.awaiting is not None:
            pattern, since = self.awaiting
            levels = self.tones.levels(payload)
            if levels:
                want = levels[TONES[pattern]]
                others = max(v for f, v in levels.items() if f != TONES[pattern])
                if want > 0.05 and want > 2 * others:
                    gen.focus_audio.append(now - since)
                    self.awaiting = None
            if self.awaiting is not None and now - since > 3:
                self.awaiting = None  # give up: counted as missing


class LapakRoom:
    """One agent and six kiosks, speaking to a Lapak server."""

    def __init__(self, gen: Generator, server: str, agent_token: str, kiosk_tokens: list[str], switch: float, room: int) -> None:
        self.gen = gen
        self.room_id = f"a{room}"  # the router's room id: the agent's id
        self.server = server
        self.switch = switch
        self.agent = BenchAgent(self, agent_token)
        self.kiosks = [BenchKiosk(self, t, i + 1) for i, t in enumerate(kiosk_tokens)]
        self.focus_index = 0
        self._switching: asyncio.Task | None = None

    def kiosk_by_session(self, session_id: str) -> BenchKiosk | None:
        for k in self.kiosks:
            if k.session_id == session_id:
                return k
        return None

    async def start(self) -> dict:
        await self.agent.client.connect(media=True)
        await asyncio.gather(*(k.client.connect() for k in self.kiosks))
        await asyncio.gather(*(k.client.request() for k in self.kiosks))
        await until(lambda: all(k.client.state in ("on_hold", "talking") for k in self.kiosks), 90, "six active sessions")
        await until(lambda: all(t is not None for t in self.agent.tile_first), 30, "a decoded frame on every tile")
        await until(lambda: all(len(k.streams) == 2 for k in self.kiosks) and len(self.agent.streams) == 2, 30, "senders")
        await self.focus(0)
        self._switching = self.gen.tasks.spawn(self._switch_forever(), f"room {self.room_id}: focus switching")
        return {"ok": True}

    def kiosk_on_tile(self, index: int) -> BenchKiosk:
        session = self.agent.client.room["tiles"][index]["session_id"]
        kiosk = self.kiosk_by_session(session)
        assert kiosk is not None, f"tile {index + 1} holds no kiosk of this room"
        return kiosk

    async def focus(self, index: int) -> None:
        new = self.kiosk_on_tile(index)
        old = self.kiosk_on_tile(self.focus_index)
        now = time.monotonic()
        audio = new.streams.get("audio")
        if audio:
            if not audio.routed and audio.packets:
                # The router starts a newly focused member with their latest packet
                # (sent up to 20 ms before the switch), so the agent gets one more.
                audio.routed_packets += 1
            audio.routed = True  # counted as routed from before the request
        new.switched_at = now
        new.first.arm()
        self.agent.awaiting = (new.pattern, now)
        self.agent.awaiting_payload = (new.pattern, now)
        self.gen.focus_events.append({"t": now, "room": self.room_id})
        ack = await self.agent.client.focus([new.session_id])
        if not ack.get("ok"):
            raise RuntimeError(f"focus.set refused: {ack}")
        if old is not new and old.streams.get("audio"):
            old.streams["audio"].routed = False  # ...and until the router has applied it
        self.focus_index = index

    async def _switch_forever(self) -> None:
        await asyncio.sleep(random.random() * self.switch)
        while True:
            await asyncio.sleep(self.switch)
            if not self.gen.pump.paused:
                try:
                    await self.focus((self.focus_index + 1) % 6)
                except Exception:
                    logger.exception("focus switch failed")

    def add_counts(self, out: dict) -> None:
        add_room_counts(out, self.agent, self.kiosks)
        for k in self.kiosks:
            out["kiosk_agent_audio"] += k.agent_audio
            out["hold_delivered"] += k.hold_audio

    async def close(self) -> None:
        if self._switching is not None:
            self._switching.cancel()
        await asyncio.gather(*(c.client.close() for c in [self.agent, *self.kiosks]), return_exceptions=True)
        for c in [self.agent, *self.kiosks]:
            c.media.close()
