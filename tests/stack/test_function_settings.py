"""`make up` refuses settings the deployed functions could not use, with the parsers' own one line."""

import pytest

from embedded.function_settings import problem

LOCAL = {"DB_HOST": "127.0.0.1", "DB_PASSWORD": "x"}


def test_the_local_and_the_aws_defaults_are_usable():
    assert problem(LOCAL) is None  # the template's defaults: 30 < 120 < 180
    local = {"WORKER_TIMEOUT_SECONDS": "10", "WORKER_RUNNING_TIMEOUT_SECONDS": "20"}
    assert problem(LOCAL | local | {"QUEUE_VISIBILITY_TIMEOUT_SECONDS": "30"}) is None  # .env.example's


@pytest.mark.parametrize(
    ("settings", "start"),
    [
        ({"BATCH_SIZE": "abc"}, "BATCH_SIZE='abc' is not a whole number"),
        ({"WORKER_SIMULATED_MS": "soon"}, "WORKER_SIMULATED_MS='soon' is not a whole number"),
        ({"WORKER_TIMEOUT_SECONDS": "120"}, "WORKER_RUNNING_TIMEOUT_SECONDS=120 must be above WORKER_TIMEOUT_SECONDS="),
        ({"QUEUE_VISIBILITY_TIMEOUT_SECONDS": "60"}, "WORKER_RUNNING_TIMEOUT_SECONDS=120 must be above"),
    ],
)
def test_a_bad_setting_of_either_function_is_one_line_naming_it(settings, start):
    message = problem(LOCAL | settings)
    assert message.startswith(start) and message.endswith("nothing was started or deployed"), message
