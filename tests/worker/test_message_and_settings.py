"""Pure: the message contract as the worker reads it, the worker's settings and the simulated runner."""

from __future__ import annotations

import json
import re
import uuid
from datetime import datetime, timezone

import pytest

from flow_scheduler.messages import Execution, body
from flow_worker.config import ConfigError, load_worker_settings
from flow_worker.message import InvalidMessage, parse
from flow_worker.runner import Run, simulated

EXECUTION = Execution(str(uuid.uuid4()), str(uuid.uuid4()), str(uuid.uuid4()), datetime(2026, 3, 29, 1, 30, tzinfo=timezone.utc))


def test_the_scheduler_message_is_what_the_worker_reads():
    queued_at = datetime.now(timezone.utc)
    message = parse(body(EXECUTION, queued_at.isoformat()))
    assert (str(message.execution_id), str(message.workflow_id), str(message.user_id)) == (
        EXECUTION.id,
        EXECUTION.workflow_id,
        EXECUTION.user_id,
    )
    assert message.trigger == "scheduled" and message.queued_at == queued_at


def valid() -> dict:
    return json.loads(body(EXECUTION, datetime.now(timezone.utc).isoformat()))


@pytest.mark.parametrize("trigger", ["manual", "webhook"])
def test_manual_and_webhook_runs_are_valid_and_may_have_no_occurrence(trigger):
    assert parse(json.dumps(valid() | {"trigger": trigger, "scheduled_for": None})).trigger == trigger


def test_unknown_properties_are_ignored():
    assert str(parse(json.dumps(valid() | {"priority": "high"})).execution_id) == EXECUTION.id


@pytest.mark.parametrize(
    ("change", "why"),
    [
        ({"queued_at": "2026-03-29T01:30:00"}, "data.queued_at must be date-time"),  # no offset
        ({"scheduled_for": "yesterday"}, "data.scheduled_for must be date-time"),
        ({"status": "completed"}, "data.status must be one of ['queued']"),
        ({"user_id": 42}, "data.user_id must be string"),
        ({"workflow_id": "not-a-uuid"}, "data.workflow_id must match pattern"),
    ],
)
def test_a_message_breaking_the_contract_says_which_field(change, why):
    with pytest.raises(InvalidMessage, match=f"^{re.escape(why)}"):
        parse(json.dumps(valid() | change))


def test_a_body_that_is_not_an_object():
    with pytest.raises(InvalidMessage, match="data must be object"):
        parse("[1, 2]")


ENV = {"DB_HOST": "db", "DB_PASSWORD": "pw"}


def test_defaults():
    settings = load_worker_settings(ENV)
    assert (settings.simulated_ms, settings.running_timeout_seconds, settings.max_attempts) == (300, 120, 3)
    assert settings.db_ssl_mode == "require" and settings.db_name == "flow-builder"


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({}, "DB_HOST is not set"),
        (
            ENV | {"WORKER_RUNNING_TIMEOUT_SECONDS": "soon"},
            "WORKER_RUNNING_TIMEOUT_SECONDS='soon' is not a whole number",
        ),
        (ENV | {"WORKER_MAX_ATTEMPTS": "0"}, "WORKER_MAX_ATTEMPTS=0 is out of range"),
        (ENV | {"WORKER_SIMULATED_MS": "-5"}, "WORKER_SIMULATED_MS=-5 is out of range"),
    ],
)
def test_a_bad_setting_is_named(env, message):
    with pytest.raises(ConfigError, match=message):
        load_worker_settings(env)


def test_the_simulated_runner_fails_when_the_definition_says_so():
    run = simulated(0)
    ids = dict(execution_id=uuid.uuid4(), workflow_id=uuid.uuid4(), user_id=uuid.uuid4(), trigger="manual", attempt=1)
    assert run(Run(**ids, definition={})).status == "completed"
    outcome = run(Run(**ids, definition={"simulate": "fail"}))
    assert outcome.status == "failed" and "simulate" in outcome.error
