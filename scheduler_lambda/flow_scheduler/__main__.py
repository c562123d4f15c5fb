"""`python -m flow_scheduler tick|preview`: the scheduler from your shell, with the settings the Lambda reads.

`tick` runs one invocation here and prints its summary as JSON; `preview` lists a schedule's next
occurrences. A bad setting, an unreachable database or an unusable schedule prints one line naming
the cause and exits 2.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime, timezone

from . import logs
from .config import ConfigError
from .db import DatabaseUnavailable
from .schedule import ScheduleError, next_after, parse, zone


def tick(args) -> int:
    from .handler import lambda_handler  # boto3 and psycopg2 only when a tick runs

    logs.configure(stream=sys.stderr)  # stdout carries the summary only
    try:
        summary = lambda_handler({"source": "cli"}, None)
    except (ConfigError, DatabaseUnavailable) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(json.dumps(summary))
    return 0


def preview(args) -> int:
    """The occurrences the scheduler would record, computed by the Lambda's own schedule code."""
    try:
        schedule = parse(args.cron)
        tz = zone(args.tz)
    except ScheduleError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(f"{args.cron} in {args.tz}: the next {args.n} occurrences after now")
    moment, anchor = datetime.now(timezone.utc), None
    for _ in range(args.n):
        moment = next_after(schedule, args.tz, moment, anchor)
        if moment is None:
            print("  no further occurrence: the schedule has ended")
            break
        anchor = moment
        print(f"  {moment.astimezone(tz):%a %Y-%m-%d %H:%M %Z}   ({moment:%Y-%m-%d %H:%M} UTC)")
    return 0


def positive(text: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= 1000:
        raise argparse.ArgumentTypeError(f"{text!r} is not a count: use a whole number from 1 to 1000")
    return int(text)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m flow_scheduler", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True, metavar="{tick,preview}")
    sub.add_parser("tick", help="run one tick with the settings in the environment (sends messages)")
    shown = sub.add_parser("preview", help="the next occurrences of a schedule, nothing sent or stored")
    shown.add_argument("cron", help="'*/5 * * * *', 'cron(0 9 ? * MON-FRI *)' or 'rate(5 minutes)'")
    shown.add_argument("--tz", default="UTC", help="IANA timezone of the schedule (default UTC)")
    shown.add_argument("-n", type=positive, default=5, help="how many occurrences (default 5)")
    args = parser.parse_args(argv)
    return {"tick": tick, "preview": preview}[args.command](args)


if __name__ == "__main__":
    sys.exit(main())
