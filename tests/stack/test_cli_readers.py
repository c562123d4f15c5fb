"""`python -m embedded`: the commands that read a stack load the readers (stackview) alone; the runners
(embedded.stack and its PostgreSQL and MiniStack processes, pgserver, psutil) load only for the commands
that start, stop or look into them."""

import json
import subprocess
import sys

RUNNERS = ("embedded.stack", "embedded.postgres", "embedded.emulator", "psutil", "pgserver")


def loaded_after(code: str) -> list[str]:
    probe = f"import sys, json; {code}; print(json.dumps(sorted(sys.modules)))"
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return [name for name in json.loads(result.stdout) if name.startswith(RUNNERS)]


def test_the_cli_module_loads_no_runner():
    assert loaded_after("import embedded.__main__") == []


def test_a_runner_command_loads_them():
    assert "embedded.stack" in loaded_after("import embedded.__main__ as cli; cli.runners({})")
