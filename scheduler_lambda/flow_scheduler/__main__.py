"""`python -m flow_scheduler`: run one tick here, with the same settings the Lambda reads.

Prints the summary as JSON; a bad setting or an unreachable database prints one
line naming the cause and exits 2.
"""

from __future__ import annotations

import json
import sys

from . import logs
from .config import ConfigError
from .db import DatabaseUnavailable
from .handler import lambda_handler


def main() -> int:
    logs.configure(stream=sys.stderr)  # stdout carries the summary only
    try:
        summary = lambda_handler({"source": "cli"}, None)
    except (ConfigError, DatabaseUnavailable) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
