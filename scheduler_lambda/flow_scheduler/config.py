"""Settings read once per container from the environment, failing fast with the variable's name."""

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


@dataclass(frozen=True)
class Settings(DatabaseSettings):
    sqs_url: str
    redrive_after_seconds: int
    batch_size: int
    timeout_margin_ms: int
    send_concurrency: int
    max_fanout: int  # copies of itself an invocation may start when the due backlog outgrows it (0: never)
    fanout_threshold: int  # due rows per invocation beyond which it fans out (0: only when it would miss its deadline)


def _text(env: Mapping[str, str], name: str, default: str | None = None) -> str | None:
    value = env.get(name, "").strip()
    return value or default


def _required(env: Mapping[str, str], name: str, hint: str) -> str:
    value = _text(env, name)
    if value is None:
        raise ConfigError(f"{name} is not set: {hint}")
    return value


def _integer(env: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    raw = _text(env, name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name}={raw!r} is not a whole number: set it between {low} and {high}") from None
    if not low <= value <= high:
        raise ConfigError(f"{name}={value} is out of range: set it between {low} and {high}")
    return value


def _file(env: Mapping[str, str], name: str, what: str) -> str | None:
    path = _text(env, name)
    if path is not None and not os.path.isfile(path):
        raise ConfigError(f"{name}={path!r} is not a file: set it to the path of {what}")
    return path


def _boolean(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = _text(env, name)
    if raw is None:
        return default
    lowered = raw.lower()
    if lowered in ("true", "1", "yes"):
        return True
    if lowered in ("false", "0", "no"):
        return False
    raise ConfigError(f"{name}={raw!r} is not a boolean: set it to true or false")


def _choice(env: Mapping[str, str], name: str, default: str, choices: tuple[str, ...]) -> str:
    value = _text(env, name, default)
    if value not in choices:
        raise ConfigError(f"{name}={value!r} is not valid: use one of {', '.join(choices)}")
    return value


def database_fields(env: Mapping[str, str]) -> dict:
    """The DatabaseSettings fields, parsed; every default is the one the original README documents."""
    use_db_secrets = _boolean(env, "USE_DB_SECRETS", False)
    if not use_db_secrets:
        # With secrets on, host and password may come from the secret instead.
        _required(env, "DB_HOST", "set it to the PostgreSQL host, or USE_DB_SECRETS=true with DB_SECRET_ID")
        _required(env, "DB_PASSWORD", "set it to the database password, or USE_DB_SECRETS=true with DB_SECRET_ID")
    return {
        "db_host": _text(env, "DB_HOST"),
        "db_port": _integer(env, "DB_PORT", 5432, 1, 65535),
        "db_name": _text(env, "DB_NAME", "flow-builder"),
        "db_user": _text(env, "DB_USER", "root"),
        "db_password": _text(env, "DB_PASSWORD"),
        "db_ssl_mode": _choice(env, "DB_SSL_MODE", "require", SSL_MODES),
        "db_ssl_root_cert": _file(
            env, "DB_SSL_ROOT_CERT", "the CA bundle that signed the server's certificate (on AWS the RDS one)"
        ),
        "use_db_secrets": use_db_secrets,
        "db_secret_id": _text(env, "DB_SECRET_ID", "flow-builder/db"),
        "db_connect_timeout": _integer(env, "DB_CONNECT_TIMEOUT", 5, 1, 60),
        "region": _text(env, "CUSTOM_AWS_REGION", "us-east-1"),
        "log_level": _choice(env, "LOG_LEVEL", "INFO", ("DEBUG", "INFO", "WARNING", "ERROR")),
    }


def load_settings(env: Mapping[str, str]) -> Settings:
    """The scheduler's settings: the database's, the queue, and how a tick batches and sends."""
    sqs_url = _required(env, "SQS_URL", "set it to the URL of the workflow queue")
    if not sqs_url.startswith(("http://", "https://")):
        raise ConfigError(f"SQS_URL={sqs_url!r} is not a queue URL: use https://sqs.<region>.amazonaws.com/<account>/<queue>")
    return Settings(
        **database_fields(env),
        sqs_url=sqs_url,
        redrive_after_seconds=_integer(env, "REDRIVE_AFTER_SECONDS", 60, 1, 86400),
        batch_size=_integer(env, "BATCH_SIZE", 500, 1, 10000),
        timeout_margin_ms=_integer(env, "TIMEOUT_MARGIN_MS", 10000, 0, 900000),
        send_concurrency=_integer(env, "SEND_CONCURRENCY", 8, 1, 64),
        max_fanout=_integer(env, "MAX_FANOUT", 0, 0, 100),
        fanout_threshold=_integer(env, "FANOUT_THRESHOLD", 0, 0, 10_000_000),
    )
