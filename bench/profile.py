"""`python -m bench.profile [N]`: where one warm tick's CPU goes, its sending threads included.

yappi on CPU time: cProfile sees only the thread that enabled it, and the tick sends from others.
Prints the tick's CPU by area (each function's own time, grouped by where it lives) and the
functions that take most. Same services and workload as `make bench` (default N 5,000).
"""

from __future__ import annotations

import sys
from collections import Counter

import yappi

from flow_scheduler import handler

from . import workload
from .measure import Bench, new_container
from .services import running_services

# First match wins: a function's own CPU goes to the first area whose marker is in its file path.
AREAS = [
    ("botocore: building, signing, parsing SendMessageBatch", ("botocore", "boto3")),
    ("HTTP: urllib3, http.client, sockets", ("urllib3", "http/client", "socket", "ssl", "selectors", "email/")),
    ("psycopg2 and the rows it returns", ("psycopg2",)),
    ("JSON encoding and decoding", ("json/",)),
    ("logging", ("logging/",)),
    ("cron and time zones: croniter, zoneinfo, dateutil", ("croniter", "zoneinfo", "dateutil")),
    ("flow_scheduler's own code", ("flow_scheduler",)),
    ("uuid and datetime", ("uuid.py", "datetime")),
    ("threads and futures", ("threading.py", "concurrent/", "queue.py")),
]


def area(path: str) -> str:
    return next((name for name, markers in AREAS if any(marker in path for marker in markers)), "other")


def main(count: int) -> int:
    with running_services() as (postgres, emulator):
        bench = Bench(postgres, emulator)
        try:
            workload.reset(bench.conn)
            bench.fresh_queue()
            new_container()
            handler.lambda_handler({}, None)  # warm, as in the benchmark
            workload.seed(bench.conn, count)
            yappi.set_clock_type("cpu")
            yappi.start()  # a C function's time counts as its caller's own
            summary = handler.lambda_handler({}, None)
            yappi.stop()
        finally:
            bench.close()
    functions = yappi.get_func_stats()
    by_area: Counter[str] = Counter()
    for stat in functions:
        by_area[area(stat.module)] += stat.tsub
    total = sum(by_area.values())
    print(f"one warm tick, {summary['enqueued']:,} enqueued in {summary['duration_ms']:,} ms; CPU profiled {total:.2f} s "
          f"({total / summary['enqueued'] * 1e6:.0f} µs per workflow, all threads)\n")
    print("| area (own time of its functions) | CPU s | share | µs per workflow |\n|---|---|---|---|")
    for name, seconds in by_area.most_common():
        print(f"| {name} | {seconds:.2f} | {seconds / total:.0%} | {seconds / summary['enqueued'] * 1e6:.0f} |")
    print("\n| function (own time) | calls | CPU s |\n|---|---|---|")
    for stat in sorted(functions, key=lambda s: s.tsub, reverse=True)[:25]:
        print(f"| {stat.module.split('site-packages/')[-1]}:{stat.lineno} {stat.name} | {stat.ncall:,} | {stat.tsub:.3f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main(int(sys.argv[1]) if len(sys.argv) > 1 else 5_000))
