"""What one load-generator process holds: its clips, its pump, its rooms, and what they measured."""

from __future__ import annotations

import asyncio
from typing import Protocol

from signaling.tasks import Tasks

from .media import Clips
from .rtp import Pump


class Room(Protocol):
    """One agent and six members under load (:mod:`bench.lapak_room`, :mod:`bench.janus_room`)."""

    async def start(self) -> dict: ...

    def add_counts(self, out: dict) -> None: ...

    async def close(self) -> None: ...


class Generator:
    """All rooms of this process, the one pump that sends for them, and their latency samples."""

    def __init__(self, clips: Clips, ice: list[str] | None) -> None:
        self.clips = clips
        self.ice = ice
        self.pump = Pump()
        #: Every background task of this process's clients (connection waits, focus switching).
        self.tasks = Tasks("load generator")
        self.rooms: dict[int, Room] = {}
        self.session_start: list[float] = []
        self.focus_audio: list[float] = []
        self.focus_audio_payload: list[float] = []
        self.first_frame: list[float] = []
        self.focus_events: list[dict] = []
        self.decoded = 0
        self.decode_errors = 0
        self.wrong_pattern = 0
        self._closed = False

    def snapshot(self) -> dict:
        out = {
            "video_sent": 0, "video_packets_sent": 0, "audio_sent": 0, "audio_packets_sent": 0,
            "video_delivered": 0, "video_packets_delivered": 0, "audio_delivered": 0,
            "hold_delivered": 0, "kiosk_audio": 0, "kiosk_agent_audio": 0, "tile_frames": [], "kiosk_video_frames": [],
            "keyframe_requests": 0, "rooms": len(self.rooms), "pump_errors": self.pump.errors,
        }
        for room in self.rooms.values():
            room.add_counts(out)
        out["decoded"] = self.decoded
        out["decode_errors"] = self.decode_errors
        out["wrong_pattern"] = self.wrong_pattern
        return out

    def latencies(self, clear: bool) -> dict:
        """The latency samples so far; with ``clear``, hand them over and start new lists (one set per step)."""
        result = {
            "session_start": self.session_start, "focus_audio": self.focus_audio,
            "focus_audio_payload": self.focus_audio_payload, "first_frame": self.first_frame,
            "focus_events": self.focus_events,
        }
        if clear:
            self.session_start, self.focus_audio, self.focus_audio_payload = [], [], []
            self.first_frame, self.focus_events = [], []
        return result

    async def close(self) -> None:
        """Close every room, then the clients' tasks and the pump (a second call does nothing)."""
        if self._closed:
            return
        self._closed = True
        # One room failing to close must not keep the others open.
        await asyncio.gather(*(r.close() for r in self.rooms.values()), return_exceptions=True)
        await self.tasks.close()
        await self.pump.close()
