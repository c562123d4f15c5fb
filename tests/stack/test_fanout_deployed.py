"""Fan-out as deployed: infra/template.yaml with MAX_FANOUT set, the scheduler run by the emulator under
the template's role (IAM enforced), starting copies of itself on its own ARN; without the role's
InvokeOwnCopies statement the copies are refused, and the original still sends everything."""

import base64
import json
import time
from collections import Counter

from scheduler_support import add_workflows, copy_ticks, executions

ACCOUNT = "100000000013"
SETTINGS = {"MAX_FANOUT": "3", "FANOUT_THRESHOLD": "200", "BATCH_SIZE": "50", "REDRIVE_AFTER_SECONDS": "60"}


def invoke(lam) -> tuple[dict, str]:
    response = lam.invoke(FunctionName="flow-builder-scheduler", Payload=b"{}", LogType="Tail")
    payload = json.loads(response["Payload"].read())
    assert "FunctionError" not in response, payload
    return payload, base64.b64decode(response.get("LogResult") or b"").decode(errors="replace")


def all_queued(db, total: int, seconds: float = 180) -> list[dict]:
    deadline = time.monotonic() + seconds
    while True:
        rows = executions(db)
        if len(rows) == total and all(row["status"] == "queued" for row in rows):
            return rows
        assert time.monotonic() < deadline, f"{len(rows)} executions of {total} after {seconds} s"
        time.sleep(0.5)


def actions(logs) -> dict:
    """The scheduler's log group, counted by each line's action: what a missing copy's tick left instead."""
    found = Counter()
    for page in logs.get_paginator("filter_log_events").paginate(logGroupName="/aws/lambda/flow-builder-scheduler"):
        for event in page["events"]:
            try:
                line = json.loads(event["message"])
            except ValueError:
                line = None
            found[line.get("action", "?") if isinstance(line, dict) else event["message"][:60]] += 1
    return dict(found)


def test_the_deployed_scheduler_fans_out_on_its_own_arn_and_only_with_the_permission(deploy, aws, probe_db):
    deployed = deploy(ACCOUNT, **SETTINGS)
    assert deployed.returncode == 0, deployed.stdout + deployed.stderr
    lam, iam, logs, cfn = (aws(ACCOUNT, name) for name in ("lambda", "iam", "logs", "cloudformation"))
    role = cfn.describe_stack_resource(StackName="flow-builder", LogicalResourceId="SchedulerRole")
    role_name = role["StackResourceDetail"]["PhysicalResourceId"]
    granted = iam.get_role_policy(RoleName=role_name, PolicyName="scheduler")["PolicyDocument"]
    assert [s["Resource"] for s in granted["Statement"] if s["Sid"] == "InvokeOwnCopies"] == [
        lam.get_function_configuration(FunctionName="flow-builder-scheduler")["FunctionArn"]
    ]

    # Without the permission: every copy is refused (AccessDenied), the original sends it all alone.
    revoked = {**granted, "Statement": [s for s in granted["Statement"] if s["Sid"] != "InvokeOwnCopies"]}
    iam.put_role_policy(RoleName=role_name, PolicyName="scheduler", PolicyDocument=json.dumps(revoked))
    add_workflows(probe_db, 1_000)
    alone, log_tail = invoke(lam)
    assert (alone["fanned_out"], alone["claimed"], alone["enqueued"]) == (0, 1_000, 1_000)
    assert "fanout_failed" in log_tail and "AccessDenied" in log_tail
    all_queued(probe_db, 1_000)

    # With it: 3 copies, which never fan out further, and the work shared with nothing lost or doubled.
    iam.put_role_policy(RoleName=role_name, PolicyName="scheduler", PolicyDocument=json.dumps(granted))
    with probe_db.cursor() as cur:
        cur.execute("TRUNCATE workflows, workflow_executions")
    add_workflows(probe_db, 3_000)
    original, _ = invoke(lam)
    assert original["fanned_out"] == 3, original
    rows = all_queued(probe_db, 3_000)
    assert len({(row["workflow_id"], row["scheduled_for"]) for row in rows}) == 3_000
    deadline = time.monotonic() + 120
    while len(copies := copy_ticks(logs, "flow-builder-scheduler")) < 3:
        assert time.monotonic() < deadline, f"{len(copies)} of 3 copies logged their tick; the group holds {actions(logs)}"
        time.sleep(0.5)
    assert all(line["fanned_out"] == 0 for line in copies), "a copy never fans out further"
    assert original["claimed"] + sum(line["claimed"] for line in copies) == 3_000, (original, copies)
