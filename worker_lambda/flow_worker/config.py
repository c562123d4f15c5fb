"""The worker's settings, read once per container with the scheduler's helpers and names (DB_*, USE_DB_SECRETS)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

from flow_scheduler.config import SSL_MODES, ConfigError, _boolean, _choice, _integer, _required, _text


@dataclass(frozen=True)
class WorkerSettings:
    # The names flow_scheduler.credentials.connection_params reads.
    db_host: str | None
    db_port: int
    db_name: str
    db_user: str
    db_password: str | None
    db_ssl_mode: str
    region: str
    use_db_secrets: bool
    db_secret_id: str
    db_connect_timeout: int
    log_level: str
    simulated_ms: int
    running_timeout_seconds: int
    max_attempts: int


def load_worker_settings(env: Mapping[str, str]) -> WorkerSettings:
    use_db_secrets = _boolean(env, "USE_DB_SECRETS", False)
    if not use_db_secrets:
        _required(env, "DB_HOST", "set it to the PostgreSQL host, or USE_DB_SECRETS=true with DB_SECRET_ID")
        _required(env, "DB_PASSWORD", "set it to the database password, or USE_DB_SECRETS=true with DB_SECRET_ID")
    return WorkerSettings(
        db_host=_text(env, "DB_HOST"),
        db_port=_integer(env, "DB_PORT", 5432, 1, 65535),
        db_name=_text(env, "DB_NAME", "flow-builder"),
        db_user=_text(env, "DB_USER", "root"),
        db_password=_text(env, "DB_PASSWORD"),
        db_ssl_mode=_choice(env, "DB_SSL_MODE", "require", SSL_MODES),
        region=_text(env, "CUSTOM_AWS_REGION", "us-east-1"),
        use_db_secrets=use_db_secrets,
        db_secret_id=_text(env, "DB_SECRET_ID", "flow-builder/db"),
        db_connect_timeout=_integer(env, "DB_CONNECT_TIMEOUT", 5, 1, 60),
        log_level=_choice(env, "LOG_LEVEL", "INFO", ("DEBUG", "INFO", "WARNING", "ERROR")),
        simulated_ms=_integer(env, "WORKER_SIMULATED_MS", 300, 0, 600_000),
        running_timeout_seconds=_integer(env, "WORKER_RUNNING_TIMEOUT_SECONDS", 120, 1, 86_400),
        max_attempts=_integer(env, "WORKER_MAX_ATTEMPTS", 3, 1, 100),
    )


__all__ = ["ConfigError", "WorkerSettings", "load_worker_settings"]
