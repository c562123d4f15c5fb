"""The benchmark runs end to end (small sizes) and writes what `make bench` promises."""

import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
KEYS = {
    "throughput_per_s", "naive_per_s", "speedup_vs_naive", "limit_per_s", "fraction_of_limit", "scale_workflows",
    "scale_seconds", "scale_peak_rss_mb", "idle_workflows", "idle_tick_ms", "cores", "versions",
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
    assert "throughput (one tick)" in run.stdout and "idle tick" in run.stdout
    results = json.loads((tmp_path / "results.json").read_text())
    assert KEYS <= results.keys()
    assert results["scale_workflows"] == 2000 and results["idle_workflows"] == 20000
    assert all(results[key] > 0 for key in ("throughput_per_s", "naive_per_s", "limit_per_s", "scale_peak_rss_mb"))
    assert {"postgres", "ministack", "boto3", "psycopg2-binary"} <= results["versions"].keys()
    assert (tmp_path / "results.png").read_bytes().startswith(b"\x89PNG")
