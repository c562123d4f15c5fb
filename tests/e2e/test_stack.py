"""End to end against the running stack: EventBridge -> Lambda -> Postgres + SQS, as infra/template.yaml deploys it.

What reaches the queue is checked by the rows SQS's acceptance writes (`queued_at`); the message body itself
is checked against the contract on a queue of their own by tests/scheduler. Nothing here receives from the
stack's queue: see conftest.py.
"""

import json
import subprocess
import time
import uuid
from datetime import datetime, timedelta, timezone

import pytest
from stack_support import (
    REPO,
    invoke_via_make,
    schedule_seconds,
    wait_for_execution,
    wait_for_log_line,
    workflow,
)

pytestmark = pytest.mark.e2e

# queued once SQS accepted the message; further along once a worker consumed it.
SENT = {"queued", "running", "completed", "failed"}


def assert_sent(execution: dict, due: dict) -> None:
    assert execution["trigger"] == "scheduled" and execution["status"] in SENT, execution
    assert execution["user_id"] == due["user_id"]
    assert execution["scheduled_for"] == due["next_run_at"]
    assert execution["queued_at"] >= execution["created_at"]


def test_queue_has_a_dead_letter_queue(aws, queue_url, dlq_url):
    sqs = aws["sqs"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    policy = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["RedrivePolicy"])["Attributes"]
    redrive = json.loads(policy["RedrivePolicy"])
    assert redrive["deadLetterTargetArn"] == dlq_arn and int(redrive["maxReceiveCount"]) >= 1


@pytest.mark.rule
def test_eventbridge_schedule_enqueues_a_due_workflow(db, settings, add_workflow):
    """Nothing invokes the function here: only the deployed rule can pick this workflow up.
    It runs first (marked `rule`), before any test invokes, so a hit cannot come from them."""
    period = schedule_seconds(settings.get("SCHEDULE_EXPRESSION") or "rate(1 minute)")
    due = add_workflow("picked up by the schedule")
    execution = wait_for_execution(db, due["id"], timeout=period * 2 + 30)
    assert execution is not None, (
        f"the rule ({settings.get('SCHEDULE_EXPRESSION')}) did not run the scheduler within {period * 2 + 30}s: see `make logs`"
    )
    assert_sent(execution, due)


def test_make_invoke_enqueues_a_due_workflow_per_the_contract(db, add_workflow):
    due = add_workflow("picked up by make invoke", cron="*/5 * * * *", tz="Europe/Paris")
    summary = invoke_via_make()
    execution = wait_for_execution(db, due["id"], timeout=10)
    assert execution is not None, f"make invoke did not enqueue the due workflow: summary {summary}"
    # Not `enqueued >= 1`: the rule may fire in between and take the workflow first.
    assert isinstance(summary["enqueued"], int) and isinstance(summary["invalid"], int), summary
    assert_sent(execution, due)
    after = workflow(db, due["id"])
    # Past the tick (its transaction's now(), the execution's created_at): the clock may pass that minute first.
    assert after["next_run_at"] > execution["created_at"] and after["next_run_at"].minute % 5 == 0


def test_bad_cron_is_flagged_in_the_row_and_the_logs_and_never_enqueued(db, add_workflow, function_logs):
    broken = add_workflow("broken schedule", cron="every other tuesday")
    # The emulator's clock is this host's (a container shares it): a minute's margin all the same.
    ticked = time.time() - 60
    invoke_via_make()
    flagged = workflow(db, broken["id"])
    assert flagged["schedule_error"] and "every other tuesday" in flagged["schedule_error"]
    line = wait_for_log_line(
        function_logs, timeout=30, since=ticked, action="schedule_flagged", workflow_id=str(broken["id"])
    )
    assert line is not None, "no schedule_flagged line for the workflow in the function's logs: see `make logs`"
    assert line["reason"] == flagged["schedule_error"]
    invoke_via_make()
    with db.cursor() as cur:
        cur.execute("SELECT count(*) FROM workflow_executions WHERE workflow_id = %s", (broken["id"],))
        assert cur.fetchone()[0] == 0


def test_credentials_come_from_the_deployed_secret(db, aws, settings, add_workflow):
    lam = aws["lambda"]
    described = aws["secretsmanager"].get_secret_value(SecretId=settings.get("DB_SECRET_ID") or "flow-builder/db")
    secret = json.loads(described["SecretString"])
    assert {"username", "password", "host", "port", "dbname", "engine"} <= secret.keys()
    # IAM is enforced: the role may read the secret only as the template grants it with USE_DB_SECRETS=true.
    # The function's own role, whichever declaration (SAM or Terraform) deployed it.
    role_arn = lam.get_function_configuration(FunctionName="flow-builder-scheduler")["Role"]
    role_name = role_arn.rsplit("/", 1)[-1]
    granted = aws["iam"].get_role_policy(RoleName=role_name, PolicyName="scheduler")["PolicyDocument"]
    reads_secret = {
        "Sid": "ReadDatabaseSecret",
        "Effect": "Allow",
        "Action": "secretsmanager:GetSecretValue",
        "Resource": described["ARN"],
    }
    with_secret = {**granted, "Statement": [s for s in granted["Statement"] if s["Sid"] != reads_secret["Sid"]]}
    with_secret["Statement"].append(reads_secret)

    original = lam.get_function_configuration(FunctionName="flow-builder-scheduler")["Environment"]["Variables"]
    wrong = {**original, "DB_PASSWORD": f"wrong-{uuid.uuid4().hex[:8]}"}

    def configure(variables: dict) -> None:
        lam.update_function_configuration(FunctionName="flow-builder-scheduler", Environment={"Variables": variables})
        lam.get_waiter("function_updated_v2").wait(
            FunctionName="flow-builder-scheduler", WaiterConfig={"Delay": 1, "MaxAttempts": 60}
        )

    def invoke() -> tuple[bool, str]:
        response = lam.invoke(FunctionName="flow-builder-scheduler", Payload=b"{}")
        return "FunctionError" not in response, response["Payload"].read().decode()

    try:
        # A wrong password alone fails: this proves the new configuration is what runs.
        configure({**wrong, "USE_DB_SECRETS": "false"})
        succeeded, payload = invoke()
        assert not succeeded, f"a wrong DB_PASSWORD should fail the invocation, got {payload}"
        # The same wrong password with USE_DB_SECRETS=true works: the secret's credentials win.
        aws["iam"].put_role_policy(RoleName=role_name, PolicyName="scheduler", PolicyDocument=json.dumps(with_secret))
        configure({**wrong, "USE_DB_SECRETS": "true"})
        due = add_workflow("credentials from the secret")
        succeeded, payload = invoke()
        assert succeeded, f"USE_DB_SECRETS=true failed: {payload}"
        assert wait_for_execution(db, due["id"], timeout=10) is not None
    finally:
        configure(original)
        aws["iam"].put_role_policy(RoleName=role_name, PolicyName="scheduler", PolicyDocument=json.dumps(granted))
    succeeded, payload = invoke()
    assert succeeded, f"the function did not recover its configuration: {payload}"


def test_missed_occurrences_coalesce_into_one_run(db, add_workflow):
    late = add_workflow(
        "down for an hour",
        cron="*/5 * * * *",
        due=datetime.now(timezone.utc).replace(microsecond=0) - timedelta(hours=1),
    )
    invoke_via_make()
    execution = wait_for_execution(db, late["id"], timeout=10)
    assert execution is not None and execution["scheduled_for"] == late["next_run_at"]


@pytest.mark.late(3)
def test_make_status_shows_a_healthy_last_tick(settings):
    """Runs last: every test before it ended with a successful tick."""
    invoke_via_make()
    result = subprocess.run(["make", "--no-print-directory", "status"], cwd=REPO, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    (last,) = [line for line in result.stdout.splitlines() if line.split()[:2] == ["last", "tick"]]
    assert "ok: claimed" in last, last
