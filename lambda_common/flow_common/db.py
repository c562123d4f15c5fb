"""One PostgreSQL connection per container, replaced when it dies; work runs in whole transactions."""

from __future__ import annotations

import logging
from typing import Callable, TypeVar

import psycopg2
import psycopg2.extras

from .settings import DatabaseSettings
from .credentials import connection_params
from .logs import log

T = TypeVar("T")

psycopg2.extras.register_uuid()


class DatabaseUnavailable(Exception):
    """PostgreSQL cannot be reached; the message says where we tried and why."""


class Database:
    def __init__(self, params: Callable[[], dict], connect_timeout: int, ssl_mode: str, ssl_root_cert: str | None = None):
        self._params = params  # called at each (re)connect: a rotated secret is picked up
        self._connect_timeout = connect_timeout
        self._ssl = {"sslmode": ssl_mode} | ({"sslrootcert": ssl_root_cert} if ssl_root_cert else {})
        self._conn = None

    @classmethod
    def for_settings(cls, settings: DatabaseSettings, secrets_client=None) -> "Database":
        """The database the DB_* settings describe (or their secret, read again at each connect)."""
        return cls(
            lambda: connection_params(settings, secrets_client),
            connect_timeout=settings.db_connect_timeout,
            ssl_mode=settings.db_ssl_mode,
            ssl_root_cert=settings.db_ssl_root_cert,
        )

    def transaction(self, work: Callable[[psycopg2.extensions.cursor], T]) -> T:
        """Run `work` in one transaction. A dropped connection rolls the whole transaction back
        server-side, so the work is retried once on a new connection; every unit of work here
        is safe to repeat (claims skip what is no longer due, updates are idempotent)."""
        for attempt in (1, 2):
            conn = self._connection()
            try:
                with conn, conn.cursor() as cur:
                    return work(cur)
            except (psycopg2.OperationalError, psycopg2.InterfaceError) as err:
                if not conn.closed:
                    raise
                self._conn = None
                if attempt == 2:
                    raise DatabaseUnavailable(f"lost the PostgreSQL connection twice: {_first_line(err)}") from None
                log("db_reconnect", logging.WARNING, error=_first_line(err))
        raise AssertionError("unreachable")

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def _connection(self):
        if self._conn is None or self._conn.closed:
            self._conn = self._connect()
        return self._conn

    def _connect(self):
        params = self._params()
        try:
            return psycopg2.connect(
                **params,
                **self._ssl,
                connect_timeout=self._connect_timeout,
                application_name="flow-scheduler",
                # Fail a half-open connection in seconds, not at the Lambda timeout.
                keepalives=1,
                keepalives_idle=10,
                keepalives_interval=5,
                keepalives_count=3,
                # UTC: how a timestamp the scheduler cannot use is spelled in its schedule_error.
                options="-c statement_timeout=30000 -c TimeZone=UTC",
            )
        except psycopg2.OperationalError as err:
            where = f"{params['host']}:{params['port']}/{params['dbname']} as {params['user']}"
            raise DatabaseUnavailable(
                f"cannot connect to PostgreSQL at {where}: {_first_line(err)} "
                "(check DB_HOST, DB_PORT, DB_NAME, DB_USER, DB_PASSWORD, DB_SSL_MODE)"
            ) from None


def _first_line(err: Exception) -> str:
    return str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
