"""Child processes that die with their parent.

Every process a Lapak process starts (media workers, the demo's simulated
booths, the benchmark's server and load generator) is started with
``**child_options()``: on Linux the child asks the kernel, between fork and
exec, for SIGTERM when its parent dies (``prctl(PR_SET_PDEATHSIG)``), and
exits at once if the parent is already gone. A ``kill -9`` of the parent
therefore leaves no orphan behind. Where a child has a pipe from its parent
it also watches it (:func:`stdin_closed`), which works on any platform.

There is no well-kept package for one ``prctl`` call (python-prctl needs a C
build and was last released in 2020), so this is a few lines of ctypes.
"""

from __future__ import annotations

import asyncio
import ctypes
import ctypes.util
import os
import signal
import sys
from collections.abc import Callable

#: linux/prctl.h
PR_SET_PDEATHSIG = 1
PR_SET_CHILD_SUBREAPER = 36


def _prctl() -> Callable[..., int] | None:
    """libc's ``prctl``, or None off Linux."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    except OSError:  # pragma: no cover - no libc to load
        return None
    prctl = libc.prctl
    prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong]
    prctl.restype = ctypes.c_int
    return prctl


_PRCTL = _prctl()


def die_with_parent(sig: int = signal.SIGTERM) -> Callable[[], None]:
    """A ``preexec_fn``: the child gets ``sig`` when the process calling this now dies.

    Resolved in the parent, so the child only makes one system call between
    fork and exec. The kernel sends the signal when the parent *thread* that
    forked ends; Lapak starts children from its event loop's thread, which
    lives as long as the process.
    """
    parent = os.getpid()
    prctl = _PRCTL

    def preexec() -> None:
        if prctl is not None:
            prctl(PR_SET_PDEATHSIG, int(sig), 0, 0, 0)
        if os.getppid() != parent:  # the parent died before the request: nobody would signal us
            os._exit(1)

    return preexec


def child_options() -> dict:
    """Keyword arguments for ``subprocess.Popen`` / ``asyncio.create_subprocess_exec``."""
    return {"preexec_fn": die_with_parent()} if _PRCTL is not None else {}


def become_subreaper() -> bool:
    """Make this process adopt its descendants' orphans (Linux), so it can still find and reap them."""
    return _PRCTL is not None and _PRCTL(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0


async def stdin_closed() -> None:
    """Return when standard input reaches end of file (the parent holding the pipe went away)."""
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    while await reader.read(4096):
        pass
