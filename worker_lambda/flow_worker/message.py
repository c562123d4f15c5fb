"""The execution message (contracts/execution-message.schema.json), validated by fastjsonschema (what Powertools'
validation uses), compiled once per container rather than per message as Powertools' validate() would."""

from __future__ import annotations

import json
from dataclasses import dataclass
import re
from datetime import datetime, timedelta
from functools import cache
from pathlib import Path
from uuid import UUID

import fastjsonschema

# A link to contracts/ in the repository; the zip carries the file itself.
SCHEMA_FILE = Path(__file__).with_name("execution-message.schema.json")


class InvalidMessage(ValueError):
    """The body breaks the contract; the message says how."""


@dataclass(frozen=True)
class ExecutionMessage:
    execution_id: UUID
    workflow_id: UUID
    user_id: UUID
    trigger: str
    queued_at: datetime


@cache
def _validator():
    return fastjsonschema.compile(json.loads(SCHEMA_FILE.read_text()))


def check(body: object) -> None:
    """Raise InvalidMessage unless `body` (a parsed JSON value) follows the contract."""
    try:
        _validator()(body)
    except fastjsonschema.JsonSchemaValueException as err:
        raise InvalidMessage(err.message) from None


def parse(text: str) -> ExecutionMessage:
    try:
        body = json.loads(text)
    except json.JSONDecodeError as err:
        raise InvalidMessage(f"the body is not JSON ({err.msg} at character {err.pos})") from None
    check(body)
    return ExecutionMessage(
        execution_id=UUID(body["execution_id"]),
        workflow_id=UUID(body["workflow_id"]),
        user_id=UUID(body["user_id"]),
        trigger=body["trigger"],
        queued_at=instant(body["queued_at"]),
    )


_LEAP_SECOND = re.compile(r"(T\d\d:\d\d:)60")


def instant(text: str) -> datetime:
    """An RFC 3339 date-time as the schema's format accepts it, which fromisoformat alone does not: `t`/`z` in
    either case, and a leap second (read as the next second's start, as PostgreSQL reads 23:59:60)."""
    normal = text.upper()
    leap = _LEAP_SECOND.search(normal)
    if leap:
        normal = _LEAP_SECOND.sub(r"\g<1>59", normal, count=1)
    try:
        return datetime.fromisoformat(normal) + timedelta(seconds=1 if leap else 0)
    except (ValueError, OverflowError) as err:
        raise InvalidMessage(f"data.queued_at={text!r} is not a usable date-time: {err}") from None
