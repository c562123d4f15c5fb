"""What the dashboard reads from its environment: where the stack's PostgreSQL and emulator are.

The same names as the stack's `.env` (DB_*, AWS_ENDPOINT_URL, ...), so the embedded runner and the
compose service hand it their settings unchanged. Nothing here is ever rendered into a page.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

from stackview.settings import database_params, port  # both raise StackError naming a bad port

LOOPBACK = "127.0.0.1"


@dataclass(frozen=True)
class Settings:
    db: dict  # psycopg2.connect keywords (the password among them: never shown)
    endpoint: str  # the emulator, as this process reaches it
    region: str
    host: str  # where the dashboard listens
    port: int
    allowed_hosts: tuple[str, ...]  # Host headers accepted (DNS rebinding guard)
    stack: dict  # the raw settings, for stackview.status

    @property
    def db_where(self) -> str:
        return f"{self.db['host']}:{self.db['port']}/{self.db['dbname']}"


def load(env: Mapping[str, str]) -> Settings:
    listen_port = port(env.get("DASHBOARD_PORT") or "8025", "DASHBOARD_PORT")
    extra_hosts = tuple(h.strip() for h in (env.get("DASHBOARD_ALLOWED_HOSTS") or "").split(",") if h.strip())
    return Settings(
        db=database_params(env),
        endpoint=env.get("AWS_ENDPOINT_URL") or "http://127.0.0.1:4566",
        region=env.get("CUSTOM_AWS_REGION") or "us-east-1",
        host=env.get("DASHBOARD_HOST") or LOOPBACK,
        port=listen_port,
        allowed_hosts=(LOOPBACK, "localhost", *extra_hosts),
        stack=dict(env),
    )
