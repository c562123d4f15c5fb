"""The stack's settings: `.env` (created from `.env.example` on first use), overridden by the shell's environment.

Read with python-dotenv, as `dotenv run` and docker compose read it: quotes removed, `${VAR}` expanded
(so AWS_ENDPOINT_URL follows EMULATOR_PORT). The same file can be sourced by a POSIX shell.
"""

import io
import os
from pathlib import Path

from dotenv.main import DotEnv, resolve_variables
from dotenv.parser import parse_stream


class EnvFileError(ValueError):
    """A line of .env cannot be read; the message names the line."""


def check(path: Path) -> str:
    """The file's text, after making sure every line parses (python-dotenv would skip a bad one silently)."""
    text = path.read_text()
    for binding in parse_stream(io.StringIO(text)):
        if binding.error:
            # The line itself is not shown: it may hold a password.
            raise EnvFileError(
                f"{path.name} line {binding.original.line} is not KEY=VALUE: fix or delete it "
                f'(quote a value with spaces or parentheses: KEY="rate(1 minute)")'
            )
    return text


def load(repo: Path, announce=print) -> dict[str, str]:
    """Settings for the stack in `repo`; the shell's environment wins over `.env` for the names it defines."""
    env_file, example = repo / ".env", repo / ".env.example"
    if not env_file.exists():
        create(env_file, example)
        announce(f"created {env_file.name} from {example.name} (edit it to change ports and settings)")
    # .env's values replace the example's in place, so `${VAR}` is expanded after both are read: a .env
    # holding only EMULATOR_PORT still moves AWS_ENDPOINT_URL. The shell's variables win in expansions too.
    raw = raw_values(example) | raw_values(env_file)
    values = resolve_variables(raw.items(), override=False)
    return {key: os.environ.get(key, value or "") for key, value in values.items()}


def raw_values(path: Path) -> dict[str, str | None]:
    return DotEnv(None, stream=io.StringIO(check(path)), interpolate=False).dict()


def create(env_file: Path, example: Path) -> None:
    """Copy the example, readable by its owner only: .env may come to hold passwords and tokens."""
    descriptor = os.open(env_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as out:
        out.write(example.read_text())
