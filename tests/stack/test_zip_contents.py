"""Each Lambda zip carries what its handler imports and no more: built as `make up` builds it
(package_zip.py --function, tests/conftest.py), its top-level packages listed from the archive."""

import json
import subprocess
import sys
import zipfile

import pytest

# The repository's own packages; a zip carries those its handler imports, and never another function's.
OWN = {"flow_common", "flow_scheduler", "flow_worker", "stackview", "embedded", "dashboard", "bench"}


def top_level(zip_path) -> set[str]:
    """The archive's top-level names: packages and modules, not the .dist-info metadata."""
    names = {entry.split("/", 1)[0] for entry in zipfile.ZipFile(zip_path).namelist()}
    return {name.removesuffix(".py") for name in names if not name.endswith((".dist-info", ".pth"))}


def imported_by(zip_path, tmp_path, module: str) -> set[str]:
    """The top-level modules importing `module` loads from the extracted zip alone (python -I: no site-packages)."""
    folder = tmp_path / zip_path.stem
    zipfile.ZipFile(zip_path).extractall(folder)
    probe = (
        f"import sys, json; sys.path.insert(0, {str(folder)!r}); import {module}; "
        f"print(json.dumps(sorted({{n.split('.')[0] for n, m in list(sys.modules.items()) "
        f"if (getattr(m, '__file__', None) or '').startswith({str(folder)!r})}})))"
    )
    result = subprocess.run([sys.executable, "-I", "-c", probe], capture_output=True, text=True, cwd=folder)
    assert result.returncode == 0, result.stderr
    return set(json.loads(result.stdout))


@pytest.mark.parametrize(
    "fixture, handler, carries, never",
    [
        ("lambda_zip", "flow_scheduler.handler", {"flow_scheduler", "flow_common", "croniter"}, {"flow_worker"}),
        ("worker_zip", "flow_worker.handler", {"flow_worker", "flow_common", "fastjsonschema"},
         {"flow_scheduler", "croniter"}),
    ],
)  # fmt: skip
def test_a_zip_carries_its_own_packages_and_not_the_other_functions(request, tmp_path, fixture, handler, carries, never):
    zip_path = request.getfixturevalue(fixture)
    packages = top_level(zip_path)
    assert carries <= packages, sorted(packages)
    assert not never & packages, sorted(never & packages)
    # Of the repository's packages, exactly those the handler imports.
    assert packages & OWN == imported_by(zip_path, tmp_path, handler) & OWN
