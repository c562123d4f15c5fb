"""Facts written in files that cannot import their one source (YAML, HCL, compose, .env, a standalone script)
agree with it: the scheduler's defaults (flow_scheduler.config.DEFAULTS) and the resource names
(stackview.names)."""

import re
from pathlib import Path

import yaml
from cfnlint.decode import decode

from flow_scheduler.config import DEFAULTS
from stackview import names

REPO = Path(__file__).resolve().parents[2]
# The template's parameter and the Terraform variable of each setting.
PARAMETERS = {
    "REDRIVE_AFTER_SECONDS": ("RedriveAfterSeconds", "redrive_after_seconds"),
    "BATCH_SIZE": ("BatchSize", "batch_size"),
    "TIMEOUT_MARGIN_MS": ("TimeoutMarginMs", "timeout_margin_ms"),
    "SEND_CONCURRENCY": ("SendConcurrency", "send_concurrency"),
    "MAX_FANOUT": ("MaxFanout", "max_fanout"),
    "FANOUT_THRESHOLD": ("FanoutThreshold", "fanout_threshold"),
}


def template() -> dict:
    parsed, problems = decode(str(REPO / "infra" / "template.yaml"))
    assert not problems, problems
    return parsed


def test_every_copy_of_a_default_is_the_parsers():
    parameters = template()["Parameters"]
    variables = (REPO / "infra" / "terraform" / "variables.tf").read_text()
    compose = yaml.safe_load((REPO / "docker-compose.yml").read_text())["x-scheduler-settings"]
    example = dict(re.findall(r"^([A-Z_]+)=(.*)$", (REPO / ".env.example").read_text(), re.MULTILINE))
    assert set(PARAMETERS) == set(DEFAULTS)
    for setting, default in DEFAULTS.items():
        parameter, variable = PARAMETERS[setting]
        terraform = re.search(rf'variable "{variable}" {{[^}}]*?default\s*=\s*(\d+)', variables)
        copies = {
            "infra/template.yaml": int(parameters[parameter]["Default"]),
            "infra/terraform/variables.tf": int(terraform.group(1)),
            "docker-compose.yml": int(compose[setting].split(":-")[1].rstrip("}")),
            ".env.example": int(example[setting]),
        }
        assert copies == dict.fromkeys(copies, default), setting


def test_the_template_names_resources_as_the_readers_do():
    resources = template()["Resources"]
    declared = {
        (kind, value)
        for resource in resources.values()
        for kind, key in (("queue", "QueueName"), ("function", "FunctionName"), ("rule", "Name"), ("log", "LogGroupName"))
        if isinstance(value := resource.get("Properties", {}).get(key), str)
    }
    expected = {
        ("queue", names.QUEUE), ("queue", names.DLQ), ("function", names.FUNCTION), ("function", names.WORKER),
        ("rule", names.RULE), ("log", names.LOG_GROUP), ("log", names.WORKER_LOG_GROUP),
    }  # fmt: skip
    assert expected <= declared, expected - declared


def test_the_standalone_deploy_script_names_them_alike():
    """infra/deploy.py runs with the stdlib and boto3 alone (in the docker deploy container too): it spells them."""
    source = (REPO / "infra" / "deploy.py").read_text()
    assert f'RETAINED_QUEUES = ("{names.QUEUE}", "{names.DLQ}")' in source
    assert f'setting("STACK_NAME") or "{names.STACK}"' in source
