# The FlowBuilder scheduler as infra/template.yaml declares it: the rule invokes the scheduler, which
# enqueues due workflows to the queue; the worker consumes it. Names are contract 6's.

provider "aws" {
  region = var.aws_region
}

data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}

locals {
  name_prefix    = var.name_prefix
  is_zip         = var.package_type == "Zip"
  has_scheduler  = var.create_lambda && (local.is_zip || var.lambda_image_uri != "")
  creates_secret = var.db_secret_arn == ""
  secret_arn     = local.creates_secret ? aws_secretsmanager_secret.db[0].arn : var.db_secret_arn
  scheduler_name = "${local.name_prefix}-scheduler"
  worker_name    = "${local.name_prefix}-worker"

  common_env = {
    DB_HOST            = var.db_host
    DB_PORT            = tostring(var.db_port)
    DB_NAME            = var.db_name
    DB_USER            = var.db_username
    DB_PASSWORD        = var.db_password
    DB_SSL_MODE        = var.db_ssl_mode
    DB_SSL_ROOT_CERT   = var.db_ssl_root_cert
    CUSTOM_AWS_REGION  = var.aws_region
    USE_DB_SECRETS     = tostring(var.use_db_secrets)
    DB_SECRET_ID       = local.secret_arn
    DB_CONNECT_TIMEOUT = tostring(var.db_connect_timeout)
    LOG_LEVEL          = var.log_level
  }
}

module "workflow_queue" {
  source = "./modules/queue"

  name                       = "${local.name_prefix}-queue"
  visibility_timeout_seconds = var.queue_visibility_timeout
}

# ---- the database credentials (RDS secret format) ---------------------------------------------------

resource "aws_secretsmanager_secret" "db" {
  #checkov:skip=CKV_AWS_149:Encrypted with the AWS managed key aws/secretsmanager; a customer key would need a key policy for both roles and is not in the design
  #checkov:skip=CKV2_AWS_57:No rotation, as the template: it needs a rotation function with network access to the database and the design has none
  count = local.creates_secret ? 1 : 0

  name        = "${local.name_prefix}/db"
  description = "FlowBuilder database credentials (RDS format)"
}

locals {
  secret_fields = {
    engine   = "postgres"
    host     = var.db_host
    port     = var.db_port
    username = var.db_username
    dbname   = var.db_name
  }
}

# A given password (the local stack) is stored and kept in step with db_password.
resource "aws_secretsmanager_secret_version" "db" {
  count = local.creates_secret && var.db_password != "" ? 1 : 0

  secret_id     = aws_secretsmanager_secret.db[0].id
  secret_string = jsonencode(merge(local.secret_fields, { password = var.db_password }))
}

# None given (AWS): one is generated once, then left alone (a new one each plan would lock the database out).
data "aws_secretsmanager_random_password" "db" {
  count = local.creates_secret && var.db_password == "" ? 1 : 0

  password_length    = 32
  exclude_characters = "\"@/\\'"
}

resource "aws_secretsmanager_secret_version" "generated" {
  count = local.creates_secret && var.db_password == "" ? 1 : 0

  secret_id     = aws_secretsmanager_secret.db[0].id
  secret_string = jsonencode(merge(local.secret_fields, { password = data.aws_secretsmanager_random_password.db[0].random_password }))

  lifecycle {
    ignore_changes = [secret_string]
  }
}

# ---- where make push puts the image ---------------------------------------------------------------

resource "aws_ecr_repository" "scheduler" {
  #checkov:skip=CKV_AWS_136:Encrypted at rest with ECR's AES-256 default; a KMS key is not in the design
  #checkov:skip=CKV_AWS_51:make push pushes the tag latest again and points the function at it (the seed's image_uri), so tags must be mutable
  count = var.create_repository ? 1 : 0

  name = "${local.name_prefix}-scheduler"

  image_scanning_configuration {
    scan_on_push = true
  }
}

# Lambda pulls the image with the repository's policy, not the execution role.
resource "aws_ecr_repository_policy" "scheduler" {
  count = var.create_repository ? 1 : 0

  repository = aws_ecr_repository.scheduler[0].name
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Sid       = "LambdaPull"
      Effect    = "Allow"
      Principal = { Service = "lambda.amazonaws.com" }
      Action    = ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"]
      Condition = {
        StringLike = {
          "aws:sourceArn" = "arn:${data.aws_partition.current.partition}:lambda:${var.aws_region}:${data.aws_caller_identity.current.account_id}:function:*"
        }
      }
    }]
  })
}

# ---- the scheduler function -------------------------------------------------------------------------

module "scheduler_lambda" {
  source = "./modules/lambda"

  function_name   = local.scheduler_name
  description     = "FlowBuilder scheduler, enqueues due workflows"
  package_type    = var.package_type
  image_uri       = local.is_zip ? null : var.lambda_image_uri
  memory_size     = var.lambda_memory_size
  timeout         = var.lambda_timeout
  create_function = local.has_scheduler
  sqs_queue_arn   = module.workflow_queue.queue_arn

  filename           = local.is_zip ? var.scheduler_zip : null
  source_code_hash   = local.is_zip ? filebase64sha256(var.scheduler_zip) : null
  handler            = "flow_scheduler.handler.lambda_handler"
  runtime            = "python3.12"
  architecture       = var.lambda_architecture
  policy_name        = "scheduler"
  log_retention_days = var.log_retention_days
  subnet_ids         = var.subnet_ids
  security_group_ids = var.security_group_ids
  read_secret        = var.use_db_secrets
  secret_arn         = local.secret_arn

  # Fan-out's copies are this function, invoked on its own ARN (spelled from its name: the function's
  # ARN would make the function and its role depend on each other).
  policy_statements = var.max_fanout > 0 ? {
    InvokeOwnCopies = {
      actions   = ["lambda:InvokeFunction"]
      resources = ["arn:${data.aws_partition.current.partition}:lambda:${var.aws_region}:${data.aws_caller_identity.current.account_id}:function:${local.scheduler_name}"]
    }
  } : {}

  env_vars = merge(local.common_env, {
    SQS_URL               = module.workflow_queue.queue_url
    REDRIVE_AFTER_SECONDS = tostring(var.redrive_after_seconds)
    BATCH_SIZE            = tostring(var.batch_size)
    SEND_CONCURRENCY      = tostring(var.send_concurrency)
    MAX_FANOUT            = tostring(var.max_fanout)
    FANOUT_THRESHOLD      = tostring(var.fanout_threshold)
    TIMEOUT_MARGIN_MS     = tostring(var.timeout_margin_ms)
  })
}

resource "aws_cloudwatch_event_rule" "scheduler" {
  count = local.has_scheduler ? 1 : 0

  name                = local.scheduler_name
  description         = "Invokes the FlowBuilder scheduler"
  schedule_expression = var.schedule_expression
  state               = "ENABLED"
}

resource "aws_cloudwatch_event_target" "scheduler" {
  count = local.has_scheduler ? 1 : 0

  rule      = aws_cloudwatch_event_rule.scheduler[0].name
  target_id = local.scheduler_name
  arn       = module.scheduler_lambda.function_arn
}

resource "aws_lambda_permission" "scheduler_events" {
  count = local.has_scheduler ? 1 : 0

  function_name = module.scheduler_lambda.function_name
  action        = "lambda:InvokeFunction"
  principal     = "events.amazonaws.com"
  source_arn    = aws_cloudwatch_event_rule.scheduler[0].arn
}

# ---- the worker function, fed by the queue --------------------------------------------------------------

module "worker_lambda" {
  source = "./modules/lambda"

  function_name = local.worker_name
  description   = "FlowBuilder reference worker, carries each queued execution to completed or failed"
  package_type  = "Zip"
  memory_size   = 256
  timeout       = var.worker_timeout

  filename           = var.worker_zip
  source_code_hash   = filebase64sha256(var.worker_zip)
  handler            = "flow_worker.handler.lambda_handler"
  runtime            = "python3.12"
  architecture       = var.lambda_architecture
  policy_name        = "worker"
  log_retention_days = var.log_retention_days
  subnet_ids         = var.subnet_ids
  security_group_ids = var.security_group_ids
  read_secret        = var.use_db_secrets
  secret_arn         = local.secret_arn

  # What the event source mapping does on the queue under this role.
  policy_statements = {
    ConsumeQueue = {
      actions   = ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility", "sqs:GetQueueAttributes"]
      resources = [module.workflow_queue.queue_arn]
    }
  }

  env_vars = merge(local.common_env, {
    WORKER_SIMULATED_MS            = tostring(var.worker_simulated_ms)
    WORKER_RUNNING_TIMEOUT_SECONDS = tostring(var.worker_running_timeout_seconds)
    WORKER_MAX_ATTEMPTS            = tostring(var.worker_max_attempts)
  })
}

resource "aws_lambda_event_source_mapping" "worker" {
  event_source_arn        = module.workflow_queue.queue_arn
  function_name           = module.worker_lambda.function_arn
  batch_size              = 10
  function_response_types = ["ReportBatchItemFailures"]
}

# ---- alarms (no actions: add alarm_actions to notify) ------------------------------------------------

locals {
  alarms = merge(
    {
      "${local.name_prefix}-queue-dlq-not-empty" = {
        description = "Messages the worker failed 5 times are waiting in ${module.workflow_queue.dlq_name}."
        namespace   = "AWS/SQS"
        metric      = "ApproximateNumberOfMessagesVisible"
        dimensions  = { QueueName = module.workflow_queue.dlq_name }
        statistic   = "Maximum"
        period      = 300
        evaluations = 1
      }
      "${local.name_prefix}-worker-errors" = {
        description = "Worker invocations failed as a whole (bad settings, a crash); their messages come back, then go to the DLQ. See its log group."
        namespace   = "AWS/Lambda"
        metric      = "Errors"
        dimensions  = { FunctionName = module.worker_lambda.function_name }
        statistic   = "Sum"
        period      = 60
        evaluations = 3
      }
      # From the tick line's embedded metrics (flow_scheduler/metrics.py).
      "${local.name_prefix}-scheduler-executions-left-pending" = {
        description = "Every tick for 5 minutes left executions pending (send_failed lines); check SQS and the role's sqs:SendMessage."
        namespace   = "FlowBuilder/Scheduler"
        metric      = "failed"
        dimensions  = { service = local.scheduler_name }
        statistic   = "Sum"
        period      = 60
        evaluations = 5
      }
    },
    local.has_scheduler ? {
      "${local.name_prefix}-scheduler-errors" = {
        description = "Scheduler invocations failed (database unreachable, bad settings); see its log group."
        namespace   = "AWS/Lambda"
        metric      = "Errors"
        dimensions  = { FunctionName = local.scheduler_name }
        statistic   = "Sum"
        period      = 60
        evaluations = 3
      }
    } : {}
  )
}

resource "aws_cloudwatch_metric_alarm" "this" {
  for_each = local.alarms

  alarm_name          = each.key
  alarm_description   = each.value.description
  namespace           = each.value.namespace
  metric_name         = each.value.metric
  dimensions          = each.value.dimensions
  statistic           = each.value.statistic
  period              = each.value.period
  evaluation_periods  = each.value.evaluations
  threshold           = 0
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
}
