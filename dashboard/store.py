"""The dashboard's PostgreSQL: a small connection pool and named queries, rows as dicts."""

from __future__ import annotations

import threading
import time
from typing import Callable, TypeVar

import psycopg2
import psycopg2.extras
import psycopg2.pool

from dashboard.down import PartDown
from dashboard.sql import query

T = TypeVar("T")

psycopg2.extras.register_uuid()


class Store:
    def __init__(self, db: dict, where: str):
        self._db = db
        self._where = where
        self._pool: psycopg2.pool.ThreadedConnectionPool | None = None
        self._lock = threading.Lock()
        self.answered_at = 0.0  # monotonic time of the last query that succeeded

    def rows(self, name: str, params: dict | None = None) -> list[dict]:
        def work(cur):
            cur.execute(query(name), params or {})
            return [dict(row) for row in cur.fetchall()] if cur.description else []

        return self.transaction(work, psycopg2.extras.RealDictCursor)

    def transaction(self, work: Callable[[psycopg2.extensions.cursor], T], cursor_factory=None) -> T:
        """Run `work(cursor)` in one transaction. A pooled connection the server dropped (a restart)
        is replaced once; a server that does not answer is PartDown("postgres")."""
        for attempt in (1, 2):
            conn = self._connect()
            try:
                with conn, conn.cursor(cursor_factory=cursor_factory) as cur:
                    result = work(cur)
                self._pool.putconn(conn)
                self.answered_at = time.monotonic()
                return result
            except (psycopg2.OperationalError, psycopg2.InterfaceError) as err:
                self._pool.putconn(conn, close=True)
                if attempt == 2 or not conn.closed:
                    raise self._down(err) from None
            except BaseException:
                self._pool.putconn(conn)
                raise
        raise AssertionError("unreachable")

    def close(self) -> None:
        if self._pool is not None:
            self._pool.closeall()

    def _connect(self):
        try:
            with self._lock:
                if self._pool is None:
                    # psycopg2's pool keeps only `minconn` idle connections and closes the rest: keep
                    # enough for a page and its refreshes, or every query pays a new login.
                    self._pool = psycopg2.pool.ThreadedConnectionPool(
                        4, 8, **self._db, connect_timeout=2, application_name="flow-dashboard",
                        options="-c statement_timeout=10000",
                    )
            return self._pool.getconn()
        except psycopg2.OperationalError as err:
            raise self._down(err) from None

    def _down(self, err: Exception) -> PartDown:
        reason = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        return PartDown("postgres", f"Nothing answers at {self._where} ({reason}): start the stack with `make up`")
