"""The dashboard's named queries (queries.sql beside this file), loaded like the scheduler's."""

from functools import cache
from pathlib import Path

from flow_scheduler.sql import named_queries


@cache
def query(name: str) -> str:
    return named_queries(Path(__file__).with_name("queries.sql"))[name]
