# Inputs as the seed names them, defaults as infra/template.yaml's parameters, and the checks make up makes.

variable "aws_region" {
  description = "Region of every resource (CUSTOM_AWS_REGION)"
  type        = string
  default     = "us-east-1"
}

variable "name_prefix" {
  description = "Prefix of every name (contract 6: flow-builder)"
  type        = string
  default     = "flow-builder"
}

# ---- the code ------------------------------------------------------------------------------------

variable "package_type" {
  description = "The scheduler as an Image on AWS (lambda_image_uri), Zip on the emulator (scheduler_zip); the worker is always a zip"
  type        = string
  default     = "Image"

  validation {
    condition     = contains(["Image", "Zip"], var.package_type)
    error_message = "package_type must be Image or Zip (LAMBDA_PACKAGE=image or zip)."
  }
}

variable "lambda_image_uri" {
  description = "The scheduler image when package_type is Image (empty on a first deployment, before make push)"
  type        = string
  default     = ""
}

variable "scheduler_zip" {
  description = "The scheduler zip (scheduler_lambda/package_zip.py) when package_type is Zip"
  type        = string
  default     = ""
}

variable "worker_zip" {
  description = "The worker zip (package_zip.py with worker_lambda/requirements.txt)"
  type        = string
}

variable "lambda_architecture" {
  description = "Lambda architecture of both functions (LAMBDA_ARCH)"
  type        = string
  default     = "x86_64"

  validation {
    condition     = contains(["x86_64", "arm64"], var.lambda_architecture)
    error_message = "lambda_architecture must be x86_64 or arm64 (LAMBDA_ARCH)."
  }
}

variable "lambda_memory_size" {
  description = "Scheduler memory in MB (LAMBDA_MEMORY_MB)"
  type        = number
  default     = 256

  validation {
    condition     = var.lambda_memory_size >= 128 && var.lambda_memory_size <= 10240
    error_message = "lambda_memory_size must be from 128 to 10240 MB (LAMBDA_MEMORY_MB)."
  }
}

variable "lambda_timeout" {
  description = "Scheduler timeout in seconds (the tick stops timeout_margin_ms before it)"
  type        = number
  default     = 60

  validation {
    condition     = var.lambda_timeout >= 1 && var.lambda_timeout <= 900
    error_message = "lambda_timeout must be from 1 to 900 seconds."
  }
}

variable "create_lambda" {
  description = "false: everything but the scheduler function and its rule (a first deployment to AWS, before make push)"
  type        = bool
  default     = true
}

variable "create_repository" {
  description = "Declare the ECR repository flow-builder-scheduler (CREATE_REPOSITORY)"
  type        = bool
  default     = true
}

# ---- the schedule and the network ------------------------------------------------------------------

variable "schedule_expression" {
  description = "How often EventBridge invokes the scheduler (SCHEDULE_EXPRESSION)"
  type        = string
  default     = "rate(1 minute)"

  validation {
    condition     = can(regex("^(rate|cron)\\(.+\\)$", var.schedule_expression))
    error_message = "schedule_expression must be rate(...) or cron(...) (SCHEDULE_EXPRESSION)."
  }
}

variable "subnet_ids" {
  description = "Subnets from which the functions reach the database (empty: no VPC)"
  type        = list(string)
  default     = []
}

variable "security_group_ids" {
  description = "Security groups of the functions when subnet_ids is set"
  type        = list(string)
  default     = []
}

variable "log_retention_days" {
  description = "Days CloudWatch keeps both functions' logs (LOG_RETENTION_DAYS)"
  type        = number
  default     = 30

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1827, 3653], var.log_retention_days)
    error_message = "log_retention_days must be one CloudWatch offers: 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1827 or 3653."
  }
}

# ---- the database --------------------------------------------------------------------------------

variable "db_host" {
  description = "DB_HOST as the functions reach it (RDS endpoint on AWS)"
  type        = string

  validation {
    condition     = length(trimspace(var.db_host)) > 0
    error_message = "db_host is empty: set it to the database host the function reaches (FUNCTION_DB_HOST or DB_HOST)."
  }
}

variable "db_port" {
  description = "DB_PORT"
  type        = number
  default     = 5432

  validation {
    condition     = var.db_port >= 1 && var.db_port <= 65535
    error_message = "db_port must be a port from 1 to 65535."
  }
}

variable "db_name" {
  description = "DB_NAME"
  type        = string
  default     = "flow-builder"
}

variable "db_username" {
  description = "DB_USER (also the secret's username)"
  type        = string
  default     = "root"
}

variable "db_password" {
  description = "DB_PASSWORD; empty on AWS, where the secret holds a generated one (use_db_secrets true)"
  type        = string
  default     = ""
  sensitive   = true
}

variable "db_ssl_mode" {
  description = "DB_SSL_MODE (require for RDS; disable for the local Postgres)"
  type        = string
  default     = "require"

  validation {
    condition     = contains(["disable", "allow", "prefer", "require", "verify-ca", "verify-full"], var.db_ssl_mode)
    error_message = "db_ssl_mode must be disable, allow, prefer, require, verify-ca or verify-full (DB_SSL_MODE)."
  }
}

variable "db_ssl_root_cert" {
  description = "DB_SSL_ROOT_CERT, the CA bundle's path as the function sees it; empty for none"
  type        = string
  default     = ""
}

variable "use_db_secrets" {
  description = "USE_DB_SECRETS; true also grants the functions secretsmanager:GetSecretValue on the secret"
  type        = bool
  default     = false
}

variable "db_secret_arn" {
  description = "An existing secret (RDS JSON format) to use; empty: the module's secret flow-builder/db"
  type        = string
  default     = ""
}

# ---- the scheduler's settings (README, Configuration) -----------------------------------------------

variable "redrive_after_seconds" {
  description = "REDRIVE_AFTER_SECONDS"
  type        = number
  default     = 60
}

variable "batch_size" {
  description = "BATCH_SIZE"
  type        = number
  default     = 500
}

variable "send_concurrency" {
  description = "SEND_CONCURRENCY"
  type        = number
  default     = 8
}

variable "max_fanout" {
  description = "MAX_FANOUT (0 = off); above 0 also grants lambda:InvokeFunction on the scheduler's own ARN"
  type        = number
  default     = 0

  validation {
    condition     = var.max_fanout >= 0 && var.max_fanout <= 100
    error_message = "max_fanout must be from 0 to 100 (MAX_FANOUT)."
  }
}

variable "fanout_threshold" {
  description = "FANOUT_THRESHOLD"
  type        = number
  default     = 0

  validation {
    condition     = var.fanout_threshold >= 0
    error_message = "fanout_threshold must be 0 or more (FANOUT_THRESHOLD)."
  }
}

variable "timeout_margin_ms" {
  description = "TIMEOUT_MARGIN_MS"
  type        = number
  default     = 10000
}

variable "db_connect_timeout" {
  description = "DB_CONNECT_TIMEOUT"
  type        = number
  default     = 5
}

variable "log_level" {
  description = "LOG_LEVEL"
  type        = string
  default     = "INFO"

  validation {
    condition     = contains(["DEBUG", "INFO", "WARNING", "ERROR"], var.log_level)
    error_message = "log_level must be DEBUG, INFO, WARNING or ERROR (LOG_LEVEL)."
  }
}

# ---- the worker's settings (README, The worker) --------------------------------------------------------
# The stuck-running rule: worker_timeout < worker_running_timeout_seconds < queue_visibility_timeout.

variable "queue_visibility_timeout" {
  description = "Seconds a message delivered to the worker stays hidden (QUEUE_VISIBILITY_TIMEOUT_SECONDS)"
  type        = number
  default     = 180

  validation {
    condition     = var.queue_visibility_timeout >= 0 && var.queue_visibility_timeout <= 43200
    error_message = "queue_visibility_timeout must be from 0 to 43200 seconds (QUEUE_VISIBILITY_TIMEOUT_SECONDS)."
  }
}

variable "worker_timeout" {
  description = "The worker function's timeout in seconds (WORKER_TIMEOUT_SECONDS)"
  type        = number
  default     = 30

  validation {
    condition     = var.worker_timeout >= 1 && var.worker_timeout <= 900
    error_message = "worker_timeout must be from 1 to 900 seconds (WORKER_TIMEOUT_SECONDS)."
  }
}

variable "worker_simulated_ms" {
  description = "WORKER_SIMULATED_MS"
  type        = number
  default     = 300
}

variable "worker_running_timeout_seconds" {
  description = "WORKER_RUNNING_TIMEOUT_SECONDS (above worker_timeout, below queue_visibility_timeout)"
  type        = number
  default     = 120

  validation {
    condition     = var.worker_running_timeout_seconds > var.worker_timeout && var.worker_running_timeout_seconds < var.queue_visibility_timeout
    error_message = "worker_running_timeout_seconds must be above worker_timeout and below queue_visibility_timeout (WORKER_RUNNING_TIMEOUT_SECONDS)."
  }
}

variable "worker_max_attempts" {
  description = "WORKER_MAX_ATTEMPTS"
  type        = number
  default     = 3
}
