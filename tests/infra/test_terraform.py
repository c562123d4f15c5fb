"""infra/terraform/ passes `terraform fmt -check` and `terraform validate` (offline init from the provider
mirror), and its generated emulator override is what terraform-local would write for our services."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "infra"))
import terraform_deploy  # noqa: E402

MODULE = REPO / "infra" / "terraform"
pytestmark = pytest.mark.skipif(shutil.which("terraform") is None, reason="terraform is not on PATH")


def run(*args, cwd=MODULE, env=None):
    return subprocess.run(["terraform", *args, "-no-color"], cwd=cwd, env=env, capture_output=True, text=True)


def test_fmt_check_passes():
    result = run("fmt", "-check", "-recursive")
    assert result.returncode == 0, f"terraform fmt would change: {result.stdout}"


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    """A copy of the module initialised offline, as infra/terraform_deploy.py does."""
    root = tmp_path_factory.mktemp("tf") / "root"
    terraform_deploy.prepare(root, "http://127.0.0.1:4566")
    env = {**__import__("os").environ, **terraform_deploy.cli_config(root)}
    result = run("init", "-backend=false", "-input=false", cwd=root, env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    return root, env


def test_validate_passes(workdir):
    root, env = workdir
    result = run("validate", "-json", cwd=root, env=env)
    report = json.loads(result.stdout)
    assert report["valid"], report["diagnostics"]


def test_validation_refuses_what_make_up_refuses(workdir, tmp_path):
    """The stuck-running rule and the retention list, refused at plan time with the variable named."""
    root, env = workdir
    # No emulator answers here: the provider's account lookup would retry for over a minute before plan
    # reports the variables. A second override (Terraform merges it into the provider block) asks once.
    offline = root / "zz_offline_override.tf"
    offline.write_text('provider "aws" {\n  skip_requesting_account_id = true\n  max_retries                = 1\n}\n')
    bad = tmp_path / "bad.tfvars.json"
    zip_file = tmp_path / "w.zip"
    zip_file.write_bytes(b"PK")
    bad.write_text(json.dumps({"db_host": "h", "worker_zip": str(zip_file), "worker_running_timeout_seconds": 10,
                               "log_retention_days": 2}))
    env = {**env, "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test"}
    try:
        result = run("plan", "-input=false", "-refresh=false", f"-var-file={bad}", cwd=root, env=env)
    finally:
        offline.unlink()
    assert result.returncode == 1
    assert "worker_running_timeout_seconds must be above worker_timeout" in result.stderr
    assert "log_retention_days must be one CloudWatch offers" in result.stderr


def test_the_vpc_settings_reach_the_module_as_lists(monkeypatch, tmp_path):
    """VPC_SUBNET_IDS and VPC_SECURITY_GROUP_IDS, comma-separated as the SAM deploy takes them."""
    zip_file = tmp_path / "w.zip"
    zip_file.write_bytes(b"PK")
    monkeypatch.setenv("FUNCTION_DB_HOST", "db.example.com")
    monkeypatch.setenv("VPC_SUBNET_IDS", "subnet-0a1, subnet-0b2")
    monkeypatch.setenv("VPC_SECURITY_GROUP_IDS", "sg-0c3")
    inputs = terraform_deploy.variables({"worker_zip": ("WORKER_LAMBDA_ZIP", str(zip_file))})
    assert (inputs["subnet_ids"], inputs["security_group_ids"]) == (["subnet-0a1", "subnet-0b2"], ["sg-0c3"])
    monkeypatch.delenv("VPC_SUBNET_IDS")
    monkeypatch.delenv("VPC_SECURITY_GROUP_IDS")
    assert "subnet_ids" not in terraform_deploy.variables({"worker_zip": ("WORKER_LAMBDA_ZIP", str(zip_file))})


def test_override_points_every_service_at_the_endpoint():
    text = terraform_deploy.override("http://127.0.0.1:4566", "eu-west-1")
    for service in terraform_deploy.SERVICES:
        assert f'{service:<14} = "http://127.0.0.1:4566"' in text
    assert 'region                      = "eu-west-1"' in text


def test_seed_module_block_is_valid(tmp_path):
    """The seed's `module "scheduler_lambda"` block, as written but for its source path (docs/terraform.md)."""
    example = REPO / "infra" / "terraform" / "examples" / "seed" / "main.tf"
    root = tmp_path / "seed"
    root.mkdir()
    text = example.read_text().replace('"../../modules/', f'"{MODULE}/modules/')
    (root / "main.tf").write_text(text)
    env = {**__import__("os").environ, **terraform_deploy.cli_config(root)}
    assert run("init", "-backend=false", "-input=false", cwd=root, env=env).returncode == 0
    result = run("validate", "-json", cwd=root, env=env)
    assert json.loads(result.stdout)["valid"], result.stdout
