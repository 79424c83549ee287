"""Do two media workers hold twice the rooms of one? A fixed CPU budget per worker says.

On a 2-core machine the load generator needs as much CPU as the server, so
ramping until the machine runs out shows the machine's limit, not the
workers'. Instead each worker gets the same CPU budget (a Linux cgroup CPU
quota, e.g. a quarter of a core), and the ramp stops when frames are lost:
the rooms one worker holds within its budget, against two workers with the
same budget each. The generator and the control process are not limited.

Needs root and the cgroup v1 ``cpu`` controller (or cgroup v2 with ``cpu``
enabled); elsewhere it says why and skips.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

V1 = Path("/sys/fs/cgroup/cpu")
V2 = Path("/sys/fs/cgroup")
PERIOD_US = 100_000


def quota_unavailable() -> str | None:
    """Why CPU quotas cannot be set here, or None."""
    if os.geteuid() != 0:
        return "worker CPU quotas need root (cgroups); the scaling run is skipped"
    if (V1 / "cpu.cfs_quota_us").exists() and os.access(V1, os.W_OK):
        return None
    if (V2 / "cgroup.controllers").exists() and "cpu" in (V2 / "cgroup.controllers").read_text().split():
        return None
    return "no writable cgroup cpu controller here; the scaling run is skipped"


class CpuQuota:
    """Each given process in its own cgroup, limited to ``cores`` of CPU."""

    def __init__(self, pids: list[int], cores: float | None, tag: str = "lapak-bench", shares: int | None = None) -> None:
        """``cores``: None for no ceiling. ``shares``: the groups' CPU weight against everything else
        (1024, or 100 in v2, is a plain process's).

        A quota is a ceiling; on a machine busy with other work, a higher
        weight lets each group reach it.
        """
        self.groups: list[Path] = []
        v1 = (V1 / "cpu.cfs_quota_us").exists()
        for i, pid in enumerate(pids):
            group = (V1 if v1 else V2) / f"{tag}-{os.getpid()}-{i}"
            group.mkdir(exist_ok=True)
            if v1:
                (group / "cpu.cfs_period_us").write_text(str(PERIOD_US))
                (group / "cpu.cfs_quota_us").write_text(str(int(cores * PERIOD_US)) if cores else "-1")
                if shares is not None:
                    (group / "cpu.shares").write_text(str(shares))
            else:
                (group / "cpu.max").write_text(f"{int(cores * PERIOD_US) if cores else 'max'} {PERIOD_US}")
                if shares is not None:
                    (group / "cpu.weight").write_text(str(max(1, min(10_000, shares * 100 // 1024))))
            (group / "cgroup.procs").write_text(str(pid))
            self.groups.append(group)

    def release(self) -> None:
        """Move what is left back to the root group and remove the groups."""
        root = V1 if (V1 / "cgroup.procs").exists() else V2
        for group in self.groups:
            with contextlib.suppress(OSError):
                for pid in (group / "cgroup.procs").read_text().split():
                    with contextlib.suppress(OSError):
                        (root / "cgroup.procs").write_text(pid)
            with contextlib.suppress(OSError):
                group.rmdir()
        self.groups = []
