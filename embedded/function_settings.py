"""The functions' settings, checked with their own parsers before anything is deployed.

Without this a bad value (BATCH_SIZE=abc) deploys cleanly and then fails every tick, and a worker
timeout above WORKER_RUNNING_TIMEOUT_SECONDS has a live run taken for dead. `make up` and `make deploy`
(infra/deploy.py) both call problem().
"""

from flow_common.settings import ConfigError, integer
from flow_scheduler.config import load_settings
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


# infra/template.yaml's redrive policy (tests/infra checks they agree): the receives before the DLQ.
MAX_RECEIVE_COUNT = 5


def check_stuck_running_rule(environment: dict[str, str], running_timeout_seconds: int, max_attempts: int) -> None:
    """The worker's arithmetic (README, The worker); the defaults are the template's.

    A record claimed c <= WORKER_TIMEOUT_SECONDS into its batch comes back visibility - c seconds after its
    started_at, so timeout + running <= visibility makes every redelivery of a dead run find it past the running
    limit; running > timeout keeps a live run from being taken for dead. Each attempt costs one receive and the
    abandon step needs one more, so max_attempts < maxReceiveCount lets it run before the DLQ."""
    timeout = integer(environment, "WORKER_TIMEOUT_SECONDS", 30, 1, 900)
    visibility = integer(environment, "QUEUE_VISIBILITY_TIMEOUT_SECONDS", 180, 0, 43200)
    running = running_timeout_seconds
    if not timeout < running:
        raise ConfigError(
            f"WORKER_RUNNING_TIMEOUT_SECONDS={running} must be above WORKER_TIMEOUT_SECONDS={timeout}, "
            f"or a live run is taken for dead and run twice: raise it"
        )
    if timeout + running > visibility:
        raise ConfigError(
            f"WORKER_TIMEOUT_SECONDS={timeout} + WORKER_RUNNING_TIMEOUT_SECONDS={running} = {timeout + running} "
            f"must be at most QUEUE_VISIBILITY_TIMEOUT_SECONDS={visibility}, or a dead run's redelivery finds it "
            f"still young: raise the visibility timeout"
        )
    if not max_attempts < MAX_RECEIVE_COUNT:
        raise ConfigError(
            f"WORKER_MAX_ATTEMPTS={max_attempts} must be below the queue's maxReceiveCount ({MAX_RECEIVE_COUNT}), "
            f"or a crash-looping execution reaches the DLQ still running: set it to {MAX_RECEIVE_COUNT - 1} or less"
        )


def problem(settings: dict[str, str]) -> str | None:
    """The functions' one-line message for the first bad setting, or None when all are usable."""
    environment = function_environment(settings)
    try:
        load_settings(environment)
        worker = load_worker_settings(environment)
        check_stuck_running_rule(environment, worker.running_timeout_seconds, worker.max_attempts)
    except ConfigError as err:
        return f"{err} (a setting of the functions, from .env or your shell): nothing was started or deployed"
    return None
