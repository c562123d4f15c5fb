"""The dashboard's docker path, read from the files (no Docker engine runs here), and its pins."""

import re
import subprocess
import sys
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]
DOCKERFILE = REPO / "dashboard" / "Dockerfile"


def service() -> dict:
    text = re.sub(r"\$\{[A-Z_]+:-([^}]*)\}", r"\1", (REPO / "docker-compose.yml").read_text())  # defaults applied
    return yaml.safe_load(text)["services"]["dashboard"]


def test_the_compose_service_is_published_on_loopback_only_and_waits_for_the_emulator():
    dashboard = service()
    assert dashboard["ports"] == ["127.0.0.1:8025:8025"]
    # The base image is a build argument whose default is the pinned official one (a stand-in only where set).
    assert dashboard["build"] == {
        "context": ".", "dockerfile": "dashboard/Dockerfile", "args": {"DASHBOARD_BASE_IMAGE": "python:3.12.11-slim-bookworm"}
    }
    environment = dashboard["environment"]
    assert (environment["DB_HOST"], environment["AWS_ENDPOINT_URL"]) == ("postgres", "http://emulator:4566")
    assert environment["DASHBOARD_PORT"] == "8025"
    assert dashboard["depends_on"] == {"emulator": {"condition": "service_healthy"}}
    assert "/healthz" in dashboard["healthcheck"]["test"][-1]


def test_hadolint_finds_nothing():
    result = subprocess.run([Path(sys.executable).with_name("hadolint"), DOCKERFILE], capture_output=True, text=True)
    assert (result.returncode, result.stdout + result.stderr) == (0, "")


def test_its_dockerignore_lets_through_exactly_what_it_copies():
    ignore = DOCKERFILE.with_name("Dockerfile.dockerignore").read_text().splitlines()
    lines = [line for line in ignore if line and not line.startswith("#")]
    assert lines[0] == "*"
    allowed = {line[1:].rstrip("/") for line in lines if line.startswith("!")}
    copied = {line.split()[1] for line in DOCKERFILE.read_text().splitlines() if line.startswith("COPY ")}
    assert allowed == copied


def test_the_image_pins_are_the_dev_installs():
    pins = dict(
        line.split("==") for line in (REPO / "dashboard" / "requirements.txt").read_text().splitlines()
        if line and not line.startswith("#")
    )  # fmt: skip
    dev = dict(re.findall(r'"([a-z0-9-]+)==([^";]+)"', (REPO / "pyproject.toml").read_text()))
    for name in ("starlette", "jinja2", "uvicorn", "python-multipart"):
        assert pins[name] == dev[name], name
