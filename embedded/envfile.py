"""The stack's settings: `.env` (created from `.env.example` on first use), overridden by the shell's environment."""

import os
import shutil
from pathlib import Path


class EnvFileError(ValueError):
    """A line of .env cannot be read; the message names the line."""


def parse(path: Path) -> dict[str, str]:
    """KEY=VALUE lines as docker compose reads them: comments and blank lines skipped, outer quotes removed."""
    values = {}
    for number, raw in enumerate(path.read_text().splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("export "):
            line = line[len("export ") :]
        key, sep, value = line.partition("=")
        if not sep or not key.strip().isidentifier():
            raise EnvFileError(f"{path.name}:{number} is not KEY=VALUE: {raw!r}; fix or delete that line")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        values[key.strip()] = value
    return values


def load(repo: Path, announce=print) -> dict[str, str]:
    """Settings for the stack in `repo`; the shell's environment wins over `.env` for the names it defines."""
    env_file, example = repo / ".env", repo / ".env.example"
    if not env_file.exists():
        # 0600: it may hold DB_PASSWORD or LOCALSTACK_AUTH_TOKEN.
        env_file.touch(mode=0o600)
        shutil.copyfile(example, env_file)
        announce(f"created {env_file.name} from {example.name} (edit it to change ports and settings)")
    values = parse(example) | parse(env_file)
    return {key: os.environ.get(key, value) for key, value in values.items()}
