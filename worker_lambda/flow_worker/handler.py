"""Lambda entry point: `flow_worker.handler.lambda_handler`, fed by an SQS event source mapping
with ReportBatchItemFailures: a record that raises is retried by SQS (then the DLQ); the others are done."""

from __future__ import annotations

import logging
import os
from functools import cache

import boto3
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from botocore.config import Config

from flow_common import logs
from flow_common.db import Database
from flow_common.logs import log

from .config import ConfigError, load_worker_settings
from .lifecycle import Lifecycle, StillRunning
from .message import InvalidMessage, parse
from .runner import simulated

# One whole batch always comes back as batchItemFailures, even when every record failed.
processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)


@cache
def _lifecycle() -> Lifecycle:
    """Built once per container; a failure is not cached, so a fixed setting applies on the next invocation."""
    settings = load_worker_settings(os.environ)
    logs.configure(settings.log_level)
    secrets = None
    if settings.use_db_secrets:
        aws = Config(region_name=settings.region, retries={"mode": "standard", "max_attempts": 3})
        secrets = boto3.client("secretsmanager", config=aws)
    database = Database.for_settings(settings, secrets)
    return Lifecycle(
        database, simulated(settings.simulated_ms), settings.running_timeout_seconds, settings.max_attempts
    )


def record_handler(record: SQSRecord) -> str:
    """One message: parse, act, raise on failure (the processor makes it a batch item failure)."""
    try:
        message = parse(record.body)
    except InvalidMessage as err:
        log("message_invalid", logging.ERROR, message_id=record.message_id,
            receive_count=record.attributes.approximate_receive_count,
            error=f"not a valid execution message: {err} (see contracts/execution-message.schema.json); "
                  "SQS delivers it again, then moves it to the DLQ: fix the sender")  # fmt: skip
        raise
    try:
        return _lifecycle().handle(message)
    except StillRunning:
        raise  # logged as execution_still_running: expected, not an error
    except Exception as err:
        log("execution_error", logging.ERROR, message_id=record.message_id,
            execution_id=str(message.execution_id), error=f"{type(err).__name__}: {err}; SQS delivers it again")  # fmt: skip
        raise


def lambda_handler(event, context):
    try:
        _lifecycle()
    except ConfigError as err:
        logs.configure()
        log("config_error", logging.ERROR, error=str(err))
        raise ConfigError(str(err)) from None
    response = process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )
    log("worker_batch", received=len(event.get("Records", [])), failed=len(response["batchItemFailures"]))
    return response
