"""The worker's rows of the status table, against the real MiniStack."""

from __future__ import annotations

import io
import json
import uuid
import zipfile

import boto3
import pytest

from stackview.status import worker_parts


@pytest.fixture
def lam(aws_env):
    return boto3.client("lambda", region_name="us-east-1")


def a_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("flow_worker/__init__.py", "")
    return buffer.getvalue()


def test_a_missing_worker_is_a_row_that_says_so(lam):
    (row,) = worker_parts(lam, f"absent-{uuid.uuid4().hex[:8]}")
    assert (row.name, row.ok) == ("worker", False) and "missing" in row.state


def test_the_worker_and_its_mapping(lam, sqs, queue):
    name = f"worker-{uuid.uuid4().hex[:8]}"
    iam = boto3.client("iam", region_name="us-east-1")  # the emulator enforces IAM: the role must exist
    trust = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]}  # fmt: skip
    role = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
    lam.create_function(FunctionName=name, Runtime="python3.12", Handler="flow_worker.handler.lambda_handler",
                        Role=role, Code={"ZipFile": a_zip()})  # fmt: skip
    lam.get_waiter("function_active_v2").wait(FunctionName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 120})
    arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    try:
        assert [(p.name, p.ok) for p in worker_parts(lam, name)] == [("worker", True), ("mapping", False)]
        mapping = lam.create_event_source_mapping(FunctionName=name, EventSourceArn=arn, BatchSize=10, Enabled=False,
                                                  FunctionResponseTypes=["ReportBatchItemFailures"])  # fmt: skip
        worker, feed = worker_parts(lam, name)
        assert worker.state == "Active (flow_worker.handler.lambda_handler)"
        assert feed.where == f"{arn.rsplit(':', 1)[-1]} -> {name}" and feed.state.endswith("batch 10, partial failures")
        assert feed.ok is False  # disabled: nothing is consumed
        lam.delete_event_source_mapping(UUID=mapping["UUID"])
    finally:
        lam.delete_function(FunctionName=name)
        iam.delete_role(RoleName=name)
