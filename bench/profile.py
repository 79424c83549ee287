"""Where a media worker's time goes: py-spy on a live worker, stacks bucketed.

``py-spy record --format raw`` writes collapsed stacks ("frame;frame;... count");
each sample is charged to the bucket of its leaf frame (self time), and
samples waiting in epoll are counted as idle, apart from the busy time.
"""

from __future__ import annotations

import asyncio
import shutil
import sys
from pathlib import Path

from server.lifeline import child_options

#: (bucket, substrings of the *leaf* frame "function (file:line)"); first match wins.
#: Time is charged to where it is spent (self time): a C call such as SRTP
#: protect shows as the Python line that calls it (py-spy without --native).
BUCKETS: list[tuple[str, tuple[str, ...]]] = [
    ("idle (waiting in epoll)", ("EpollSelector.select",)),
    ("SRTP protect/unprotect (pylibsrtp)", ("pylibsrtp/",)),
    ("sendto (socket send)", ("sendto (asyncio/selector_events.py",)),
    ("recvfrom (socket receive)", ("_read_ready (asyncio/selector_events.py",)),
    ("RtpPacket parse/serialize", ("aiortc/rtp.py",)),
    ("STUN check of every datagram (aioice)", ("aioice/stun.py",)),
    (
        "our forward()/emit() (server/media/streams.py, receive.py, bridge.py, vp8.py)",
        ("server/media/streams.py", "server/media/receive.py", "server/media/bridge.py", "server/media/vp8.py"),
    ),
    ("server-made audio (hold loop, mixer)", ("server/media/audio.py",)),
    ("aiortc RTCP (reports, NACK, PLI)", ("rtcrtpsender.py", "rtcrtpreceiver.py")),
    ("aiortc/aioice datagram path (DTLS transport, ICE)", ("aiortc/", "aioice/")),
    ("asyncio event loop (callbacks, queues, futures)", ("asyncio/",)),
]


def bucket_stacks(text: str) -> dict:
    """Percent of the worker's busy samples per bucket (idle samples are counted apart)."""
    totals: dict[str, int] = {}
    for line in text.splitlines():
        stack, _, count = line.strip().rpartition(" ")
        try:
            n = int(count)
        except ValueError:
            continue
        leaf = stack.split(";")[-1]
        name = "other"
        for bucket, needles in BUCKETS:
            if any(needle in leaf for needle in needles):
                name = bucket
                break
        totals[name] = totals.get(name, 0) + n
    idle = totals.pop("idle (waiting in epoll)", 0)
    busy = sum(totals.values())
    return {
        "samples": busy + idle,
        "idle_samples": idle,
        "percent_of_busy": {k: round(100 * v / busy, 1) for k, v in sorted(totals.items(), key=lambda kv: -kv[1])}
        if busy else {},
    }


def _py_spy() -> str | None:
    here = Path(sys.executable).parent / "py-spy"
    return str(here) if here.exists() else shutil.which("py-spy")


async def profile_worker(pid: int, seconds: float, workdir: Path) -> dict:
    exe = _py_spy()
    if exe is None:
        return {"error": "py-spy is not installed (pip install py-spy)"}
    raw = workdir / f"profile-{pid}.txt"
    svg = workdir / f"profile-{pid}.svg"
    proc = await asyncio.create_subprocess_exec(
        exe, "record", "--pid", str(pid), "--duration", str(int(seconds)), "--rate", "250", "--nonblocking",
        "--format", "raw", "-o", str(raw),
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE, **child_options(),
    )
    _, err = await proc.communicate()
    if proc.returncode != 0 or not raw.exists():
        return {"error": f"py-spy failed: {err.decode(errors='replace')[-300:]}"}
    result = bucket_stacks(raw.read_text())
    result["raw"] = str(raw)
    result["flamegraph_hint"] = f"py-spy record -o {svg} --pid {pid}"
    return result
