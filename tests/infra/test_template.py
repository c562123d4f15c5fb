"""infra/template.yaml read statically: cfn-lint clean, least-privilege roles, every resource of Contract 6."""

import re
import subprocess
import sys
from pathlib import Path

import pytest
from cfnlint.decode import decode

from flow_scheduler import simulate

REPO = Path(__file__).resolve().parents[2]
TEMPLATE = REPO / "infra" / "template.yaml"


@pytest.fixture(scope="module")
def template() -> dict:
    parsed, problems = decode(str(TEMPLATE))
    assert not problems, problems
    return parsed


def resources(template, kind: str) -> dict:
    return {name: r for name, r in template["Resources"].items() if r["Type"] == kind}


def branches(value):
    """Every value an Fn::If may produce (both branches), flattened; AWS::NoValue dropped."""
    if isinstance(value, dict) and "Fn::If" in value:
        for branch in value["Fn::If"][1:]:
            yield from branches(branch)
    elif isinstance(value, list):
        for item in value:
            yield from branches(item)
    elif value != {"Ref": "AWS::NoValue"}:
        yield value


def test_cfn_lint_is_clean_informational_checks_included():
    # -I: also the informational checks (deletion and update-replace policies of stateful resources, ...).
    result = subprocess.run(
        [Path(sys.executable).with_name("cfn-lint"), "--include-checks", "I", "--", str(TEMPLATE)],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_it_is_a_sam_template_read_top_to_bottom(template):
    assert template["Transform"] == ["AWS::LanguageExtensions", "AWS::Serverless-2016-10-31"]  # ToJsonString, then SAM
    assert list(template)[-4:] == ["Parameters", "Conditions", "Resources", "Outputs"]
    undocumented = [name for name, p in template["Parameters"].items() if not p.get("Description")]
    assert undocumented == [], "every environment difference is a parameter with a description"


def test_every_role_is_least_privilege(template):
    roles = resources(template, "AWS::IAM::Role")
    assert roles
    for name, role in roles.items():
        statements = [
            statement
            for policy in role["Properties"].get("Policies", [])
            for statement in branches(policy["PolicyDocument"]["Statement"])
        ]
        assert statements, name
        for statement in statements:
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            assert not [a for a in actions if "*" in a], f"{name} {statement.get('Sid')}: wildcard action"
            for resource in branches(statement["Resource"]):
                assert resource != "*" and "*" not in str(resource), f"{name} {statement.get('Sid')}: wildcard resource"
        # Services only: a role no person or other account can assume.
        (trust,) = role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
        assert trust["Principal"] == {"Service": "lambda.amazonaws.com"}


def test_the_scheduler_role_grants_exactly_what_the_readme_states(template):
    role = template["Resources"]["SchedulerRole"]["Properties"]
    statements = {s["Sid"]: s for s in branches(role["Policies"][0]["PolicyDocument"]["Statement"])}
    assert statements["OwnLogs"]["Resource"] == {"Fn::Sub": "${SchedulerLogGroup.Arn}"}
    assert statements["SendToQueue"]["Resource"] == {"Fn::GetAtt": ["Queue", "Arn"]}
    secret = template["Resources"]["SchedulerRole"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"][-1]
    assert secret["Fn::If"][0] == "ReadsSecret"  # only with USE_DB_SECRETS=true
    assert role["ManagedPolicyArns"]["Fn::If"][0] == "InVpc"  # ENI actions only in a VPC
    (fanout,) = [s for s in role["Policies"][0]["PolicyDocument"]["Statement"] if "Fn::If" in s and s["Fn::If"][0] == "FansOut"]
    assert fanout["Fn::If"][1]["Action"] == "lambda:InvokeFunction"  # only with MAX_FANOUT above 0, on itself only
    assert fanout["Fn::If"][1]["Resource"] == {
        "Fn::Sub": "arn:${AWS::Partition}:lambda:${AWS::Region}:${AWS::AccountId}:function:flow-builder-scheduler"
    }
    assert set(statements) == {"OwnLogs", "SendToQueue", "InvokeOwnCopies", "ReadDatabaseSecret"}


def test_every_resource_of_contract_6_is_declared_once(template):
    named = {
        (r["Type"], str(r["Properties"].get(key)))
        for r in template["Resources"].values()
        for key in ("QueueName", "Name", "RepositoryName", "FunctionName", "LogGroupName")
        if isinstance(r["Properties"].get(key), str)
    }
    assert named == {
        ("AWS::SQS::Queue", "flow-builder-queue"),
        ("AWS::SQS::Queue", "flow-builder-queue-dlq"),
        ("AWS::SecretsManager::Secret", "flow-builder/db"),
        ("AWS::ECR::Repository", "flow-builder-scheduler"),
        ("AWS::Lambda::Function", "flow-builder-scheduler"),
        ("AWS::Logs::LogGroup", "/aws/lambda/flow-builder-scheduler"),
        ("AWS::Events::Rule", "flow-builder-scheduler"),
        ("AWS::Serverless::Function", "flow-builder-worker"),
        ("AWS::Logs::LogGroup", "/aws/lambda/flow-builder-worker"),
    }
    queue = template["Resources"]["Queue"]["Properties"]
    assert queue["RedrivePolicy"] == {
        "deadLetterTargetArn": {"Fn::GetAtt": ["DeadLetterQueue", "Arn"]},
        "maxReceiveCount": 5,
    }
    assert template["Resources"]["Repository"]["Condition"] == "HasRepository"
    permission = template["Resources"]["SchedulerInvokePermission"]["Properties"]
    assert permission["Principal"] == "events.amazonaws.com"
    assert permission["SourceArn"] == {"Fn::GetAtt": ["SchedulerRule", "Arn"]}
    assert set(template["Outputs"]) >= {
        "QueueUrl", "DeadLetterQueueUrl", "FunctionArn", "RepositoryUri", "WorkerFunctionArn",
    }  # fmt: skip
    # No resource is declared anywhere else: the provisioning script is gone.
    assert not (REPO / "localstack" / "provision.py").exists()


def doc_section(heading: str) -> str:
    """One section of docs/configuration.md, the settings' one table: `heading` to the next `## `."""
    text = (REPO / "docs" / "configuration.md").read_text()
    return text.split(f"\n{heading}\n", 1)[1].split("\n## ", 1)[0]


def test_the_function_gets_every_scheduler_setting(template):
    function = template["Resources"]["SchedulerFunction"]["Properties"]
    assert function["Timeout"] == 60
    variables = set(function["Environment"]["Variables"])
    table = doc_section("## The scheduler's settings")
    documented = set(re.findall(r"^\| `([A-Z_]+)` \|", table, re.MULTILINE))
    # AWS_ENDPOINT_URL is the emulator's to set (both emulators set it for their functions); unset on AWS.
    assert variables == documented - {"AWS_ENDPOINT_URL"}
    assert template["Parameters"]["DbSslMode"]["Default"] == "require"
    assert template["Parameters"]["DbPassword"]["NoEcho"] is True


def test_the_worker_is_fed_by_the_queue_with_partial_batch_failures(template):
    worker = template["Resources"]["WorkerFunction"]["Properties"]
    assert (worker["Runtime"], worker["Handler"], worker["MemorySize"]) == (
        "python3.12",
        "flow_worker.handler.lambda_handler",
        256,
    )
    assert worker["CodeUri"] == {"Bucket": {"Ref": "CodeBucket"}, "Key": {"Ref": "WorkerCodeKey"}}
    assert worker["Role"] == {"Fn::GetAtt": ["WorkerRole", "Arn"]}
    (event,) = worker["Events"].values()
    assert event == {
        "Type": "SQS",
        "Properties": {
            "Queue": {"Fn::GetAtt": ["Queue", "Arn"]},
            "BatchSize": 10,
            "FunctionResponseTypes": ["ReportBatchItemFailures"],
        },
    }
    # The worker's arithmetic: timeout < running, timeout + running <= the queue's visibility timeout.
    parameters = template["Parameters"]
    assert worker["Timeout"] == {"Ref": "WorkerTimeout"}
    assert template["Resources"]["Queue"]["Properties"]["VisibilityTimeout"] == {"Ref": "QueueVisibilityTimeout"}
    order = ("WorkerTimeout", "WorkerRunningTimeoutSeconds", "QueueVisibilityTimeout")
    defaults = [parameters[name]["Default"] for name in order]
    assert defaults == [30, 120, 180] and defaults[0] + defaults[1] <= defaults[2]
    assert parameters["WorkerMaxAttempts"]["MaxValue"] == 4  # below maxReceiveCount
    assert template["Resources"]["Queue"]["Properties"]["RedrivePolicy"]["maxReceiveCount"] == 5


def test_the_worker_gets_the_database_settings_and_its_own(template):
    worker = template["Resources"]["WorkerFunction"]["Properties"]["Environment"]["Variables"]
    scheduler = template["Resources"]["SchedulerFunction"]["Properties"]["Environment"]["Variables"]
    table = doc_section("## The worker's settings")
    own = set(re.findall(r"^\| `(WORKER_[A-Z_]+)` \|", table, re.MULTILINE))
    assert own == {"WORKER_SIMULATED_MS", "WORKER_RUNNING_TIMEOUT_SECONDS", "WORKER_MAX_ATTEMPTS"}
    shared = {name for name in scheduler if name.startswith("DB_")}
    shared |= {"CUSTOM_AWS_REGION", "LOG_LEVEL", "USE_DB_SECRETS"}
    assert set(worker) == shared | own
    assert {name: worker[name] for name in shared} == {name: scheduler[name] for name in shared}


def test_the_worker_role_grants_exactly_what_the_readme_states(template):
    role = template["Resources"]["WorkerRole"]["Properties"]
    statements = role["Policies"][0]["PolicyDocument"]["Statement"]
    by_sid = {s["Sid"]: s for s in branches(statements)}
    assert set(by_sid) == {"OwnLogs", "ConsumeQueue", "ReadDatabaseSecret"}
    assert by_sid["OwnLogs"]["Resource"] == {"Fn::Sub": "${WorkerLogGroup.Arn}"}
    assert by_sid["ConsumeQueue"]["Resource"] == {"Fn::GetAtt": ["Queue", "Arn"]}
    assert set(by_sid["ConsumeQueue"]["Action"]) == {
        "sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility", "sqs:GetQueueAttributes",
    }  # fmt: skip
    assert statements[-1]["Fn::If"][0] == "ReadsSecret"  # only with USE_DB_SECRETS=true
    assert role["ManagedPolicyArns"]["Fn::If"][0] == "InVpc"


def test_number_parameters_refuse_what_the_settings_check_refuses(template):
    """A console or `sam deploy` user is refused at the template's bounds, which are the checks' own: one past
    a bound fails embedded/function_settings.py's check naming the variable, and a bound itself passes it
    (the worker's timings also meet each other: the sums only deploy.py can check)."""
    sys.path.insert(0, str(REPO / "infra"))
    from deploy import PARAMETERS
    from embedded.function_settings import problem

    base = {"DB_HOST": "db", "DB_PASSWORD": "x"}
    timings = {"WORKER_TIMEOUT_SECONDS", "WORKER_RUNNING_TIMEOUT_SECONDS", "QUEUE_VISIBILITY_TIMEOUT_SECONDS"}
    checked = []
    for name, variable in PARAMETERS.items():
        parameter = template["Parameters"][name]
        if parameter["Type"] != "Number" or variable in ("LAMBDA_MEMORY_MB", "LOG_RETENTION_DAYS"):
            continue  # memory and log retention are not the functions' settings
        variable = "DB_PORT" if variable == "FUNCTION_DB_PORT" else variable
        low, high = parameter["MinValue"], parameter["MaxValue"]
        for value in (low - 1, high + 1):
            assert variable in (problem(base | {variable: str(value)}) or ""), (name, value)
        if variable not in timings:
            for value in (low, high):
                assert problem(base | {variable: str(value)}) is None, (name, value)
        checked.append(name)
    assert len(checked) == 13, checked
    # The smallest timings the bounds allow meet the arithmetic exactly: 1 < 2, 1 + 2 <= 3.
    smallest = {"WORKER_TIMEOUT_SECONDS": "1", "WORKER_RUNNING_TIMEOUT_SECONDS": "2", "QUEUE_VISIBILITY_TIMEOUT_SECONDS": "3"}
    assert problem(base | smallest) is None


def test_the_rule_default_is_one_expression_everywhere(template):
    """The template, the Terraform module, .env.example and compose's fallback start the scheduler on the same rule:
    DESIGN.md contract 6's rate(1 minute)."""
    expected = simulate.RULE  # the CLI's and the dashboard's fallback
    assert expected == "rate(1 minute)"
    assert template["Parameters"]["ScheduleExpression"]["Default"] == expected
    variables = (REPO / "infra" / "terraform" / "variables.tf").read_text()
    block = re.search(r'variable "schedule_expression" \{(.*?)\n\}', variables, re.S).group(1)
    assert re.search(r'default\s*=\s*"(.*)"', block).group(1) == expected
    assert f'SCHEDULE_EXPRESSION="{expected}"' in (REPO / ".env.example").read_text().splitlines()
    assert f"SCHEDULE_EXPRESSION: ${{SCHEDULE_EXPRESSION:-{expected}}}" in (REPO / "docker-compose.yml").read_text()
