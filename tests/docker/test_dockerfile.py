"""scheduler_lambda/Dockerfile and .dockerignore, read from the files (no Docker engine runs here)."""

import importlib
import inspect
import json
import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
DOCKERFILE = REPO / "scheduler_lambda" / "Dockerfile"
REQUIREMENTS = REPO / "scheduler_lambda" / "requirements.txt"


def instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined, comments dropped."""
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    pairs = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keyword, _, arguments = line.partition(" ")
            pairs.append((keyword.upper(), " ".join(arguments.split())))
    return pairs


def test_hadolint_finds_nothing():
    result = subprocess.run([Path(sys.executable).with_name("hadolint"), DOCKERFILE], capture_output=True, text=True)
    assert (result.returncode, result.stdout + result.stderr) == (0, "")


def test_final_stage_is_the_lambda_python_312_image_for_the_chosen_architecture():
    steps = instructions()
    args = dict(arguments.split("=", 1) for keyword, arguments in steps if keyword == "ARG" and "=" in arguments)
    assert args["LAMBDA_ARCH"] == "x86_64"
    (base,) = [arguments for keyword, arguments in steps if keyword == "FROM"]
    assert base == "${BASE}"
    # Published as 3.12-x86_64 and 3.12-arm64; LAMBDA_BASE_IMAGE (empty by default) replaces it.
    assert args["LAMBDA_BASE_IMAGE"] == ""
    assert args["BASE"] == "${LAMBDA_BASE_IMAGE:-public.ecr.aws/lambda/python:3.12-${LAMBDA_ARCH}}"


def test_dependencies_come_pinned_from_requirements_into_the_task_root():
    pins = [line for line in REQUIREMENTS.read_text().splitlines() if line and not line.startswith("#")]
    assert pins and all(re.fullmatch(r"[A-Za-z0-9_.-]+==[\w.]+", pin) for pin in pins), pins
    (install,) = [arguments for keyword, arguments in instructions() if keyword == "RUN" and "pip install" in arguments]
    for flag in ("-r /tmp/requirements.txt", '--target "${LAMBDA_TASK_ROOT}"', "--only-binary=:all:", "--no-cache-dir"):
        assert flag in install


def test_only_the_package_and_requirements_are_copied():
    copies = [arguments for keyword, arguments in instructions() if keyword == "COPY"]
    assert copies == [
        "scheduler_lambda/requirements.txt /tmp/requirements.txt",
        "lambda_common/flow_common ${LAMBDA_TASK_ROOT}/flow_common",
        "scheduler_lambda/flow_scheduler ${LAMBDA_TASK_ROOT}/flow_scheduler",
    ]


def test_cmd_names_the_real_handler():
    (cmd,) = [arguments for keyword, arguments in instructions() if keyword == "CMD"]
    (handler,) = json.loads(cmd)
    assert handler == "flow_scheduler.handler.lambda_handler"
    # Resolve it the way the runtime does, from the folder the package is copied into.
    module_name, _, function_name = handler.rpartition(".")
    sys.path.insert(0, str(REPO / "scheduler_lambda"))
    try:
        function = getattr(importlib.import_module(module_name), function_name)
    finally:
        sys.path.pop(0)
    assert list(inspect.signature(function).parameters) == ["event", "context"]


def test_dockerignore_lets_through_exactly_what_the_dockerfile_copies():
    lines = [line for line in (REPO / ".dockerignore").read_text().splitlines() if line and not line.startswith("#")]
    assert lines[0] == "*"  # everything out by default: .env, .venv, .stack and .git never reach the daemon
    allowed = {line[1:].rstrip("/") for line in lines if line.startswith("!")}
    sources = {arguments.split()[0] for keyword, arguments in instructions() if keyword == "COPY"}
    assert allowed == sources
    assert {"**/__pycache__", "**/*.py[co]"} <= set(lines)
