"""Throwaway PostgreSQL and MiniStack on free ports, as the tests use them."""

from __future__ import annotations

import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from embedded.emulator import Emulator
from embedded.ports import free_port
from embedded.postgres import Postgres

REPO = Path(__file__).resolve().parent.parent


@contextmanager
def running_services() -> Iterator[tuple[Postgres, Emulator]]:
    with tempfile.TemporaryDirectory(prefix="flow-bench-") as scratch:
        scratch = Path(scratch)
        postgres = Postgres(scratch / "pgdata", free_port())
        emulator = Emulator(free_port(), scratch / "ministack")
        postgres.start()
        try:
            postgres.apply_sql_dir(REPO / "db" / "init")
            emulator.start()
            try:
                yield postgres, emulator
            finally:
                emulator.stop()
        finally:
            postgres.stop()
