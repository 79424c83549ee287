"""``lapak bench --control``: the control plane alone, one node or several behind Redis.

Starts ``--nodes`` ``lapak serve`` processes (with ``--nodes`` > 1 or
``--redis``, on one ``redis-server`` the benchmark starts in a temporary
folder), then load-generator processes (:mod:`bench.control_load`) holding
``--booths`` booths and ``--agents`` agents as socket.io clients, media off.
Booth *i* talks to node ``i mod N`` and agent *j* to node ``(j + 1) mod N``,
so with several nodes most sessions cross nodes. Sessions run request →
assignment → talk → end in a loop at ``--rate`` requests per second; after
``--warmup`` seconds, ``--window`` seconds are measured: sessions ended per
second, request → ``connecting`` (only when a slot was free), and CPU of the
nodes' control processes (not their media workers), Redis, PostgreSQL and the
load generators.

Records: with ``--database postgresql`` (the default with ``--nodes`` > 1 or
``--redis``: the multi-node deployment) the benchmark starts one PostgreSQL
(:class:`bench.postgres.PostgresServer`, durable, its folder in the work
folder) and every node keeps its records there; ``postgres_cores`` is the CPU
of its postmaster and backends. With ``--database sqlite`` (the default for
one node alone) each node keeps its own SQLite file and ``postgres_cores``
is ``null``. The warm-up defaults to a little more
than the longest talk, so that sessions end at the rate they start (a
shorter warm-up counts too few ended sessions).

``--node-cores CORES`` puts each node's control process in a cgroup of its
own limited to CORES of CPU (bench.scaling.CpuQuota; needs root and the
cgroup ``cpu`` controller), with a raised CPU weight so that it reaches its
quota on a machine shared with other work: the "each node limited to the
same CPU quota" comparison of one node against two. Redis and the load
generators then get the same raised weight and no ceiling, so that neither
is starved by other work on the machine into looking like the bottleneck.

Prints a table, or with ``--json`` one object with exactly the keys of
:data:`KEYS` plus ``generator_cores`` and ``details``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import psutil

from server.lifeline import child_options

from .postgres import PostgresServer
from .procs import PYTHON, REPO, free_port
from .scaling import CpuQuota, quota_unavailable

#: CPU weight of a node's cgroup under --node-cores (a plain process has 1024).
NODE_SHARES = 8192

KEYS = ("nodes", "booths", "agents", "sessions_per_s", "dispatch_ms_p50", "dispatch_ms_p95",
        "control_cores", "redis_cores", "postgres_cores")


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="lapak bench --control", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--control", action="store_true", help="(this benchmark)")
    p.add_argument("--nodes", type=int, default=1, help="lapak serve processes behind one Redis (default 1)")
    p.add_argument("--redis", action="store_true", help="keep one node's state in Redis too")
    p.add_argument("--database", choices=("sqlite", "postgresql"), default=None,
                   help="the records: one PostgreSQL the benchmark starts (default with --nodes > 1 or --redis), "
                        "or each node's own SQLite (default for one node alone)")
    p.add_argument("--booths", type=int, default=2000)
    p.add_argument("--agents", type=int, default=350)
    p.add_argument("--rate", type=float, default=10.0, help="session requests per second (default 10)")
    p.add_argument("--talk", type=float, default=20.0, help="seconds an agent keeps a session (default 20)")
    p.add_argument("--warmup", type=float, default=None,
                   help="seconds before the window (default: 1.2 × talk + 1, so sessions end as fast as they start)")
    p.add_argument("--node-cores", type=float, default=None, metavar="CORES",
                   help="limit each node's control process to CORES of CPU (cgroups, root)")
    p.add_argument("--window", type=float, default=30.0)
    p.add_argument("--generators", type=int, default=2, help="load-generator processes (default 2)")
    p.add_argument("--json", action="store_true")
    p.add_argument("--workdir", default=None, help="keep logs here (default: a temporary folder)")
    return p


def quantile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def cpu(pid: int) -> float:
    """CPU seconds of one process (not its children: a node's media workers are not its control plane)."""
    try:
        t = psutil.Process(pid).cpu_times()
        return t.user + t.system
    except psutil.NoSuchProcess:
        return 0.0


def fanout(url: str, token: str) -> dict[str, float]:
    """A node's ``lapak_fanout_*`` counters from /metrics (empty for a node without Redis)."""
    req = urllib.request.Request(url + "/metrics", headers={"Authorization": f"Bearer {token}"})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            text = r.read().decode()
    except Exception:
        return {}
    out = {}
    for line in text.splitlines():
        if line.startswith("lapak_fanout_"):
            name, value = line.rsplit(" ", 1)
            out[name.removeprefix("lapak_fanout_").removesuffix("_total")] = float(value)
    return out


def wait_http(url: str, proc: subprocess.Popen, what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=1) as r:
                if r.status == 200:
                    return
        except Exception:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what} did not start")
        time.sleep(0.2)


class Run:
    """The processes of one benchmark run, stopped in :meth:`stop` whatever happened."""

    def __init__(self, args: argparse.Namespace, workdir: Path) -> None:
        self.args, self.workdir = args, workdir
        self.procs: list[subprocess.Popen] = []
        self.redis: subprocess.Popen | None = None
        self.postgres: PostgresServer | None = None
        self.nodes: list[subprocess.Popen] = []
        self.gens: list[subprocess.Popen] = []
        self.quota: CpuQuota | None = None
        self.helpers: CpuQuota | None = None

    def spawn(self, cmd: list[str], log: str, **kw) -> subprocess.Popen:
        proc = subprocess.Popen(cmd, cwd=str(REPO), stderr=open(self.workdir / log, "wb"), **child_options(), **kw)
        self.procs.append(proc)
        return proc

    def start(self) -> None:
        a = self.args
        booths = [secrets.token_urlsafe(12) for _ in range(a.booths)]
        agents = [secrets.token_urlsafe(12) for _ in range(a.agents)]
        (self.workdir / "serve-tokens.json").write_text(json.dumps({
            "kiosks": {t: {"kiosk_id": f"b{i}", "branch": f"br{i // 6}", "booth": i % 6 + 1} for i, t in enumerate(booths)},
            "agents": {t: {"agent_id": f"a{i}", "name": f"Agent {i}", "capacity": 6} for i, t in enumerate(agents)},
        }))
        (self.workdir / "load-tokens.json").write_text(json.dumps({"booths": booths, "agents": agents}))
        for name in ("serve-tokens.json", "load-tokens.json"):
            (self.workdir / name).chmod(0o600)
        redis_url = None
        if a.nodes > 1 or a.redis:
            port = free_port()
            self.redis = self.spawn([shutil.which("redis-server") or "redis-server", "--port", str(port), "--bind",
                                     "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", str(self.workdir)],
                                    "redis.log", stdout=subprocess.DEVNULL)
            redis_url = f"redis://127.0.0.1:{port}/0"
            time.sleep(0.3)
        database = None
        if a.database == "postgresql":
            self.postgres = PostgresServer(durable=True, folder=self.workdir).start()
            database = self.postgres.create_database("lapak")
        self.urls = []
        self.metrics_token = secrets.token_urlsafe(16)
        for n in range(a.nodes):
            port = free_port()
            cmd = [PYTHON, "-m", "server.cli", "serve", "--port", str(port), "--data", str(self.workdir / f"node-{n}"),
                   "--tokens", str(self.workdir / "serve-tokens.json"), "--media-workers", "1", "--kiosk-self-start",
                   "--ice-address", "127.0.0.1", "--metrics-token", self.metrics_token]
            if redis_url:
                cmd += ["--redis", redis_url, "--node-id", f"node-{n}"]
            if database:
                cmd += ["--database", database]
            self.nodes.append(self.spawn(cmd, f"node-{n}.log", stdout=subprocess.DEVNULL))
            self.urls.append(f"http://127.0.0.1:{port}")
        for n, url in enumerate(self.urls):
            wait_http(url + "/healthz", self.nodes[n], f"node {n}")
        g = max(1, a.generators)
        for i in range(g):
            cmd = [PYTHON, "-m", "bench.control_load", "--urls", ",".join(self.urls),
                   "--tokens", str(self.workdir / "load-tokens.json"),
                   "--booths", f"{a.booths * i // g}:{a.booths * (i + 1) // g}",
                   "--agents", f"{a.agents * i // g}:{a.agents * (i + 1) // g}",
                   "--rate", str(a.rate / g), "--talk", str(a.talk), "--warmup", str(a.warmup),
                   "--window", str(a.window), "--seed", str(i + 1)]
            self.gens.append(self.spawn(cmd, f"loadgen-{i}.log", stdin=subprocess.PIPE, stdout=subprocess.PIPE))
        if a.node_cores:
            why = quota_unavailable()
            if why:
                raise RuntimeError(f"--node-cores: {why}")
            self.quota = CpuQuota([p.pid for p in self.nodes], a.node_cores, tag="lapak-control", shares=NODE_SHARES)
            helpers = [p.pid for p in self.gens] + ([self.redis.pid] if self.redis else [])
            helpers += self.postgres.pids() if self.postgres else []
            self.helpers = CpuQuota(helpers, None, tag="lapak-control-load", shares=NODE_SHARES)

    def measure(self, progress) -> dict:
        a = self.args
        for i, gen in enumerate(self.gens):
            line = gen.stdout.readline()
            if line.strip() != b"ready":
                raise RuntimeError(f"load generator {i} did not connect its clients (see loadgen-{i}.log)")
        progress(f"{a.booths} booths and {a.agents} agents connected to {a.nodes} node(s)")
        for gen in self.gens:
            gen.stdin.write(b"go\n")
            gen.stdin.flush()
        time.sleep(a.warmup)
        groups = {"control": [p.pid for p in self.nodes], "redis": [self.redis.pid] if self.redis else [],
                  "generators": [p.pid for p in self.gens]}
        pg_before = self._postgres_cpu()
        before = {k: sum(cpu(p) for p in pids) for k, pids in groups.items()}
        fan_before = [fanout(u, self.metrics_token) for u in self.urls]
        started = time.monotonic()
        progress(f"measuring {a.window:.0f} s at {a.rate} requests/s")
        time.sleep(a.window)
        elapsed = time.monotonic() - started
        cores = {k: round((sum(cpu(p) for p in pids) - before[k]) / elapsed, 3) for k, pids in groups.items()}
        pg_cores = self._postgres_cpu()
        pg_cores = round(sum(pg_cores.get(p, 0.0) - pg_before.get(p, 0.0) for p in pg_cores) / elapsed, 3)
        fan_after = [fanout(u, self.metrics_token) for u in self.urls]
        fan = [{k: round((after.get(k, 0) - b.get(k, 0)) / elapsed, 4) for k in after}
               for b, after in zip(fan_before, fan_after)]
        results = []
        for i, gen in enumerate(self.gens):
            line = gen.stdout.readline()  # the result, before the generator closes its sockets
            if not line.strip():
                raise RuntimeError(f"load generator {i} gave no result (see loadgen-{i}.log)")
            results.append(json.loads(line))
        samples = [s * 1000 for r in results for s in r["dispatch_s"]]
        ended = sum(r["ended_in_window"] for r in results)
        p50, p95 = quantile(samples, 0.5), quantile(samples, 0.95)
        return {
            "nodes": a.nodes, "booths": a.booths, "agents": a.agents,
            "sessions_per_s": round(ended / a.window, 2),
            "dispatch_ms_p50": round(p50, 1) if p50 is not None else None,
            "dispatch_ms_p95": round(p95, 1) if p95 is not None else None,
            "control_cores": cores["control"],
            "redis_cores": cores["redis"] if self.redis else None,
            "postgres_cores": pg_cores if self.postgres else None,  # None: each node's records in its own SQLite
            "generator_cores": cores["generators"],
            "details": {
                "records": "postgresql" if self.postgres else "sqlite",
                "requests_per_s": round(sum(r["requests_in_window"] for r in results) / a.window, 2),
                "dispatch_samples": len(samples),
                "dispatch_ms_mean": round(statistics.fmean(samples), 1) if samples else None,
                "errors": sum(r["error_count"] for r in results),
                "error_examples": [e for r in results for e in r["errors"]][:3],
                "talk_s": a.talk, "window_s": a.window, "warmup_s": a.warmup,
                "node_cores_quota": a.node_cores,
                # Per node, per second: channel messages decoded, those with no socket here, and
                # the core share spent decoding and handling them (every node decodes every message).
                "fanout_per_node": fan if any(fan) else None,
            },
        }

    def _postgres_cpu(self) -> dict[int, float]:
        """CPU seconds of each PostgreSQL process now (backends come and go: counted by pid)."""
        return {pid: cpu(pid) for pid in self.postgres.pids()} if self.postgres else {}

    def stop(self) -> None:
        """Generators first, then the nodes (so that they do not log Redis or PostgreSQL going), then the engines."""
        for quota in (self.quota, self.helpers):
            if quota is not None:
                quota.release()
        self.quota = self.helpers = None
        engines = [self.redis] if self.redis else []
        for group in ([p for p in self.procs if p not in engines], engines):
            for proc in group:
                if proc.poll() is None:
                    proc.send_signal(signal.SIGTERM)
            for proc in group:
                try:
                    proc.wait(15)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
        if self.postgres is not None:
            self.postgres.stop()
            self.postgres = None


def table(result: dict) -> str:
    rows = [(k, result[k]) for k in KEYS] + [("generator_cores", result["generator_cores"])]
    rows += [(f"  {k}", v) for k, v in result["details"].items()]
    return "\n".join(f"{k:<20} {'-' if v is None else v}" for k, v in rows)


def main(argv: list[str]) -> int:
    args = parser().parse_args(argv)
    if args.warmup is None:
        args.warmup = round(1.2 * args.talk + 1, 1)
    if args.database is None:
        args.database = "postgresql" if args.nodes > 1 or args.redis else "sqlite"
    workdir = Path(args.workdir) if args.workdir else Path(tempfile.mkdtemp(prefix="lapak-control-"))
    workdir.mkdir(parents=True, exist_ok=True)
    workdir.chmod(0o711)  # PostgreSQL runs as nobody under root and must reach its folder in here
    run = Run(args, workdir)

    def progress(message: str) -> None:
        print(f"[control] {message}", file=sys.stderr, flush=True)

    try:
        run.start()
        result = run.measure(progress)
    finally:
        run.stop()
        if not args.workdir:
            shutil.rmtree(workdir, ignore_errors=True)
    print(json.dumps(result) if args.json else table(result), flush=True)
    return 0 if result["sessions_per_s"] > 0 else 1


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
