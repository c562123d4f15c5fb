"""build_and_push.sh run for real against the MiniStack emulator, with a recording stand-in for docker.

The AWS side is real: the script's aws CLI calls create the repository in the emulator's ECR,
read the pushed digest from it and update the function. Only the docker CLI is a stand-in
(no engine runs here); its `push` still writes the manifest through the registry API.
"""

import base64
import io
import json
import os
import re
import subprocess
import sys
import uuid
import zipfile
from pathlib import Path

import boto3
import pytest

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "scheduler_lambda" / "build_and_push.sh"
STAND_IN = Path(__file__).with_name("stand_in_docker.py")
ROLE = "arn:aws:iam::000000000000:role/flow-builder-scheduler"


@pytest.fixture
def names():
    """Fresh function and repository names: the session emulator is shared with other tests."""
    suffix = uuid.uuid4().hex[:8]
    return {"FUNCTION_NAME": f"scheduler-{suffix}", "ECR_REPOSITORY": f"scheduler-{suffix}"}


@pytest.fixture
def docker_log(tmp_path):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    docker = bin_dir / "docker"
    docker.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{STAND_IN}" "$@"\n')
    docker.chmod(0o755)
    return tmp_path / "docker.jsonl"


def run_script(docker_log, names, **overrides):
    env = {
        **os.environ,
        **names,
        # The stand-in first, then this venv's aws CLI; nothing from the user's AWS config.
        "PATH": os.pathsep.join([str(docker_log.parent / "bin"), str(Path(sys.executable).parent), os.environ["PATH"]]),
        "STAND_IN_DOCKER_LOG": str(docker_log),
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        "AWS_EC2_METADATA_DISABLED": "true",
    }
    for key, value in overrides.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    return subprocess.run(["bash", str(SCRIPT)], env=env, capture_output=True, text=True, timeout=180)


def docker_calls(docker_log):
    if not docker_log.exists():
        return []
    return [json.loads(line) for line in docker_log.read_text().splitlines()]


def create_function(name, package_type="Image"):
    client = boto3.client("lambda")
    if package_type == "Image":
        code = {"ImageUri": "flow-builder-scheduler:latest"}
        extra = {"PackageType": "Image"}
    else:
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            archive.writestr("index.py", "def handler(event, context):\n    return {}\n")
        code = {"ZipFile": buffer.getvalue()}
        extra = {"Runtime": "python3.12", "Handler": "index.handler"}
    # The emulator enforces IAM: a function's role must exist.
    iam = boto3.client("iam")
    try:
        iam.get_role(RoleName=ROLE.rsplit("/", 1)[1])
    except iam.exceptions.NoSuchEntityException:
        trust = {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
            ],
        }
        iam.create_role(RoleName=ROLE.rsplit("/", 1)[1], AssumeRolePolicyDocument=json.dumps(trust))
    client.create_function(FunctionName=name, Role=ROLE, Code=code, **extra)


def test_builds_pushes_to_ecr_and_points_the_function_at_the_digest(aws_env, names, docker_log):
    create_function(names["FUNCTION_NAME"])

    result = run_script(docker_log, names)

    assert result.returncode == 0, result.stderr
    repository = names["ECR_REPOSITORY"]
    registry = aws_env.url.removeprefix("http://")
    remote = f"{registry}/{repository}"
    calls = docker_calls(docker_log)
    commands = [call["argv"][0] if call["argv"][0] != "buildx" else " ".join(call["argv"][:2]) for call in calls]
    assert commands == ["info", "buildx version", "buildx build", "login", "tag", "push", "tag", "push"]

    build = calls[2]["argv"]
    tag = build[build.index("-t") + 1].removeprefix("flow-builder-scheduler:")
    head = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short=12", "HEAD"], capture_output=True, text=True)
    assert re.fullmatch(re.escape(head.stdout.strip()) + r"(-dirty)?", tag), tag
    for flag in ("--provenance=false", "--sbom=false", "--load", "LAMBDA_ARCH=x86_64", "linux/amd64"):
        assert flag in build
    assert build[build.index("-f") + 1] == str(REPO / "scheduler_lambda" / "Dockerfile")
    assert build[-1] == str(REPO)

    token = boto3.client("ecr").get_authorization_token()["authorizationData"][0]["authorizationToken"]
    assert calls[3]["argv"] == ["login", "--username", "AWS", "--password-stdin", registry]
    assert calls[3]["stdin"].strip() == base64.b64decode(token).decode().partition(":")[2]
    assert [call["argv"] for call in calls[4:]] == [
        ["tag", f"flow-builder-scheduler:{tag}", f"{remote}:{tag}"],
        ["push", f"{remote}:{tag}"],
        ["tag", f"flow-builder-scheduler:{tag}", f"{remote}:latest"],
        ["push", f"{remote}:latest"],
    ]

    ecr = boto3.client("ecr")
    assert ecr.describe_repositories(repositoryNames=[repository])["repositories"]
    (image,) = ecr.describe_images(repositoryName=repository)["imageDetails"]
    assert sorted(image["imageTags"]) == sorted([tag, "latest"])

    function = boto3.client("lambda").get_function(FunctionName=names["FUNCTION_NAME"])
    assert function["Code"]["ImageUri"] == f"{remote}@{image['imageDigest']}"
    assert function["Configuration"]["PackageType"] == "Image"
    assert function["Configuration"]["Architectures"] == ["x86_64"]
    assert f"done: {names['FUNCTION_NAME']} runs {remote}@{image['imageDigest']}" in result.stdout


def test_second_run_reuses_the_repository(aws_env, names, docker_log):
    create_function(names["FUNCTION_NAME"])
    assert run_script(docker_log, names, IMAGE_TAG="first").returncode == 0

    result = run_script(docker_log, names, IMAGE_TAG="second")

    assert result.returncode == 0, result.stderr
    assert "creating ECR repository" not in result.stdout
    images = boto3.client("ecr").describe_images(repositoryName=names["ECR_REPOSITORY"])["imageDetails"]
    assert sorted(tag for image in images for tag in image["imageTags"]) == ["first", "latest", "second"]


def test_a_first_release_pushes_and_names_the_deploy_that_creates_the_function(aws_env, names, docker_log):
    result = run_script(docker_log, names, IMAGE_TAG="first")

    assert result.returncode == 0, result.stderr
    assert f"Lambda function '{names['FUNCTION_NAME']}' does not exist in us-east-1" in result.stdout
    images = boto3.client("ecr").describe_images(repositoryName=names["ECR_REPOSITORY"])["imageDetails"]
    (digest,) = {image["imageDigest"] for image in images}
    assert re.search(rf"LAMBDA_IMAGE_URI=\S+/{names['ECR_REPOSITORY']}@{digest} make deploy", result.stdout)


@pytest.mark.parametrize(
    ("setup", "overrides", "expected"),
    [
        ("image", {"DOCKER": "/nonexistent/docker"}, "'/nonexistent/docker' not found: install Docker"),
        ("image", {"STAND_IN_DOCKER_FAIL": "info"}, "no Docker engine answers"),
        ("image", {"LAMBDA_ARCH": "sparc"}, "LAMBDA_ARCH=sparc is not a Lambda architecture: use x86_64 or arm64"),
        ("image", {"AWS_ACCESS_KEY_ID": None, "AWS_SECRET_ACCESS_KEY": None}, "no usable AWS credentials"),
        ("zip", {}, "is a Zip function"),
        (
            "image",
            {"STAND_IN_DOCKER_FAIL": "push"},
            "was refused (Error response from daemon: push refused by the stand-in)",
        ),
    ],
    ids=["no-docker", "no-engine", "bad-arch", "no-credentials", "zip-function", "push-refused"],
)
def test_failures_stop_with_one_clear_line(aws_env, names, docker_log, setup, overrides, expected):
    if setup:
        create_function(names["FUNCTION_NAME"], "Image" if setup == "image" else "Zip")

    result = run_script(docker_log, names, **overrides)

    assert result.returncode == 1
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("build_and_push: error: ")
    assert expected in line
    if overrides.get("STAND_IN_DOCKER_FAIL") != "push":
        # Preflight failures stop before anything is built or pushed.
        assert [call["argv"][:2] for call in docker_calls(docker_log) if call["argv"][:2] == ["buildx", "build"]] == []


def test_redeploys_after_a_failed_update(aws_env, names, docker_log):
    """AWS leaves LastUpdateStatus=Failed after a broken update (MiniStack never does, so a stand-in `aws`
    reports it until the script sends new code); `lambda wait function-updated` stops on Failed for good."""
    create_function(names["FUNCTION_NAME"])
    fixed = docker_log.parent / "code-updated"
    shim = docker_log.parent / "bin" / "aws"
    shim.write_text(
        "#!/bin/sh\n"
        f'case "$*" in *update-function-code*) touch "{fixed}";; esac\n'
        f'if [ ! -e "{fixed}" ]; then\n'
        '  case "$*" in\n'
        '    *"get-function-configuration"*LastUpdateStatus*) echo Failed; exit 0;;\n'
        '    *"wait function-updated"*) echo "Waiter FunctionUpdated failed: terminal failure state: Failed" >&2; exit 255;;\n'
        "  esac\n"
        "fi\n"
        f'exec "{Path(sys.executable).parent / "aws"}" "$@"\n'
    )
    shim.chmod(0o755)

    result = run_script(docker_log, names)

    assert result.returncode == 0, result.stderr
    assert f"done: {names['FUNCTION_NAME']} runs " in result.stdout
