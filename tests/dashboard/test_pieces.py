"""The dashboard's pure pieces: the cross-site rule, the chart's geometry, how times read."""

import re
from datetime import datetime, timedelta, timezone

import pytest

from dashboard import policies
from dashboard.chart import HEIGHT, last_hour
from dashboard.guard import refusal
from dashboard.rule import rule
from dashboard.timefmt import local, relative, span
from stackview.preview import upcoming

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
    # A line of one point draws nothing in SVG: every point is also a dot.
    assert sorted(dot["line"] for dot in chart.dots) == ["lag-queued", "lag-queued", "lag-started"]
    assert [tick["label"] for tick in chart.axis] == ["11:31", "11:46", "12:01", "12:16", "12:30"]
    assert last_hour([], now).bars == [] and len(last_hour([], now).axis) == 5


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


@pytest.mark.parametrize(
    "form, message",
    [
        ({"overlap_policy": "sometimes"}, "overlap_policy 'sometimes' is not valid: use one of allow, skip, buffer_one"),
        ({"jitter_seconds": "-1"}, "jitter_seconds '-1' is not valid: use a whole number of seconds from 0 to 3600"),
        ({"jitter_seconds": "0", "catchup_window_seconds": "0"}, "catchup_window_seconds '0' is not valid: use a whole number of seconds from 1 to 31536000"),
        ({"jitter_seconds": "0", "starts_at": "soon"}, "starts_at 'soon' is not a time: use ISO 8601"),
        ({"jitter_seconds": "0", "ends_at": "0999-01-01T00:00:00Z"}, "ends_at '0999-01-01T00:00:00Z' is out of range"),
    ],
)
def test_policy_form_refuses_naming_the_field_and_range(form, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        policies.parse(form)


def test_policy_form_parses_the_columns():
    assert policies.parse({"overlap_policy": "skip", "jitter_seconds": "30", "catchup_window_seconds": "",
                           "starts_at": "2027-01-01T09:00:00", "ends_at": ""}) == {
        "overlap_policy": "skip", "jitter_seconds": 30, "catchup_window_seconds": None,
        "starts_at": datetime(2027, 1, 1, 9, tzinfo=timezone.utc), "ends_at": None,
    }


def test_preview_applies_the_workflows_jitter_and_its_start_end_window():
    now = datetime(2026, 12, 1, 9, 2, tzinfo=timezone.utc)
    row = {"id": "00000000-0000-4000-8000-000000000007", "jitter_seconds": 5,  # offset 7 mod 6 = 1 s
           "starts_at": datetime(2026, 12, 1, 10, 0, tzinfo=timezone.utc), "ends_at": datetime(2026, 12, 1, 10, 20, tzinfo=timezone.utc)}
    preview = upcoming("*/10 * * * *", "UTC", now, 5, policies=row)
    assert preview.jitter == timedelta(seconds=1)
    assert [m.strftime("%H:%M:%S") for m in preview.occurrences] == ["10:00:01", "10:10:01", "10:20:01"]


def test_the_countdown_names_the_rules_first_firing_at_or_after_the_run():
    due = datetime(2026, 12, 2, 10, 15, 30, tzinfo=timezone.utc)
    cron = rule("cron(* * * * ? *)")
    assert cron.fires == "on cron(* * * * ? *), in UTC"
    assert cron.first_tick(due) == datetime(2026, 12, 2, 10, 16, tzinfo=timezone.utc)
    assert cron.first_tick(due.replace(second=0)) == due.replace(second=0)  # a firing at the very moment takes it
    rate = rule("rate(5 minutes)")
    assert rate.fires == "every 5 min" and rate.first_tick(due) == due + timedelta(minutes=5)  # the latest
    assert rate.first_tick(datetime.max.replace(tzinfo=timezone.utc)) is None  # odd rows: no 500
    assert cron.first_tick("infinity") is None and rule("every tuesday") is None
