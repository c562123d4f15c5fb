"""`python -m bench` (`make bench`): the scheduler against the naive loop and the limit of this machine.

Starts its own PostgreSQL and MiniStack on free ports, prints a Markdown table, writes results.json
and results.png into bench/ (or BENCH_OUT). BENCH_QUICK=1 is a smoke test: small sizes, a couple of
minutes, figures that judge no target. BENCH_N, BENCH_SCALE, BENCH_IDLE, BENCH_LAG override the
sizes; BENCH_SQS_MS and BENCH_PG_MS the AWS-like latency profile (8 ms per SQS call, 0.5 ms per
PostgreSQL round trip); BENCH_RULE the rule expression that starts the lateness run's ticks.
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
from .latency import Profile
from .lateness import lateness
from .measure import Bench, Run, import_times, median_run
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
DEFAULT_BATCH = 500  # BATCH_SIZE's default
SENDER_PROCESSES = 2  # also the fanned-out invocations: measured against the same processes' limit
LATENCY = Profile(float(os.environ.get("BENCH_SQS_MS") or 8), float(os.environ.get("BENCH_PG_MS") or 0.5))
# The naive loop pays the delays once per workflow, so its rate is flat in N: measured on fewer.
LATENCY_NAIVE_N = 100 if QUICK else 1_000
LATENCY_CONCURRENCIES = [8, 32] if QUICK else [4, 8, 16, 32]
LATENCY_BATCHES = [100, 500] if QUICK else [100, 250, 500, 1_000, 2_000]
LAG_N = int(os.environ.get("BENCH_LAG") or (1_000 if QUICK else 10_000))
COLD_STARTS = 1 if QUICK else 5
# Lateness: minute-aligned schedules, ticks started by the emulator's rule: cron(* * * * ? *), the expression the
# lateness of a minute-aligned schedule can be judged by (the default rate(1 minute) fires at whatever
# second the rule was created: BENCH_RULE="rate(1 minute)" measures it; docs/configuration.md has both).
LATENESS_RULE = os.environ.get("BENCH_RULE") or "cron(* * * * ? *)"
LATENESS_WORKFLOWS = 100 if QUICK else 1_000
LATENESS_MINUTES = 1 if QUICK else 3


def say(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def repeated(measure, *args) -> Run:
    return median_run([measure(*args) for _ in range(REPEATS)])


def main() -> int:
    started = datetime.now(timezone.utc)
    load = os.getloadavg()[0]
    if QUICK:
        say("BENCH_QUICK=1: a smoke test at small sizes; its figures are not comparable and judge no target")
    if load > 1.0:
        say(f"warning: load average {load:.1f} on {os.cpu_count()} cores before starting: other work will bend the figures")
    curves = {
        "n": SIZES, "scheduler": [], "naive": [], "sqs_alone": [], "sql_alone": [], "limit": [], "fanout": [],
        "latency_scheduler": [], "latency_sqs_alone": [], "latency_sql_alone": [], "latency_limit": [],
    }  # fmt: skip
    with running_services() as (postgres, emulator):
        bench = Bench(postgres, emulator)
        try:
            for n in SIZES:
                say(
                    f"N={n:,}: scheduler, SendMessageBatch alone, SQL alone, {SENDER_PROCESSES} fanned-out"
                    f" (median of {REPEATS}); naive loop"
                )
                best = medians(bench, n, fanout=True)
                best["naive"] = bench.naive(n)
                for key, run in best.items():
                    curves[key].append(run.rate)
                curves["limit"].append(min(best["sqs_alone"].rate, best["sql_alone"].rate))
                say("  " + ", ".join(f"{key} {run.rate:,.0f}/s" for key, run in best.items()))

            say(f"N={N:,}: SEND_CONCURRENCY {CONCURRENCIES}, scheduler and SendMessageBatch alone")
            sweep = concurrency_sweep(bench, CONCURRENCIES, best)

            say(f"N={N:,}: SendMessageBatch alone from {SENDER_PROCESSES} processes at once")
            processes = repeated(bench.sqs_processes, N, SENDER_PROCESSES, DEFAULT_CONCURRENCY)
            say(f"  {processes.rate:,.0f}/s")

            say(f"scale: {SCALE:,} due workflows in one invocation")
            scale = bench.scale(SCALE)
            say(f"  {scale['seconds']:.1f} s, peak RSS {scale['peak_rss_mb']:.0f} MB")

            say(f"idle: {IDLE:,} workflows stored, none due, {IDLE_TICKS} ticks")
            idle = bench.idle(IDLE, IDLE_TICKS)
            say(f"  median {idle['median_ms']:.2f} ms")
            say(f"idle: {IDLE:,} workflows stored with every schedule policy set, none due, {IDLE_TICKS} ticks")
            idle_policies = bench.idle(IDLE, IDLE_TICKS, policies=True)
            say(f"  median {idle_policies['median_ms']:.2f} ms")

            latency = under_latency(bench, curves)

            say(f"policies: N={N:,} due, every schedule policy set on every workflow vs none (median of {REPEATS})")
            plain, with_policies = repeated(bench.scheduler, N), repeated(lambda n: bench.scheduler(n, policies=True), N)
            say(f"  without {plain.rate:,.0f}/s, with {with_policies.rate:,.0f}/s")

            say(f"lag: a burst of {LAG_N:,} due at one instant, one warm invocation")
            lag = bench.lag(LAG_N)
            say(f"  p50 {lag['p50_ms']:,.0f} ms, p99 {lag['p99_ms']:,.0f} ms, max {lag['max_ms']:,.0f} ms")

            say(f"cold start: a fresh `python -m flow_scheduler tick` to its summary (median of {COLD_STARTS})")
            cold_start_ms, imports = bench.cold_start(COLD_STARTS), import_times()
            say(f"  {cold_start_ms:,.0f} ms, of which importing the handler {imports['total_ms']:,.0f} ms")
            say(f"lateness: {LATENESS_WORKFLOWS:,} minute-aligned schedules, {LATENESS_MINUTES} ticks of the rule {LATENESS_RULE}")
            late = lateness(bench, LATENESS_RULE, LATENESS_WORKFLOWS, LATENESS_MINUTES)
            say(f"  p50 {late['p50_ms']:,.0f} ms, p99 {late['p99_ms']:,.0f} ms over {late['executions']:,} executions")
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
        "scale_executions_sizes_mb": scale["executions_sizes_mb"],
        "idle_workflows": IDLE,
        "idle_tick_ms": round(idle["median_ms"], 2),
        "idle_tick_p95_ms": round(idle["p95_ms"], 2),
        "idle_uses_index": idle["uses_index"],
        "idle_plan": idle["plan"],
        "idle_sizes_mb": idle["sizes_mb"],
        "curves": {key: [round(v, 1) for v in values] for key, values in curves.items()},
        "versions": {
            "python": platform.python_version(),
            "postgres": postgres_version,
            "psycopg2": psycopg2.__version__.split()[0],
            **{name: version(name) for name in ("ministack", "boto3", "botocore", "croniter", "pgserver")},
        },
    }
    fanout = best["fanout"]
    results.update(
        {
            "fanout_invocations": SENDER_PROCESSES,
            "fanout_per_s": round(fanout.rate, 1),
            "fanout_speedup_vs_naive": round(fanout.rate / slow, 1),
            "fanout_fraction_of_limit": round(fanout.rate / processes.rate, 3),
            "fanout_shares": fanout.shares,
            "fanout_checked": "0 lost, 0 duplicated: one queued execution per occurrence and one message each,"
            " else the bench stops",
            **latency,
            "policies_without_per_s": round(plain.rate, 1),
            "policies_with_per_s": round(with_policies.rate, 1),
            "policies_rate_ratio": round(with_policies.rate / plain.rate, 3),
            "policies_idle_tick_ms": round(idle_policies["median_ms"], 2),
            "policies_idle_tick_p95_ms": round(idle_policies["p95_ms"], 2),
            "policies_idle_uses_index": idle_policies["uses_index"],
            "lateness_rule": LATENESS_RULE,
            "lateness_workflows": LATENESS_WORKFLOWS,
            "lateness_ticks": LATENESS_MINUTES,
            "lateness_executions": late["executions"],
            **{f"lateness_{key}": round(value, 1) for key, value in late.items() if key != "executions"},
            "lag_n": LAG_N,
            **{f"lag_{key}": round(value, 1) for key, value in lag.items()},
            "cold_start_ms": round(cold_start_ms, 1),
            "cold_start_imports": imports,
        }
    )
    results["cpu_cores"]["fanout"] = fanout.cores
    # CPU that other processes took during the headline runs: near 0 when the machine was ours alone.
    results["other_cores_during_runs"] = max(run.cores.get("other", 0.0) for run in best.values())
    results["targets"] = report.judge(results)

    OUT.mkdir(parents=True, exist_ok=True)
    report.write_json(results, OUT / "results.json")
    title = (
        f"FlowBuilder scheduler vs naive loop vs limit: {results['cores']} cores, PostgreSQL "
        f"{postgres_version.split()[0]}, MiniStack {results['versions']['ministack']}"
    )
    report.plot(results, OUT / "results.png", title)
    print()
    print(report.table(results))
    print(f"\n{results['cores']} cores ({results['cpu_model']}); {OUT / 'results.json'}, {OUT / 'results.png'}")
    return 0


def medians(bench: Bench, n: int, fanout: bool = False) -> dict[str, Run]:
    """The scheduler, SendMessageBatch alone and SQL alone (and the fanned-out invocations) over `n`
    due, interleaved so a slow moment of the machine hits all alike; the median run of each."""
    runs = {"scheduler": [], "sqs_alone": [], "sql_alone": [], **({"fanout": []} if fanout else {})}
    for _ in range(REPEATS):
        runs["scheduler"].append(bench.scheduler(n))
        runs["sqs_alone"].append(bench.sqs_only(n))
        runs["sql_alone"].append(bench.db_only(n))
        if fanout:
            runs["fanout"].append(bench.fanout(n, SENDER_PROCESSES))
    return {key: median_run(value) for key, value in runs.items()}


def concurrency_sweep(bench: Bench, levels: list[int], best: dict[str, Run], prefix: str = "") -> dict[int, tuple[Run, Run]]:
    """Scheduler and SendMessageBatch alone over N at each SEND_CONCURRENCY; the default level is `best`'s."""
    sweep = {}
    for c in levels:
        if c == DEFAULT_CONCURRENCY:
            sweep[c] = (best["scheduler"], best["sqs_alone"])
        else:
            sweep[c] = (repeated(bench.scheduler, N, c), repeated(bench.sqs_only, N, c))
        say(f"  {prefix}{c}: scheduler {sweep[c][0].rate:,.0f}/s, SendMessageBatch alone {sweep[c][1].rate:,.0f}/s")
    return sweep


def under_latency(bench: Bench, curves: dict) -> dict:
    """The scheduler, the naive loop and the limit with every SQS call and PostgreSQL round trip
    delayed as on AWS; the SEND_CONCURRENCY and BATCH_SIZE sweep; the lag of a burst. Fills the
    latency curves, returns the latency_* keys."""
    say(f"AWS-like latency: SQS +{LATENCY.sqs_ms:g} ms a call, PostgreSQL +{LATENCY.postgres_ms:g} ms a round trip")
    direct = bench.round_trips()
    with bench.latency(LATENCY) as routes:
        added = {key: value - direct[key] for key, value in bench.round_trips().items()}
        say(f"  measured: SQS +{added['sqs']:.2f} ms a call, PostgreSQL +{added['postgres']:.2f} ms a round trip")
        for n in SIZES:
            best = medians(bench, n)
            for key, run in best.items():
                curves[f"latency_{key}"].append(run.rate)
            curves["latency_limit"].append(min(best["sqs_alone"].rate, best["sql_alone"].rate))
            say(f"  N={n:,}: " + ", ".join(f"{key} {run.rate:,.0f}/s" for key, run in best.items()))
        slow = bench.naive(LATENCY_NAIVE_N)
        say(f"  naive loop, N={LATENCY_NAIVE_N:,}: {slow.rate:,.0f}/s")

        concurrency = concurrency_sweep(bench, LATENCY_CONCURRENCIES, best, prefix="SEND_CONCURRENCY ")
        batch = {}
        for b in LATENCY_BATCHES:
            batch[b] = best["scheduler"] if b == DEFAULT_BATCH else repeated(bench.scheduler, N, DEFAULT_CONCURRENCY, b)
            say(f"  BATCH_SIZE {b}: scheduler {batch[b].rate:,.0f}/s")
        lag = bench.lag(LAG_N)
        say(f"  lag of {LAG_N:,} due at one instant: p50 {lag['p50_ms']:,.0f} ms, p99 {lag['p99_ms']:,.0f} ms")
        proxy = routes.stats()

    rate = best["scheduler"].rate
    limit = min(best["sqs_alone"].rate, best["sql_alone"].rate)
    return {
        "latency_profile": {
            **LATENCY.as_dict(),
            "added_ms_measured": {key: round(value, 2) for key, value in added.items()},  # median, smallest calls
            "proxy": proxy,
        },
        "latency_per_s": round(rate, 1),
        "latency_naive_per_s": round(slow.rate, 1),
        "latency_naive_n": LATENCY_NAIVE_N,
        "latency_speedup_vs_naive": round(rate / slow.rate, 1),
        "latency_sqs_alone_per_s": round(best["sqs_alone"].rate, 1),
        "latency_sql_alone_per_s": round(best["sql_alone"].rate, 1),
        "latency_limit_per_s": round(limit, 1),
        "latency_fraction_of_limit": round(rate / limit, 3),
        "latency_sweep": {
            "send_concurrency": {
                str(c): {"scheduler_per_s": round(s.rate, 1), "sqs_alone_per_s": round(q.rate, 1)}
                for c, (s, q) in concurrency.items()
            },
            "batch_size": {str(b): {"scheduler_per_s": round(run.rate, 1)} for b, run in batch.items()},
        },
        "latency_lag": {key: round(value, 1) for key, value in lag.items()},
        "latency_cpu_cores": {"scheduler": best["scheduler"].cores, "naive": slow.cores},
    }


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
