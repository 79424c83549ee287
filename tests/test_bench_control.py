"""``lapak bench --control`` at a tiny load: two nodes behind Redis, every key of the JSON there and sane.

Only sanity is asserted (sessions went through, latencies measured, CPU
counted): the targets (one node's p95 at 2,000 booths, two nodes' ratio) are
figures for docs/performance.md, not for a shared 2-core test machine.
"""

from __future__ import annotations

import json

from bench.cli import main

KEYS = ("nodes", "booths", "agents", "sessions_per_s", "dispatch_ms_p50", "dispatch_ms_p95",
        "control_cores", "redis_cores", "postgres_cores")


def test_control_bench_reports_its_keys_at_a_tiny_load(tmp_path, capsys):
    code = main(["--control", "--nodes", "2", "--booths", "24", "--agents", "4", "--rate", "4", "--talk", "1",
                 "--warmup", "1", "--window", "4", "--generators", "1", "--json"])  # its own folder: PostgreSQL
    # runs there as nobody, who cannot enter pytest's private tmp_path
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert code == 0
    for key in KEYS:
        assert key in result, key
    assert (result["nodes"], result["booths"], result["agents"]) == (2, 24, 4)
    assert result["sessions_per_s"] > 0
    assert 0 < result["dispatch_ms_p50"] <= result["dispatch_ms_p95"]
    assert result["control_cores"] > 0 and result["redis_cores"] > 0 and result["generator_cores"] > 0
    assert result["details"]["records"] == "postgresql"  # two nodes share one PostgreSQL the bench started
    assert result["postgres_cores"] > 0
    assert result["details"]["errors"] == 0, result["details"]
