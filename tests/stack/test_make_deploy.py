"""`make deploy` rehearsed against the real MiniStack: the command a user runs for AWS, with AWS_ENDPOINT_URL set.

It reads the shell's environment only (never .env), deploys the image, the VPC settings and a generated
secret as on AWS, and a second run with nothing given keeps every previous value.
"""

import json
import os
import subprocess

import pytest

REPO = __import__("pathlib").Path(__file__).resolve().parents[2]
ACCOUNT = "100000000020"
DIGEST = "sha256:" + "a" * 64
IMAGE = f"{ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com/flow-builder-scheduler@{DIGEST}"


@pytest.fixture
def make_deploy(emulator):
    def run(**variables: str) -> subprocess.CompletedProcess:
        env = {
            "PATH": os.environ["PATH"],
            "HOME": os.environ.get("HOME", "/tmp"),
            "STACK": "embedded",
            # The SAM deploy unless a test says otherwise: REPO's .env and .stack/iac (a terraform make up) are the user's.
            "IAC": "sam",
            "AWS_ENDPOINT_URL": emulator.url,
            "AWS_ACCESS_KEY_ID": ACCOUNT,
            "AWS_SECRET_ACCESS_KEY": "test",
            **variables,
        }
        # -o: the venv is installed already.
        command = ["make", "--no-print-directory", "-o", ".venv/.installed", "-o", ".venv/.installed-runtime", "deploy"]
        return subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=300)

    return run


def test_make_deploy_deploys_the_image_in_a_vpc_with_a_generated_secret(make_deploy, aws):
    # A new account: no image yet, so everything but the function (the repository `make push` needs).
    before_push = make_deploy(
        LAMBDA_ARCH="arm64",
        DB_HOST="flowbuilder.cluster-abc.us-east-1.rds.amazonaws.com",
        USE_DB_SECRETS="true",
        VPC_SUBNET_IDS="subnet-0a1,subnet-0b2",
        VPC_SECURITY_GROUP_IDS="sg-0c3",
        SCHEDULE_EXPRESSION="rate(1 day)",
    )
    assert before_push.returncode == 0, before_push.stdout + before_push.stderr
    assert f"to {aws(ACCOUNT, 'lambda').meta.endpoint_url}" in before_push.stdout
    assert "no function yet: push the image" in before_push.stdout
    assert aws(ACCOUNT, "ecr").describe_repositories(repositoryNames=["flow-builder-scheduler"])["repositories"]
    # The worker is a zip on AWS too: `make deploy` built it for the Lambda platform (python3.12, LAMBDA_ARCH).
    (worker,) = aws(ACCOUNT, "lambda").list_functions()["Functions"]
    assert (worker["FunctionName"], worker["Runtime"], worker["Architectures"]) == (
        "flow-builder-worker",
        "python3.12",
        ["arm64"],
    )
    assert "flow-builder-worker-lambda-arm64.zip" in before_push.stdout

    first = make_deploy(LAMBDA_IMAGE_URI=IMAGE)
    assert first.returncode == 0, first.stdout + first.stderr
    assert "AWS::Lambda::Function        SchedulerFunction" in first.stdout and "AWS::SQS::Queue" not in first.stdout

    lam, iam, cfn = aws(ACCOUNT, "lambda"), aws(ACCOUNT, "iam"), aws(ACCOUNT, "cloudformation")
    function = lam.get_function(FunctionName="flow-builder-scheduler")
    config = function["Configuration"]
    assert config["PackageType"] == "Image" and function["Code"]["ImageUri"] == IMAGE
    assert config["Architectures"] == ["arm64"]
    # MiniStack's CloudFormation drops a function's VpcConfig: the stack's parameters and the role's
    # VPC policy (below) show the VPC inputs arrived and switched the InVpc condition on.
    (stack,) = cfn.describe_stacks(StackName="flow-builder")["Stacks"]
    parameters = {p["ParameterKey"]: p["ParameterValue"] for p in stack["Parameters"]}
    assert (parameters["SubnetIds"], parameters["SecurityGroupIds"]) == ("subnet-0a1,subnet-0b2", "sg-0c3")
    variables = config["Environment"]["Variables"]
    assert variables["DB_SSL_MODE"] == "require"  # the AWS default
    assert variables["USE_DB_SECRETS"] == "true" and "DB_PASSWORD" not in variables  # in the secret only
    worker_variables = lam.get_function_configuration(FunctionName="flow-builder-worker")["Environment"]["Variables"]
    assert worker_variables["USE_DB_SECRETS"] == "true" and "DB_PASSWORD" not in worker_variables

    secret = json.loads(aws(ACCOUNT, "secretsmanager").get_secret_value(SecretId="flow-builder/db")["SecretString"])
    assert secret["host"] == "flowbuilder.cluster-abc.us-east-1.rds.amazonaws.com" and secret["username"] == "root"
    assert len(secret["password"]) == 32  # generated: no password ever passed through the deploy

    role = cfn.describe_stack_resource(StackName="flow-builder", LogicalResourceId="SchedulerRole")
    attached = iam.list_attached_role_policies(RoleName=role["StackResourceDetail"]["PhysicalResourceId"])
    assert [p["PolicyName"] for p in attached["AttachedPolicies"]] == ["AWSLambdaVPCAccessExecutionRole"]

    # Nothing given: every parameter keeps its previous value, so nothing changes.
    again = make_deploy()
    assert again.returncode == 0, again.stdout + again.stderr
    assert "stack flow-builder: no changes" in again.stdout

    # A new image (what `make push` prints) changes the function alone.
    newer = IMAGE.replace("a" * 64, "b" * 64)
    release = make_deploy(LAMBDA_IMAGE_URI=newer)
    assert release.returncode == 0, release.stdout + release.stderr
    assert lam.get_function(FunctionName="flow-builder-scheduler")["Code"]["ImageUri"] == newer
    assert "modify  AWS::Lambda::Function" in release.stdout and "add " not in release.stdout


# Either IaC refuses before anything runs; Terraform's working directory is the test's, never REPO's .stack.
IACS = pytest.mark.parametrize("iac", ["sam", "terraform"])


@IACS
def test_a_first_deploy_without_a_database_host_says_so(make_deploy, iac, tmp_path):
    result = make_deploy(AWS_ACCESS_KEY_ID="100000000021", IAC=iac, TERRAFORM_WORKDIR=str(tmp_path / "root"))
    assert result.returncode != 0
    assert "deploy: DB_HOST is empty: set it to the database host" in result.stderr


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"BATCH_SIZE": "0"}, "deploy: BATCH_SIZE=0 is "),
        ({"WORKER_TIMEOUT_SECONDS": "300", "WORKER_RUNNING_TIMEOUT_SECONDS": "120"},
         "deploy: WORKER_RUNNING_TIMEOUT_SECONDS=120 must be above WORKER_TIMEOUT_SECONDS=300"),
        ({"WORKER_TIMEOUT_SECONDS": "61"}, "deploy: WORKER_TIMEOUT_SECONDS=61 + WORKER_RUNNING_TIMEOUT_SECONDS=120 = 181"),
        ({"WORKER_MAX_ATTEMPTS": "5"}, "deploy: WORKER_MAX_ATTEMPTS=5 must be below the queue's maxReceiveCount (5)"),
    ],
)
@IACS
def test_a_setting_make_up_refuses_is_refused_before_anything_is_deployed(make_deploy, aws, settings, message, iac, tmp_path):
    account = "100000000022"
    result = make_deploy(
        AWS_ACCESS_KEY_ID=account, DB_HOST="db.example.com", USE_DB_SECRETS="true", IAC=iac,
        TERRAFORM_WORKDIR=str(tmp_path / "root"), **settings,
    )  # fmt: skip
    assert result.returncode != 0
    (line,) = result.stderr.strip().splitlines()[:1]
    assert line.startswith(message) and line.endswith("nothing was started or deployed"), result.stderr
    assert "uploaded" not in result.stdout and "created artifacts bucket" not in result.stdout
    assert aws(account, "cloudformation").list_stacks()["StackSummaries"] == []
    assert aws(account, "s3").list_buckets()["Buckets"] == []
    assert not (tmp_path / "root").exists()  # no terraform init, no state


@IACS
def test_without_a_worker_zip_an_unknown_architecture_is_refused_before_the_zip_is_built(make_deploy, aws, iac, tmp_path):
    account = "100000000023"
    result = make_deploy(
        AWS_ACCESS_KEY_ID=account, DB_HOST="db.example.com", USE_DB_SECRETS="true", LAMBDA_ARCH="sparc", IAC=iac,
        TERRAFORM_WORKDIR=str(tmp_path / "root"),
    )  # fmt: skip
    assert result.returncode != 0
    assert "deploy: LAMBDA_ARCH='sparc' is not valid: use x86_64 or arm64" in result.stderr, result.stderr
    assert "building the worker zip" not in result.stdout
    assert aws(account, "s3").list_buckets()["Buckets"] == []
    assert not (tmp_path / "root").exists()
