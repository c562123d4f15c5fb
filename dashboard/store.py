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


class Unshowable(str):
    """A timestamp PostgreSQL holds and Python's datetime cannot (a BC date, beyond year 9999): its text."""


def _lenient(caster):
    def cast(value, cur):
        try:
            return caster(value, cur)
        except (ValueError, OverflowError):
            return Unshowable(value)

    return psycopg2.extensions.new_type(caster.values, f"LENIENT_{caster.name}", cast)


# One row the dashboard cannot show in full must not take a whole page down (issue 16, item 7).
for _caster in (psycopg2.extensions.PYDATETIMETZ, psycopg2.extensions.PYDATETIME):
    psycopg2.extensions.register_type(_lenient(_caster))


# psycopg2's pool raises PoolError at once when every connection is taken: a request waits for one this long
# instead, and past it is told the database is busy (the part-down banner), never a 500.
MAX_CONNECTIONS = 8
WAIT_SECONDS = 15.0


class Store:
    def __init__(self, db: dict, where: str, wait_seconds: float = WAIT_SECONDS):
        self._db = db
        self._where = where
        self._pool: psycopg2.pool.ThreadedConnectionPool | None = None
        self._lock = threading.Lock()
        self._slots = threading.BoundedSemaphore(MAX_CONNECTIONS)
        self._wait = wait_seconds
        self.answered_at = 0.0  # monotonic time of the last query that succeeded

    def rows(self, name: str, params: dict | None = None) -> list[dict]:
        def work(cur):
            cur.execute(query(name), params or {})
            return [dict(row) for row in cur.fetchall()] if cur.description else []

        return self.transaction(work, psycopg2.extras.RealDictCursor)

    def transaction(self, work: Callable[[psycopg2.extensions.cursor], T], cursor_factory=None) -> T:
        """Run `work(cursor)` in one transaction. A pooled connection the server dropped (a restart)
        is replaced once; a server that does not answer, or every connection busy for the wait, is
        PartDown("postgres")."""
        if not self._slots.acquire(timeout=self._wait):
            raise PartDown("postgres", f"All {MAX_CONNECTIONS} of the dashboard's connections to {self._where} were busy "
                                       f"for {self._wait:.0f} s (slow queries, or a lock held): try again shortly")  # fmt: skip
        try:
            return self._transaction(work, cursor_factory)
        finally:
            self._slots.release()

    def _transaction(self, work, cursor_factory):
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
                        4, MAX_CONNECTIONS, **self._db, connect_timeout=2, application_name="flow-dashboard",
                        options="-c statement_timeout=10000",
                    )
            return self._pool.getconn()
        except psycopg2.OperationalError as err:
            raise self._down(err) from None

    def _down(self, err: Exception) -> PartDown:
        reason = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        return PartDown("postgres", f"Nothing answers at {self._where} ({reason}): start the stack with `make up`")
