"""``lapak bench``: measure the media router against transcoding and Janus.

Prints progress on stderr, then a table (or, with ``--json``, one JSON
object) on stdout, and writes a PNG plot. ``--quick`` proves the benchmark
works in under a minute (one room, forwarding and transcoding, short windows).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path

from .progress import Progress
from .run import Options, run_all


def _ints(text: str) -> tuple[int, ...]:
    return tuple(int(x) for x in text.split(",") if x.strip())


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="lapak bench", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--control", action="store_true",
                   help="the control plane instead (booths and agents as socket.io clients, media off; "
                        "lapak bench --control --help)")
    p.add_argument("--quick", action="store_true", help="one room, short windows: proves it works (< 1 min)")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of the table")
    p.add_argument("--peer", choices=["all", "transcode", "janus", "none"], default=None,
                   help="side-by-side peer(s) besides forwarding (default: all; --quick: transcode)")
    p.add_argument("--workers", type=_ints, default=None, help="media worker counts to run, e.g. 1,2 (default 1,2)")
    p.add_argument("--steps", type=_ints, default=None, help="rooms at each step, e.g. 1,2,4,8")
    p.add_argument("--janus-steps", type=_ints, default=None, help="rooms at each Janus step")
    p.add_argument("--transcode-steps", type=_ints, default=None, help="rooms at each transcoding step")
    p.add_argument("--window", type=float, default=None, help="seconds measured at each step")
    p.add_argument("--switch", type=float, default=None, help="seconds between the agents' focus switches")
    p.add_argument("--generators", type=int, default=None, help="load-generator processes")
    p.add_argument("--profile", type=float, default=0.0, metavar="SECONDS",
                   help="py-spy a media worker for this long at the last forwarding step")
    p.add_argument("--worker-quota", type=float, default=0.0, metavar="CORES",
                   help="also run the scaling check: 1 and 2 media workers, each limited to CORES of CPU "
                        "(cgroups, needs root), ramped until frames are lost")
    p.add_argument("--plot", default="lapak-bench.png", help="PNG plot to write (default lapak-bench.png)")
    p.add_argument("--output", default=None, help="also write the JSON result to this file")
    p.add_argument("--workdir", default=None, help="keep logs, stats and profiles here (default: a temp dir)")
    return p


def options(args: argparse.Namespace) -> Options:
    peers = {"all": ("transcode", "janus"), "transcode": ("transcode",), "janus": ("janus",), "none": ()}
    kw: dict = {}
    if args.peer is not None:
        kw["peers"] = peers[args.peer]
    for name in ("workers", "steps", "janus_steps", "transcode_steps", "window", "switch", "generators"):
        value = getattr(args, name)
        if value is not None:
            kw[name] = value
    kw["profile"] = args.profile
    kw["worker_quota"] = args.worker_quota
    if args.workdir:
        kw["workdir"] = Path(args.workdir)
    return Options.quick_mode(**kw) if args.quick else Options(**kw)


def main(argv: list[str]) -> int:
    if "--control" in argv:  # the control-plane benchmark has its own options (bench/control_plane.py)
        from .control_plane import main as control_main

        return control_main(argv)
    args = parser().parse_args(argv)
    opts = options(args)
    progress = Progress()
    result = asyncio.run(run_all(opts, progress))
    if args.plot:
        from .report import plot

        try:
            plot(result, args.plot)
            result["plot"] = str(Path(args.plot).resolve())
        except Exception as exc:  # the numbers matter more than the picture
            progress(f"could not draw the plot: {exc}")
    if args.output:
        Path(args.output).write_text(json.dumps(result, indent=1))
    if args.json:
        sys.stdout.write(json.dumps(result) + "\n")
    else:
        from .report import table

        print(table(result))
        scaling = result.get("scaling")
        if scaling and "rooms_held" in scaling:
            held = scaling["rooms_held"]
            print(
                f"\nscaling, each worker limited to {scaling['quota_cores_per_worker']:.2f} core: "
                f"1 worker held {held[1]} rooms, 2 workers held {held[2]} rooms "
                f"(x{scaling['ratio']}); cores/room {scaling['cores_per_room'][1]} vs {scaling['cores_per_room'][2]}"
            )
        elif scaling:
            print(f"\nscaling: {scaling['skipped']}")
        if result.get("plot"):
            print(f"\nplot: {result['plot']}")
    sys.stdout.flush()
    return 1 if not result["series"] or all(s["error"] for s in result["series"]) else 0
