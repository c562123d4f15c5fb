"""MiniStack deploys a SAM `Events: Type: SQS` mapping, and the function consumes the queue under its own
least-privilege role with IAM enforced: the shape the worker (flow-builder-worker) takes in the template."""

import json
import time
import uuid

TEMPLATE = """
Transform: AWS::Serverless-2016-10-31
Resources:
  Work:
    Type: AWS::SQS::Queue
  Done:
    Type: AWS::SQS::Queue
  ConsumerRole:
    Type: AWS::IAM::Role
    Properties:
      AssumeRolePolicyDocument:
        Version: "2012-10-17"
        Statement:
          - {Effect: Allow, Principal: {Service: lambda.amazonaws.com}, Action: sts:AssumeRole}
      Policies:
        - PolicyName: consumer
          PolicyDocument:
            Version: "2012-10-17"
            Statement:
              - Effect: Allow
                Action: [sqs:ReceiveMessage, sqs:DeleteMessage, sqs:GetQueueAttributes]
                Resource: !GetAtt Work.Arn
              - Effect: Allow
                Action: [sqs:SendMessage]
                Resource: !GetAtt Done.Arn
  Consumer:
    Type: AWS::Serverless::Function
    Properties:
      Runtime: python3.12
      Handler: index.handler
      Role: !GetAtt ConsumerRole.Arn
      Environment:
        Variables:
          DONE_URL: !Ref Done
      InlineCode: |
        import os
        import boto3

        def handler(event, context):
            sqs = boto3.client("sqs")
            for record in event["Records"]:
                sqs.send_message(QueueUrl=os.environ["DONE_URL"], MessageBody=record["body"])
            return {"batchItemFailures": []}
      Events:
        Work:
          Type: SQS
          Properties:
            Queue: !GetAtt Work.Arn
            BatchSize: 10
            FunctionResponseTypes: [ReportBatchItemFailures]
Outputs:
  WorkUrl:
    Value: !Ref Work
  DoneUrl:
    Value: !Ref Done
"""
ACCOUNT = "100000000040"


def test_a_sam_sqs_event_source_consumes_the_queue_with_iam_enforced(aws):
    cfn, sqs, lam = aws(ACCOUNT, "cloudformation"), aws(ACCOUNT, "sqs"), aws(ACCOUNT, "lambda")
    capabilities = ["CAPABILITY_IAM", "CAPABILITY_AUTO_EXPAND"]
    cfn.create_stack(StackName="esm-probe", TemplateBody=TEMPLATE, Capabilities=capabilities)
    cfn.get_waiter("stack_create_complete").wait(StackName="esm-probe", WaiterConfig={"Delay": 1, "MaxAttempts": 120})
    (stack,) = cfn.describe_stacks(StackName="esm-probe")["Stacks"]
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stack["Outputs"]}
    (mapping,) = lam.list_event_source_mappings()["EventSourceMappings"]
    assert mapping["BatchSize"] == 10 and mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]

    bodies = {json.dumps({"execution_id": str(uuid.uuid4())}) for _ in range(3)}
    for body in bodies:
        sqs.send_message(QueueUrl=outputs["WorkUrl"], MessageBody=body)
    consumed, left, deadline = set(), None, time.monotonic() + 120
    # Consumed means delivered to the function and then deleted from the work queue (after it returned).
    while (consumed != bodies or left != ("0", "0")) and time.monotonic() < deadline:
        reply = sqs.receive_message(QueueUrl=outputs["DoneUrl"], MaxNumberOfMessages=10, WaitTimeSeconds=1)
        for message in reply.get("Messages", []):
            consumed.add(message["Body"])
            sqs.delete_message(QueueUrl=outputs["DoneUrl"], ReceiptHandle=message["ReceiptHandle"])
        attributes = sqs.get_queue_attributes(QueueUrl=outputs["WorkUrl"], AttributeNames=["All"])["Attributes"]
        left = (attributes["ApproximateNumberOfMessages"], attributes["ApproximateNumberOfMessagesNotVisible"])
    assert consumed == bodies
    # (MiniStack delivers even without sqs:ReceiveMessage, but deletes only with sqs:DeleteMessage.)
    assert left == ("0", "0"), "waiting, in flight on the work queue"
