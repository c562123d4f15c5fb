"""Peeking (`make queue`, the dashboard's Queue view) counts no receive on the real MiniStack: a message
peeked more times than the redrive policy's maxReceiveCount stays on its queue, never in the DLQ."""

import json
import uuid

from dashboard.cloud import Cloud
from stackview.queue_peek import peek

ACCOUNT = "100000000030"


def test_seven_peeks_leave_the_receive_count_at_zero_and_the_dlq_empty(aws, emulator):
    sqs = aws(ACCOUNT, "sqs")
    dlq = sqs.create_queue(QueueName=f"dlq-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    policy = json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 5})
    queue = sqs.create_queue(QueueName=f"q-{uuid.uuid4().hex[:8]}", Attributes={"RedrivePolicy": policy})["QueueUrl"]
    sent = sqs.send_message(QueueUrl=queue, MessageBody='{"execution_id": "x"}')["MessageId"]

    for _ in range(7):
        (message,) = peek(emulator.url, queue)
        assert (message["id"], message["receives"], message["in_flight"]) == (sent, 0, False)
        assert json.loads(message["body"]) == {"execution_id": "x"}
    assert peek(emulator.url, dlq) == []

    # The worker's first real receive is the first one counted; the DLQ never saw it.
    (received,) = sqs.receive_message(QueueUrl=queue, AttributeNames=["ApproximateReceiveCount"])["Messages"]
    assert received["MessageId"] == sent and received["Attributes"]["ApproximateReceiveCount"] == "1"
    assert sqs.receive_message(QueueUrl=dlq, WaitTimeSeconds=0).get("Messages", []) == []


def test_the_dashboards_peek_is_the_same_read(aws, emulator):
    sqs = aws("000000000000", "sqs")
    name = f"dash-{uuid.uuid4().hex[:8]}"
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="not json")
    cloud = Cloud(emulator.url, "us-east-1")
    for _ in range(6):
        (message,) = cloud.peek(name)
        assert (message["body"], message["receives"]) == ("not json", 0)
