"""The scheduler function's settings, checked with the scheduler's own parser before anything is deployed.

Without this a bad value (BATCH_SIZE=abc) deploys cleanly and then fails every tick.
"""

from flow_scheduler.config import ConfigError, load_settings


def function_environment(settings: dict[str, str]) -> dict[str, str]:
    """What the function's environment will hold, as far as the scheduler reads it."""
    endpoint = (settings.get("AWS_ENDPOINT_URL") or "http://127.0.0.1:4566").rstrip("/")
    return {
        **settings,
        "DB_HOST": settings.get("FUNCTION_DB_HOST") or settings.get("DB_HOST") or "127.0.0.1",
        "DB_PORT": settings.get("FUNCTION_DB_PORT") or settings.get("DB_PORT") or "5432",
        # Deploying fills an empty SQS_URL with the queue it creates; any queue URL stands in for it here.
        "SQS_URL": settings.get("SQS_URL") or f"{endpoint}/000000000000/flow-builder-queue",
    }


def problem(settings: dict[str, str]) -> str | None:
    """The scheduler's one-line message for the first bad setting, or None when all are usable."""
    try:
        load_settings(function_environment(settings))
    except ConfigError as err:
        return f"{err} (a setting of the scheduler function, from .env or your shell): nothing was started or deployed"
    return None
