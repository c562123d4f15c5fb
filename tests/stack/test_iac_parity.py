"""Parity: infra/template.yaml (SAM) and infra/terraform/ deployed to one emulator, in two accounts, declare the
same things a user relies on. A difference fails unless KNOWN lists it, with the reason."""

import json
import random
import stat

# Accounts of this test alone (a 12-digit access key is an account in MiniStack): fixed ones met the stacks
# tests/docker/test_deploy_wiring.py deploys on the same session emulator.
SAM, TERRAFORM = (str(random.randrange(10**11, 10**12)) for _ in range(2))
FUNCTIONS = ("flow-builder-scheduler", "flow-builder-worker")
QUEUES = ("flow-builder-queue", "flow-builder-queue-dlq")
# KNOWN differences: none. Role names differ (SAM generates them) and are not compared: the functions name
# their roles, and those roles' policies are compared.


def view(aws, account):
    lam, iam, sqs, events, cw = (aws(account, s) for s in ("lambda", "iam", "sqs", "events", "cloudwatch"))
    out = {"functions": {}, "policies": {}, "queues": {}}
    for name in FUNCTIONS:
        c = lam.get_function_configuration(FunctionName=name)
        env = dict(c["Environment"]["Variables"])
        # The queue's URL has the emulator's host; the secret's ARN ends in a random suffix.
        if "SQS_URL" in env:  # the scheduler's only
            env["SQS_URL"] = env["SQS_URL"].replace(account, "<account>").rsplit("/", 2)[-2:]
        env["DB_SECRET_ID"] = env["DB_SECRET_ID"].replace(account, "<account>").rsplit("-", 1)[0]
        out["functions"][name] = {k: c.get(k) for k in ("MemorySize", "Timeout", "Handler", "Runtime", "PackageType", "Architectures")} | {"env": env}
        role = c["Role"].rsplit("/", 1)[-1]
        (policy_name,) = iam.list_role_policies(RoleName=role)["PolicyNames"]
        doc = iam.get_role_policy(RoleName=role, PolicyName=policy_name)["PolicyDocument"]
        doc = json.loads(doc) if isinstance(doc, str) else doc
        statements = []
        for st in doc["Statement"]:
            actions = st["Action"] if isinstance(st["Action"], list) else [st["Action"]]
            resources = st["Resource"] if isinstance(st["Resource"], list) else [st["Resource"]]
            statements.append((st.get("Sid"), st["Effect"], tuple(sorted(actions)),
                               tuple(sorted(r.replace(account, "<account>") for r in resources))))
        out["policies"][name] = (policy_name, sorted(statements))
    for name in QUEUES:
        url = sqs.get_queue_url(QueueName=name)["QueueUrl"]
        a = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
        out["queues"][name] = {k: a.get(k, "").replace(account, "<account>") for k in ("RedrivePolicy", "VisibilityTimeout", "MessageRetentionPeriod", "SqsManagedSseEnabled")}
        if out["queues"][name]["RedrivePolicy"]:
            out["queues"][name]["RedrivePolicy"] = json.loads(out["queues"][name]["RedrivePolicy"])
    (mapping,) = lam.list_event_source_mappings(FunctionName="flow-builder-worker")["EventSourceMappings"]
    out["mapping"] = {"queue": mapping["EventSourceArn"].replace(account, "<account>"), "batch": mapping["BatchSize"],
                      "responses": mapping.get("FunctionResponseTypes")}
    rule = events.describe_rule(Name="flow-builder-scheduler")
    (target,) = events.list_targets_by_rule(Rule="flow-builder-scheduler")["Targets"]
    out["rule"] = {"expression": rule["ScheduleExpression"], "state": rule["State"],
                   "target": (target["Id"], target["Arn"].replace(account, "<account>"))}
    out["alarms"] = {a["AlarmName"]: {k: a.get(k) for k in ("Namespace", "MetricName", "Dimensions", "Statistic", "Period",
                                                              "EvaluationPeriods", "Threshold", "ComparisonOperator", "TreatMissingData")}
                     for a in cw.describe_alarms(AlarmNamePrefix="flow-builder")["MetricAlarms"]}
    return out


def test_sam_and_terraform_stacks_match(deploy, aws, tmp_path):
    sam = deploy(SAM)
    assert sam.returncode == 0, sam.stdout + sam.stderr
    tf = deploy(TERRAFORM, IAC="terraform", TERRAFORM_WORKDIR=str(tmp_path / "root"))
    assert tf.returncode == 0, tf.stdout + tf.stderr
    # The state and the saved plan hold the database password.
    modes = {name: oct(stat.S_IMODE((tmp_path / "root" / name).stat().st_mode)) for name in ("terraform.tfstate", "tfplan")}
    assert modes == {"terraform.tfstate": "0o600", "tfplan": "0o600"}
    # make status counts what was applied from applied.json, never from the state.
    state = json.loads((tmp_path / "root" / "terraform.tfstate").read_text())
    managed = [r for r in state["resources"] if r["mode"] == "managed"]
    assert json.loads((tmp_path / "root" / "applied.json").read_text()) == {"resources": len(managed)} and managed
    left, right = view(aws, SAM), view(aws, TERRAFORM)
    for part in left:
        assert left[part] == right[part], f"{part} differs between the SAM and the Terraform stack"
