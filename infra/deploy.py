"""Deploy infra/template.yaml as `sam deploy` does: upload the code zips, create a change set, execute it, wait.

The same command deploys to the emulator (the ready.d hook of `make up`, AWS_ENDPOINT_URL set) and to
AWS (`make deploy`). Its inputs are environment variables (README, "Building and deploying"); it prints
the change set's changes, or "no changes", then the stack's outputs. Needs only boto3, so it also runs
inside the emulator images.

    python infra/deploy.py
"""

from __future__ import annotations

import base64
import hashlib
import os
import subprocess
import sys
import time
from pathlib import Path

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, WaiterError

TEMPLATE = Path(__file__).resolve().parent / "template.yaml"
CAPABILITIES = ["CAPABILITY_IAM", "CAPABILITY_AUTO_EXPAND"]
NO_CHANGES = ("didn't contain changes", "No updates are to be performed")

# Template parameter <- environment variable. Unset or empty variables keep the parameter's default
# on a first deployment and its previous value on an update (the password included).
PARAMETERS = {
    "ScheduleExpression": "SCHEDULE_EXPRESSION",
    "Architecture": "LAMBDA_ARCH",
    "MemorySize": "LAMBDA_MEMORY_MB",
    "ImageUri": "LAMBDA_IMAGE_URI",
    "CreateRepository": "CREATE_REPOSITORY",
    "SubnetIds": "VPC_SUBNET_IDS",
    "SecurityGroupIds": "VPC_SECURITY_GROUP_IDS",
    "LogRetentionDays": "LOG_RETENTION_DAYS",
    "DbHost": "FUNCTION_DB_HOST",
    "DbPort": "FUNCTION_DB_PORT",
    "DbName": "DB_NAME",
    "DbUser": "DB_USER",
    "DbPassword": "DB_PASSWORD",
    "DbSslMode": "DB_SSL_MODE",
    "DbSslRootCert": "DB_SSL_ROOT_CERT",
    "UseDbSecrets": "USE_DB_SECRETS",
    "DbSecretArn": "DB_SECRET_ARN",
    "RedriveAfterSeconds": "REDRIVE_AFTER_SECONDS",
    "BatchSize": "BATCH_SIZE",
    "SendConcurrency": "SEND_CONCURRENCY",
    "MaxFanout": "MAX_FANOUT",
    "FanoutThreshold": "FANOUT_THRESHOLD",
    "TimeoutMarginMs": "TIMEOUT_MARGIN_MS",
    "DbConnectTimeout": "DB_CONNECT_TIMEOUT",
    "LogLevel": "LOG_LEVEL",
    "QueueVisibilityTimeout": "QUEUE_VISIBILITY_TIMEOUT_SECONDS",
    "WorkerTimeout": "WORKER_TIMEOUT_SECONDS",
    "WorkerSimulatedMs": "WORKER_SIMULATED_MS",
    "WorkerRunningTimeoutSeconds": "WORKER_RUNNING_TIMEOUT_SECONDS",
    "WorkerMaxAttempts": "WORKER_MAX_ATTEMPTS",
}
# Read where the first is empty: the function's view of the database defaults to yours.
FALLBACKS = {"FUNCTION_DB_HOST": "DB_HOST", "FUNCTION_DB_PORT": "DB_PORT"}
# Code zips: template parameter of the S3 key <- variable naming the zip. The scheduler's is uploaded for a
# Zip deployment only; the worker is a zip in every environment, built here for Lambda when not given.
SCHEDULER_CODE = {"SchedulerCodeKey": "LAMBDA_ZIP"}
WORKER_CODE = {"WorkerCodeKey": "WORKER_LAMBDA_ZIP"}
REPO = TEMPLATE.parent.parent
PLATFORMS = {"x86_64": "manylinux2014_x86_64", "arm64": "manylinux_2_28_aarch64"}
# Outputs naming functions whose code must not be empty (a missing S3 object deploys as 0 bytes on MiniStack).
FUNCTIONS = ("FunctionArn", "WorkerFunctionArn")


# Resources the template names and keeps on deletion (DeletionPolicy: Retain): a failed first creation
# leaves them behind, and the next creation fails on them ("already exists").
RETAINED_QUEUES = ("flow-builder-queue", "flow-builder-queue-dlq")
RETAINED_SECRET = "flow-builder/db"
RETAINED_REPOSITORY = "flow-builder-scheduler"
# Parameters CloudFormation shows as asterisks: a previous value stands in as set.
NO_ECHO = {"DbPassword"}


class DeployError(RuntimeError):
    """The deployment cannot go on; the message names the input or step, and what to do."""


def setting(name: str) -> str:
    value = os.environ.get(name, "").strip()
    return value or os.environ.get(FALLBACKS.get(name, ""), "").strip()


def say(message: str) -> None:
    print(message, flush=True)


class Deployer:
    def __init__(self, stack_name: str):
        self.stack_name = stack_name
        region = setting("CUSTOM_AWS_REGION") or setting("AWS_DEFAULT_REGION") or "us-east-1"
        # boto3 reads AWS_ENDPOINT_URL itself: set for the emulator, unset for AWS.
        self.session = boto3.Session(region_name=region)
        self.config = Config(retries={"mode": "standard", "max_attempts": 5}, connect_timeout=5, read_timeout=60)
        self.cfn = self.client("cloudformation")
        self.account = self.client("sts").get_caller_identity()["Account"]

    def client(self, service: str):
        return self.session.client(service, config=self.config)

    # -- inputs ----------------------------------------------------------------------------------

    def parameters(self, previous: dict[str, str]) -> list[dict]:
        package = (setting("LAMBDA_PACKAGE") or "image").lower()
        if package not in ("zip", "image"):
            raise DeployError(f"LAMBDA_PACKAGE={package!r} is not valid: use zip or image")
        values = {name: setting(variable) for name, variable in PARAMETERS.items()}
        values["PackageType"] = package.capitalize()
        zips = {"WorkerCodeKey": ("WORKER_LAMBDA_ZIP", setting("WORKER_LAMBDA_ZIP"))}
        if package == "zip":
            zips["SchedulerCodeKey"] = ("LAMBDA_ZIP", setting("LAMBDA_ZIP"))
        if not zips["WorkerCodeKey"][1]:
            architecture = values["Architecture"] or previous.get("Architecture") or "x86_64"
            zips["WorkerCodeKey"] = ("WORKER_LAMBDA_ZIP", str(build_worker_zip(architecture)))
        values["CodeBucket"] = self.artifacts_bucket()
        values |= {key: "" for key in SCHEDULER_CODE}
        values |= {key: self.upload(variable, path, values["CodeBucket"]) for key, (variable, path) in zips.items()}
        explicit = {"CodeBucket", *SCHEDULER_CODE, *WORKER_CODE}  # required by the template (empty for an image)
        parameters = []
        for name, value in values.items():
            if value or name in explicit:
                parameters.append({"ParameterKey": name, "ParameterValue": value})
            elif name in previous:
                parameters.append({"ParameterKey": name, "UsePreviousValue": True})
        return parameters

    def artifacts_bucket(self) -> str:
        """The bucket the zips go to, made once per account and region (as `sam deploy` manages its own)."""
        name = setting("ARTIFACTS_BUCKET") or f"flow-builder-artifacts-{self.account}-{self.session.region_name}"
        s3 = self.client("s3")
        try:
            # The name is predictable: a bucket someone else made under it must never receive our code.
            s3.head_bucket(Bucket=name, ExpectedBucketOwner=self.account)
        except ClientError as err:
            code = err.response.get("Error", {}).get("Code")
            if code in ("403", "AccessDenied"):
                raise DeployError(
                    f"the artifacts bucket {name} belongs to another account (or denies you): "
                    f"set ARTIFACTS_BUCKET to a bucket of account {self.account}"
                ) from None
            if code not in ("404", "NoSuchBucket", "NotFound"):
                raise
            options = {}
            if self.session.region_name != "us-east-1":
                options["CreateBucketConfiguration"] = {"LocationConstraint": self.session.region_name}
            s3.create_bucket(Bucket=name, **options)
            say(f"created artifacts bucket {name}")
        return name

    def upload(self, variable: str, path: str, bucket: str) -> str:
        """Upload the zip at `path` (named by `variable`) under its SHA-256, so unchanged code keeps its key."""
        if not path:
            raise DeployError(f"LAMBDA_PACKAGE=zip needs {variable}: set it to a zip built by package_zip.py")
        try:
            body = Path(path).read_bytes()
        except OSError as err:
            raise DeployError(
                f"{variable}={path} cannot be read ({err.strerror}): build it with package_zip.py"
            ) from None
        digest = hashlib.sha256(body)
        key = f"{Path(path).stem}/{digest.hexdigest()}.zip"
        checksum = base64.b64encode(digest.digest()).decode()
        s3 = self.client("s3")
        owner = {"Bucket": bucket, "Key": key, "ExpectedBucketOwner": self.account}
        try:
            # The key names the content, but only S3's own checksum proves the object holds it.
            stored = s3.head_object(**owner, ChecksumMode="ENABLED").get("ChecksumSHA256")
        except ClientError:
            stored = None
        if stored != checksum:
            s3.put_object(**owner, Body=body, ChecksumSHA256=checksum)  # S3 refuses a body that differs
            say(f"uploaded {Path(path).name} ({len(body) // 1024} KiB) to s3://{bucket}/{key}")
        return key

    # -- the change set ----------------------------------------------------------------------------

    def stack(self) -> dict | None:
        try:
            return self.cfn.describe_stacks(StackName=self.stack_name)["Stacks"][0]
        except ClientError as err:
            if "does not exist" in str(err):
                return None
            raise

    def deploy(self) -> None:
        current = self.stack()
        if current and current["StackStatus"] in ("ROLLBACK_COMPLETE", "REVIEW_IN_PROGRESS"):
            # A stack whose creation failed can only be deleted (as sam deploy does).
            say(f"deleting stack {self.stack_name} left in {current['StackStatus']} by a failed creation")
            self.cfn.delete_stack(StackName=self.stack_name)
            self._wait("stack_delete_complete")
            current = None
        previous = {p["ParameterKey"]: p.get("ParameterValue", "") for p in (current or {}).get("Parameters", [])}
        check_settings(previous)
        kind = "UPDATE" if current else "CREATE"
        if kind == "CREATE":
            self.check_no_leftovers()
        parameters = self.parameters(previous)
        name = f"deploy-{time.strftime('%Y%m%d%H%M%S')}-{os.getpid()}"
        self.cfn.create_change_set(
            StackName=self.stack_name,
            ChangeSetName=name,
            ChangeSetType=kind,
            TemplateBody=TEMPLATE.read_text(),
            Parameters=parameters,
            Capabilities=CAPABILITIES,
        )
        try:
            self._wait("change_set_create_complete", ChangeSetName=name)
        except DeployError:
            described = self.cfn.describe_change_set(StackName=self.stack_name, ChangeSetName=name)
            reason = described.get("StatusReason", "")
            self.cfn.delete_change_set(StackName=self.stack_name, ChangeSetName=name)
            if not any(text in reason for text in NO_CHANGES):
                raise DeployError(f"change set {name} failed: {reason}") from None
            # A parameter that only flips a Condition yields an empty change set; update_stack applies it.
            if kind == "UPDATE" and self._parameters_differ(current, parameters):
                self._update_stack(parameters)
            else:
                say(f"stack {self.stack_name}: no changes")
            return
        changes = self.cfn.describe_change_set(StackName=self.stack_name, ChangeSetName=name)["Changes"]
        for change in changes:
            resource = change["ResourceChange"]
            say(f"  {resource['Action'].lower():<7} {resource['ResourceType']:<28} {resource['LogicalResourceId']}")
        say(f"executing change set {name} ({kind.lower()}, {len(changes)} change(s))")
        self.cfn.execute_change_set(StackName=self.stack_name, ChangeSetName=name)
        self._wait("stack_create_complete" if kind == "CREATE" else "stack_update_complete")

    def check_no_leftovers(self) -> None:
        """Before a creation: the retained resources of an earlier failed one, named with what to do."""
        found, fixes = [], []
        sqs = self.client("sqs")
        for name in RETAINED_QUEUES:
            try:
                url = sqs.get_queue_url(QueueName=name)["QueueUrl"]
            except ClientError:
                continue
            found.append(name)
            fixes.append(f"aws sqs delete-queue --queue-url {url}")
        if not setting("DB_SECRET_ARN") and self._exists(
            lambda: self.client("secretsmanager").describe_secret(SecretId=RETAINED_SECRET)
        ):
            found.append(RETAINED_SECRET)
            fixes.append(f"aws secretsmanager delete-secret --secret-id {RETAINED_SECRET} --force-delete-without-recovery")
        if (setting("CREATE_REPOSITORY") or "true") == "true" and self._exists(
            lambda: self.client("ecr").describe_repositories(repositoryNames=[RETAINED_REPOSITORY])
        ):
            found.append(RETAINED_REPOSITORY)
            fixes.append(f"aws ecr delete-repository --repository-name {RETAINED_REPOSITORY} --force")
        if found:
            raise DeployError(
                f"{', '.join(found)} exist outside any stack (kept by DeletionPolicy: Retain when an earlier first "
                f"deployment failed?), so stack {self.stack_name} cannot create them: if they hold nothing you need, "
                f"delete them ({'; '.join(fixes)}) and deploy again; nothing was deployed"
            )

    @staticmethod
    def _exists(describe) -> bool:
        """True only when the call finds it: not found, no right to look, or no such service (LocalStack's
        ECR) all leave the question to CloudFormation."""
        try:
            describe()
            return True
        except ClientError:
            return False

    def _parameters_differ(self, current: dict, parameters: list[dict]) -> bool:
        before = {p["ParameterKey"]: p.get("ParameterValue") for p in current.get("Parameters", [])}
        return any(p["ParameterValue"] != before.get(p["ParameterKey"]) for p in parameters if "ParameterValue" in p)

    def _update_stack(self, parameters: list[dict]) -> None:
        try:
            self.cfn.update_stack(
                StackName=self.stack_name,
                TemplateBody=TEMPLATE.read_text(),
                Parameters=parameters,
                Capabilities=CAPABILITIES,
            )
        except ClientError as err:
            if any(text in str(err) for text in NO_CHANGES):
                say(f"stack {self.stack_name}: no changes")
                return
            raise
        say(f"updating stack {self.stack_name} (a parameter changed a condition only)")
        self._wait("stack_update_complete")

    def _wait(self, waiter: str, **extra) -> None:
        try:
            self.cfn.get_waiter(waiter).wait(
                StackName=self.stack_name, WaiterConfig={"Delay": 2, "MaxAttempts": 450}, **extra
            )
        except WaiterError:
            raise DeployError(f"{self.stack_name}: {waiter.replace('_', ' ')} failed: {self.failure()}") from None

    def failure(self) -> str:
        """The first failed resource's reason, which says what to fix."""
        try:
            events = self.cfn.describe_stack_events(StackName=self.stack_name)["StackEvents"]
        except ClientError:
            return "see the stack's events"
        failed = [e for e in events if e.get("ResourceStatus", "").endswith("FAILED")]
        if not failed:
            return "see the stack's events"
        first = failed[-1]
        return f"{first['LogicalResourceId']} {first['ResourceStatus']}: {first.get('ResourceStatusReason', '')}"

    # -- after -------------------------------------------------------------------------------------

    def check_code(self, outputs: dict[str, str]) -> None:
        lam = self.client("lambda")
        for output in FUNCTIONS:
            if output not in outputs:
                continue  # an image deployment before its first push
            config = lam.get_function_configuration(FunctionName=outputs[output])
            function = config["FunctionName"]
            if config.get("PackageType", "Zip") == "Zip" and not config.get("CodeSize"):
                raise DeployError(
                    f"{function} was deployed with no code (CodeSize 0): its zip is missing from the artifacts "
                    f"bucket; rebuild it (package_zip.py) and deploy again"
                )

    def outputs(self) -> dict[str, str]:
        stack = self.stack() or {}
        return {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}


def check_settings(previous: dict[str, str]) -> None:
    """The checks `make up` runs (embedded/function_settings.py), on the values this deployment will leave the
    functions with (an unset variable keeps its previous value), before anything is uploaded or changed."""
    for path in (REPO, REPO / "lambda_common", REPO / "scheduler_lambda", REPO / "worker_lambda"):
        if str(path) not in sys.path:
            sys.path.append(str(path))  # the checks use the functions' own parsers, which need only the stdlib
    from embedded import function_settings

    values = {}
    for parameter, variable in PARAMETERS.items():
        value = setting(variable)
        if not value and parameter in previous:
            value = "(previous value)" if parameter in NO_ECHO else previous[parameter]
        if value:
            values[variable] = value
    if "FUNCTION_DB_HOST" not in values:
        raise DeployError("DB_HOST is empty: set it to the database host the function reaches (RDS endpoint)")
    if problem := function_settings.problem(values):
        raise DeployError(problem)


def build_worker_zip(architecture: str) -> Path:
    """The worker zip for the Lambda runtime (python3.12 on `architecture`), built by package_zip.py."""
    if architecture not in PLATFORMS:
        raise DeployError(f"LAMBDA_ARCH={architecture!r} is not valid: use x86_64 or arm64")
    output = REPO / ".stack" / "build" / f"flow-builder-worker-lambda-{architecture}.zip"
    command = [sys.executable, str(REPO / "scheduler_lambda" / "package_zip.py"), "--platform", PLATFORMS[architecture]]
    command += ["--function", "worker", "--output", str(output)]
    say(f"building the worker zip for Lambda ({architecture}); WORKER_LAMBDA_ZIP names one to skip this")
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        detail = (result.stderr.strip().splitlines() or ["(no output)"])[-1]
        raise DeployError(f"the worker zip could not be built: {detail}")
    return output


def main() -> int:
    stack_name = setting("STACK_NAME") or "flow-builder"
    started = time.monotonic()
    try:
        deployer = Deployer(stack_name)
        target = os.environ.get("AWS_ENDPOINT_URL") or f"AWS account {deployer.account}"
        say(f"deploying stack {stack_name} from infra/template.yaml to {target} ({deployer.session.region_name})")
        deployer.deploy()
        outputs = deployer.outputs()
        deployer.check_code(outputs)
        for key, value in sorted(outputs.items()):
            say(f"  {key:<19} {value}")
        if "FunctionArn" not in outputs:
            say("no function yet: push the image (`make push` prints its URI), then LAMBDA_IMAGE_URI=<it> make deploy")
    except DeployError as err:
        print(f"deploy: {err}", file=sys.stderr)
        return 1
    except (ClientError, BotoCoreError) as err:
        print(f"deploy: {err}; check the credentials and AWS_ENDPOINT_URL (unset for AWS)", file=sys.stderr)
        return 1
    say(f"deployed in {time.monotonic() - started:.1f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
