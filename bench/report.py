"""Summary figures, the terminal table and the PNG plot of a benchmark run.

Definitions (see ``docs/performance.md``):

- a step's *cost per room* is the server's CPU (cores, all its processes)
  divided by the rooms, scaled up by the share of frames actually delivered
  (``cores_per_room_full_rate``), so a peer that drops frames is not made to
  look cheap;
- ``cores_per_room``: forwarding, at the largest step of the run with the most
  media workers that lost at most 1 % of frames (preferring steps where the
  machine was not saturated);
- ``ratio`` = transcoding's cost / forwarding's, and ``janus_ratio`` =
  forwarding's cost / Janus's, each at the same number of rooms, measured in
  the same run;
- ``rooms_max``: the most rooms held with at most 1 % of frames lost.
"""

from __future__ import annotations

import math

from .measure import Series, Step, ms

#: Forwarded streams in a full room: 6 tiles + the agent's video to the focused
#: member; the focused member's audio to the agent, the agent's to the member,
#: hold audio to five members.
STREAMS_PER_ROOM = 14
LOSS_LIMIT = 0.01


def _good(steps: list[Step]) -> list[Step]:
    return [s for s in steps if s.frame_loss <= LOSS_LIMIT]


def _reference(steps: list[Step]) -> Step | None:
    good = _good(steps)
    calm = [s for s in good if not s.saturated]
    pool = calm or good
    return max(pool, key=lambda s: s.rooms) if pool else None


def _at(series: Series | None, rooms: int) -> Step | None:
    if series is None:
        return None
    for s in series.steps:
        if s.rooms == rooms:
            return s
    return None


def _common(a: Series | None, b: Series | None, good_only: bool = True) -> int | None:
    if not a or not b:
        return None
    ra = {s.rooms for s in (_good(a.steps) if good_only else a.steps)}
    rb = {s.rooms for s in b.steps}
    both = ra & rb
    return max(both) if both else None


def _r(x, n=4):
    if x is None or (isinstance(x, float) and (math.isinf(x) or math.isnan(x))):
        return None
    return round(x, n)


def summarize(series: list[Series], opts, notes: list[str]) -> dict:
    fwd = [s for s in series if s.name == "forwarding" and s.steps]
    main = max(fwd, key=lambda s: s.workers) if fwd else None
    one = min(fwd, key=lambda s: s.workers) if fwd else None
    trans = next((s for s in series if s.name == "transcoding" and s.steps), None)
    janus = next((s for s in series if s.name == "janus" and s.steps), None)

    ref = _reference(main.steps) if main else None
    good = _good(main.steps) if main else []
    baseline = next((r["baseline_rss_mb"] for r in main.router if "baseline_rss_mb" in r), 0.0) if main else 0.0
    result: dict = {
        "cores_per_room": _r(ref.cores_per_room_full_rate) if ref else None,
        "cores_per_room_rooms": ref.rooms if ref else None,
        "cores_per_stream": _r(ref.cores_per_room_full_rate / STREAMS_PER_ROOM, 5) if ref else None,
        "us_per_packet": _r(ref.to_dict()["us_per_packet"], 1) if ref else None,
        "transcode_cores_per_room": None,
        "ratio": None,
        "ratio_rooms": None,
        "janus_cores_per_room": None,
        "janus_ratio": None,
        "janus_ratio_rooms": None,
        "rooms_max": max((s.rooms for s in good), default=0) if main else None,
        "rooms_max_limited_by": None,
        "mb_per_room": _r((ref.rss_mb - baseline) / ref.rooms, 2) if ref else None,
        "focus_switch_ms_p95": None,
        "first_frame_ms_p95": None,
        "session_start_ms_p95": None,
    }
    if main:
        last = main.steps[-1]
        if last.frame_loss > LOSS_LIMIT:
            result["rooms_max_limited_by"] = "frame loss above 1 % at the next step" + (
                " (machine saturated)" if last.saturated else "")
        elif any(s.saturated for s in main.steps):
            result["rooms_max_limited_by"] = "largest step run; the machine (server + load generator) was saturated"
        else:
            result["rooms_max_limited_by"] = "largest step run (a lower bound)"
    if trans and one:
        # Transcoding at the fewest rooms (where it delivers the most), against forwarding at the same rooms.
        both = {s.rooms for s in _good(one.steps)} & {s.rooms for s in trans.steps}
        k = min(both) if both else None
        if k is not None:
            t, f = _at(trans, k), _at(one, k)
            result["transcode_cores_per_room"] = _r(t.cores_per_room_full_rate)
            result["ratio"] = _r(t.cores_per_room_full_rate / f.cores_per_room_full_rate, 2)
            result["ratio_rooms"] = k
    if janus and main:
        k = _common(main, janus, good_only=True)
        if k is not None:
            j, f = _at(janus, k), _at(main, k)
            result["janus_cores_per_room"] = _r(j.cores_per_room_full_rate)
            result["janus_ratio"] = _r(f.cores_per_room_full_rate / j.cores_per_room_full_rate, 2)
            result["janus_ratio_rooms"] = k
    lat: dict[str, list[float]] = {}
    for s in fwd:
        for k, v in s.latencies.items():
            lat.setdefault(k, []).extend(v)
    result["latencies_ms"] = {k: ms(v) for k, v in lat.items()}
    result["focus_switch_ms_p95"] = ms(lat.get("from_event", []))["p95"]
    result["focus_switch_ms_p50"] = ms(lat.get("from_event", []))["p50"]
    result["first_frame_ms_p95"] = ms(lat.get("first_frame", []))["p95"]
    result["first_frame_ms_p50"] = ms(lat.get("first_frame", []))["p50"]
    result["session_start_ms_p95"] = ms(lat.get("session_start", []))["p95"]
    result["session_start_ms_p50"] = ms(lat.get("session_start", []))["p50"]
    if trans:
        result["transcoding_latencies_ms"] = {k: ms(v) for k, v in trans.latencies.items()}
    # Media workers: the same rooms on one worker and on two.
    workers = []
    for s in fwd:
        r = _reference(s.steps)
        per_worker = None
        if r is not None and r.extra.get("process_cores"):
            busiest = max(r.extra["process_cores"].values())
            per_worker = busiest / max(1, math.ceil(r.rooms / s.workers))
        workers.append({
            "workers": s.workers,
            "rooms_max": max((x.rooms for x in _good(s.steps)), default=0),
            "cores_per_room": _r(r.cores_per_room_full_rate) if r else None,
            "at_rooms": r.rooms if r else None,
            "worker_cores_per_room": _r(per_worker),
            "rooms_per_worker_at_one_core": _r(1 / per_worker, 1) if per_worker else None,
            "rooms_projected_at_one_core_each": _r(s.workers / per_worker, 1) if per_worker else None,
        })
    result["media_workers"] = workers
    result["targets"] = {
        "cores_per_room<=0.10": _ok(result["cores_per_room"], lambda x: x <= 0.10),
        "janus_ratio<=1.4": _ok(result["janus_ratio"], lambda x: x <= 1.4),
        "ratio>=8": _ok(result["ratio"], lambda x: x >= 8),
        "focus_switch_ms_p95<=20": _ok(result["focus_switch_ms_p95"], lambda x: x <= 20),
        "first_frame_ms_p95<=300": _ok(result["first_frame_ms_p95"], lambda x: x <= 300),
        "session_start_ms_p95<=1500": _ok(result["session_start_ms_p95"], lambda x: x <= 1500),
    }
    result["series"] = [s.to_dict() for s in series]
    result["errors"] = [f"{s.name} (workers={s.workers}): {s.error}" for s in series if s.error]
    result["notes"] = notes
    result["profile"] = next((r["profile"] for s in fwd for r in s.router if "profile" in r), None)
    result["quick"] = bool(opts.quick)
    return result


def _ok(value, test):
    return None if value is None else bool(test(value))


def table(result: dict) -> str:
    lines = []
    head = (f"{'peer':<12}{'wrk':>4}{'rooms':>6}{'server':>8}{'/room':>8}{'us/pkt':>8}{'RSS MB':>8}"
            f"{'lost':>8}{'tile fps':>9}{'kiosk fps':>10}{'gen':>7}{'machine':>9}")
    lines.append(head)
    lines.append("-" * len(head))
    for s in result["series"]:
        for st in s["steps"]:
            lines.append(
                f"{s['name']:<12}{s['workers']:>4}{st['rooms']:>6}{st['server_cores']:>8.3f}"
                f"{st['cores_per_room_full_rate']:>8.3f}{(st['us_per_packet'] or 0):>8.1f}{st['rss_mb']:>8.0f}"
                f"{st['frame_loss']:>8.2%}{st['tile_fps_mean']:>9.1f}{st['kiosk_fps']:>10.1f}"
                f"{st['gen_cores']:>7.2f}{st['machine_load']:>8.0%}{'*' if st['saturated'] else ' '}"
            )
    lines.append("(server, gen: cores; /room: server cores per room at full frame rate; machine: all cores busy, * saturated)")
    lines.append("")
    keys = ["cores_per_room", "transcode_cores_per_room", "ratio", "janus_cores_per_room", "janus_ratio", "rooms_max",
            "mb_per_room", "cores_per_stream", "us_per_packet", "focus_switch_ms_p50", "focus_switch_ms_p95",
            "first_frame_ms_p50", "first_frame_ms_p95", "session_start_ms_p50", "session_start_ms_p95"]
    for k in keys:
        lines.append(f"  {k:<26} {result.get(k)}")
    lines.append(f"  {'rooms_max_limited_by':<26} {result.get('rooms_max_limited_by')}")
    for w in result.get("media_workers", []):
        lines.append(f"  media workers {w['workers']}: rooms held {w['rooms_max']}, {w['cores_per_room']} cores/room "
                     f"at {w['at_rooms']} rooms, busiest worker {w['worker_cores_per_room']} cores/room "
                     f"-> {w['rooms_projected_at_one_core_each']} rooms with every worker at one core")
    lat = result.get("latencies_ms", {})
    for k, v in lat.items():
        lines.append(f"  latency {k:<30} n={v['n']:<5} p50={v['p50']} ms  p95={v['p95']} ms")
    for k, v in result.get("targets", {}).items():
        lines.append(f"  target {k:<28} {'met' if v else ('not met' if v is False else 'not measured')}")
    for e in result.get("errors", []):
        lines.append(f"  ERROR {e}")
    for n in result.get("notes", []):
        lines.append(f"  NOTE {n}")
    return "\n".join(lines)


def plot(result: dict, path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 4), dpi=80)
    for s in result["series"]:
        if not s["steps"]:
            continue
        label = s["name"] + (f" ({s['workers']} worker{'s' if s['workers'] > 1 else ''})" if s["name"] != "janus" else "")
        rooms = [st["rooms"] for st in s["steps"]]
        ax1.plot(rooms, [st["server_cores"] for st in s["steps"]], marker="o", label=label)
        ax2.plot(rooms, [st["cores_per_room_full_rate"] for st in s["steps"]], marker="o", label=label)
        sat = [st for st in s["steps"] if st["saturated"]]
        ax1.scatter([st["rooms"] for st in sat], [st["server_cores"] for st in sat], s=120, facecolors="none",
                    edgecolors="red")
    ax1.set_xlabel("full rooms (agent + 6 members, 640x480 30 fps)")
    ax1.set_ylabel("server CPU (cores)")
    ax1.set_title("server CPU (red ring: machine saturated)")
    ax2.set_xlabel("full rooms")
    ax2.set_ylabel("cores per room at full frame rate")
    ax2.set_yscale("log")
    ax2.set_title("cost per room")
    ax1.legend(fontsize=8)
    ax2.legend(fontsize=8)
    ax1.grid(alpha=0.3)
    ax2.grid(alpha=0.3, which="both")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
