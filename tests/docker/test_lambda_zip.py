"""The zip LocalStack Community runs holds dependencies for the Lambda platform, not for this host.

One real resolution from the registry: package_zip.py with --platform runs
`pip install --platform manylinux2014_x86_64 --python-version 3.12 --only-binary=:all: -r requirements.txt`,
exactly what the compose stack's lambda-zip service runs.
"""

import re
import sys
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
ELF_MACHINE_X86_64 = 62


def test_platform_zip_has_python312_x86_64_wheels_and_the_package(lambda_platform_zip):
    output = lambda_platform_zip
    with zipfile.ZipFile(output) as archive:
        names = archive.namelist()
        extensions = [name for name in names if name.endswith(".so")]
        psycopg = next(
            name for name in extensions if re.fullmatch(r"psycopg2/_psycopg\.cpython-312-x86_64-linux-gnu\.so", name)
        )
        header = archive.read(psycopg)[:20]

    assert header[:4] == b"\x7fELF" and int.from_bytes(header[18:20], "little") == ELF_MACHINE_X86_64
    # Every compiled module targets CPython 3.12 (or the stable ABI): none was built for this host's Python.
    host_tag = f"cpython-{sys.version_info.major}{sys.version_info.minor}"
    assert [name for name in extensions if host_tag in name and host_tag != "cpython-312"] == []
    assert {"flow_scheduler/handler.py", "flow_scheduler/queries.sql"} <= set(names)
    for pin in (REPO / "scheduler_lambda" / "requirements.txt").read_text().split():
        if "==" in pin:
            name, version = pin.split("==")
            dist = re.sub(r"[-.]+", "_", name).lower()
            assert any(entry.lower().startswith(f"{dist}-{version}.dist-info/") for entry in names), pin
    assert not [name for name in names if "__pycache__" in name or name.endswith(".pyc")]
