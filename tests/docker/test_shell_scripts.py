"""shellcheck on every shell script of the repository, and the strict mode they share."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
# Not the repository's own: installed tools (.venv, and the Makefile's .venv-checkov, .venv-py312), state.
SKIP = {".git", ".stack", "node_modules"}


def shell_scripts() -> list[Path]:
    scripts = []
    for folder, subfolders, files in os.walk(REPO):
        subfolders[:] = [name for name in subfolders if name not in SKIP and not name.startswith(".venv")]
        scripts += [Path(folder, name) for name in files if name.endswith(".sh")]
    ci = REPO / ".ci" / "run"  # a shell script without the suffix
    return sorted(scripts + ([ci] if ci.exists() else []))


@pytest.mark.parametrize("script", shell_scripts(), ids=lambda path: str(path.relative_to(REPO)))
def test_shellcheck_is_clean(script):
    result = subprocess.run(
        [Path(sys.executable).with_name("shellcheck"), "--external-sources", script],
        capture_output=True,
        text=True,
        cwd=script.parent,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_build_and_push_is_strict_and_executable():
    script = REPO / "scheduler_lambda" / "build_and_push.sh"
    assert script.stat().st_mode & 0o111
    assert "\nset -euo pipefail\n" in script.read_text()
