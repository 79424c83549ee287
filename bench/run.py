"""One benchmark run: start the peer under test, ramp rooms, measure each step.

The server (or Janus) runs in its own processes; the load generators
(:mod:`bench.loadgen`) in others. A *step* holds ``n`` full rooms; it is
measured as: pause every sender, let the pipes drain, snapshot the counters,
resume, read CPU times, wait ``window`` seconds, read CPU times, pause, drain,
snapshot. So every frame counted as sent in a window was either delivered in
that window or lost, and ``delivered <= sent`` holds exactly.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import os
import secrets
import signal
import socket
import statistics
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import psutil

from server.lifeline import child_options

from .instrumented import STATS_ENV

PYTHON = sys.executable
REPO = Path(__file__).resolve().parent.parent

#: Machine CPU use (fraction of all cores) above which a step is marked saturated.
SATURATED = 0.90


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Progress:
    """Progress on stderr: one line per event, or an updating line on a terminal."""

    def __init__(self, quiet: bool = False) -> None:
        self.quiet = quiet
        self.tty = sys.stderr.isatty()
        self.started = time.monotonic()

    def __call__(self, message: str, final: bool = True) -> None:
        if self.quiet:
            return
        line = f"[{time.monotonic() - self.started:6.1f}s] {message}"
        if self.tty and not final:
            sys.stderr.write("\r\033[K" + line)
        else:
            sys.stderr.write(("\r\033[K" if self.tty else "") + line + "\n")
        sys.stderr.flush()


# -- processes ------------------------------------------------------------------------


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU seconds of these processes and all their descendants."""
    total = 0.0
    seen = set()
    for pid in pids:
        try:
            proc = psutil.Process(pid)
            procs = [proc] + proc.children(recursive=True)
        except psutil.NoSuchProcess:
            continue
        for p in procs:
            if p.pid in seen:
                continue
            seen.add(p.pid)
            with contextlib.suppress(psutil.NoSuchProcess):
                t = p.cpu_times()
                total += t.user + t.system
    return total


def rss_bytes(pids: list[int]) -> int:
    total = 0
    seen = set()
    for pid in pids:
        try:
            proc = psutil.Process(pid)
            procs = [proc] + proc.children(recursive=True)
        except psutil.NoSuchProcess:
            continue
        for p in procs:
            if p.pid not in seen:
                seen.add(p.pid)
                with contextlib.suppress(psutil.NoSuchProcess):
                    total += p.memory_info().rss
    return total


def machine_busy() -> tuple[float, float]:
    """(busy seconds, total seconds) of the whole machine so far."""
    t = psutil.cpu_times()
    idle = t.idle + getattr(t, "iowait", 0.0)
    total = sum(t)
    return total - idle, total


class LapakServer:
    """``lapak serve`` in its own process (the control process and its media workers)."""

    def __init__(self, workdir: Path, rooms: int, workers: int, router: str | None) -> None:
        self.workdir = workdir
        self.rooms = rooms
        self.workers = workers
        self.router = router
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.stats_dir = workdir / "stats"
        self.proc: asyncio.subprocess.Process | None = None
        self.agents = [f"agent-{r}-{secrets.token_hex(6)}" for r in range(rooms)]
        self.kiosks = [[f"kiosk-{r}-{i}-{secrets.token_hex(6)}" for i in range(1, 7)] for r in range(rooms)]

    async def start(self) -> None:
        self.stats_dir.mkdir(parents=True, exist_ok=True)
        tokens = {
            "kiosks": {
                t: {"kiosk_id": f"k{r}-{i + 1}", "branch": "Bench", "booth": i + 1}
                for r, ks in enumerate(self.kiosks)
                for i, t in enumerate(ks)
            },
            "agents": {t: {"agent_id": f"a{r}", "name": f"Agent {r}", "capacity": 6} for r, t in enumerate(self.agents)},
        }
        token_file = self.workdir / "tokens.json"
        token_file.write_text(json.dumps(tokens))
        cmd = [
            PYTHON, "-m", "server.cli", "serve", "--media-workers", str(self.workers), "--tokens", str(token_file),
            "--port", str(self.port), "--data", str(self.workdir / "data"), "--ice-address", "127.0.0.1",
            "--kiosk-self-start",  # the load generator's booths request their own sessions
        ]
        if self.router:
            cmd += ["--media-router", self.router]
        self.log = open(self.workdir / "server.log", "wb")
        self.proc = await asyncio.create_subprocess_exec(
            *cmd, cwd=str(REPO), stdout=self.log, stderr=asyncio.subprocess.STDOUT,
            env={**os.environ, STATS_ENV: str(self.stats_dir), "PYTHONUNBUFFERED": "1"}, **child_options(),
        )
        deadline = time.monotonic() + 30
        while True:
            if self.proc.returncode is not None:
                raise RuntimeError(f"the server exited: see {self.workdir / 'server.log'}")
            with contextlib.suppress(Exception):
                with urllib.request.urlopen(self.url + "/healthz", timeout=1) as r:
                    if r.status == 200:
                        break
            if time.monotonic() > deadline:
                raise RuntimeError("the server did not start")
            await asyncio.sleep(0.2)
        await asyncio.sleep(0.5)  # let the workers start

    @property
    def pids(self) -> list[int]:
        return [self.proc.pid] if self.proc else []

    def worker_pids(self) -> list[int]:
        with contextlib.suppress(psutil.NoSuchProcess):
            return [c.pid for c in psutil.Process(self.proc.pid).children() if "server.media.worker" in " ".join(c.cmdline())]
        return []

    def room_args(self, r: int) -> dict:
        return {"mode": "lapak", "server": self.url, "agent": self.agents[r], "kiosks": self.kiosks[r], "room": r}

    def router_stats(self) -> list[dict]:
        out = []
        for path in self.stats_dir.glob("worker-*.json"):
            with contextlib.suppress(Exception):
                out.append(json.loads(path.read_text()))
        return out

    async def stop(self) -> None:
        if self.proc and self.proc.returncode is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(self.proc.wait(), 15)
            except asyncio.TimeoutError:
                for pid in [c.pid for c in psutil.Process(self.proc.pid).children(recursive=True)] + [self.proc.pid]:
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(pid, signal.SIGKILL)
                await self.proc.wait()
        if getattr(self, "log", None):
            self.log.close()


class LoadGen:
    """One load-generator process (:mod:`bench.loadgen`)."""

    def __init__(self, index: int, clips: Path, ice: list[str], log: Path) -> None:
        self.index = index
        self.clips = clips
        self.ice = ice
        self.logpath = log
        self.proc: asyncio.subprocess.Process | None = None
        self._ids = itertools.count(1)
        self._pending: dict[int, asyncio.Future] = {}
        self.rooms = 0

    async def start(self) -> None:
        cmd = [PYTHON, "-m", "bench.loadgen", "--clips", str(self.clips)]
        for a in self.ice:
            cmd += ["--ice-address", a]
        self.log = open(self.logpath, "wb")
        self.proc = await asyncio.create_subprocess_exec(
            *cmd, cwd=str(REPO), stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=self.log,
            limit=1 << 24, **child_options(),
        )
        self._reader = asyncio.ensure_future(self._read())

    async def _read(self) -> None:
        while True:
            line = await self.proc.stdout.readline()
            if not line:
                break
            msg = json.loads(line)
            fut = self._pending.pop(msg.get("id"), None)
            if fut is not None and not fut.done():
                fut.set_result(msg)
        for fut in self._pending.values():
            if not fut.done():
                fut.set_exception(RuntimeError(f"load generator {self.index} exited (see {self.logpath})"))

    async def call(self, cmd: str, timeout: float = 180, **args):
        rid = next(self._ids)
        fut = asyncio.get_running_loop().create_future()
        self._pending[rid] = fut
        self.proc.stdin.write(json.dumps({"id": rid, "cmd": cmd, "args": args}).encode() + b"\n")
        await self.proc.stdin.drain()
        msg = await asyncio.wait_for(fut, timeout)
        if not msg.get("ok"):
            raise RuntimeError(f"load generator {self.index}: {cmd}: {msg.get('error')}")
        return msg.get("result")

    @property
    def pid(self) -> int:
        return self.proc.pid

    async def stop(self) -> None:
        if self.proc is None or self.proc.returncode is not None:
            return
        with contextlib.suppress(Exception):
            await self.call("close", timeout=20)
        with contextlib.suppress(ProcessLookupError):
            self.proc.terminate()
        try:
            await asyncio.wait_for(self.proc.wait(), 10)
        except asyncio.TimeoutError:
            self.proc.kill()
            await self.proc.wait()
        self.log.close()


# -- measuring -------------------------------------------------------------------------


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


async def start_generators(count: int, clips: Path, ice: list[str], workdir: Path, tag: str) -> list[LoadGen]:
    gens = [LoadGen(i, clips, ice, workdir / f"loadgen-{tag}-{i}.log") for i in range(count)]
    await asyncio.gather(*(g.start() for g in gens))
    return gens


async def ramp(
    series: Series, peer, gens: list[LoadGen], steps: list[int], window: float, settle: float, progress,
    stop_on_loss: float | None = 0.01, stop_on_saturation: bool = False, on_step=None,
) -> None:
    """Add rooms step by step (round robin over generators) and measure each step."""
    rooms = 0
    for target in steps:
        while rooms < target:
            gen = gens[rooms % len(gens)]
            progress(f"{series.name}: starting room {rooms + 1}", final=False)
            await gen.call("add_room", **peer.room_args(rooms))
            gen.rooms += 1
            rooms += 1
        await asyncio.sleep(settle)
        detail = {}
        if hasattr(peer, "worker_pids"):
            detail = {f"worker {i + 1}": pid for i, pid in enumerate(peer.worker_pids())}
        step = await measure_step(gens, peer.pids, rooms, window, progress, series.name, detail)
        step.extra["latencies"] = await collect_latencies(gens, clear=True)
        series.steps.append(step)
        progress(
            f"{series.name}: {rooms} room(s): server {step.server_cores:.3f} cores "
            f"({step.cores_per_room:.3f}/room), frames lost {step.frame_loss:.2%}, "
            f"machine {step.machine_load:.0%}{' SATURATED' if step.saturated else ''}"
        )
        if on_step is not None:
            await on_step(step)
        if stop_on_loss is not None and step.frame_loss > stop_on_loss:
            break
        if stop_on_saturation and step.saturated:
            break


async def collect_latencies(gens: list[LoadGen], clear: bool = False) -> dict:
    parts = await asyncio.gather(*(g.call("latencies", clear=clear) for g in gens))
    out: dict = {}
    for p in parts:
        for k, v in p.items():
            out.setdefault(k, []).extend(v)
    return out


def router_switch_latencies(peer: LapakServer, focus_events: list[dict]) -> dict:
    """Focus-switch latencies at the router, from the workers' stats files.

    ``consumer``: the router's own figure (a consumer's source change to its
    first forwarded packet), per kind. ``from_event``: from the agent's
    ``focus.set`` (load generator's monotonic clock) to the first forwarded
    audio packet of the new routing at the router.
    """
    stats = peer.router_stats()
    switches = [s for part in stats for s in part.get("switches", [])]
    audio = [s["latency"] for s in switches if s["kind"] == "audio"]
    video = [s["latency"] for s in switches if s["kind"] == "video"]
    # From the agent's event: match each focus.set to its room's first agent-audio switch after it.
    agent_audio = sorted((s for s in switches if s["kind"] == "audio" and s["recipient"].startswith("a")), key=lambda s: s["at"])
    from_event = []
    by_agent: dict[str, list[float]] = {}
    for e in focus_events:
        by_agent.setdefault(e["room"], []).append(e["t"])
    for room, times in by_agent.items():
        firsts = [s["at"] for s in agent_audio if s["room"] == room]
        for t in times:
            later = [x for x in firsts if x >= t]
            if later and later[0] - t < 2:
                from_event.append(later[0] - t)
    return {"consumer_audio": audio, "consumer_video": video, "from_event": from_event}


# -- a whole run -----------------------------------------------------------------------------


@dataclass
class Options:
    quick: bool = False
    peers: tuple[str, ...] = ("transcode", "janus")
    workers: tuple[int, ...] = (1, 2)
    steps: tuple[int, ...] = (1, 2, 4, 6, 8, 10, 12, 14, 16)
    transcode_steps: tuple[int, ...] = (1, 2)
    janus_steps: tuple[int, ...] = (1, 2, 4, 6)
    window: float = 8.0
    settle: float = 2.0
    switch: float = 3.0
    generators: int = 2
    profile: float = 0.0  # seconds of py-spy on a worker at the last forwarding step
    workdir: Path | None = None
    #: CPU budget per media worker for the scaling run (0: no scaling run); see bench/scaling.py.
    worker_quota: float = 0.0
    scaling_steps: tuple[int, ...] = (2, 3, 4, 5, 6, 7, 8, 10, 12, 14, 16)

    @classmethod
    def quick_mode(cls, **kw) -> "Options":
        base = dict(quick=True, peers=("transcode",), workers=(1,), steps=(1,), transcode_steps=(1,),
                    janus_steps=(1,), window=4.0, settle=1.0, switch=1.0, generators=1)
        base.update(kw)
        return cls(**base)


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


async def run_forwarding(opts: Options, workdir: Path, clips: Path, workers: int, progress, router: str, name: str,
                         steps: tuple[int, ...], profile: float = 0.0, stop_on_loss: float | None = 0.01,
                         quota: float = 0.0) -> Series:
    series = Series(name, workers)
    peer = LapakServer(workdir / f"{name}-w{workers}", max(steps), workers, router)
    peer.workdir.mkdir(parents=True, exist_ok=True)
    gens: list[LoadGen] = []
    limit = None
    try:
        progress(f"{name}: starting lapak serve --media-workers {workers}")
        await peer.start()
        series.worker_pids = peer.worker_pids()
        if quota > 0:
            from .scaling import CpuQuota

            limit = CpuQuota(series.worker_pids, quota)
            progress(f"{name}: each of {len(series.worker_pids)} worker(s) limited to {quota:.2f} core")
        series.router.append({"baseline_rss_mb": rss_bytes(peer.pids) / 2**20})
        gens = await start_generators(min(opts.generators, max(steps)), clips, ["127.0.0.1"], peer.workdir, name)
        await ramp(series, _SwitchArgs(peer, opts.switch), gens, list(steps), opts.window, opts.settle, progress,
                   stop_on_loss=stop_on_loss)
        if profile > 0 and series.worker_pids:
            from .profile import profile_worker

            progress(f"{name}: profiling worker {series.worker_pids[0]} with py-spy for {profile:.0f}s")
            series.router.append({"profile": await profile_worker(series.worker_pids[0], profile, peer.workdir)})
        # Latencies of the steps that held their load (<= 1 % frames lost, machine not saturated).
        calm = [s for s in series.steps if s.frame_loss <= 0.01 and not s.saturated] or series.steps
        for s in series.steps:
            lat = s.extra.pop("latencies")
            s.extra["latency_ms"] = _latencies(lat, peer)
            if s in calm:
                for k, v in s.extra["latency_ms"].pop("_raw").items():
                    series.latencies.setdefault(k, []).extend(v)
            else:
                s.extra["latency_ms"].pop("_raw")
        series.router.append({"latency_steps": [s.rooms for s in calm]})
        stats = peer.router_stats()
        series.router.append({"workers": [{"pid": s.get("pid"), "rooms": s.get("rooms"), "extra": s.get("extra")} for s in stats]})
    except Exception as exc:  # keep what was measured; say what failed
        series.error = f"{type(exc).__name__}: {exc}"
        progress(f"{name}: FAILED: {series.error}")
    finally:
        await asyncio.gather(*(g.stop() for g in gens), return_exceptions=True)
        await peer.stop()
        if limit is not None:
            limit.release()
    return series


async def run_scaling(opts: Options, workdir: Path, clips: Path, progress) -> dict:
    """Rooms held by 1 and by 2 workers, each worker limited to the same CPU budget."""
    from .scaling import quota_unavailable

    why = quota_unavailable()
    if why:
        progress(why)
        return {"skipped": why}
    held: dict[int, int] = {}
    per_room: dict[int, float | None] = {}
    for workers in (1, 2):
        series = await run_forwarding(
            opts, workdir, clips, workers, progress, "bench.instrumented:InstrumentedRouter", "scaling",
            opts.scaling_steps, stop_on_loss=0.01, quota=opts.worker_quota,
        )
        good = [s for s in series.steps if s.frame_loss <= 0.01]
        held[workers] = max((s.rooms for s in good), default=0)
        per_room[workers] = round(good[-1].cores_per_room, 4) if good else None
    return {
        "quota_cores_per_worker": opts.worker_quota,
        "rooms_held": held,
        "cores_per_room": per_room,
        "ratio": round(held[2] / held[1], 2) if held.get(1) else None,
        "limited_by_steps": held[2] == max(opts.scaling_steps),
    }


def _latencies(lat: dict, peer) -> dict:
    raw = {
        "session_start": lat.get("session_start", []),
        "focus_audio_at_agent": lat.get("focus_audio", []),
        "focus_audio_at_agent_payload": lat.get("focus_audio_payload", []),
        "first_frame": lat.get("first_frame", []),
        **router_switch_latencies(peer, lat.get("focus_events", [])),
    }
    out = {k: ms(v) for k, v in raw.items()}
    out["_raw"] = raw
    return out


class _SwitchArgs:
    """A peer whose room arguments carry the focus-switch interval."""

    def __init__(self, peer, switch: float) -> None:
        self.peer = peer
        self.switch = switch

    def __getattr__(self, name):
        return getattr(self.peer, name)

    def room_args(self, r: int) -> dict:
        return {**self.peer.room_args(r), "switch": self.switch}


async def run_janus(opts: Options, workdir: Path, clips: Path, progress) -> Series:
    from .janus import HOST_ADDR, JanusServer

    series = Series("janus", 1)
    peer = JanusServer(workdir)
    gens: list[LoadGen] = []
    try:
        progress("janus: starting Janus 1.x (VideoRoom, HTTP) in a network namespace")
        await peer.start()
        series.router.append({"baseline_rss_mb": rss_bytes(peer.pids) / 2**20})
        gens = await start_generators(min(opts.generators, max(opts.janus_steps)), clips, [HOST_ADDR], workdir, "janus")
        await ramp(series, peer, gens, list(opts.janus_steps), opts.window, opts.settle, progress)
    except Exception as exc:
        series.error = f"{type(exc).__name__}: {exc}"
        progress(f"janus: FAILED: {series.error}")
    finally:
        await asyncio.gather(*(g.stop() for g in gens), return_exceptions=True)
        await peer.stop()
    return series


async def run_all(opts: Options, progress) -> dict:
    from .media import make_clips

    workdir = opts.workdir or Path(tempfile.mkdtemp(prefix="lapak-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    clips = workdir / "clips.pkl"
    progress("encoding the VP8 and Opus clips once (PyAV)")
    made = make_clips(clips)
    series: list[Series] = []
    notes: list[str] = []
    for w in opts.workers:
        last = w == max(opts.workers)
        series.append(await run_forwarding(
            opts, workdir, clips, w, progress, "bench.instrumented:InstrumentedRouter", "forwarding", opts.steps,
            profile=opts.profile if last else 0.0,
        ))
    if "transcode" in opts.peers:
        series.append(await run_forwarding(
            opts, workdir, clips, 1, progress, "bench.transcode:TranscodingRouter", "transcoding", opts.transcode_steps,
            stop_on_loss=None,
        ))
    if "janus" in opts.peers:
        from .janus import janus_available

        why = janus_available()
        if why:
            progress(why)
            notes.append(why)
        else:
            series.append(await run_janus(opts, workdir, clips, progress))
    scaling = await run_scaling(opts, workdir, clips, progress) if opts.worker_quota > 0 else None
    from .report import summarize

    result = summarize(series, opts, notes)
    if scaling is not None:
        result["scaling"] = scaling
    result["clip"] = {
        "video": f"{640}x{480} {made.video[0].fps} fps VP8, {made.video[0].bitrate / 1e3:.0f} kbit/s, "
                 f"{made.video[0].packets_per_second:.0f} packets/s, keyframe every 2 s",
        "audio": "Opus 20 ms, 32 kbit/s",
    }
    result["workdir"] = str(workdir)
    return result
