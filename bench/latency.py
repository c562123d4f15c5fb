"""The AWS-like latency profile: PostgreSQL and SQS reached through delay proxies (bench/delay_proxy.py).

On AWS a Lambda in the database's VPC waits about half a millisecond per PostgreSQL round trip and
several milliseconds per SQS call; on loopback both are near zero, which flatters every design that
makes many small calls (the naive loop most of all).
"""

from __future__ import annotations

import json
import subprocess
import sys
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Iterator
from urllib.parse import urlsplit


@dataclass(frozen=True)
class Profile:
    sqs_ms: float = 8.0  # added to every SQS call
    postgres_ms: float = 0.5  # added to every PostgreSQL round trip (statement, BEGIN, COMMIT)

    def as_dict(self) -> dict:
        return {
            "sqs_ms": self.sqs_ms,
            "postgres_ms": self.postgres_ms,
            "delays": "each client-to-server chunk held this long (a delay line), replies at once: "
            "every request/response round trip gains it",
        }


@dataclass
class Routes:
    """Where the delayed services answer, and the proxy process (its pid for the CPU meter)."""

    process: subprocess.Popen
    postgres_port: int
    sqs_url: str

    def stats(self) -> dict:
        """Chunks forwarded and the proxy's own lateness beyond the delay, per service."""
        self.process.stdin.write("stats\n")
        self.process.stdin.flush()
        return dict(zip(("postgres", "sqs"), json.loads(self.process.stdout.readline())))


@contextmanager
def delayed(postgres_port: int, emulator_url: str, profile: Profile, seconds: float = 3600) -> Iterator[Routes]:
    """Start one proxy process for both services; it ends when this block does (or after `seconds`)."""
    emulator = urlsplit(emulator_url)
    routes = [f"127.0.0.1:{postgres_port}={profile.postgres_ms}", f"{emulator.hostname}:{emulator.port}={profile.sqs_ms}"]
    process = subprocess.Popen(
        [sys.executable, "-m", "bench.delay_proxy", *routes, "--seconds", str(seconds)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        line = process.stdout.readline()
        if not line:
            raise SystemExit("bench: the delay proxy failed to start")
        postgres, sqs = json.loads(line)
        yield Routes(process, postgres, f"http://127.0.0.1:{sqs}")
    finally:
        process.stdin.close()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
