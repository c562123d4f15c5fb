"""What a benchmark run leaves behind: the table on screen (Markdown, ready for the README),
results.json and the throughput plot."""

from __future__ import annotations

import json
from pathlib import Path

TARGETS = {
    "speedup_vs_naive": (">= x20", lambda r: r["speedup_vs_naive"] >= 20),
    "fraction_of_limit": (">= 0.7", lambda r: r["fraction_of_limit"] >= 0.7),
    "scale": ("< 60 s and < 256 MB", lambda r: r["scale_seconds"] < 60 and r["scale_peak_rss_mb"] < 256),
    "idle_tick": ("< 20 ms", lambda r: r["idle_tick_ms"] < 20),
}


def judge(results: dict) -> dict:
    return {name: {"target": text, "met": bool(met(results))} for name, (text, met) in TARGETS.items()}


def write_json(results: dict, path: Path) -> None:
    path.write_text(json.dumps(results, indent=2) + "\n")


def table(r: dict) -> str:
    t = r["targets"]

    def verdict(name: str) -> str:
        return f"{t[name]['target']}: {'met' if t[name]['met'] else 'NOT met'}"

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
    return "\n".join(lines)


def _cores(c: dict) -> str:
    return f"{c['client']:.2f} / {c['emulator']:.2f} / {c['postgres']:.2f}"


def plot(curves: dict, path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot

    figure, axes = pyplot.subplots(figsize=(7.5, 4.5))
    styles = {
        "limit": dict(color="black", linewidth=7, alpha=0.15, label="limit = min(SendMessageBatch alone, SQL alone)"),
        "sqs_alone": dict(linestyle=":", marker="x", color="tab:blue", alpha=0.7, label="SendMessageBatch alone"),
        "sql_alone": dict(linestyle="-.", marker="+", color="tab:purple", alpha=0.7, label="SQL alone"),
        "scheduler": dict(linestyle="-", marker="o", color="tab:green", label="flow_scheduler, one tick"),
        "naive": dict(linestyle="-", marker="s", color="tab:red", label="naive per-workflow loop"),
    }
    for key, style in styles.items():
        axes.plot(curves["n"], curves[key], **style)
    axes.set_xlabel("due workflows (N)")
    axes.set_ylabel("workflows enqueued per second (median)")
    axes.set_yscale("log")
    axes.set_title(title, fontsize=10)
    axes.grid(True, which="both", alpha=0.3)
    axes.legend(fontsize=8, loc="center right")
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    pyplot.close(figure)
