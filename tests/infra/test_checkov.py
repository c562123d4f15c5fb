"""checkov (pinned in the Makefile, its own .venv-checkov) passes on infra/template.yaml and infra/terraform/:
every finding is fixed or skipped in place with its reason (docs/terraform.md, "checkov")."""

import json
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
CHECKOV = REPO / ".venv-checkov" / "bin" / "checkov"


@pytest.fixture(scope="module")
def checkov():
    """`make checkov` installs the pinned checkov once (a stamp file makes later runs a no-op)."""
    result = subprocess.run(["make", "-s", "checkov"], cwd=REPO, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr

    def scan(framework: str, *target: str) -> list[dict]:
        # --skip-download: no network, the checks bundled with the pinned version only. No --quiet: it drops
        # the skipped checks, whose reasons are asserted below.
        args = [str(CHECKOV), *target, "--framework", framework, "--output", "json", "--compact",
                "--skip-download", "--soft-fail"]
        run = subprocess.run(args, cwd=REPO, capture_output=True, text=True)
        assert run.returncode == 0, run.stdout + run.stderr
        report = json.loads(run.stdout) if run.stdout.strip() else []
        # One report per framework; an empty list means checkov found nothing to scan.
        reports = report if isinstance(report, list) else [report]
        assert reports, f"checkov scanned nothing in {target}: {run.stderr}"
        return reports

    return scan


def failed(reports: list[dict]) -> list[str]:
    return [f"{c['check_id']} {c['resource']} ({c['file_path']}:{c['file_line_range'][0]}): {c['check_name']}"
            for r in reports for c in r["results"]["failed_checks"]]


def unexplained_skips(reports: list[dict]) -> list[str]:
    return [f"{c['check_id']} {c['resource']}" for r in reports for c in r["results"]["skipped_checks"]
            if not (c.get("check_result", {}).get("suppress_comment") or "").strip()]


@pytest.mark.parametrize("framework,target", [
    ("cloudformation", ("--file", "infra/template.yaml")),
    ("terraform", ("--directory", "infra/terraform")),
], ids=["template", "terraform"])
def test_checkov_passes_with_every_skip_explained(checkov, framework, target):
    reports = checkov(framework, *target)
    assert sum(r["summary"]["passed"] for r in reports) > 0, "checkov ran no check"
    assert failed(reports) == []
    assert unexplained_skips(reports) == []


def test_checkov_fails_an_unencrypted_queue(checkov, tmp_path):
    """The scan above can fail: the same run flags a queue declared without encryption."""
    (tmp_path / "main.tf").write_text('resource "aws_sqs_queue" "bare" {\n  name = "bare"\n}\n')
    assert any(line.startswith("CKV_AWS_27 ") for line in failed(checkov("terraform", "--directory", str(tmp_path))))
