"""Declare every AWS resource of the local stack in the emulator (MiniStack or LocalStack), idempotently.

The one place these resources are declared: the embedded stack runs it from the host, the docker
stack from the emulator's ready.d hook. Configuration is the environment (see .env.example).
Each resource prints one line: created, unchanged, updated, replaced or skipped. A re-run on a
provisioned emulator changes nothing. Needs only boto3, so it runs inside the emulator images too.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

QUEUE = "flow-builder-queue"
DLQ = "flow-builder-queue-dlq"
MAX_RECEIVE_COUNT = 5
REPOSITORY = "flow-builder-scheduler"
FUNCTION = "flow-builder-scheduler"
ROLE = "flow-builder-scheduler-role"
RULE = "flow-builder-scheduler"
PERMISSION_SID = "flow-builder-scheduler-events"
HANDLER = "flow_scheduler.handler.lambda_handler"
RUNTIME = "python3.12"
TIMEOUT_S = 60
MEMORY_MB = 256

# The scheduler's settings copied into the function's environment, with their defaults.
# DB_HOST, DB_PORT, AWS_ENDPOINT_URL and SQS_URL are set separately: the function sees them differently.
FUNCTION_SETTINGS = {
    "DB_NAME": "flow-builder",
    "DB_USER": "root",
    "DB_PASSWORD": "",
    "DB_SSL_MODE": "require",
    "CUSTOM_AWS_REGION": "us-east-1",
    "USE_DB_SECRETS": "false",
    "DB_SECRET_ID": "flow-builder/db",
    "REDRIVE_AFTER_SECONDS": "60",
    "BATCH_SIZE": "500",
    "TIMEOUT_MARGIN_MS": "10000",
    "SEND_CONCURRENCY": "8",
    "MAX_FANOUT": "0",
    "FANOUT_THRESHOLD": "0",
    "DB_CONNECT_TIMEOUT": "5",
    "LOG_LEVEL": "INFO",
}

TRUST_POLICY = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}],
}


class ProvisionError(RuntimeError):
    """A resource could not be declared; the message names it and what to do."""


def setting(name: str, default: str = "") -> str:
    return os.environ.get(name, "").strip() or default


def report(state: str, kind: str, name: str) -> None:
    print(f"{state:<9}  {kind:<18}  {name}", flush=True)


def error_code(err: ClientError) -> str:
    return err.response.get("Error", {}).get("Code", "")


def not_offered(err: ClientError) -> bool:
    """LocalStack Community answers 501 'not yet implemented or pro feature' for services it lacks."""
    status = err.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    message = err.response.get("Error", {}).get("Message", "")
    return status == 501 or "not yet implemented" in message or "pro feature" in message


class Provisioner:
    def __init__(self):
        self.region = setting("CUSTOM_AWS_REGION", setting("AWS_DEFAULT_REGION", "us-east-1"))
        # This script only ever targets an emulator: without an endpoint it is the local default.
        self.endpoint = setting("AWS_ENDPOINT_URL", "http://localhost:4566")
        self.session = boto3.Session(
            aws_access_key_id=setting("AWS_ACCESS_KEY_ID", "test"),
            aws_secret_access_key=setting("AWS_SECRET_ACCESS_KEY", "test"),
            region_name=self.region,
        )
        self.config = Config(retries={"mode": "standard", "max_attempts": 3}, connect_timeout=5, read_timeout=60)
        self.function_endpoint = setting("FUNCTION_AWS_ENDPOINT_URL", self.endpoint)
        self.account = self.client("sts").get_caller_identity()["Account"]

    def client(self, service: str):
        return self.session.client(service, endpoint_url=self.endpoint, config=self.config)

    # -- SQS ---------------------------------------------------------------------------------------

    def queue(self, name: str, attributes: dict[str, str]) -> str:
        sqs = self.client("sqs")
        try:
            url = sqs.get_queue_url(QueueName=name)["QueueUrl"]
        except ClientError as err:
            if "NonExistentQueue" not in error_code(err):
                raise
            url = sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
            report("created", "sqs queue", name)
            return url
        current = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=list(attributes) or ["All"]).get(
            "Attributes", {}
        )
        if all(_same_attribute(current.get(key), value) for key, value in attributes.items()):
            report("unchanged", "sqs queue", name)
        else:
            sqs.set_queue_attributes(QueueUrl=url, Attributes=attributes)
            report("updated", "sqs queue", name)
        return url

    def queue_arn(self, url: str) -> str:
        return self.client("sqs").get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]

    # -- Secrets Manager ---------------------------------------------------------------------------

    def secret(self, name: str, value: dict) -> None:
        secrets = self.client("secretsmanager")
        payload = json.dumps(value, sort_keys=True)
        try:
            current = secrets.get_secret_value(SecretId=name)["SecretString"]
        except ClientError as err:
            if error_code(err) != "ResourceNotFoundException":
                raise
            secrets.create_secret(Name=name, SecretString=payload, Description="FlowBuilder database (RDS format)")
            report("created", "secret", name)
            return
        if json.loads(current) == value:
            report("unchanged", "secret", name)
        else:
            secrets.put_secret_value(SecretId=name, SecretString=payload)
            report("updated", "secret", name)

    # -- ECR -----------------------------------------------------------------------------------------

    def repository(self, name: str) -> bool:
        """Create the repository; False (and a 'skipped' line) where the emulator has no ECR."""
        ecr = self.client("ecr")
        try:
            ecr.describe_repositories(repositoryNames=[name])
            report("unchanged", "ecr repository", name)
        except ClientError as err:
            if not_offered(err):
                report("skipped", "ecr repository", f"{name} (this emulator has no ECR)")
                return False
            if error_code(err) != "RepositoryNotFoundException":
                raise
            ecr.create_repository(repositoryName=name)
            report("created", "ecr repository", name)
        return True

    # -- IAM ---------------------------------------------------------------------------------------

    def role(self, name: str) -> str:
        iam = self.client("iam")
        try:
            arn = iam.get_role(RoleName=name)["Role"]["Arn"]
            report("unchanged", "iam role", name)
        except ClientError as err:
            if error_code(err) != "NoSuchEntity":
                raise
            arn = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(TRUST_POLICY))["Role"]["Arn"]
            report("created", "iam role", name)
        return arn

    # -- Lambda --------------------------------------------------------------------------------------

    def function(self, role_arn: str, environment: dict[str, str]) -> str:
        lam = self.client("lambda")
        package = setting("LAMBDA_PACKAGE", "zip")
        architecture = _architecture(setting("LAMBDA_ARCH", "x86_64"))
        if package == "zip":
            code = {"ZipFile": _read_zip(setting("LAMBDA_ZIP"))}
            wanted_sha = base64.b64encode(hashlib.sha256(code["ZipFile"]).digest()).decode()
        elif package == "image":
            image_uri = setting("LAMBDA_IMAGE_URI")
            if not image_uri:
                raise ProvisionError("LAMBDA_PACKAGE=image needs LAMBDA_IMAGE_URI: set it to the pushed image's URI")
            code = {"ImageUri": image_uri}
        else:
            raise ProvisionError(f"LAMBDA_PACKAGE={package!r} is not valid: use zip or image")
        wanted = {
            "Role": role_arn,
            "Timeout": TIMEOUT_S,
            "MemorySize": MEMORY_MB,
            "Environment": {"Variables": environment},
        }
        if package == "zip":
            wanted |= {"Runtime": RUNTIME, "Handler": HANDLER}

        try:
            current = lam.get_function(FunctionName=FUNCTION)
        except ClientError as err:
            if error_code(err) != "ResourceNotFoundException":
                raise
            current = None
        if current is not None and current["Configuration"].get("PackageType", "Zip") != package.capitalize():
            # A function cannot switch between zip and image in place.
            lam.delete_function(FunctionName=FUNCTION)
            current, state = None, "replaced"
        else:
            state = "created"
        if current is None:
            lam.create_function(
                FunctionName=FUNCTION,
                PackageType=package.capitalize(),
                Code=code,
                Architectures=[architecture],
                Description="FlowBuilder scheduler: enqueues due workflows",
                **wanted,
            )
            _wait(lam, "function_active_v2")
            report(state, "lambda function", FUNCTION)
            return lam.get_function(FunctionName=FUNCTION)["Configuration"]["FunctionArn"]

        config = current["Configuration"]
        changed = []
        if package == "zip":
            code_differs = config.get("CodeSha256") != wanted_sha
        else:
            code_differs = current.get("Code", {}).get("ImageUri") != code["ImageUri"]
        if code_differs or config.get("Architectures", ["x86_64"]) != [architecture]:
            lam.update_function_code(FunctionName=FUNCTION, Architectures=[architecture], **code)
            _wait(lam, "function_updated_v2")
            changed.append("code")
        if any(_config_value(config, key) != value for key, value in wanted.items()):
            lam.update_function_configuration(FunctionName=FUNCTION, **wanted)
            _wait(lam, "function_updated_v2")
            changed.append("configuration")
        report(
            "updated" if changed else "unchanged",
            "lambda function",
            FUNCTION + (f" ({', '.join(changed)})" if changed else ""),
        )
        return config["FunctionArn"]

    # -- EventBridge ---------------------------------------------------------------------------------

    def rule(self, schedule: str, function_arn: str) -> None:
        events = self.client("events")
        lam = self.client("lambda")
        try:
            current = events.describe_rule(Name=RULE)
        except ClientError as err:
            if error_code(err) != "ResourceNotFoundException":
                raise
            current = None
        # put_rule only when needed: re-putting an unchanged rule would restart its rate() countdown.
        if current is None:
            rule_arn = events.put_rule(Name=RULE, ScheduleExpression=schedule, State="ENABLED")["RuleArn"]
            report("created", "eventbridge rule", f"{RULE} {schedule}")
        elif current.get("ScheduleExpression") != schedule or current.get("State") != "ENABLED":
            rule_arn = events.put_rule(Name=RULE, ScheduleExpression=schedule, State="ENABLED")["RuleArn"]
            report("updated", "eventbridge rule", f"{RULE} {schedule}")
        else:
            rule_arn = current["Arn"]
            report("unchanged", "eventbridge rule", f"{RULE} {schedule}")

        targets = events.list_targets_by_rule(Rule=RULE).get("Targets", [])
        if [(t["Id"], t["Arn"]) for t in targets] == [(FUNCTION, function_arn)]:
            report("unchanged", "eventbridge target", f"{RULE} -> {FUNCTION}")
        else:
            stale = [t["Id"] for t in targets if t["Id"] != FUNCTION]
            if stale:
                events.remove_targets(Rule=RULE, Ids=stale)
            events.put_targets(Rule=RULE, Targets=[{"Id": FUNCTION, "Arn": function_arn}])
            report("updated" if targets else "created", "eventbridge target", f"{RULE} -> {FUNCTION}")

        try:
            statements = json.loads(lam.get_policy(FunctionName=FUNCTION)["Policy"]).get("Statement", [])
        except ClientError as err:
            if error_code(err) != "ResourceNotFoundException":
                raise
            statements = []
        granted = [s for s in statements if s.get("Sid") == PERMISSION_SID]
        if granted and rule_arn in json.dumps(granted[0].get("Condition", {})):
            report("unchanged", "lambda permission", f"events.amazonaws.com -> {FUNCTION}")
            return
        if granted:
            lam.remove_permission(FunctionName=FUNCTION, StatementId=PERMISSION_SID)
        lam.add_permission(
            FunctionName=FUNCTION,
            StatementId=PERMISSION_SID,
            Action="lambda:InvokeFunction",
            Principal="events.amazonaws.com",
            SourceArn=rule_arn,
        )
        report("updated" if granted else "created", "lambda permission", f"events.amazonaws.com -> {FUNCTION}")

    # -- the whole stack -----------------------------------------------------------------------------

    def run(self) -> None:
        dlq_url = self.queue(DLQ, {})
        redrive = json.dumps(
            {"deadLetterTargetArn": self.queue_arn(dlq_url), "maxReceiveCount": str(MAX_RECEIVE_COUNT)}
        )
        queue_url = self.queue(QUEUE, {"RedrivePolicy": redrive})

        db_host = setting("FUNCTION_DB_HOST", setting("DB_HOST", "127.0.0.1"))
        db_port = setting("FUNCTION_DB_PORT", setting("DB_PORT", "5432"))
        environment = {name: setting(name, default) for name, default in FUNCTION_SETTINGS.items()}
        environment |= {
            "DB_HOST": db_host,
            "DB_PORT": db_port,
            "AWS_ENDPOINT_URL": self.function_endpoint,
            "SQS_URL": setting("SQS_URL") or self.as_seen_by_function(queue_url),
        }
        self.secret(
            environment["DB_SECRET_ID"],
            {
                "engine": "postgres",
                "host": db_host,
                "port": int(db_port),
                "username": environment["DB_USER"],
                "password": environment["DB_PASSWORD"],
                "dbname": environment["DB_NAME"],
            },
        )
        has_ecr = self.repository(REPOSITORY)
        if setting("LAMBDA_PACKAGE", "zip") == "image" and not has_ecr:
            raise ProvisionError(
                "LAMBDA_PACKAGE=image but this emulator has no ECR (LocalStack Community): "
                "use LAMBDA_PACKAGE=zip, MiniStack, or a LocalStack Pro image with LOCALSTACK_AUTH_TOKEN"
            )
        function_arn = self.function(self.role(ROLE), environment)
        self.rule(setting("SCHEDULE_EXPRESSION", "rate(1 minute)"), function_arn)

    def as_seen_by_function(self, queue_url: str) -> str:
        """The queue URL with the host the function reaches the emulator by (a service name in docker)."""
        seen = urlsplit(self.function_endpoint)
        return urlsplit(queue_url)._replace(scheme=seen.scheme, netloc=seen.netloc).geturl()


def _same_attribute(current: str | None, wanted: str) -> bool:
    if current is None:
        return False
    try:
        # Policies come back as JSON whose numbers may be ints or strings.
        return _normalise(json.loads(current)) == _normalise(json.loads(wanted))
    except ValueError:
        return current == wanted


def _normalise(value):
    if isinstance(value, dict):
        return {key: _normalise(item) for key, item in value.items()}
    return str(value)


def _config_value(config: dict, key: str):
    if key == "Environment":
        return {"Variables": config.get("Environment", {}).get("Variables", {})}
    return config.get(key)


def _architecture(value: str) -> str:
    if value not in ("x86_64", "arm64"):
        raise ProvisionError(f"LAMBDA_ARCH={value!r} is not valid: use x86_64 or arm64")
    return value


def _read_zip(path: str) -> bytes:
    if not path:
        raise ProvisionError(
            "LAMBDA_PACKAGE=zip needs LAMBDA_ZIP: set it to the zip built by scheduler_lambda/package_zip.py"
        )
    try:
        return Path(path).read_bytes()
    except OSError as err:
        raise ProvisionError(
            f"LAMBDA_ZIP={path} cannot be read ({err.strerror}): build it with scheduler_lambda/package_zip.py"
        ) from None


def _wait(lam, waiter: str) -> None:
    lam.get_waiter(waiter).wait(FunctionName=FUNCTION, WaiterConfig={"Delay": 1, "MaxAttempts": 120})


def main() -> int:
    started = time.monotonic()
    try:
        provisioner = Provisioner()
        print(
            f"provisioning {provisioner.endpoint} (region {provisioner.region}, account {provisioner.account})",
            flush=True,
        )
        provisioner.run()
    except ProvisionError as err:
        print(f"provision: {err}", file=sys.stderr)
        return 1
    except (ClientError, BotoCoreError) as err:
        endpoint = setting("AWS_ENDPOINT_URL", "http://localhost:4566")
        print(f"provision: {err} (emulator {endpoint}); check that it runs and its log (`make logs`)", file=sys.stderr)
        return 1
    print(f"provisioned in {time.monotonic() - started:.1f}s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
