"""Children of every Lapak process die with it, even on kill -9; the harness reaps what a test started.

``lapak demo`` runs media workers and a process of simulated booths; killed
hard, it must leave neither behind (server/lifeline.py). And a test that
fails half-way must not leave its processes running into the next tests
(tests/hygiene.py): checked with a small pytest run of its own that fails
on purpose.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import psutil

from conftest import free_port

ROOT = Path(__file__).resolve().parent.parent
METRICS_TOKEN = "hygiene-test-scraper"
ENV = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}


def _waiting(port: int) -> int:
    """Members waiting in the demo's queues, from its /metrics (read with the scraper's token); 0 if it is busy."""
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"}
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as r:
            text = r.read().decode()
    except OSError:  # timeouts included: six booths starting on two cores
        return 0
    return sum(int(float(line.split()[-1])) for line in text.splitlines() if line.startswith("lapak_queue_waiting{"))


def _describe(procs) -> list[str]:
    out = []
    for p in procs:
        with contextlib.suppress(psutil.Error):
            out.append(f"{p.pid} {' '.join(p.cmdline()[2:5])}")
    return out


def test_a_demo_killed_hard_leaves_no_process_behind(tmp_path):
    port = free_port()
    demo = subprocess.Popen(
        [sys.executable, "-m", "server.cli", "demo", "--port", str(port), "--data", str(tmp_path), "--media-workers", "1",
         "--metrics-token", METRICS_TOKEN],
        stdout=subprocess.PIPE, text=True, cwd=ROOT, env=ENV, start_new_session=True,
    )
    try:
        output = ""
        deadline = time.monotonic() + 90
        while "Press Ctrl+C" not in output:
            assert time.monotonic() < deadline and demo.poll() is None, output
            output += demo.stdout.readline()
        while _waiting(port) < 6:  # the six simulated booths are connected and in the queue
            assert time.monotonic() < deadline and demo.poll() is None, "the booths never queued"
            time.sleep(0.2)
        children = psutil.Process(demo.pid).children(recursive=True)
        commands = " | ".join(" ".join(c.cmdline()) for c in children)
        assert "server.media.worker" in commands and " kiosk " in commands, commands

        os.kill(demo.pid, signal.SIGKILL)
        demo.wait(10)
        _gone, alive = psutil.wait_procs(children, timeout=5)
        assert not alive, f"still running after the demo was killed: {_describe(alive)}"
    finally:
        if demo.poll() is None:
            demo.kill()
            demo.wait()
        with contextlib.suppress(ProcessLookupError):
            os.killpg(demo.pid, signal.SIGKILL)


INNER_TEST = """
import subprocess, sys, time
from pathlib import Path

def test_starts_processes_then_fails(tmp_path_factory):
    # A direct child, and an orphan: a shell that starts a sleeper and exits.
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(300)"])
    shell = subprocess.run(["sh", "-c", "sleep 300 >/dev/null 2>&1 & echo $!"], capture_output=True, text=True)
    Path({pids!r}).write_text(f"{{child.pid}} {{shell.stdout.strip()}}")
    assert False, "fails half-way, leaving both running"
"""


def test_the_harness_reaps_what_a_failing_test_started(tmp_path):
    pids_file = tmp_path / "pids"
    (tmp_path / "test_inner.py").write_text(INNER_TEST.format(pids=str(pids_file)))
    inner = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "hygiene", "-p", "no:cacheprovider", "-W", "default",
         "--rootdir", str(tmp_path), str(tmp_path / "test_inner.py")],
        capture_output=True, text=True, cwd=tmp_path, timeout=120,
        env={**ENV, "PYTHONPATH": os.pathsep.join([str(ROOT / "tests"), ENV["PYTHONPATH"]])},
    )
    assert "1 failed" in inner.stdout, inner.stdout + inner.stderr
    pids = [int(p) for p in pids_file.read_text().split()]
    assert len(pids) == 2
    running = [pid for pid in pids if psutil.pid_exists(pid) and psutil.Process(pid).status() != psutil.STATUS_ZOMBIE]
    assert not running, f"the inner run left {running} running"
    assert "left processes running" in inner.stdout, inner.stdout  # and said so, as a warning
