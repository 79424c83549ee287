"""One benchmark run: start the peer under test, ramp rooms, measure each step.

The server (:mod:`bench.lapak_server`) or Janus (:mod:`bench.janus`) runs in
its own processes; the load generators (:mod:`bench.loadgen`, driven through
:mod:`bench.control`) in others. Each step is measured by
:mod:`bench.measure`.
"""

from __future__ import annotations

import asyncio
import tempfile
from dataclasses import dataclass
from pathlib import Path

from .control import LoadGen, start_generators
from .lapak_server import LapakServer
from .measure import Series, measure_step, ms
from .procs import rss_bytes


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
