"""The scheduler's settings: the database's (flow_common.settings) plus the queue and how a tick batches and sends."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

from flow_common.settings import ConfigError, DatabaseSettings, database_fields, integer, required


# The defaults of the scheduler's own settings, written once here: infra/template.yaml, infra/terraform,
# docker-compose.yml and .env.example repeat them where they cannot read Python (tests/infra/test_defaults.py).
DEFAULTS = {
    "REDRIVE_AFTER_SECONDS": 60,
    "BATCH_SIZE": 500,
    "TIMEOUT_MARGIN_MS": 10000,
    "SEND_CONCURRENCY": 8,
    "MAX_FANOUT": 0,
    "FANOUT_THRESHOLD": 0,
}


@dataclass(frozen=True)
class Settings(DatabaseSettings):
    sqs_url: str
    redrive_after_seconds: int
    batch_size: int
    timeout_margin_ms: int
    send_concurrency: int
    max_fanout: int  # copies of itself an invocation may start when the due backlog outgrows it (0: never)
    fanout_threshold: int  # due rows per invocation beyond which it fans out (0: only when it would miss its deadline)


def load_settings(env: Mapping[str, str]) -> Settings:
    """The scheduler's settings: the database's, the queue, and how a tick batches and sends."""
    sqs_url = required(env, "SQS_URL", "set it to the URL of the workflow queue")
    if not sqs_url.startswith(("http://", "https://")):
        raise ConfigError(f"SQS_URL={sqs_url!r} is not a queue URL: use https://sqs.<region>.amazonaws.com/<account>/<queue>")
    return Settings(
        **database_fields(env),
        sqs_url=sqs_url,
        redrive_after_seconds=integer(env, "REDRIVE_AFTER_SECONDS", DEFAULTS["REDRIVE_AFTER_SECONDS"], 1, 86400),
        batch_size=integer(env, "BATCH_SIZE", DEFAULTS["BATCH_SIZE"], 1, 10000),
        timeout_margin_ms=integer(env, "TIMEOUT_MARGIN_MS", DEFAULTS["TIMEOUT_MARGIN_MS"], 0, 900000),
        send_concurrency=integer(env, "SEND_CONCURRENCY", DEFAULTS["SEND_CONCURRENCY"], 1, 64),
        max_fanout=integer(env, "MAX_FANOUT", DEFAULTS["MAX_FANOUT"], 0, 100),
        fanout_threshold=integer(env, "FANOUT_THRESHOLD", DEFAULTS["FANOUT_THRESHOLD"], 0, 10_000_000),
    )
