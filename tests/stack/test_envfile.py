""".env as the stack reads it: python-dotenv's syntax, `${VAR}` expanded, the shell wins, bad lines named."""

import stat
import subprocess

import pytest

from embedded import envfile

REPO_EXAMPLE = envfile.Path(__file__).resolve().parents[2] / ".env.example"


@pytest.fixture
def repo(tmp_path, monkeypatch):
    for name in ("DB_PORT", "EMULATOR_PORT", "AWS_ENDPOINT_URL", "SCHEDULE_EXPRESSION", "DB_PASSWORD"):
        monkeypatch.delenv(name, raising=False)
    (tmp_path / ".env.example").write_text(REPO_EXAMPLE.read_text())
    return tmp_path


def test_first_load_creates_a_private_env_from_the_example(repo):
    said = []
    settings = envfile.load(repo, announce=said.append)
    assert said == ["created .env from .env.example (edit it to change ports and settings)"]
    assert stat.S_IMODE((repo / ".env").stat().st_mode) == 0o600
    assert settings["AWS_ENDPOINT_URL"] == "http://127.0.0.1:4566"
    assert settings["SCHEDULE_EXPRESSION"] == "rate(1 minute)"


def test_one_variable_per_port(repo):
    (repo / ".env").write_text("DB_PORT=55432\nEMULATOR_PORT=54566\n")
    settings = envfile.load(repo)
    assert settings["DB_PORT"] == "55432" and settings["AWS_ENDPOINT_URL"] == "http://127.0.0.1:54566"


def test_the_shell_wins_over_env(repo, monkeypatch):
    (repo / ".env").write_text("EMULATOR_PORT=54566\n")
    monkeypatch.setenv("EMULATOR_PORT", "4999")
    assert envfile.load(repo)["AWS_ENDPOINT_URL"] == "http://127.0.0.1:4999"
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://localhost:5000")
    assert envfile.load(repo)["AWS_ENDPOINT_URL"] == "http://localhost:5000"


def test_a_bad_line_is_named_without_showing_it(repo):
    (repo / ".env").write_text("DB_PORT=55432\nDB_PASSWORD='s3cret\n")
    with pytest.raises(envfile.EnvFileError) as raised:
        envfile.load(repo)
    assert ".env line 2 is not KEY=VALUE" in str(raised.value) and "s3cret" not in str(raised.value)


def test_the_example_is_valid_for_a_posix_shell_too():
    # The README's recipe: `set -a; . ./.env; set +a`.
    script = f'set -eu; set -a; . "{REPO_EXAMPLE}"; set +a; echo "$SCHEDULE_EXPRESSION|$AWS_ENDPOINT_URL"'
    result = subprocess.run(["sh", "-c", script], capture_output=True, text=True, env={"PATH": "/usr/bin:/bin"})
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "rate(1 minute)|http://127.0.0.1:4566"
