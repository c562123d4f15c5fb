"""When the parts a tick depends on last changed, as the parts themselves tell it: the database's start
(`pg_postmaster_start_time()`) and the scheduler function's last update (`LastModified`, which a deploy
that changed its code or settings moves). A tick that failed before then is history, not the current
state (stackview.ticks). Read over the network, so `make status` on either stack and the dashboard
agree, and no command has to remember having healed something."""

from __future__ import annotations

from contextlib import closing
from datetime import datetime

from botocore.exceptions import BotoCoreError, ClientError

from stackview.names import FUNCTION

STARTED = "SELECT extract(epoch FROM pg_postmaster_start_time())::float8"


def restarted_at(database_started: float | None, lam) -> float | None:
    """The later of the database's start (epoch seconds, None while it is down) and the function's update."""
    moments = [moment for moment in (database_started, function_updated(lam)) if moment is not None]
    return max(moments, default=None)


def database_started(params: dict) -> float | None:
    """The database's start (epoch seconds), or None when it does not answer."""
    import psycopg2  # only a status needs the driver loaded

    try:
        with closing(psycopg2.connect(**params, connect_timeout=3)) as conn, conn.cursor() as cur:
            cur.execute(STARTED)
            return cur.fetchone()[0]
    except psycopg2.Error:
        return None


def function_updated(lam) -> float | None:
    """The scheduler function's last update (epoch seconds), or None when it cannot be read."""
    try:
        modified = lam.get_function_configuration(FunctionName=FUNCTION)["LastModified"]
    except (KeyError, ClientError, BotoCoreError):
        return None
    return last_modified(modified)


def last_modified(value: str) -> float | None:
    """Lambda's `LastModified` ("2026-12-02T18:20:05.123+0000") as epoch seconds; None if it reads otherwise."""
    try:
        return datetime.strptime(value, "%Y-%m-%dT%H:%M:%S.%f%z").timestamp()
    except (TypeError, ValueError):
        return None
