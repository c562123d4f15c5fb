"""`python -m dashboard`: serve the dashboard on DASHBOARD_HOST:DASHBOARD_PORT (127.0.0.1:8025).

It reads the stack's settings from the environment (the embedded runner and the compose service pass
them); run by hand: `set -a; . ./.env; set +a; .venv/bin/python -m dashboard`.
"""

import os
import sys

import uvicorn

from dashboard.app import create_app
from dashboard.settings import load
from stackview.settings import StackError


def main() -> int:
    try:
        settings = load(os.environ)
    except StackError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    # Not 127.0.0.1? Only inside a container, whose port compose publishes on the host's loopback.
    print(f"dashboard: http://{settings.host}:{settings.port}", flush=True)
    uvicorn.run(create_app(settings), host=settings.host, port=settings.port, log_level="warning", access_log=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
