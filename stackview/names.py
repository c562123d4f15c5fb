"""The stack's resource names: infra/template.yaml and infra/terraform declare them, the code reads them here
(tests/infra/test_template.py checks the template against this file)."""

STACK = "flow-builder"
FUNCTION = "flow-builder-scheduler"
WORKER = "flow-builder-worker"
QUEUE = "flow-builder-queue"
DLQ = "flow-builder-queue-dlq"
RULE = "flow-builder-scheduler"
LOG_GROUP = f"/aws/lambda/{FUNCTION}"
WORKER_LOG_GROUP = f"/aws/lambda/{WORKER}"
