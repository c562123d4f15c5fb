"""The scheduler's boto3 configuration, seen in the request botocore would put on the wire."""

from __future__ import annotations

import boto3
import pytest

from flow_scheduler.clients import USER_AGENT, aws_config


class Sent(Exception):
    """Raised from before-send: the request is seen, nothing leaves the process."""


def test_every_request_carries_the_fixed_user_agent_and_skips_client_side_validation():
    client = boto3.client(
        "sqs", config=aws_config("eu-west-1", 8), endpoint_url="http://127.0.0.1:9", aws_access_key_id="x", aws_secret_access_key="x"
    )
    seen = []

    def capture(request, **_):
        seen.append(request)
        raise Sent

    client.meta.events.register("before-send.sqs.*", capture)
    # No MessageBody: validation would refuse this entry before any request is built.
    for _ in range(2):
        with pytest.raises(Sent):
            client.send_message_batch(QueueUrl="http://127.0.0.1:9/000000000000/q", Entries=[{"Id": "1"}])
    first, second = (request.headers["User-Agent"].decode() for request in seen)
    assert first.startswith(f"{USER_AGENT} Botocore/") and second == first
    assert client.meta.config.max_pool_connections == 8 and client.meta.region_name == "eu-west-1"
