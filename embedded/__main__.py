"""`python -m embedded up|down|clean|status|invoke|logs|queue|executions|psql|aws|check`: the local stack without Docker.

The Makefile calls these; `invoke`, `queue`, `aws`, `check`, `logs --aws-only` and `status --aws-only`
only read .env and talk to the emulator's API, so they serve the docker stack as well.
"""

import argparse
import base64
import json
import logging
import os
import platform
import shutil
import sys
import time
from urllib.parse import urlsplit

from botocore.exceptions import BotoCoreError, ClientError

from embedded import envfile, executions, function_settings
from embedded.stack import (
    DLQ,
    FUNCTION,
    QUEUE,
    REPO,
    Stack,
    StackError,
    aws_clients,
    aws_status,
)
from embedded.ticks import last_tick
from embedded.worker_status import WORKER

NEXT_STEPS = """\
dashboard: {dashboard_url}

next:
  make invoke       invoke the scheduler now and print its summary
  make queue        peek at the messages it sent (not consumed)
  make executions   the executions and their timings, as the worker carries them to completed or failed
  make logs         both functions' logs and the stack's own
  make psql         SQL shell on the database
  make status       health of each part and the last tick
  make aws ARGS="sqs get-queue-attributes --queue-url {queue_url} --attribute-names All"
                    any AWS CLI call on this stack's emulator ({endpoint})
  make e2e          end-to-end tests against this stack
  make up           again after editing the code: redeploys the functions
  make down         stop it (data kept); make clean also deletes it"""


def say(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def print_table(parts) -> None:
    rows = [("part", "where", "state")] + [(p.name, p.where, p.state) for p in parts]
    widths = [max(len(row[i]) for row in rows) for i in range(2)]
    for name, where, state in rows:
        print(f"  {name:<{widths[0]}}  {where:<{widths[1]}}  {state}")


def embedded_status(stack: Stack, settings) -> list:
    """The stack's parts and, once the function answers, its last tick."""
    parts = stack.status()
    for part in parts:
        if part.name == "lambda" and part.ok:
            # The embedded emulator runs zip functions as processes of its own interpreter.
            part.state += f"; MiniStack runs it on this machine's Python {platform.python_version()}"
            parts.append(last_tick(*aws_clients(settings, "logs")))
            break
    return parts


def cmd_up(settings, args) -> int:
    started, stack = time.monotonic(), Stack(settings)
    stack.up(say)
    say(f"stack ready in {time.monotonic() - started:.0f}s")
    print()
    print_table(embedded_status(stack, settings))
    print()
    (sqs,) = aws_clients(settings, "sqs")
    endpoint = settings["AWS_ENDPOINT_URL"]
    # The emulator may have kept a URL from another port; the path (account/queue) is what counts.
    path = urlsplit(sqs.get_queue_url(QueueName=QUEUE)["QueueUrl"]).path
    print(NEXT_STEPS.format(endpoint=endpoint, queue_url=endpoint.rstrip("/") + path, dashboard_url=stack.dashboard.url))
    return 0


def cmd_down(settings, args) -> int:
    Stack(settings).down(say)
    return 0


def cmd_clean(settings, args) -> int:
    stack = Stack(settings)
    stack.down(say)
    shutil.rmtree(stack.state_dir, ignore_errors=True)
    say(f"deleted {stack.state_dir} (database, emulator state, build cache)")
    return 0


def cmd_status(settings, args) -> int:
    if args.aws_only:
        parts = aws_status(settings)
        if any(part.name == "lambda" and part.ok for part in parts):
            parts.append(last_tick(*aws_clients(settings, "logs")))
    else:
        parts = embedded_status(Stack(settings), settings)
    print_table(parts)
    return 0 if all(p.ok for p in parts) else 1


def cmd_invoke(settings, args) -> int:
    (lam,) = aws_clients(settings, "lambda")
    response = lam.invoke(FunctionName=FUNCTION, Payload=json.dumps({"source": "make invoke"}).encode(), LogType="Tail")
    payload = response["Payload"].read().decode() or "null"
    if response.get("FunctionError"):
        print(f"invoke: {FUNCTION} failed: {payload}", file=sys.stderr)
        tail = base64.b64decode(response.get("LogResult") or b"").decode(errors="replace").strip()
        if tail:
            print(tail, file=sys.stderr)
        return 1
    print(json.dumps(json.loads(payload), indent=2))
    return 0


def cmd_logs(settings, args) -> int:
    (logs,) = aws_clients(settings, "logs")
    groups = [f"/aws/lambda/{name}" for name in (FUNCTION, WORKER)]
    seen = {}
    for group in groups:
        print(f"== {group} (last {args.lines} events{'; following, Ctrl-C stops' if args.follow else ''})", flush=True)
        events = function_events(logs, group)
        show_events(events[-args.lines :])
        seen[group] = {event_key(e) for e in events}
    while args.follow:
        time.sleep(2)
        for group in groups:
            # From the newest millisecond shown on: an event logged in that same millisecond may still be new.
            since = max((timestamp for timestamp, _ in seen[group]), default=None)
            fresh = [e for e in function_events(logs, group, since) if event_key(e) not in seen[group]]
            show_events(fresh, group.rsplit("/", 1)[-1])
            seen[group] |= {event_key(e) for e in fresh}
    if not args.aws_only:
        stack = Stack(settings)
        for label, part in (("postgres", stack.postgres), ("emulator", stack.emulator), ("dashboard", stack.dashboard)):
            print(f"== {label}: {part.log_file}")
            print(part.log_tail(args.lines))
    return 0


def function_events(logs, group: str, since: int | None = None) -> list[dict]:
    options = {"logGroupName": group} | ({"startTime": since} if since is not None else {})
    try:
        events = [e for page in logs.get_paginator("filter_log_events").paginate(**options) for e in page["events"]]
    except ClientError as err:
        print(f"  (no logs yet: {err.response['Error'].get('Message', err)})", flush=True)
        return []
    return sorted(events, key=lambda e: e["timestamp"])


def event_key(event: dict) -> tuple[int, str]:
    return event["timestamp"], event.get("eventId") or event["message"]


def show_events(events: list[dict], source: str = "") -> None:
    """One line an event; `source` names the function when the lines of several are interleaved."""
    for event in events:
        stamp = time.strftime("%H:%M:%S", time.localtime(event["timestamp"] / 1000))
        print(f"  {stamp} {source + ' ' if source else ''}{event['message'].rstrip()}", flush=True)


def cmd_queue(settings, args) -> int:
    (sqs,) = aws_clients(settings, "sqs")
    for name in (QUEUE, DLQ):
        url = sqs.get_queue_url(QueueName=name)["QueueUrl"]
        # VisibilityTimeout=0: the messages stay available to the worker; this is a peek. SQS has no
        # true peek, though: each one counts as a receive, and the redrive policy counts receives.
        messages = sqs.receive_message(
            QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=0, AttributeNames=["ApproximateReceiveCount"]
        ).get("Messages", [])
        depth = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])["Attributes"]
        print(
            f"== {name}: {depth.get('ApproximateNumberOfMessages', '?')} waiting; showing {len(messages)} (not consumed)"
        )
        if name == QUEUE and messages:
            print("   (each peek counts as a receive: after 5, the redrive policy moves a message to the DLQ)")
        for message in messages:
            print(f"-- received {message.get('Attributes', {}).get('ApproximateReceiveCount', '?')} time(s)")
            try:
                print(json.dumps(json.loads(message["Body"]), indent=2))
            except ValueError:
                print(message["Body"])
    return 0


def cmd_executions(settings, args) -> int:
    try:
        rows = executions.latest(settings, args.limit)
    except executions.DatabaseError as err:
        raise StackError(str(err)) from None
    print(f"== the latest {len(rows)} executions (times in UTC)")
    print(executions.table(rows))
    return 0


def cmd_psql(settings, args) -> int:
    stack = Stack(settings)
    if not stack.postgres.is_running():
        raise StackError("postgres is not running: start the stack with `make up`")
    command = stack.postgres.psql_command() + args.extra
    os.execve(command[0], command, stack.postgres.client_env())


def cmd_aws(settings, args) -> int:
    """awslocal aimed at this stack's emulator, wherever .env puts it (awslocal alone assumes 4566)."""
    env = {
        **os.environ,
        "AWS_ENDPOINT_URL": settings.get("AWS_ENDPOINT_URL") or "http://127.0.0.1:4566",
        "AWS_ACCESS_KEY_ID": settings.get("AWS_ACCESS_KEY_ID") or "test",
        "AWS_SECRET_ACCESS_KEY": settings.get("AWS_SECRET_ACCESS_KEY") or "test",
        "AWS_DEFAULT_REGION": settings.get("CUSTOM_AWS_REGION") or "us-east-1",
        "DISABLE_DEPRECATION_NOTICE": "1",  # awscli-local's 12-line banner would bury the answer
    }
    awslocal = shutil.which("awslocal", path=os.path.dirname(sys.executable))
    if awslocal is None:
        raise StackError("awslocal is not installed next to this Python: run `make venv`")
    os.execve(awslocal, [awslocal, *args.extra], env)


def cmd_check(settings, args) -> int:
    """The function's settings, checked before the docker stack deploys them (the embedded `up` checks itself)."""
    if problem := function_settings.problem(settings):
        raise StackError(problem)
    say("settings: the scheduler function's settings are valid")
    return 0


COMMANDS = {
    "up": (cmd_up, "start the stack (idempotent) and print where everything runs"),
    "down": (cmd_down, "stop every process of the stack (data kept)"),
    "clean": (cmd_clean, "stop the stack and delete its state (.stack/)"),
    "status": (cmd_status, "health of each part and the last tick; exit 1 if one is down or the tick failed"),
    "invoke": (cmd_invoke, "invoke the scheduler Lambda through the emulator and print its summary"),
    "logs": (cmd_logs, "the function's CloudWatch logs and the stack's own logs"),
    "queue": (cmd_queue, "peek at the queue and the DLQ without consuming"),
    "executions": (cmd_executions, "the latest executions with their timings and errors"),
    "psql": (cmd_psql, "SQL shell on the stack's database (further arguments go to psql)"),
    "aws": (cmd_aws, "awslocal on this stack's emulator (further arguments go to it)"),
    "check": (cmd_check, "check the scheduler function's settings with the scheduler's own parser"),
}
PASS_THROUGH = ("psql", "aws")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m embedded", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    for name, (_, help_text) in COMMANDS.items():
        # psql and awslocal get every further argument, --help included.
        command = sub.add_parser(name, help=help_text, add_help=name not in PASS_THROUGH)
        if name in ("status", "logs"):
            command.add_argument("--aws-only", action="store_true", help="only what the emulator's API reports")
        if name == "logs":
            command.add_argument("--lines", type=int, default=40, help="lines per log (default 40)")
            command.add_argument("--follow", action="store_true", help="keep printing the function's new events")
        if name == "executions":
            command.add_argument("--limit", type=int, default=20, help="how many (default 20)")
    args, extra = parser.parse_known_args(argv)
    if extra and args.command not in PASS_THROUGH:
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    args.extra = extra
    # The runners log what they change on the machine (permissions, restarts) in the same style as `say`.
    logging.basicConfig(level=logging.WARNING, format="[%(asctime)s] %(message)s", datefmt="%H:%M:%S")
    logging.getLogger("embedded").setLevel(logging.INFO)
    settings = {}
    try:
        settings = envfile.load(REPO, announce=say)
        return COMMANDS[args.command][0](settings, args)
    except (StackError, envfile.EnvFileError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    except (ClientError, BotoCoreError) as err:
        print(
            f"error: the emulator at {settings.get('AWS_ENDPOINT_URL')} refused: {err}; is the stack up (`make status`)?",
            file=sys.stderr,
        )
        return 1
    except KeyboardInterrupt:
        if args.command == "logs":
            return 0  # how `make logs FOLLOW=1` ends
        print("interrupted; `make status` shows what runs, `make down` stops it", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
