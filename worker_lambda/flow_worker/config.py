"""The worker's settings: the database's (flow_common.settings: the DB_* and USE_DB_SECRETS names), plus how it runs."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

from flow_common.settings import ConfigError, DatabaseSettings, database_fields, integer


@dataclass(frozen=True)
class WorkerSettings(DatabaseSettings):
    simulated_ms: int
    running_timeout_seconds: int
    max_attempts: int


def load_worker_settings(env: Mapping[str, str]) -> WorkerSettings:
    return WorkerSettings(
        **database_fields(env),
        simulated_ms=integer(env, "WORKER_SIMULATED_MS", 300, 0, 600_000),
        running_timeout_seconds=integer(env, "WORKER_RUNNING_TIMEOUT_SECONDS", 120, 1, 86_400),
        max_attempts=integer(env, "WORKER_MAX_ATTEMPTS", 3, 1, 100),
    )


__all__ = ["ConfigError", "WorkerSettings", "load_worker_settings"]
