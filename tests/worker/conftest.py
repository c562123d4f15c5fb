"""The worker wired to the test services: the scheduler's environment plus the worker's own settings."""

import io
import json
import logging

import pytest

from flow_common import logs as scheduler_logs
from worker_support import new_worker


@pytest.fixture
def worker_env(scheduler_env):
    """The Lambda environment of both functions (same DB_* names); a fresh worker container per test."""
    scheduler_env.setenv("WORKER_SIMULATED_MS", "50")
    scheduler_env.setenv("WORKER_RUNNING_TIMEOUT_SECONDS", "120")
    scheduler_env.setenv("WORKER_MAX_ATTEMPTS", "3")
    new_worker()
    yield scheduler_env
    new_worker()


class LogLines:
    """The JSON lines the functions print, as a log search would see them."""

    def __init__(self):
        self.stream = io.StringIO()

    def actions(self, action: str) -> list[dict]:
        lines = [json.loads(line) for line in self.stream.getvalue().splitlines()]
        return [line for line in lines if line["action"] == action]


@pytest.fixture
def log_lines():
    scheduler_logs.configure()
    lines = LogLines()
    handler = logging.StreamHandler(lines.stream)
    handler.setFormatter(scheduler_logs._JsonFormatter())
    logger = logging.getLogger("flowbuilder")
    logger.addHandler(handler)
    yield lines
    logger.removeHandler(handler)
