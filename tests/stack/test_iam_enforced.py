"""IAM is enforced in the emulator (MiniStack AUTH=true): the scheduler runs under the template's role, and
that role is what lets it send. Without sqs:SendMessage the tick is denied and nothing is lost."""

import base64
import json
import time

from scheduler_support import add_workflows, drain, executions

ACCOUNT = "100000000030"


def invoke(lam) -> tuple[dict, str]:
    response = lam.invoke(FunctionName="flow-builder-scheduler", Payload=b"{}", LogType="Tail")
    payload = json.loads(response["Payload"].read())
    assert "FunctionError" not in response, payload
    return payload, base64.b64decode(response.get("LogResult") or b"").decode(errors="replace")


def test_without_send_message_the_tick_is_denied_and_nothing_is_lost(deploy, aws, probe_db):
    deployed = deploy(ACCOUNT, REDRIVE_AFTER_SECONDS="1")
    assert deployed.returncode == 0, deployed.stdout + deployed.stderr
    lam, iam, sqs = aws(ACCOUNT, "lambda"), aws(ACCOUNT, "iam"), aws(ACCOUNT, "sqs")
    cfn = aws(ACCOUNT, "cloudformation")
    # The test reads the queue itself: the worker's mapping would consume the messages first.
    (mapping,) = lam.list_event_source_mappings(FunctionName="flow-builder-worker")["EventSourceMappings"]
    lam.update_event_source_mapping(UUID=mapping["UUID"], Enabled=False)
    role = cfn.describe_stack_resource(StackName="flow-builder", LogicalResourceId="SchedulerRole")
    role_name = role["StackResourceDetail"]["PhysicalResourceId"]
    granted = iam.get_role_policy(RoleName=role_name, PolicyName="scheduler")["PolicyDocument"]
    queue_url = sqs.get_queue_url(QueueName="flow-builder-queue")["QueueUrl"]
    workflow_ids = add_workflows(probe_db, 3)

    revoked = {**granted, "Statement": [s for s in granted["Statement"] if s["Sid"] != "SendToQueue"]}
    iam.put_role_policy(RoleName=role_name, PolicyName="scheduler", PolicyDocument=json.dumps(revoked))
    summary, log_tail = invoke(lam)
    assert (summary["claimed"], summary["enqueued"], summary["failed"]) == (3, 0, 3)
    assert "AccessDenied" in log_tail and f"assumed-role/{role_name}" in log_tail
    assert [row["status"] for row in executions(probe_db)] == ["pending"] * 3
    assert drain(sqs, queue_url) == []

    iam.put_role_policy(RoleName=role_name, PolicyName="scheduler", PolicyDocument=json.dumps(granted))
    redriven, deadline = 0, time.monotonic() + 120
    while redriven < 3 and time.monotonic() < deadline:
        time.sleep(1)  # REDRIVE_AFTER_SECONDS=1: the failed sends become due for a re-send
        redriven += invoke(lam)[0]["redriven"]
    rows = executions(probe_db)
    assert [row["status"] for row in rows] == ["queued"] * 3
    sent = drain(sqs, queue_url)
    assert sorted(m["body"]["execution_id"] for m in sent) == sorted(str(row["id"]) for row in rows)
    assert {m["body"]["workflow_id"] for m in sent} == {str(w) for w in workflow_ids}
