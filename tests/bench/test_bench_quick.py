"""The benchmark runs end to end (BENCH_QUICK=1: small sizes) and writes what `make bench` promises.
No figure is judged here: speed lives in the benchmark, this only keeps it from rotting."""

import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
KEYS = {
    "throughput_per_s", "naive_per_s", "speedup_vs_naive", "limit_per_s", "fraction_of_limit", "scale_workflows",
    "scale_seconds", "scale_peak_rss_mb", "idle_workflows", "idle_tick_ms", "cores", "versions",
    "sqs_alone_per_s", "sql_alone_per_s", "send_concurrency", "sqs_processes", "cpu_cores", "targets", "curves",
}  # fmt: skip


def test_quick_bench_writes_the_json_and_the_plot(tmp_path):
    run = subprocess.run(
        [sys.executable, "-m", "bench"],
        cwd=REPO,
        env={**os.environ, "BENCH_QUICK": "1", "BENCH_OUT": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "| speedup vs naive |" in run.stdout and "| fraction of the limit |" in run.stdout
    results = json.loads((tmp_path / "results.json").read_text())
    assert KEYS <= results.keys()
    assert results["quick"] is True and results["scale_workflows"] == 2000 and results["idle_workflows"] == 20000
    assert all(results[key] > 0 for key in ("throughput_per_s", "naive_per_s", "limit_per_s", "scale_peak_rss_mb"))
    assert results["idle_uses_index"] is True, results["idle_plan"]
    assert {"python", "postgres", "ministack", "boto3", "psycopg2"} <= results["versions"].keys()
    assert {"client", "emulator", "postgres", "other"} == results["cpu_cores"]["scheduler"].keys()
    assert {"speedup_vs_naive", "fraction_of_limit", "scale", "idle_tick"} == results["targets"].keys()
    assert (tmp_path / "results.png").read_bytes().startswith(b"\x89PNG")
