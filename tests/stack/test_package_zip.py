"""scheduler_lambda/package_zip.py: the package plus its pinned dependencies, reproducible, for host or Lambda."""

import hashlib
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def linked_cache(deps_cache: Path, folder: Path) -> None:
    """The session's dependency cache as the cache of zips written in `folder` (hard links: no pip install)."""
    shutil.copytree(deps_cache, folder / "cache", copy_function=os.link)


def test_zip_holds_the_package_and_its_dependencies(lambda_zip):
    names = zipfile.ZipFile(lambda_zip).namelist()
    package = sorted(
        p.relative_to(REPO / "scheduler_lambda").as_posix()
        for p in (REPO / "scheduler_lambda" / "flow_scheduler").iterdir()
        if p.is_file()
    )
    for name in package:
        assert name in names, f"{name} missing from the zip"
    for top in ("psycopg2/", "croniter/", "boto3/", "botocore/", "dateutil/", "tzdata/"):
        assert any(n.startswith(top) for n in names), f"{top} missing from the zip"
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]


def test_zip_is_reproducible(lambda_zip, build_zip, deps_cache, tmp_path):
    linked_cache(deps_cache, tmp_path)
    again = build_zip(tmp_path / "again.zip")
    assert hashlib.sha256(again.read_bytes()).digest() == hashlib.sha256(lambda_zip.read_bytes()).digest()


def test_handler_imports_from_the_extracted_zip_alone(lambda_zip, tmp_path):
    zipfile.ZipFile(lambda_zip).extractall(tmp_path)
    # -I: no site-packages and no repo on the path, only what the zip carries (as in the Lambda).
    probe = f"import sys; sys.path.insert(0, {str(tmp_path)!r}); import flow_scheduler.handler, psycopg2; print(psycopg2.__file__)"
    result = subprocess.run([sys.executable, "-I", "-c", probe], capture_output=True, text=True, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(str(tmp_path))


def test_lambda_platform_zip_carries_python312_manylinux_binaries(lambda_platform_zip):
    names = zipfile.ZipFile(lambda_platform_zip).namelist()
    assert any(n.startswith("psycopg2/_psycopg.cpython-312-x86_64-linux-gnu") for n in names), names[:20]
    assert "flow_scheduler/handler.py" in names


def test_a_second_function_zips_its_own_packages_and_pins(deps_cache, tmp_path):
    linked_cache(deps_cache, tmp_path)
    # Packages and pins other than a function's: a probe package plus flow_scheduler, the scheduler's pins.
    worker = tmp_path / "flow_probe"
    worker.mkdir()
    (worker / "__init__.py").write_text("")
    (worker / "handler.py").write_text("from flow_scheduler import config\n")
    pins = tmp_path / "requirements.txt"
    pins.write_text((REPO / "scheduler_lambda" / "requirements.txt").read_text())
    output = tmp_path / "probe.zip"
    command = [
        sys.executable, str(REPO / "scheduler_lambda" / "package_zip.py"), "--output", str(output),
        "--package", str(worker), "--package", str(REPO / "scheduler_lambda" / "flow_scheduler"),
        "--requirements", str(pins),
    ]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    names = zipfile.ZipFile(output).namelist()
    assert {"flow_probe/handler.py", "flow_scheduler/config.py"} <= set(names)
    assert any(n.startswith("psycopg2/") for n in names)


def test_a_folder_that_is_no_package_is_one_line(tmp_path):
    script = str(REPO / "scheduler_lambda" / "package_zip.py")
    command = [sys.executable, script, "--output", str(tmp_path / "x.zip"), "--package", str(REPO / "db")]
    result = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert result.returncode == 1
    expected = f"package_zip: --package {REPO / 'db'} is not a Python package (no __init__.py): name a package folder"
    assert result.stderr.strip() == expected


def test_a_zip_of_the_same_inputs_is_left_as_it_is_and_an_edit_rebuilds_it(deps_cache, tmp_path):
    linked_cache(deps_cache, tmp_path)
    package = tmp_path / "flow_probe"
    package.mkdir()
    (package / "__init__.py").write_text("")
    handler = package / "handler.py"
    handler.write_text("ANSWER = 1\n")
    output = tmp_path / "probe.zip"
    script = str(REPO / "scheduler_lambda" / "package_zip.py")
    command = [sys.executable, script, "--output", str(output), "--package", str(package)]

    def build() -> str:
        result = subprocess.run(command, capture_output=True, text=True, timeout=600)
        assert result.returncode == 0, result.stderr
        return result.stdout

    assert "package_zip: wrote" in build()
    first = output.stat().st_mtime_ns, output.read_bytes()
    assert f"package_zip: unchanged: {output}" in build()
    assert (output.stat().st_mtime_ns, output.read_bytes()) == first
    handler.write_text("ANSWER = 2\n")
    assert "package_zip: wrote" in build()
    assert zipfile.ZipFile(output).read("flow_probe/handler.py") == b"ANSWER = 2\n"
