"""The dashboard's named queries (queries.sql beside this file)."""

from pathlib import Path

from flow_common.sql import queries_in

query = queries_in(Path(__file__).with_name("queries.sql"))
