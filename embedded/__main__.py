"""`python -m embedded up|down|stop|start|clean|status|invoke|watch|logs|queue|executions|workflow|workflows|psql|aws|check`: the local stack without Docker.

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
import signal
import sys
import time
from urllib.parse import urlsplit

from botocore.exceptions import BotoCoreError, ClientError

from embedded import envfile, function_settings
from stackview import executions, queue_peek, restarts, workflows
from stackview.names import DLQ, FUNCTION, QUEUE, WORKER
from stackview.settings import StackError, aws_clients, connect_database, database_params
from stackview.status import REPO, aws_status
from stackview.ticks import last_tick

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


def runners(settings):
    """The embedded stack's runners (embedded.stack), loaded by the commands that start, stop or look into its
    processes only: the commands that read a stack (invoke, queue, logs --aws-only, status --aws-only, ...) need
    stackview alone, so they serve the docker stack without pgserver or psutil loaded."""
    from embedded.stack import Stack

    return Stack(settings)


def say(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def print_table(parts) -> None:
    rows = [("part", "where", "state")] + [(p.name, p.where, p.state) for p in parts]
    widths = [max(len(row[i]) for row in rows) for i in range(2)]
    for name, where, state in rows:
        print(f"  {name:<{widths[0]}}  {where:<{widths[1]}}  {state}")


def embedded_status(stack, settings) -> list:
    """The stack's parts and, once the function answers, its last tick."""
    parts = stack.status()
    for part in parts:
        if part.name == "lambda" and part.ok:
            # The embedded emulator runs zip functions as processes of its own interpreter.
            part.state += f"; MiniStack runs it on this machine's Python {platform.python_version()}"
            parts.append(tick_status(settings))
            break
    return parts


def tick_status(settings):
    """The last tick, judged against the parts' last restart (stackview.restarts): how either stack's
    `make status` ends."""
    logs, lam = aws_clients(settings, "logs", "lambda")
    healed = restarts.restarted_at(restarts.database_started(database_params(settings)), lam)
    return last_tick(logs, restarted_at=healed)


def cmd_up(settings, args) -> int:
    started, stack = time.monotonic(), runners(settings)
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
    runners(settings).down(say)
    return 0


def cmd_stop(settings, args) -> int:
    runners(settings).stop_part(args.part, say)
    return 0


def cmd_start(settings, args) -> int:
    runners(settings).start_part(args.part, say)
    return 0


def cmd_clean(settings, args) -> int:
    stack = runners(settings)
    stack.down(say)
    shutil.rmtree(stack.state_dir, ignore_errors=True)
    say(f"deleted {stack.state_dir} (database, emulator state, build cache)")
    return 0


def cmd_status(settings, args) -> int:
    if args.aws_only:
        parts = aws_status(settings)
        if any(part.name == "lambda" and part.ok for part in parts):
            parts.append(tick_status(settings))
    else:
        parts = embedded_status(runners(settings), settings)
    print_table(parts)
    return 0 if all(p.ok for p in parts) else 1


def cmd_invoke(settings, args) -> int:
    (lam,) = aws_clients(settings, "lambda")
    response = lam.invoke(FunctionName=FUNCTION, Payload=json.dumps({"source": "make invoke"}).encode(), LogType="Tail")
    payload = response["Payload"].read().decode() or "null"
    if response.get("FunctionError"):
        try:
            message = json.loads(payload).get("errorMessage")
        except (ValueError, AttributeError):
            message = None
        if message:  # the function's own one-line error: its traceback stays in `make logs`
            print(f"error: {FUNCTION} failed: {message} (`make logs` has the function's log)", file=sys.stderr)
            return 1
        print(f"error: {FUNCTION} failed: {payload}", file=sys.stderr)
        tail = base64.b64decode(response.get("LogResult") or b"").decode(errors="replace").strip()
        if tail:
            print(tail, file=sys.stderr)
        return 1
    print(json.dumps(json.loads(payload), indent=2))
    return 0


def cmd_watch(settings, args) -> int:
    from embedded.watch import Watcher

    try:
        Watcher(settings).run(say)
    except KeyboardInterrupt:
        return 0  # how `make watch` ends
    return 0


def cmd_logs(settings, args) -> int:
    if args.follow:
        # A follower has nothing to finish: Ctrl-C (or TERM) ends it at once, even mid-request, where a
        # KeyboardInterrupt could wait out botocore's read timeout and retries.
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, lambda *_: os._exit(0))
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
        stack = runners(settings)
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
    endpoint = settings.get("AWS_ENDPOINT_URL") or "http://127.0.0.1:4566"
    for name in (QUEUE, DLQ):
        url = sqs.get_queue_url(QueueName=name)["QueueUrl"]
        depth = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])["Attributes"]
        try:
            messages = queue_peek.peek(endpoint, url)  # the emulator's record: no receive counted
        except queue_peek.PeekUnavailable as err:
            print(f"== {name}: {depth.get('ApproximateNumberOfMessages', '?')} waiting; {err}")
            continue
        except OSError as err:
            raise StackError(f"the emulator at {endpoint} does not answer ({err}): is the stack up (`make status`)?") from None
        print(f"== {name}: {depth.get('ApproximateNumberOfMessages', '?')} waiting; showing {len(messages)} "
              f"(read from the emulator: no receive counted)")  # fmt: skip
        for message in messages:
            print(f"-- {message['id']}: received {message['receives']} time(s) by the worker")
            print(message["body"])
    return 0


def cmd_executions(settings, args) -> int:
    rows = executions.latest(settings, args.limit)
    print(f"== the latest {len(rows)} executions (times in UTC)")
    print(executions.table(rows))
    return 0


def cmd_workflow(settings, args) -> int:
    """`make workflow NAME=... CRON=... TZ=...`: one workflow added, checked like the dashboard's form."""
    try:
        new = workflows.check(args.name, args.cron, args.tz, args.owner, args.status)
    except workflows.Refused as err:
        raise StackError(f"workflow not added: {err}") from None
    conn = connect_database(settings, "add the workflow to")
    try:
        with conn, conn.cursor() as cur:
            workflow_id = workflows.insert(cur, new)
    finally:
        conn.close()
    when = f"its first run at {new.next_run_at:%Y-%m-%d %H:%M %Z}" if new.next_run_at else "it runs once published"
    print(f"added workflow {workflow_id} '{new.name}' ({new.status}, {new.cron} in {new.timezone}): {when}")
    print("  make workflows lists them; make executions shows its runs")
    return 0


def cmd_workflows(settings, args) -> int:
    conn = connect_database(settings, "list workflows from")
    try:
        with conn, conn.cursor() as cur:
            rows = workflows.listing(cur)
    finally:
        conn.close()
    print(f"== {len(rows)} workflows (next run in UTC)")
    print(executions.table(rows, workflows.COLUMNS))
    return 0


def cmd_psql(settings, args) -> int:
    stack = runners(settings)
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
    "stop": (cmd_stop, "stop one part (--part db|emulator|worker|dashboard) to see how the stack fails"),
    "start": (cmd_start, "start that part again"),
    "clean": (cmd_clean, "stop the stack and delete its state (.stack/)"),
    "status": (cmd_status, "health of each part and the last tick; exit 1 if one is down or the tick failed"),
    "invoke": (cmd_invoke, "invoke the scheduler Lambda through the emulator and print its summary"),
    "watch": (cmd_watch, "on a saved change under a function's package, update just that function's code"),
    "logs": (cmd_logs, "the function's CloudWatch logs and the stack's own logs"),
    "queue": (cmd_queue, "peek at the queue and the DLQ (the emulator's record: no receive counted)"),
    "executions": (cmd_executions, "the latest executions with their timings and errors"),
    "workflow": (cmd_workflow, "add a workflow: --name, --cron, --tz (--owner, --status optional)"),
    "workflows": (cmd_workflows, "list the workflows, the next to run first"),
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
        if name in ("stop", "start"):
            command.add_argument("--part", default="", help="db, emulator, worker or dashboard")
        if name == "workflow":
            for option in ("name", "cron", "tz", "owner", "status"):
                command.add_argument(f"--{option}", default="")
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
