"""What a benchmark run leaves behind: the table on screen (Markdown, ready for the README),
results.json and the throughput plot."""

from __future__ import annotations

import json
from pathlib import Path

TARGETS = {
    "speedup_vs_naive": (">= x20", lambda r: r["speedup_vs_naive"] >= 20),
    "fraction_of_limit": (">= 0.8", lambda r: r["fraction_of_limit"] >= 0.8),
    "scale": ("< 60 s and < 256 MB", lambda r: r["scale_seconds"] < 60 and r["scale_peak_rss_mb"] < 256),
    "idle_tick": ("< 20 ms", lambda r: r["idle_tick_ms"] < 20),
    "fanout_fraction_of_limit": (">= 0.75", lambda r: r["fanout_fraction_of_limit"] >= 0.75),
    "latency_speedup_vs_naive": (">= x50", lambda r: r["latency_speedup_vs_naive"] >= 50),
    "latency_fraction_of_limit": (">= 0.8", lambda r: r["latency_fraction_of_limit"] >= 0.8),
    "cold_start": ("< 1,000 ms", lambda r: r["cold_start_ms"] < 1000),
    "policies_rate_ratio": (">= 0.9", lambda r: r["policies_rate_ratio"] >= 0.9),
    "policies_idle_tick": ("< 20 ms", lambda r: r["policies_idle_tick_ms"] < 20),
}
SMOKE_TEST = "BENCH_QUICK=1: a smoke test at small sizes; these figures are not comparable and judge no target"


def judge(results: dict) -> dict:
    """Each target met or not; a quick run's small sizes say nothing about them (met: None)."""
    return {
        name: {"target": text, "met": None if results["quick"] else bool(met(results))} for name, (text, met) in TARGETS.items()
    }


def write_json(results: dict, path: Path) -> None:
    path.write_text(json.dumps(results, indent=2) + "\n")


def table(r: dict) -> str:
    t = r["targets"]

    def verdict(name: str) -> str:
        met = t[name]["met"]
        return f"{t[name]['target']}: {'not judged (smoke test)' if met is None else 'met' if met else 'NOT met'}"

    cores = r["cpu_cores"]
    sweep = r["send_concurrency"]
    levels = " / ".join(sweep)
    rows = [
        ("measure", "result", "target"),
        (f"throughput: {r['n']:,} due workflows, one warm invocation", f"{r['throughput_per_s']:,.0f} workflows/s", ""),
        ("naive per-workflow loop (`bench/naive.py`), same services", f"{r['naive_per_s']:,.0f} workflows/s", ""),
        ("speedup vs naive", f"x{r['speedup_vs_naive']}", verdict("speedup_vs_naive")),
        (
            f"limit: min(SendMessageBatch alone {r['sqs_alone_per_s']:,.0f}/s, SQL alone {r['sql_alone_per_s']:,.0f}/s)",
            f"{r['limit_per_s']:,.0f} workflows/s",
            "",
        ),
        ("fraction of the limit", f"{r['fraction_of_limit']:.2f}", verdict("fraction_of_limit")),
        (
            f"scale: {r['scale_workflows']:,} due in one invocation (own process)",
            f"{r['scale_seconds']:.1f} s, peak RSS {r['scale_peak_rss_mb']:.0f} MB",
            verdict("scale"),
        ),
        (
            f"idle tick: {r['idle_workflows']:,} stored, none due (median, p95)",
            f"{r['idle_tick_ms']:.1f} ms, {r['idle_tick_p95_ms']:.1f} ms",
            verdict("idle_tick"),
        ),
        (
            f"idle tick: {r['idle_workflows']:,} stored, every schedule policy set, none due (median, p95)",
            f"{r['policies_idle_tick_ms']:.1f} ms, {r['policies_idle_tick_p95_ms']:.1f} ms",
            verdict("policies_idle_tick"),
        ),
        (
            f"lateness, queued_at - scheduled_for: {r['lateness_workflows']:,} minute-aligned schedules,"
            f" {r['lateness_ticks']} ticks started by the emulator's rule {r['lateness_rule']}: p50 / p99 / max",
            f"{r['lateness_p50_ms']:,.0f} / {r['lateness_p99_ms']:,.0f} / {r['lateness_max_ms']:,.0f} ms: the rule's event"
            f" {r['lateness_rule_p50_ms']:,.0f} ms into the minute (p50), then the tick {r['lateness_tick_p50_ms']:,.0f} /"
            f" {r['lateness_tick_p99_ms']:,.0f} ms (p50 / p99)",
            "MiniStack sweeps its rules every 10 s",
        ),
        (
            f"on disk: {r['idle_workflows']:,} schedules; {r['scale_workflows']:,} executions",
            ", ".join(f"{name} {mb:,.0f}" for name, mb in {**r["idle_sizes_mb"], **r["scale_executions_sizes_mb"]}.items())
            + " MiB",
            "",
        ),
        (
            f"scheduler at SEND_CONCURRENCY {levels}",
            " / ".join(f"{v['scheduler_per_s']:,.0f}" for v in sweep.values()) + " workflows/s",
            "",
        ),
        (
            f"SendMessageBatch alone, {levels} calls in flight",
            " / ".join(f"{v['sqs_alone_per_s']:,.0f}" for v in sweep.values()) + " messages/s",
            "",
        ),
        (
            f"SendMessageBatch alone from {r['sqs_processes']['processes']} processes at once",
            f"{r['sqs_processes']['per_s']:,.0f} messages/s",
            "",
        ),
    ]
    latency, sweep = r["latency_profile"], r["latency_sweep"]
    added = latency["added_ms_measured"]
    delays = (
        f"SQS +{latency['sqs_ms']:g} ms, PostgreSQL +{latency['postgres_ms']:g} ms a round trip; "
        f"measured +{added['sqs']:.1f} ms, +{added['postgres']:.2f} ms"
    )
    rows += [
        (
            f"fan-out: {r['fanout_invocations']} concurrent invocations (processes), {r['n']:,} due, SKIP LOCKED",
            f"{r['fanout_per_s']:,.0f} workflows/s (shares {' + '.join(f'{s:,}' for s in r['fanout_shares'])}),"
            " 0 lost, 0 duplicated",
            "",
        ),
        ("fan-out speedup vs naive (the naive loop cannot fan out safely)", f"x{r['fanout_speedup_vs_naive']}", ""),
        (
            f"fan-out fraction of the {r['fanout_invocations']}-process limit (SendMessageBatch alone from as many processes)",
            f"{r['fanout_fraction_of_limit']:.2f}",
            verdict("fanout_fraction_of_limit"),
        ),
        (f"latency profile ({delays}): scheduler, {r['n']:,} due", f"{r['latency_per_s']:,.0f} workflows/s", ""),
        (f"latency profile: naive loop ({r['latency_naive_n']:,} due)", f"{r['latency_naive_per_s']:,.0f} workflows/s", ""),
        ("latency profile: speedup vs naive", f"x{r['latency_speedup_vs_naive']}", verdict("latency_speedup_vs_naive")),
        (
            f"latency profile: limit, min(SendMessageBatch alone {r['latency_sqs_alone_per_s']:,.0f}/s, "
            f"SQL alone {r['latency_sql_alone_per_s']:,.0f}/s)",
            f"{r['latency_limit_per_s']:,.0f} workflows/s",
            "",
        ),
        ("latency profile: fraction of the limit", f"{r['latency_fraction_of_limit']:.2f}", verdict("latency_fraction_of_limit")),
        (
            f"latency profile: scheduler at SEND_CONCURRENCY {' / '.join(sweep['send_concurrency'])}",
            " / ".join(f"{v['scheduler_per_s']:,.0f}" for v in sweep["send_concurrency"].values()) + " workflows/s",
            "SendMessageBatch alone: "
            + " / ".join(f"{v['sqs_alone_per_s']:,.0f}" for v in sweep["send_concurrency"].values()),
        ),
        (
            f"latency profile: scheduler at BATCH_SIZE {' / '.join(sweep['batch_size'])}",
            " / ".join(f"{v['scheduler_per_s']:,.0f}" for v in sweep["batch_size"].values()) + " workflows/s",
            "",
        ),
        (
            f"lag of a burst, {r['lag_n']:,} due at one instant: p50 / p99 / max",
            f"{r['lag_p50_ms']:,.0f} / {r['lag_p99_ms']:,.0f} / {r['lag_max_ms']:,.0f} ms",
            "latency profile: " + " / ".join(f"{v:,.0f}" for v in r["latency_lag"].values()) + " ms",
        ),
        (
            "due rate with every schedule policy set on every workflow (contract 10) / without",
            f"{r['policies_with_per_s']:,.0f} / {r['policies_without_per_s']:,.0f} workflows/s"
            f" (x{r['policies_rate_ratio']})",
            verdict("policies_rate_ratio"),
        ),
        (
            "cold start: fresh process to the first tick's summary",
            f"{r['cold_start_ms']:,.0f} ms",
            verdict("cold_start"),
        ),
        (
            f"importing the handler: {r['cold_start_imports']['total_ms']:,.0f} ms, heaviest packages",
            ", ".join(f"{name} {ms:g}" for name, ms in r["cold_start_imports"]["heaviest_ms"].items()) + " ms",
            "",
        ),
    ]
    cpu = r["client_cpu_us_per_workflow"]
    rows.append(
        (
            "CPU of the working process per workflow: scheduler / naive / SendMessageBatch alone / SQL alone",
            f"{cpu['scheduler']} / {cpu['naive']} / {cpu['sqs_alone']} / {cpu['sql_alone']} µs",
            f"scale run: {r['scale_cpu_us_per_workflow']} µs",
        )
    )
    rows += [
        (f"cores busy, {label}: client / emulator / PostgreSQL", _cores(cores[key]), "")
        for key, label in (("scheduler", "scheduler tick"), ("sqs_alone", "SendMessageBatch alone"),
                           ("sqs_processes", "SendMessageBatch from processes"), ("naive", "naive loop"))
    ]  # fmt: skip
    rows.append(
        (
            "CPU taken by other processes during the headline runs",
            f"{r['other_cores_during_runs']:.2f} cores",
            "0 on a quiet machine" if r["other_cores_during_runs"] < 0.15 else "the machine was busy: figures bent",
        )
    )
    lines = [f"| {a} | {b} | {c} |" for a, b, c in rows]
    lines.insert(1, "|---|---|---|")
    if r["quick"]:
        lines = [f"**{SMOKE_TEST}.**", "", *lines, "", f"**{SMOKE_TEST}.**"]
    return "\n".join(lines)


def _cores(c: dict) -> str:
    return f"{c['client']:.2f} / {c['emulator']:.2f} / {c['postgres']:.2f}"


def plot(r: dict, path: Path, title: str) -> None:
    """Two panels over N: loopback (with the fanned-out invocations) and the AWS-like latency profile."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot

    curves, n = r["curves"], r["curves"]["n"]
    figure, (loopback, delayed) = pyplot.subplots(1, 2, figsize=(13, 4.8), sharey=True)
    limit = dict(color="black", linewidth=7, alpha=0.15)
    sqs = dict(linestyle=":", marker="x", color="tab:blue", alpha=0.7)
    sql = dict(linestyle="-.", marker="+", color="tab:purple", alpha=0.7)
    scheduler = dict(linestyle="-", marker="o", color="tab:green")
    naive = dict(linestyle="-", marker="s", color="tab:red")
    panels = {
        loopback: [
            ("limit", limit, "limit = min(SendMessageBatch alone, SQL alone)"),
            ("sqs_alone", sqs, "SendMessageBatch alone"),
            ("sql_alone", sql, "SQL alone"),
            ("scheduler", scheduler, "flow_scheduler, one tick"),
            ("fanout", dict(linestyle="--", marker="D", color="tab:olive"), f"{r['fanout_invocations']} fanned-out invocations"),
            ("naive", naive, "naive per-workflow loop"),
        ],
        delayed: [
            ("latency_limit", limit, "limit = min(SendMessageBatch alone, SQL alone)"),
            ("latency_sqs_alone", sqs, "SendMessageBatch alone"),
            ("latency_sql_alone", sql, "SQL alone"),
            ("latency_scheduler", scheduler, "flow_scheduler, one tick"),
        ],
    }
    for axes, lines in panels.items():
        for key, style, label in lines:
            axes.plot(n, curves[key], label=label, **style)
    loopback.plot(
        [r["n"]], [r["sqs_processes"]["per_s"]], "*", color="tab:blue", markersize=12,
        label=f"SendMessageBatch alone, {r['sqs_processes']['processes']} processes (fan-out's limit)",
    )  # fmt: skip
    delayed.axhline(
        r["latency_naive_per_s"], color="tab:red", marker="", label=f"naive loop (measured at N={r['latency_naive_n']:,})"
    )
    latency = r["latency_profile"]
    loopback.set_title("loopback", fontsize=10)
    delayed.set_title(
        f"AWS-like latency: SQS +{latency['sqs_ms']:g} ms a call, PostgreSQL +{latency['postgres_ms']:g} ms a round trip",
        fontsize=10,
    )
    loopback.set_ylabel("workflows enqueued per second (median)")
    for axes in (loopback, delayed):
        axes.set_xlabel("due workflows (N)")
        axes.set_yscale("log")
        axes.grid(True, which="both", alpha=0.3)
        axes.legend(fontsize=7, loc="center right")
    figure.suptitle(f"{title}{'  (SMOKE TEST: BENCH_QUICK=1)' if r['quick'] else ''}", fontsize=10)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    pyplot.close(figure)
