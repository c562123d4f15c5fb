"""Lambda entry point: `flow_scheduler.handler.lambda_handler`, invoked by an EventBridge rule."""

from __future__ import annotations

import logging
import os
from functools import cache

import boto3

from flow_common import logs
from flow_common.db import Database, DatabaseUnavailable
from flow_common.logs import log

from . import metrics
from .clients import aws_config
from .config import ConfigError, load_settings
from .deadline import Deadline
from .fanout import Launcher, Origin, is_copy
from .sqs import Sender
from .tick import Tick

@cache
def _tick() -> tuple[Tick, int]:
    """Built once per container: settings, boto3 clients, the database connection.
    A failure is not cached, so a fixed setting takes effect on the next invocation."""
    settings = load_settings(os.environ)
    logs.configure(settings.log_level)
    # boto3 reads AWS_ENDPOINT_URL (and AWS_ENDPOINT_URL_SQS, ...) itself: set locally, unset on AWS.
    aws = aws_config(settings.region, settings.send_concurrency)
    secrets = boto3.client("secretsmanager", config=aws) if settings.use_db_secrets else None
    database = Database.for_settings(settings, secrets)
    sender = Sender(boto3.client("sqs", config=aws), settings.sqs_url, settings.send_concurrency)
    launcher = None
    if settings.max_fanout:
        launcher = Launcher(boto3.client("lambda", config=aws), settings.max_fanout, settings.fanout_threshold)
    tick = Tick(database, sender, settings.batch_size, settings.redrive_after_seconds, launcher)
    return tick, settings.timeout_margin_ms


def lambda_handler(event, context):
    try:
        tick, margin_ms = _tick()
    except ConfigError as err:
        logs.configure()
        log("config_error", logging.ERROR, error=str(err))
        raise ConfigError(str(err)) from None
    deadline = Deadline.of(context, margin_ms)
    at_start = deadline.remaining_ms()
    if at_start <= margin_ms:
        log(
            "config_error",
            logging.ERROR,
            error=f"TIMEOUT_MARGIN_MS={margin_ms} is not below the {at_start} ms this invocation has, so it does "
            "nothing: lower TIMEOUT_MARGIN_MS or raise the function's timeout",
        )
    copy = is_copy(event)
    origin = None
    if tick.fans_out and context is not None and not copy:  # a copy never fans out further
        origin = Origin(context.invoked_function_arn, context.aws_request_id)
    try:
        summary = tick.run(deadline, origin=origin)
    except Exception as err:
        # One searchable line whatever went wrong; the first line of the message only (no SQL, no row data).
        lines = str(err).strip().splitlines()
        log("tick_failed", logging.ERROR, error_type=type(err).__name__, error=lines[0] if lines else "")
        if isinstance(err, (DatabaseUnavailable, ConfigError)):
            raise type(err)(str(err)) from None  # its message says it all: no traceback
        raise
    result = summary.as_dict()
    log("tick", **result, **({"copy_of": event.get("of")} if copy else {}))
    log("metrics", **metrics.emf(result))
    return result
