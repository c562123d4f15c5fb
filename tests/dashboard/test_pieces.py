"""The dashboard's pure pieces: the cross-site rule, the chart's geometry, how times read."""

from datetime import datetime, timedelta, timezone

import pytest

from dashboard.chart import HEIGHT, last_hour
from dashboard.guard import refusal
from dashboard.preview import upcoming
from dashboard.timefmt import local, relative, span

HOST = "127.0.0.1:8025"


@pytest.mark.parametrize(
    ("headers", "refused"),
    [
        ({"sec-fetch-site": "same-origin", "host": HOST}, False),
        ({"sec-fetch-site": "same-site", "host": HOST}, True),  # another port of 127.0.0.1
        ({"sec-fetch-site": "cross-site", "host": HOST}, True),
        ({"sec-fetch-site": "none", "host": HOST}, True),  # typed in the address bar: not a form of ours
        ({"origin": f"http://{HOST}", "host": HOST}, False),  # an older browser: Origin alone
        ({"origin": "http://evil.example", "host": HOST}, True),
        ({"host": HOST}, True),  # neither header: not a browser page of ours
    ],
)
def test_only_our_own_pages_may_change_anything(headers, refused):
    assert (refusal(headers) is not None) is refused


def test_the_chart_scales_bars_and_lag_to_the_busiest_minute():
    now = datetime(2026, 11, 28, 12, 30, 20, tzinfo=timezone.utc)
    minute = now.replace(second=0)
    rows = [
        {"minute": minute - timedelta(minutes=1), "runs": 10, "lag_queued_s": 0.5, "lag_started_s": 2.0},
        {"minute": minute, "runs": 5, "lag_queued_s": 0.25, "lag_started_s": None},
    ]
    chart = last_hour(rows, now)
    assert [bar["height"] for bar in chart.bars] == [HEIGHT, HEIGHT / 2]
    assert chart.total == 15 and chart.max_runs == 10 and chart.max_lag_s == 2.0
    assert len(chart.lag_queued.split()) == 2 and len(chart.lag_started.split()) == 1
    assert last_hour([], now).bars == []


def test_times_read_in_the_schedules_own_zone_and_relative_to_now():
    moment = datetime(2026, 7, 1, 10, 0, tzinfo=timezone.utc)
    assert local(moment, "Europe/Paris") == "2026-07-01 12:00:00 CEST"
    assert relative(moment, moment - timedelta(minutes=3, seconds=5)) == "in 3m 05s"
    assert relative(moment, moment + timedelta(seconds=42)) == "42s ago"
    assert span(timedelta(milliseconds=80)) == "80 ms" and span(timedelta(days=3, hours=4)) == "3d 4h"


def test_the_preview_is_the_schedulers_own_verdict():
    now = datetime(2026, 3, 28, 12, 0, tzinfo=timezone.utc)
    paris = upcoming("30 2 * * *", "Europe/Paris", now, 2)  # 02:30 does not exist on 29 March in Paris
    assert [moment.strftime("%d %H:%M %Z") for moment in paris.occurrences] == ["29 03:00 CEST", "30 02:30 CEST"]
    assert "'61 * * * *'" in upcoming("61 * * * *", "UTC", now).error  # the parser's own words
    assert upcoming("", "UTC", now).error.startswith("no schedule")
