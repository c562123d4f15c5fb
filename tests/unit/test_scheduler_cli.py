"""`python -m flow_scheduler`: real arguments, so --help and a typo never run a tick; `preview` as the README shows it."""

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
# The scheduler's import path as in its zip: its package and the shared one (no editable install needed).
SCHEDULER_PATH = os.pathsep.join(str(REPO / folder) for folder in ("scheduler_lambda", "lambda_common"))


def cli(*args: str) -> subprocess.CompletedProcess:
    # No scheduler settings at all: a tick would fail loudly on SQS_URL, so its absence shows none ran.
    env = {key: value for key, value in os.environ.items() if key not in ("SQS_URL", "DB_HOST", "DB_PASSWORD")}
    env["PYTHONPATH"] = SCHEDULER_PATH
    return subprocess.run(
        [sys.executable, "-m", "flow_scheduler", *args], env=env, capture_output=True, text=True, timeout=60
    )


def test_help_lists_the_commands_and_runs_nothing():
    result = cli("--help")
    assert result.returncode == 0, result.stderr
    assert "tick" in result.stdout and "preview" in result.stdout
    assert "SQS_URL" not in result.stdout + result.stderr


def test_no_command_is_a_usage_error_not_a_tick():
    result = cli()
    assert result.returncode == 2
    assert "usage:" in result.stderr and "SQS_URL" not in result.stderr


def test_tick_runs_the_handler_with_the_environment():
    result = cli("tick")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1].startswith("error: SQS_URL is not set")


def test_preview_as_the_readme_writes_it():
    result = cli("preview", "cron(0 9 ? * MON-FRI *)", "--tz", "Europe/Berlin", "-n", "5")
    assert result.returncode == 0, result.stderr
    header, *lines = result.stdout.splitlines()
    assert header == "cron(0 9 ? * MON-FRI *) in Europe/Berlin: the next 5 occurrences after now"
    assert len(lines) == 5
    for line in lines:
        day, _date, local, zone, utc_date, utc_time, _utc = line.split()
        assert day in ("Mon", "Tue", "Wed", "Thu", "Fri") and local == "09:00" and zone in ("CET", "CEST")
        # Berlin is UTC+1 in winter, UTC+2 in summer.
        assert utc_time == ("08:00" if zone == "CET" else "07:00"), line


def test_preview_of_a_rate_steps_by_its_interval():
    result = cli("preview", "rate(90 minutes)", "-n", "3")
    assert result.returncode == 0, result.stderr
    assert len(result.stdout.splitlines()) == 4


def test_preview_of_an_ended_schedule_says_so():
    result = cli("preview", "cron(0 0 1 1 ? 2001)")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[1].strip() == "no further occurrence: the schedule has ended"


def test_preview_of_a_bad_schedule_or_timezone_is_one_line_with_the_reason():
    for args, named in ((["every other tuesday"], "every other tuesday"), (["* * * * *", "--tz", "Mars/Base"], "Mars/Base")):
        result = cli("preview", *args)
        assert result.returncode == 2 and result.stdout == ""
        (line,) = result.stderr.splitlines()
        assert line.startswith("error: ") and named in line, line


def test_preview_count_must_be_a_count():
    result = cli("preview", "* * * * *", "-n", "0")
    assert result.returncode == 2 and "'0' is not a count" in result.stderr
