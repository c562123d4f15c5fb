"""Setting parsers and the database settings, read once per container from the environment, failing fast
with the variable's name: each function's settings are these plus its own."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Mapping

SSL_MODES = ("disable", "allow", "prefer", "require", "verify-ca", "verify-full")


class ConfigError(Exception):
    """A setting is missing or malformed; the message names the variable and the fix."""


@dataclass(frozen=True)
class DatabaseSettings:
    """What every FlowBuilder Lambda needs to reach PostgreSQL (credentials.connection_params reads it)."""

    db_host: str | None
    db_port: int
    db_name: str
    db_user: str
    db_password: str | None
    db_ssl_mode: str
    db_ssl_root_cert: str | None  # CA bundle that verify-ca / verify-full check the server against
    use_db_secrets: bool
    db_secret_id: str
    db_connect_timeout: int
    region: str
    log_level: str


def text(env: Mapping[str, str], name: str, default: str | None = None) -> str | None:
    value = env.get(name, "").strip()
    return value or default


def required(env: Mapping[str, str], name: str, hint: str) -> str:
    value = text(env, name)
    if value is None:
        raise ConfigError(f"{name} is not set: {hint}")
    return value


def integer(env: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    raw = text(env, name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name}={raw!r} is not a whole number: set it between {low} and {high}") from None
    if not low <= value <= high:
        raise ConfigError(f"{name}={value} is out of range: set it between {low} and {high}")
    return value


def existing_file(env: Mapping[str, str], name: str, what: str) -> str | None:
    path = text(env, name)
    if path is not None and not os.path.isfile(path):
        raise ConfigError(f"{name}={path!r} is not a file: set it to the path of {what}")
    return path


def boolean(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = text(env, name)
    if raw is None:
        return default
    lowered = raw.lower()
    if lowered in ("true", "1", "yes"):
        return True
    if lowered in ("false", "0", "no"):
        return False
    raise ConfigError(f"{name}={raw!r} is not a boolean: set it to true or false")


def choice(env: Mapping[str, str], name: str, default: str, choices: tuple[str, ...]) -> str:
    value = text(env, name, default)
    if value not in choices:
        raise ConfigError(f"{name}={value!r} is not valid: use one of {', '.join(choices)}")
    return value


def database_fields(env: Mapping[str, str]) -> dict:
    """The DatabaseSettings fields, parsed; every default is the one the original README documents."""
    use_db_secrets = boolean(env, "USE_DB_SECRETS", False)
    if not use_db_secrets:
        # With secrets on, host and password may come from the secret instead.
        required(env, "DB_HOST", "set it to the PostgreSQL host, or USE_DB_SECRETS=true with DB_SECRET_ID")
        required(env, "DB_PASSWORD", "set it to the database password, or USE_DB_SECRETS=true with DB_SECRET_ID")
    return {
        "db_host": text(env, "DB_HOST"),
        "db_port": integer(env, "DB_PORT", 5432, 1, 65535),
        "db_name": text(env, "DB_NAME", "flow-builder"),
        "db_user": text(env, "DB_USER", "root"),
        "db_password": text(env, "DB_PASSWORD"),
        "db_ssl_mode": choice(env, "DB_SSL_MODE", "require", SSL_MODES),
        "db_ssl_root_cert": existing_file(
            env, "DB_SSL_ROOT_CERT", "the CA bundle that signed the server's certificate (on AWS the RDS one)"
        ),
        "use_db_secrets": use_db_secrets,
        "db_secret_id": text(env, "DB_SECRET_ID", "flow-builder/db"),
        "db_connect_timeout": integer(env, "DB_CONNECT_TIMEOUT", 5, 1, 60),
        "region": text(env, "CUSTOM_AWS_REGION", "us-east-1"),
        "log_level": choice(env, "LOG_LEVEL", "INFO", ("DEBUG", "INFO", "WARNING", "ERROR")),
    }
