"""One measured step and one series of steps: what is counted, and how a window is taken.

A *step* holds ``n`` full rooms; it is measured as: pause every sender, let
the pipes drain, snapshot the counters, resume, read CPU times, wait
``window`` seconds, read CPU times, pause, drain, snapshot. So every frame
counted as sent in a window was either delivered in that window or lost, and
``delivered <= sent`` holds exactly.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from dataclasses import dataclass, field

from .control import LoadGen
from .procs import cpu_seconds, machine_busy, rss_bytes

#: Machine CPU use (fraction of all cores) above which a step is marked saturated.
SATURATED = 0.90


def _sum(snaps: list[dict]) -> dict:
    out: dict = {}
    for s in snaps:
        for k, v in s.items():
            if isinstance(v, list):
                out.setdefault(k, []).extend(v)
            else:
                out[k] = out.get(k, 0) + v
    return out


def _delta(b: dict, a: dict) -> dict:
    out = {}
    for k, v in b.items():
        if isinstance(v, list):
            prev = a.get(k, [])
            out[k] = [x - (prev[i] if i < len(prev) else 0) for i, x in enumerate(v)]
        else:
            out[k] = v - a.get(k, 0)
    return out


@dataclass
class Step:
    rooms: int
    window: float
    server_cores: float
    gen_cores: float
    machine_load: float  # fraction of all cores busy
    rss_mb: float
    video_sent: int
    video_delivered: int
    audio_sent: int
    audio_delivered: int
    packets_forwarded: int
    tile_fps_min: float
    tile_fps_mean: float
    kiosk_fps: float
    kiosk_audio_pps: float  # audio packets per second reaching a room's kiosks (agent or hold)
    keyframe_requests: int
    extra: dict = field(default_factory=dict)

    @property
    def frame_loss(self) -> float:
        return 1 - self.video_delivered / self.video_sent if self.video_sent else 1.0

    @property
    def saturated(self) -> bool:
        return self.machine_load >= SATURATED

    @property
    def cores_per_room(self) -> float:
        return self.server_cores / self.rooms

    @property
    def cores_per_room_full_rate(self) -> float:
        """Server cores per room, scaled to every frame delivered (charges a peer that drops frames)."""
        delivered = self.video_delivered / self.video_sent if self.video_sent else 0
        return self.cores_per_room / delivered if delivered > 0 else float("inf")

    def to_dict(self) -> dict:
        d = {k: v for k, v in self.__dict__.items()}
        d.update(
            frame_loss=self.frame_loss, saturated=self.saturated, cores_per_room=self.cores_per_room,
            cores_per_room_full_rate=self.cores_per_room_full_rate,
            us_per_packet=(self.server_cores * 1e6 / (self.packets_forwarded / self.window)) if self.packets_forwarded else None,
        )
        return d


async def measure_step(
    gens: list[LoadGen], server_pids: list[int], rooms: int, window: float, progress, label: str,
    detail: dict[str, int] | None = None,
) -> Step:
    await asyncio.gather(*(g.call("pause") for g in gens))
    await asyncio.sleep(0.4)
    a = _sum(await asyncio.gather(*(g.call("snapshot") for g in gens)))
    await asyncio.gather(*(g.call("resume") for g in gens))
    gen_pids = [g.pid for g in gens]
    detail = detail or {}
    d0 = {k: cpu_seconds([p]) for k, p in detail.items()}
    c0, g0, m0, t0 = cpu_seconds(server_pids), cpu_seconds(gen_pids), machine_busy(), time.monotonic()
    rss = []
    while time.monotonic() - t0 < window:
        await asyncio.sleep(min(1.0, window - (time.monotonic() - t0)))
        rss.append(rss_bytes(server_pids))
        progress(f"{label}: {rooms} room(s), measuring {time.monotonic() - t0:4.1f}/{window:.0f}s", final=False)
    c1, g1, m1, t1 = cpu_seconds(server_pids), cpu_seconds(gen_pids), machine_busy(), time.monotonic()
    d1 = {k: cpu_seconds([p]) for k, p in detail.items()}
    await asyncio.gather(*(g.call("pause") for g in gens))
    await asyncio.sleep(0.4)
    b = _sum(await asyncio.gather(*(g.call("snapshot") for g in gens)))
    await asyncio.gather(*(g.call("resume") for g in gens))
    d = _delta(b, a)
    wall = t1 - t0
    tiles = [f / wall for f in d["tile_frames"]]
    return Step(
        rooms=rooms, window=wall,
        server_cores=(c1 - c0) / wall, gen_cores=(g1 - g0) / wall,
        machine_load=(m1[0] - m0[0]) / max(1e-9, m1[1] - m0[1]),
        rss_mb=max(rss) / 2**20 if rss else rss_bytes(server_pids) / 2**20,
        video_sent=d["video_sent"], video_delivered=d["video_delivered"],
        audio_sent=d["audio_sent"], audio_delivered=d["audio_delivered"],
        packets_forwarded=d["video_packets_delivered"] + d["audio_delivered"] + d["kiosk_audio"],
        tile_fps_min=min(tiles) if tiles else 0.0, tile_fps_mean=statistics.fmean(tiles) if tiles else 0.0,
        kiosk_fps=sum(d["kiosk_video_frames"]) / wall / max(1, rooms),
        kiosk_audio_pps=d["kiosk_audio"] / wall / max(1, rooms),
        keyframe_requests=d["keyframe_requests"],
        extra={"decode_errors": b.get("decode_errors", 0), "decoded": b.get("decoded", 0),
               "wrong_pattern": b.get("wrong_pattern", 0), "video_packets_sent": d["video_packets_sent"],
               "video_packets_delivered": d["video_packets_delivered"],
               "process_cores": {k: (d1[k] - d0[k]) / wall for k in detail}},
    )


@dataclass
class Series:
    """One peer under test, ramped over several steps."""

    name: str  # "forwarding", "transcoding", "janus"
    workers: int
    steps: list[Step] = field(default_factory=list)
    latencies: dict = field(default_factory=dict)
    router: list[dict] = field(default_factory=list)
    error: str | None = None
    worker_pids: list[int] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {"name": self.name, "workers": self.workers, "steps": [s.to_dict() for s in self.steps],
                "error": self.error}


def percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    v = sorted(values)
    k = (len(v) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(v) - 1)
    return v[lo] + (v[hi] - v[lo]) * (k - lo)


def ms(values: list[float]) -> dict:
    return {
        "n": len(values),
        "p50": None if not values else round(percentile(values, 0.5) * 1000, 2),
        "p95": None if not values else round(percentile(values, 0.95) * 1000, 2),
    }
