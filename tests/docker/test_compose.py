"""The wiring of docker-compose.yml (issue 4), read from the files: no Docker engine runs here."""

import json
import re
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from compose_files import COMPOSE, EMULATORS, FILES, REPO, TERRAFORM, emulator_service, load, variables, with_defaults

FLAVOURS = ("localstack", "ministack")


def services():
    return with_defaults(load()["services"])


def env_example_names():
    text = (REPO / ".env.example").read_text()
    return {line.split("=", 1)[0] for line in text.splitlines() if re.match(r"^[A-Z_][A-Z0-9_]*=", line)}


@pytest.mark.parametrize("path", FILES, ids=lambda path: path.name)
def test_valid_against_the_compose_specification(path):
    result = subprocess.run(
        [Path(sys.executable).with_name("check-jsonschema"), "--builtin-schema", "vendor.compose-spec", path],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr


# Paths the Makefile finds on the host (terraform on PATH, the provider mirror) and exports: not settings.
MAKEFILE_EXPORTS = {"TERRAFORM_BIN", "TF_PLUGIN_MIRROR_HOST"}


@pytest.mark.parametrize("path", FILES, ids=lambda path: path.name)
def test_every_variable_has_a_default_and_is_in_env_example(path):
    found = variables(path)
    assert [name for name, default in found.items() if default is None] == [], "compose must work without .env"
    makefile = (REPO / "Makefile").read_text()
    assert [name for name in MAKEFILE_EXPORTS & set(found) if f"export {name} :=" not in makefile] == []
    missing = sorted(set(found) - env_example_names() - MAKEFILE_EXPORTS)
    assert missing == [], f"add {missing} to .env.example with a one-line explanation"


@pytest.mark.parametrize("path", FILES, ids=lambda path: path.name)
def test_dollar_signs_are_variables_or_escaped(path):
    # A stray `$x` would be interpolated by Compose (silently empty) instead of reaching the shell.
    leftover = re.sub(r"\$\$|\$\{[^}]+\}", "", path.read_text())
    assert "$" not in leftover


def test_images_are_pinned_to_a_version():
    # The emulator service takes its image from the flavour it extends.
    images = {name: service["image"] for name, service in services().items() if name != "emulator"}
    images.update({flavour: emulator_service(flavour)["image"] for flavour in FLAVOURS})
    assert images.pop("scheduler") == "flow-builder-scheduler:latest"  # built here, never pulled
    assert images.pop("dashboard") == "flow-builder-dashboard:latest"  # built here too
    assert images.pop("lambda-zip") == "public.ecr.aws/lambda/python:3.12"  # the Lambda runtime itself
    assert images.pop("localstack") == "localstack/localstack:4.14.0"  # last tag usable without an account
    assert re.fullmatch(r"postgres:16\.\d+", images.pop("postgres"))
    assert images.pop("db-migrate") == services()["postgres"]["image"]  # the same psql as the server
    assert images.pop("ministack") == "ministackorg/ministack:1.5.33"
    assert images == {}


def test_postgres_applies_db_init_keeps_a_volume_and_reports_health():
    postgres = services()["postgres"]
    assert "./db:/flow-builder-db:ro" in postgres["volumes"]  # db/init, then the demo seed (docker-initdb.sh)
    assert "./db/seed/docker-initdb.sh:/docker-entrypoint-initdb.d/flow-builder.sh:ro" in postgres["volumes"]
    data = [volume for volume in postgres["volumes"] if volume.endswith(":/var/lib/postgresql/data")]
    assert data and data[0].split(":")[0] in load()["volumes"]
    assert "pg_isready -h 127.0.0.1" in postgres["healthcheck"]["test"][1]
    assert postgres["ports"] == ["127.0.0.1:5432:5432"]
    assert postgres["environment"] == {
        "POSTGRES_DB": "flow-builder",
        "POSTGRES_USER": "root",
        "POSTGRES_PASSWORD": "flowbuilder-local",
    }


def test_every_up_migrates_the_database_before_the_functions_start():
    # db/init again on every `up` (each file idempotent), so an existing volume gets new migrations;
    # the emulator, which deploys the functions, waits for it. The demo seed stays new-volume only.
    migrate = services()["db-migrate"]
    assert migrate["volumes"] == ["./db:/flow-builder-db:ro"]
    script = migrate["command"][0]
    assert "/flow-builder-db/init/*.sql" in script and "seed" not in script
    assert "ON_ERROR_STOP=1" in script and "-h postgres" in script
    assert migrate["depends_on"] == {"postgres": {"condition": "service_healthy"}}
    assert emulator_service("ministack")["depends_on"]["db-migrate"] == {"condition": "service_completed_successfully"}


@pytest.mark.parametrize("flavour", FLAVOURS)
def test_emulator_serves_4566_runs_the_hooks_and_reaches_docker(flavour):
    service = emulator_service(flavour)
    assert service["ports"] == ["127.0.0.1:4566:4566"]
    for mount in (
        "./localstack/init/ready.d:/etc/localstack/init/ready.d:ro",
        "./infra:/etc/infra:ro",
        "/var/run/docker.sock:/var/run/docker.sock",
    ):
        assert mount in service["volumes"]
    hook = REPO / "localstack" / "init" / "ready.d" / "10-deploy.sh"
    assert hook.exists() and hook.stat().st_mode & 0o111, "LocalStack runs ready.d scripts as executables"
    # The hook runs ../../../infra/deploy.py from where it is mounted: /etc/infra, the infra mount.
    assert "../../../infra/deploy.py" in hook.read_text() and (REPO / "infra" / "template.yaml").exists()
    assert service["environment"]["LAMBDA_DOCKER_NETWORK"] == load()["networks"]["default"]["name"]
    assert set(service["depends_on"]) == {"db-migrate", "lambda-zip"}
    assert service["healthcheck"]["test"][:3] == ["CMD", "python3", "-c"]


def test_emulator_gives_the_deploy_every_input():
    environment = emulator_service("localstack")["environment"]
    for name in (
        "LAMBDA_PACKAGE", "LAMBDA_ZIP", "LAMBDA_IMAGE_URI", "LAMBDA_ARCH", "FUNCTION_DB_HOST", "FUNCTION_DB_PORT",
        "CREATE_REPOSITORY", "SCHEDULE_EXPRESSION", "DB_NAME", "DB_USER", "DB_PASSWORD", "DB_SSL_MODE",
        "CUSTOM_AWS_REGION", "USE_DB_SECRETS", "DB_SECRET_ID", "REDRIVE_AFTER_SECONDS", "BATCH_SIZE",
        "TIMEOUT_MARGIN_MS", "SEND_CONCURRENCY", "MAX_FANOUT", "FANOUT_THRESHOLD", "DB_CONNECT_TIMEOUT", "LOG_LEVEL",
        "WORKER_LAMBDA_ZIP", "QUEUE_VISIBILITY_TIMEOUT_SECONDS", "WORKER_TIMEOUT_SECONDS", "WORKER_SIMULATED_MS",
        "WORKER_RUNNING_TIMEOUT_SECONDS", "WORKER_MAX_ATTEMPTS",
    ):  # fmt: skip
        assert name in environment, name
    assert environment["SCHEDULE_EXPRESSION"] == "rate(1 minute)"
    # The function reaches Postgres by service name on the stack's network.
    assert environment["FUNCTION_DB_HOST"] in services() and environment["FUNCTION_DB_PORT"] == "5432"


def test_each_emulator_deploys_the_package_it_can_run_with_iam_enforced():
    localstack = emulator_service("localstack")["environment"]
    # Community: no ECR, no image functions.
    assert (localstack["LAMBDA_PACKAGE"], localstack["CREATE_REPOSITORY"]) == ("zip", "false")
    assert localstack["ENFORCE_IAM"] == "1"
    ministack = emulator_service("ministack")["environment"]
    assert (ministack["CREATE_REPOSITORY"], ministack["AUTH"]) == ("true", "true")
    assert emulator_service("localstack")["environment"]["LOCALSTACK_AUTH_TOKEN"] == ""  # passed through for Pro images
    assert emulator_service("ministack")["environment"]["LAMBDA_PACKAGE"] == "image"
    # The image the emulator deploys is the one compose builds.
    assert emulator_service("ministack")["environment"]["LAMBDA_IMAGE_URI"] == services()["scheduler"]["image"]


def test_the_zip_is_built_for_the_lambda_platform_into_the_volume_the_emulator_reads():
    builder = services()["lambda-zip"]
    script = builder["command"][0]
    assert (
        "package_zip.py --platform" in script and "manylinux2014_x86_64" in script and "manylinux_2_28_aarch64" in script
    )
    scheduler, worker = re.findall(r"--output (\S+)", script)
    assert "--requirements /src/worker_lambda/requirements.txt" in script
    assert "./worker_lambda:/src/worker_lambda:ro" in builder["volumes"]
    volume, _, target = next(v for v in builder["volumes"] if not v.startswith("./")).partition(":")
    for output, variable in ((scheduler, "LAMBDA_ZIP"), (worker, "WORKER_LAMBDA_ZIP")):
        assert output.startswith(target + "/")
        for flavour in ("localstack", "ministack"):
            zip_path = emulator_service(flavour)["environment"][variable]
            mount = next(v for v in emulator_service(flavour)["volumes"] if v.startswith(volume + ":"))
            assert zip_path == mount.split(":")[1] + output.removeprefix(target) and mount.endswith(":ro")


def test_scheduler_image_is_built_from_the_dockerfile_at_the_repo_root():
    scheduler = services()["scheduler"]
    assert scheduler["build"]["context"] == "."
    assert scheduler["build"]["dockerfile"] == "scheduler_lambda/Dockerfile"
    # An empty LAMBDA_BASE_IMAGE keeps the Dockerfile's default, the official base.
    assert scheduler["build"]["args"] == {"LAMBDA_ARCH": "x86_64", "LAMBDA_BASE_IMAGE": ""}
    assert scheduler["pull_policy"] == "build"
    environment = scheduler["environment"]
    assert environment["DB_HOST"] == "postgres"
    assert environment["AWS_ENDPOINT_URL"] == "http://emulator:4566"
    assert environment["SQS_URL"].endswith("/flow-builder-queue")


def test_up_wait_returns_once_everything_is_ready():
    """`docker compose up --wait` needs a healthcheck on every long-running service, and every
    one-shot adopted through service_completed_successfully (or --wait fails on its exit)."""
    all_services = services()
    all_services["emulator"] = emulator_service("localstack")
    conditions = {
        (dependency, spec["condition"])
        for service in all_services.values()
        for dependency, spec in service.get("depends_on", {}).items()
    }
    one_shots = {name for name, condition in conditions if condition == "service_completed_successfully"}
    assert one_shots == {"db-migrate", "lambda-zip"}
    for name, service in all_services.items():
        if name not in one_shots:
            assert "healthcheck" in service, name
    assert {condition for name, condition in conditions if name not in one_shots} == {"service_healthy"}


class _JsonHandler(BaseHTTPRequestHandler):
    replies: dict = {}

    def do_GET(self):  # noqa: N802 (http.server's naming)
        status, body = self.replies.get(self.path, (404, {"error": "unknown path"}))
        payload = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args):
        pass


def run_healthcheck(flavour: str, address: str) -> int:
    snippet = emulator_service(flavour)["healthcheck"]["test"][3].replace("127.0.0.1:4566", address)
    return subprocess.run([sys.executable, "-c", snippet], capture_output=True, timeout=30).returncode


# The documented /_localstack/init/ready and /_ministack/ready bodies.
READY = {"stage": "READY", "name": "10-deploy.sh"}


@pytest.mark.parametrize(
    ("flavour", "path", "status", "body", "healthy"),
    [
        (
            "localstack",
            "/_localstack/init/ready",
            200,
            {"completed": True, "scripts": [{**READY, "state": "SUCCESSFUL"}]},
            True,
        ),
        (
            "localstack",
            "/_localstack/init/ready",
            200,
            {"completed": True, "scripts": [{**READY, "state": "ERROR"}]},
            False,
        ),
        (
            "localstack",
            "/_localstack/init/ready",
            200,
            {"completed": False, "scripts": [{**READY, "state": "RUNNING"}]},
            False,
        ),
        ("localstack", "/_localstack/init/ready", 200, {"completed": True, "scripts": []}, False),
        ("ministack", "/_ministack/ready", 200, {"status": "completed", "total": 1, "completed": 1, "failed": 0}, True),
        (
            "ministack",
            "/_ministack/ready",
            200,
            {"status": "completed", "total": 1, "completed": 1, "failed": 1},
            False,
        ),
        ("ministack", "/_ministack/ready", 503, {"status": "running", "total": 1, "completed": 0, "failed": 0}, False),
    ],
    ids=["ls-ok", "ls-error", "ls-running", "ls-no-hook", "ms-ok", "ms-failed", "ms-running"],
)
def test_emulator_healthcheck_waits_for_successful_hooks(flavour, path, status, body, healthy):
    handler = type("Handler", (_JsonHandler,), {"replies": {path: (status, body)}})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        assert (run_healthcheck(flavour, f"127.0.0.1:{server.server_port}") == 0) is healthy
    finally:
        server.shutdown()
        server.server_close()


def test_ministack_healthcheck_against_the_real_emulator(emulator):
    # The test emulator has no ready.d hooks: answering is not enough to count as deployed.
    assert run_healthcheck("ministack", emulator.url.removeprefix("http://")) == 1


def test_compose_files_are_the_only_ones():
    # docker compose also loads docker-compose.override.yml by itself: none must creep in.
    assert sorted(path.name for path in REPO.glob("*compose*.y*ml")) == sorted(
        path.name for path in (COMPOSE, EMULATORS, TERRAFORM)
    )
