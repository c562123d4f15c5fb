# The queue the worker reads and its DLQ. Unlike the template (DeletionPolicy: Retain) a destroy deletes
# them: add lifecycle { prevent_destroy = true } in a copy that must keep work not yet done and its failures.
resource "aws_sqs_queue" "dlq" {
  name                      = "${var.name}-dlq"
  message_retention_seconds = var.dlq_message_retention_seconds
  sqs_managed_sse_enabled   = true # encrypted at rest with SQS's own keys (no KMS key to manage or pay for)
  tags                      = var.tags
}

resource "aws_sqs_queue" "this" {
  name                       = var.name
  message_retention_seconds  = var.message_retention_seconds
  visibility_timeout_seconds = var.visibility_timeout_seconds
  sqs_managed_sse_enabled    = true
  tags                       = var.tags

  redrive_policy = jsonencode({
    deadLetterTargetArn = aws_sqs_queue.dlq.arn
    maxReceiveCount     = var.max_receive_count
  })
}
