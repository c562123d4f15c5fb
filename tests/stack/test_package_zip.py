"""scheduler_lambda/package_zip.py: the package plus its pinned dependencies, reproducible, for host or Lambda."""

import hashlib
import subprocess
import sys
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


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


def test_zip_is_reproducible(lambda_zip, build_zip, tmp_path):
    again = build_zip(tmp_path / "again.zip")
    assert hashlib.sha256(again.read_bytes()).digest() == hashlib.sha256(lambda_zip.read_bytes()).digest()


def test_handler_imports_from_the_extracted_zip_alone(lambda_zip, tmp_path):
    zipfile.ZipFile(lambda_zip).extractall(tmp_path)
    # -I: no site-packages and no repo on the path, only what the zip carries (as in the Lambda).
    probe = f"import sys; sys.path.insert(0, {str(tmp_path)!r}); import flow_scheduler.handler, psycopg2; print(psycopg2.__file__)"
    result = subprocess.run([sys.executable, "-I", "-c", probe], capture_output=True, text=True, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(str(tmp_path))


def test_lambda_platform_zip_carries_python312_manylinux_binaries(build_zip, tmp_path):
    zip_path = build_zip(tmp_path / "lambda.zip", "--platform", "manylinux2014_x86_64")
    names = zipfile.ZipFile(zip_path).namelist()
    assert any(n.startswith("psycopg2/_psycopg.cpython-312-x86_64-linux-gnu") for n in names), names[:20]
    assert "flow_scheduler/handler.py" in names
