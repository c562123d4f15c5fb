"""`make up` refuses settings the deployed functions could not use, with the parsers' own one line."""

from pathlib import Path

import pytest

from embedded import envfile
from embedded.function_settings import MAX_RECEIVE_COUNT, problem

REPO = Path(__file__).resolve().parents[2]
WORKER_TIMINGS = ("WORKER_TIMEOUT_SECONDS", "WORKER_RUNNING_TIMEOUT_SECONDS", "QUEUE_VISIBILITY_TIMEOUT_SECONDS")

LOCAL = {"DB_HOST": "127.0.0.1", "DB_PASSWORD": "x"}


def test_the_local_and_the_aws_defaults_are_usable():
    assert problem(LOCAL) is None  # the template's defaults: 30 < 120, 30 + 120 <= 180, 3 < 5
    example = envfile.raw_values(REPO / ".env.example")
    local = {name: example[name] for name in WORKER_TIMINGS}
    assert problem(LOCAL | local) is None  # .env.example's: 10 < 20, 10 + 20 <= 45 (15 s to spare)
    assert int(local["WORKER_TIMEOUT_SECONDS"]) + int(local["WORKER_RUNNING_TIMEOUT_SECONDS"]) < int(
        local["QUEUE_VISIBILITY_TIMEOUT_SECONDS"]
    )  # with margin, not on the edge


@pytest.mark.parametrize(
    ("settings", "start"),
    [
        ({"BATCH_SIZE": "abc"}, "BATCH_SIZE='abc' is not a whole number"),
        ({"WORKER_SIMULATED_MS": "soon"}, "WORKER_SIMULATED_MS='soon' is not a whole number"),
        ({"WORKER_TIMEOUT_SECONDS": "120"}, "WORKER_RUNNING_TIMEOUT_SECONDS=120 must be above WORKER_TIMEOUT_SECONDS="),
        # The 25/26/30: 25 < 26 < 30 passed the old rule, yet a dead run came back still young.
        ({"WORKER_TIMEOUT_SECONDS": "25", "WORKER_RUNNING_TIMEOUT_SECONDS": "26", "QUEUE_VISIBILITY_TIMEOUT_SECONDS": "30"},
         "WORKER_TIMEOUT_SECONDS=25 + WORKER_RUNNING_TIMEOUT_SECONDS=26 = 51 must be at most QUEUE_VISIBILITY_TIMEOUT_SECONDS=30"),
        ({"WORKER_TIMEOUT_SECONDS": "10", "WORKER_RUNNING_TIMEOUT_SECONDS": "20", "QUEUE_VISIBILITY_TIMEOUT_SECONDS": "29"},
         "WORKER_TIMEOUT_SECONDS=10 + WORKER_RUNNING_TIMEOUT_SECONDS=20 = 30 must be at most"),
        ({"WORKER_MAX_ATTEMPTS": "5"}, "WORKER_MAX_ATTEMPTS=5 must be below the queue's maxReceiveCount (5)"),
    ],
)
def test_a_bad_setting_of_either_function_is_one_line_naming_it(settings, start):
    message = problem(LOCAL | settings)
    assert message.startswith(start) and message.endswith("nothing was started or deployed"), message


def test_the_rule_knows_the_templates_max_receive_count():
    template = (REPO / "infra" / "template.yaml").read_text()
    assert f"maxReceiveCount: {MAX_RECEIVE_COUNT}\n" in template
