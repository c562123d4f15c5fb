data "aws_partition" "current" {}

locals {
  is_zip      = var.package_type == "Zip"
  policy_name = coalesce(var.policy_name, var.function_name)
  in_vpc      = length(var.subnet_ids) > 0
}

# The group exists, with its retention, before the function's first log line.
resource "aws_cloudwatch_log_group" "this" {
  #checkov:skip=CKV_AWS_158:CloudWatch Logs encrypts every group with its own keys; a KMS key would need a key policy for the logs service and is not in the design
  #checkov:skip=CKV_AWS_338:Retention is log_retention_days (LOG_RETENTION_DAYS, default 30 as the template's): a year of logs is the operator's choice, not the module's
  name              = "/aws/lambda/${var.function_name}"
  retention_in_days = var.log_retention_days
  tags              = var.tags
}

data "aws_iam_policy_document" "assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["lambda.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "this" {
  name_prefix        = substr("${var.function_name}-", 0, 38)
  assume_role_policy = data.aws_iam_policy_document.assume.json
  tags               = var.tags
}

# Least privilege: its own log group, one queue, the secret only when it reads it, what the caller adds.
data "aws_iam_policy_document" "this" {
  statement {
    sid     = "OwnLogs"
    actions = ["logs:CreateLogStream", "logs:PutLogEvents"]
    # The group's ARN without ":*" (as the provider gives it) matches no log stream.
    resources = ["${aws_cloudwatch_log_group.this.arn}:*"]
  }

  dynamic "statement" {
    for_each = var.sqs_queue_arn == null ? [] : [var.sqs_queue_arn]
    content {
      sid = "SendToQueue"
      # On AWS sqs:SendMessage also covers SendMessageBatch; MiniStack 1.5.33 checks the batch call as
      # sqs:SendMessageBatch, an action AWS does not define (and ignores here).
      actions   = ["sqs:SendMessage", "sqs:SendMessageBatch"]
      resources = [statement.value]
    }
  }

  dynamic "statement" {
    for_each = var.read_secret ? [var.secret_arn] : []
    content {
      sid       = "ReadDatabaseSecret"
      actions   = ["secretsmanager:GetSecretValue"]
      resources = [statement.value]
    }
  }

  dynamic "statement" {
    for_each = var.policy_statements
    content {
      sid       = statement.key
      actions   = statement.value.actions
      resources = statement.value.resources
    }
  }
}

resource "aws_iam_role_policy" "this" {
  name   = local.policy_name
  role   = aws_iam_role.this.id
  policy = data.aws_iam_policy_document.this.json
}

resource "aws_iam_role_policy_attachment" "vpc" {
  count      = local.in_vpc ? 1 : 0
  role       = aws_iam_role.this.name
  policy_arn = "arn:${data.aws_partition.current.partition}:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole"
}

resource "aws_lambda_function" "this" {
  #checkov:skip=CKV_AWS_116:No function DLQ: the worker is fed by an SQS event source mapping (which never uses one; the queue's redrive policy is its DLQ), a failed scheduler tick is redone by the next tick and counted by the errors alarm
  #checkov:skip=CKV_AWS_115:No reserved concurrency: it takes from the account's unreserved pool (a new account's minimum of 10 refuses it) and would cap MAX_FANOUT's self-invocations
  #checkov:skip=CKV_AWS_173:Lambda encrypts environment variables at rest with its AWS managed key; on AWS the password comes from Secrets Manager (USE_DB_SECRETS), it is in the environment only on the local stack
  #checkov:skip=CKV_AWS_272:No code signing: the zip and image are built by make from this repository and no signing profile is in the design
  #checkov:skip=CKV_AWS_50:No X-Ray tracing, as the template: it needs xray:PutTraceSegments in both roles and is paid per trace; the structured logs and the alarms are the design's observability
  count = var.create_function ? 1 : 0

  function_name = var.function_name
  description   = var.description
  role          = aws_iam_role.this.arn
  package_type  = var.package_type
  image_uri     = local.is_zip ? null : var.image_uri
  filename      = local.is_zip ? var.filename : null
  # filebase64sha256 of the zip: unchanged code is no change.
  source_code_hash = local.is_zip ? var.source_code_hash : null
  handler          = local.is_zip ? var.handler : null
  runtime          = local.is_zip ? var.runtime : null
  architectures    = [var.architecture]
  memory_size      = var.memory_size
  timeout          = var.timeout
  tags             = var.tags

  environment {
    variables = var.env_vars
  }

  dynamic "vpc_config" {
    for_each = local.in_vpc ? [1] : []
    content {
      subnet_ids         = var.subnet_ids
      security_group_ids = var.security_group_ids
    }
  }

  depends_on = [aws_cloudwatch_log_group.this, aws_iam_role_policy.this]
}
