"""Which declaration make applies (IAC): the shell's, then .env's, then the one the last `make up` recorded in
.stack/iac (so make status and make e2e read the stack that runs), else sam. Dry runs of the real Makefile."""

import os
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def checkout(tmp_path):
    for name in ("Makefile", "pyproject.toml", ".env.example"):  # what the targets depend on
        shutil.copy(REPO / name, tmp_path)
    (tmp_path / ".stack").mkdir()
    (tmp_path / ".stack" / "kind").write_text("embedded\n")
    return tmp_path


def dry_run(checkout: Path, target: str, **env: str) -> str:
    environment = {k: v for k, v in os.environ.items() if k not in ("IAC", "STACK")} | env
    result = subprocess.run(
        ["make", "-n", "--no-print-directory", target], cwd=checkout, env=environment, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_the_declaration_make_up_applied_is_the_one_later_commands_read(checkout):
    assert "infra/deploy.py" in dry_run(checkout, "deploy")
    (checkout / ".stack" / "iac").write_text("terraform\n")
    assert "infra/terraform_deploy.py" in dry_run(checkout, "deploy")


def test_the_shell_and_env_win_over_the_record(checkout):
    (checkout / ".stack" / "iac").write_text("terraform\n")
    assert "infra/deploy.py" in dry_run(checkout, "deploy", IAC="sam")
    (checkout / ".env").write_text("IAC=sam\n")
    assert "infra/deploy.py" in dry_run(checkout, "deploy")


def test_up_records_its_choice_and_clean_forgets_it(checkout):
    assert "echo terraform > .stack/iac" in dry_run(checkout, "up", IAC="terraform")
    assert "rm -f .stack/iac" in dry_run(checkout, "clean")
