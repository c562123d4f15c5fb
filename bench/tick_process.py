"""`python -m bench.tick_process`: one warm scheduler invocation in a process of its own, run on cue.

Several at once over the same due rows are what fan-out produces: concurrent invocations, each with
its own CPU, sharing the work through the claim's SKIP LOCKED. Protocol as bench.sender_process:
warms up (settings, clients, connection: one tick while nothing is due), prints `ready`, waits for
a line on stdin, runs one tick, prints its summary as JSON.
"""

from __future__ import annotations

import json
import sys

from flow_common import logs
from flow_scheduler import handler


def main() -> int:
    logs.configure(stream=sys.stderr)  # stdout carries the protocol only
    handler.lambda_handler({}, None)
    print("ready", flush=True)
    sys.stdin.readline()
    print(json.dumps(handler.lambda_handler({}, None)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
