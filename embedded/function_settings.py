"""The functions' settings, checked with their own parsers before anything is deployed.

Without this a bad value (BATCH_SIZE=abc) deploys cleanly and then fails every tick, and a worker
timeout above WORKER_RUNNING_TIMEOUT_SECONDS has a live run taken for dead.
"""

from flow_scheduler.config import ConfigError, _integer, load_settings
from flow_worker.config import load_worker_settings


def function_environment(settings: dict[str, str]) -> dict[str, str]:
    """What the functions' environments will hold, as far as the scheduler and the worker read them."""
    endpoint = (settings.get("AWS_ENDPOINT_URL") or "http://127.0.0.1:4566").rstrip("/")
    return {
        **settings,
        "DB_HOST": settings.get("FUNCTION_DB_HOST") or settings.get("DB_HOST") or "127.0.0.1",
        "DB_PORT": settings.get("FUNCTION_DB_PORT") or settings.get("DB_PORT") or "5432",
        # Deploying fills an empty SQS_URL with the queue it creates; any queue URL stands in for it here.
        "SQS_URL": settings.get("SQS_URL") or f"{endpoint}/000000000000/flow-builder-queue",
    }


def check_stuck_running_rule(environment: dict[str, str], running_timeout_seconds: int) -> None:
    """The worker's timeout < WORKER_RUNNING_TIMEOUT_SECONDS < the queue's visibility timeout (README, The worker);
    the defaults are the template's."""
    timeout = _integer(environment, "WORKER_TIMEOUT_SECONDS", 30, 1, 900)
    visibility = _integer(environment, "QUEUE_VISIBILITY_TIMEOUT_SECONDS", 180, 0, 43200)
    if not timeout < running_timeout_seconds < visibility:
        raise ConfigError(
            f"WORKER_RUNNING_TIMEOUT_SECONDS={running_timeout_seconds} must be above WORKER_TIMEOUT_SECONDS={timeout} "
            f"and below QUEUE_VISIBILITY_TIMEOUT_SECONDS={visibility}, or a live run is taken for dead or a dead one "
            f"is never run again: set them in that order"
        )


def problem(settings: dict[str, str]) -> str | None:
    """The functions' one-line message for the first bad setting, or None when all are usable."""
    environment = function_environment(settings)
    try:
        load_settings(environment)
        worker = load_worker_settings(environment)
        check_stuck_running_rule(environment, worker.running_timeout_seconds)
    except ConfigError as err:
        return f"{err} (a setting of the functions, from .env or your shell): nothing was started or deployed"
    return None
