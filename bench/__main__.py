"""`python -m bench` (`make bench`): the scheduler against the naive loop and the limit of this machine.

Starts its own PostgreSQL and MiniStack on free ports, prints a Markdown table, writes results.json
and results.png into bench/ (or BENCH_OUT). BENCH_QUICK=1 runs small sizes (well under a minute);
BENCH_N, BENCH_SCALE, BENCH_IDLE override the headline sizes.
"""

from __future__ import annotations

import os
import platform
import sys
import time
from datetime import datetime, timezone
from importlib.metadata import version
from pathlib import Path

import psycopg2

from . import report
from .measure import Bench, Run, median_run
from .services import running_services

OUT = Path(os.environ.get("BENCH_OUT") or Path(__file__).resolve().parent)
QUICK = os.environ.get("BENCH_QUICK") == "1"
N = int(os.environ.get("BENCH_N") or (300 if QUICK else 5_000))
SIZES = [N // 3, N] if QUICK else [N // 10, N // 5, N * 2 // 5, N]
REPEATS = 1 if QUICK else 5  # fast measurements are repeated and the median kept; the naive loop runs once
SCALE = int(os.environ.get("BENCH_SCALE") or (2_000 if QUICK else 100_000))
IDLE = int(os.environ.get("BENCH_IDLE") or (20_000 if QUICK else 1_000_000))
IDLE_TICKS = 5 if QUICK else 20
CONCURRENCIES = [1, 8] if QUICK else [1, 2, 4, 8, 16]
DEFAULT_CONCURRENCY = 8  # SEND_CONCURRENCY's default
SENDER_PROCESSES = 2


def say(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def repeated(measure, *args) -> Run:
    return median_run([measure(*args) for _ in range(REPEATS)])


def main() -> int:
    started = datetime.now(timezone.utc)
    load = os.getloadavg()[0]
    if load > 1.0:
        say(f"warning: load average {load:.1f} on {os.cpu_count()} cores before starting: other work will bend the figures")
    curves = {"n": SIZES, "scheduler": [], "naive": [], "sqs_alone": [], "sql_alone": [], "limit": []}
    with running_services() as (postgres, emulator):
        bench = Bench(postgres, emulator)
        try:
            for n in SIZES:
                say(f"N={n:,}: scheduler, SendMessageBatch alone, SQL alone (median of {REPEATS}); naive loop")
                runs = {"scheduler": [], "sqs_alone": [], "sql_alone": []}
                for _ in range(REPEATS):  # interleaved, so a slow moment of the machine hits all three alike
                    runs["scheduler"].append(bench.scheduler(n))
                    runs["sqs_alone"].append(bench.sqs_only(n))
                    runs["sql_alone"].append(bench.db_only(n))
                best = {key: median_run(value) for key, value in runs.items()}
                best["naive"] = bench.naive(n)
                for key, run in best.items():
                    curves[key].append(run.rate)
                curves["limit"].append(min(best["sqs_alone"].rate, best["sql_alone"].rate))
                say("  " + ", ".join(f"{key} {run.rate:,.0f}/s" for key, run in best.items()))

            say(f"N={N:,}: SEND_CONCURRENCY {CONCURRENCIES}, scheduler and SendMessageBatch alone")
            sweep = {}
            for c in CONCURRENCIES:
                if c == DEFAULT_CONCURRENCY:
                    sweep[c] = (best["scheduler"], best["sqs_alone"])
                else:
                    sweep[c] = (repeated(bench.scheduler, N, c), repeated(bench.sqs_only, N, c))
                say(f"  {c}: scheduler {sweep[c][0].rate:,.0f}/s, SendMessageBatch alone {sweep[c][1].rate:,.0f}/s")

            say(f"N={N:,}: SendMessageBatch alone from {SENDER_PROCESSES} processes at once")
            processes = repeated(bench.sqs_processes, N, SENDER_PROCESSES, DEFAULT_CONCURRENCY)
            say(f"  {processes.rate:,.0f}/s")

            say(f"scale: {SCALE:,} due workflows in one invocation")
            scale = bench.scale(SCALE)
            say(f"  {scale['seconds']:.1f} s, peak RSS {scale['peak_rss_mb']:.0f} MB")

            say(f"idle: {IDLE:,} workflows stored, none due, {IDLE_TICKS} ticks")
            idle = bench.idle(IDLE, IDLE_TICKS)
            say(f"  median {idle['median_ms']:.2f} ms")
            postgres_version = bench.server_version()
        finally:
            bench.close()

    throughput, slow = best["scheduler"].rate, best["naive"].rate
    limit = min(best["sqs_alone"].rate, best["sql_alone"].rate)
    results = {
        "quick": QUICK,
        "started_at": started.isoformat(timespec="seconds"),
        "cores": os.cpu_count(),
        "cpu_model": _cpu_model(),
        "load_average_at_start": round(load, 2),
        "repeats": REPEATS,
        "n": N,
        "throughput_per_s": round(throughput, 1),
        "naive_per_s": round(slow, 1),
        "speedup_vs_naive": round(throughput / slow, 1),
        "sqs_alone_per_s": round(best["sqs_alone"].rate, 1),
        "sql_alone_per_s": round(best["sql_alone"].rate, 1),
        "limit_per_s": round(limit, 1),
        "limited_by": "SendMessageBatch alone" if best["sqs_alone"].rate <= best["sql_alone"].rate else "SQL alone",
        "fraction_of_limit": round(throughput / limit, 3),
        "send_concurrency": {
            str(c): {"scheduler_per_s": round(s.rate, 1), "sqs_alone_per_s": round(q.rate, 1)} for c, (s, q) in sweep.items()
        },
        "sqs_processes": {"processes": SENDER_PROCESSES, "concurrency": DEFAULT_CONCURRENCY, "per_s": round(processes.rate, 1)},
        "cpu_cores": {
            "scheduler": best["scheduler"].cores,
            "naive": best["naive"].cores,
            "sqs_alone": best["sqs_alone"].cores,
            "sql_alone": best["sql_alone"].cores,
            "sqs_processes": processes.cores,
        },
        "client_cpu_us_per_workflow": {
            key: round(best[key].client_cpu_us) for key in ("scheduler", "naive", "sqs_alone", "sql_alone")
        },
        "scale_workflows": SCALE,
        "scale_seconds": round(scale["seconds"], 2),
        "scale_tick_seconds": round(scale["tick_seconds"], 2),
        "scale_peak_rss_mb": round(scale["peak_rss_mb"], 1),
        "scale_cpu_seconds": round(scale["cpu_seconds"], 2),
        "scale_cpu_us_per_workflow": round(scale["cpu_seconds"] / SCALE * 1e6),
        "idle_workflows": IDLE,
        "idle_tick_ms": round(idle["median_ms"], 2),
        "idle_tick_p95_ms": round(idle["p95_ms"], 2),
        "idle_uses_index": idle["uses_index"],
        "idle_plan": idle["plan"],
        "curves": {key: [round(v, 1) for v in values] for key, values in curves.items()},
        "versions": {
            "python": platform.python_version(),
            "postgres": postgres_version,
            "psycopg2": psycopg2.__version__.split()[0],
            **{name: version(name) for name in ("ministack", "boto3", "botocore", "croniter", "pgserver")},
        },
    }
    # CPU that other processes took during the headline runs: near 0 when the machine was ours alone.
    results["other_cores_during_runs"] = max(run.cores.get("other", 0.0) for run in best.values())
    results["targets"] = report.judge(results)

    OUT.mkdir(parents=True, exist_ok=True)
    report.write_json(results, OUT / "results.json")
    title = (
        f"FlowBuilder scheduler vs naive loop vs limit: {results['cores']} cores, PostgreSQL "
        f"{postgres_version.split()[0]}, MiniStack {results['versions']['ministack']}"
    )
    report.plot(curves, OUT / "results.png", title)
    print()
    print(report.table(results))
    print(f"\n{results['cores']} cores ({results['cpu_model']}); {OUT / 'results.json'}, {OUT / 'results.png'}")
    return 0


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


if __name__ == "__main__":
    sys.exit(main())
