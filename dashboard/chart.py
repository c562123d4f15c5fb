"""The last hour as a small inline SVG: executions per minute (bars) and mean lag (lines). Pure."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

WIDTH, HEIGHT, MINUTES = 600, 120, 60


@dataclass
class Chart:
    bars: list[dict]  # x, y, width, height, title
    lag_queued: str  # SVG polyline points
    lag_started: str
    max_runs: int
    max_lag_s: float
    total: int


def last_hour(rows: list[dict], now: datetime) -> Chart:
    """`rows` from the per_minute query: minute, runs, lag_queued_s, lag_started_s."""
    start = now.replace(second=0, microsecond=0) - timedelta(minutes=MINUTES - 1)
    by_slot = {int((row["minute"] - start).total_seconds() // 60): row for row in rows}
    max_runs = max((row["runs"] for row in rows), default=0) or 1
    lags = [float(row[key]) for row in rows for key in ("lag_queued_s", "lag_started_s") if row[key] is not None]
    max_lag = max(lags, default=0.0) or 1.0
    step = WIDTH / MINUTES
    bars, queued, started = [], [], []
    for slot in range(MINUTES):
        row = by_slot.get(slot)
        if row is None:
            continue
        x = slot * step
        height = HEIGHT * row["runs"] / max_runs
        bars.append({
            "x": round(x + 1, 1), "y": round(HEIGHT - height, 1), "width": round(step - 2, 1), "height": round(height, 1),
            "title": f"{row['minute']:%H:%M} UTC: {row['runs']} run(s)",
        })
        for key, points in (("lag_queued_s", queued), ("lag_started_s", started)):
            if row[key] is not None:
                points.append(f"{x + step / 2:.1f},{HEIGHT - HEIGHT * float(row[key]) / max_lag:.1f}")
    return Chart(bars, " ".join(queued), " ".join(started), max_runs, max_lag, sum(row["runs"] for row in rows))
