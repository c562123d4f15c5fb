"""The last hour as a small inline SVG: executions per minute (bars), mean lag (lines, each point also a dot,
so a minute with one lag value still shows), and a time axis every 15 minutes. Pure."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

WIDTH, HEIGHT, MINUTES = 600, 120, 60
AXIS_EVERY = 15  # minutes between time labels


@dataclass
class Chart:
    bars: list[dict]  # x, y, width, height, title
    lag_queued: str  # SVG polyline points
    lag_started: str
    dots: list[dict]  # cx, cy, line ("lag-queued" | "lag-started"): one per lag point, so a single one shows
    axis: list[dict]  # x, label (HH:MM UTC), anchor: the time axis
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
    bars, queued, started, dots = [], [], [], []
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
        for key, line, points in (("lag_queued_s", "lag-queued", queued), ("lag_started_s", "lag-started", started)):
            if row[key] is not None:
                cx, cy = round(x + step / 2, 1), round(HEIGHT - HEIGHT * float(row[key]) / max_lag, 1)
                points.append(f"{cx},{cy}")
                dots.append({"cx": cx, "cy": cy, "line": line})
    return Chart(bars, " ".join(queued), " ".join(started), dots, _axis(start, step), max_runs, max_lag,
                 sum(row["runs"] for row in rows))


def _axis(start: datetime, step: float) -> list[dict]:
    """A label every AXIS_EVERY minutes, and the current minute at the right edge."""
    slots = [*range(0, MINUTES - AXIS_EVERY // 2, AXIS_EVERY), MINUTES - 1]
    return [{"x": round(slot * step + step / 2, 1), "label": f"{start + timedelta(minutes=slot):%H:%M}",
             "anchor": "start" if slot == 0 else "end" if slot == MINUTES - 1 else "middle"} for slot in slots]
