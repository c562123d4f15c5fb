"""`python -m flow_scheduler tick|preview|simulate`: the scheduler from your shell, with the settings the Lambda reads.

`tick` runs one invocation here and prints its summary as JSON; `preview` lists a schedule's next
occurrences; `simulate` replays the rule's ticks over a window and writes nothing. A bad setting, an unreachable database or an unusable schedule prints one line naming
the cause and exits 2.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime, timezone

from flow_common import logs
from flow_common.db import DatabaseUnavailable
from flow_common.settings import ConfigError

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


def simulate(args) -> int:
    """Contract 10's dry run: what the rule's ticks over [--from, --to] would record, nothing written."""
    import os
    import uuid

    from flow_common.db import Database
    from flow_common.settings import DatabaseSettings, database_fields
    from .simulate import RULE, read, replay, ticks, window

    try:
        start, end = window(args.start, args.end)
        if args.workflow is not None:
            try:
                uuid.UUID(args.workflow)
            except ValueError:
                raise ValueError(f"--workflow {args.workflow!r} is not a workflow id: give its uuid") from None
        rule_text = os.environ.get("SCHEDULE_EXPRESSION", RULE)
        try:
            rule = parse(rule_text)
        except ScheduleError as err:
            raise ValueError(f"SCHEDULE_EXPRESSION: {err}") from None
        moments = ticks(rule, start, end)
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    try:
        database = Database.for_settings(DatabaseSettings(**database_fields(os.environ)))
        rows = database.transaction(lambda cur: read(cur, args.workflow))
        database.close()
    except (ConfigError, DatabaseUnavailable) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    for line in replay(rows, moments, args.run_seconds):
        if args.json:
            print(json.dumps(line.as_dict()))
        else:
            print(f"{line.tick:%Y-%m-%d %H:%M:%S}Z  {line.workflow_id}  {line.scheduled_for:%Y-%m-%d %H:%M:%S}Z"
                  f"  {line.outcome:<8}  coalesced={line.coalesced}")
    return 0


def seconds(text: str) -> int:
    if not text.isdigit() or not 0 <= int(text) <= 31536000:
        raise argparse.ArgumentTypeError(f"{text!r} is not a duration: use whole seconds from 0 to 31536000")
    return int(text)


def positive(text: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= 1000:
        raise argparse.ArgumentTypeError(f"{text!r} is not a count: use a whole number from 1 to 1000")
    return int(text)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m flow_scheduler", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True, metavar="{tick,preview,simulate}")
    sub.add_parser("tick", help="run one tick with the settings in the environment (sends messages)")
    shown = sub.add_parser("preview", help="the next occurrences of a schedule, nothing sent or stored")
    shown.add_argument("cron", help="'*/5 * * * *', 'cron(0 9 ? * MON-FRI *)' or 'rate(5 minutes)'")
    shown.add_argument("--tz", default="UTC", help="IANA timezone of the schedule (default UTC)")
    shown.add_argument("-n", type=positive, default=5, help="how many occurrences (default 5)")
    dry = sub.add_parser("simulate", help="replay the rule's ticks over a window against the database; writes nothing")
    dry.add_argument("--from", dest="start", required=True, help="ISO 8601 start of the window (UTC if no offset)")
    dry.add_argument("--to", dest="end", required=True, help="ISO 8601 end of the window")
    dry.add_argument("--json", action="store_true", help="one JSON object per line")
    dry.add_argument("--workflow", metavar="ID", help="only this workflow")
    dry.add_argument("--run-seconds", type=seconds, default=0, metavar="N",
                     help="how long each run takes (default: done before the next tick)")
    args = parser.parse_args(argv)
    return {"tick": tick, "preview": preview, "simulate": simulate}[args.command](args)


if __name__ == "__main__":
    sys.exit(main())
