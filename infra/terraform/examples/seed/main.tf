# The seed README's block (shared/seed/scheduler-lambda-readme.md, "Terraform Configuration"), as written
# but for the module paths: what an existing Terraform repository adds to use modules/lambda.

provider "aws" {
  region = var.aws_region
}

variable "aws_region" {
  type    = string
  default = "us-east-1"
}

variable "lambda_memory_size" {
  type    = number
  default = 256
}

variable "lambda_timeout" {
  type    = number
  default = 60
}

variable "create_lambda" {
  type    = bool
  default = false # a first deployment: everything but the function, then push the image
}

variable "db_host" {
  type    = string
  default = "db.example.internal"
}

variable "db_port" {
  type    = number
  default = 5432
}

variable "db_name" {
  type    = string
  default = "flow-builder"
}

variable "db_username" {
  type    = string
  default = "root"
}

variable "db_password" {
  type      = string
  default   = ""
  sensitive = true
}

locals {
  name_prefix = "flow-builder"
}

resource "aws_ecr_repository" "scheduler" {
  #checkov:skip=CKV_AWS_136:Encrypted at rest with ECR's AES-256 default; a KMS key is not in the design
  #checkov:skip=CKV_AWS_51:make push pushes the tag latest again and points the function at it (the seed's image_uri), so tags must be mutable
  name = "${local.name_prefix}-scheduler"

  image_scanning_configuration {
    scan_on_push = true
  }
}

module "workflow_queue" {
  source = "../../modules/queue"
  name   = "${local.name_prefix}-queue"
}

module "scheduler_lambda" {
  source          = "../../modules/lambda"
  function_name   = "${local.name_prefix}-scheduler"
  package_type    = "Image"
  image_uri       = "${aws_ecr_repository.scheduler.repository_url}:latest"
  memory_size     = var.lambda_memory_size
  timeout         = var.lambda_timeout
  create_function = var.create_lambda
  sqs_queue_arn   = module.workflow_queue.queue_arn

  # Environment variables
  env_vars = {
    # SQS configuration
    SQS_URL = module.workflow_queue.queue_url

    # Database configuration
    DB_HOST     = var.db_host
    DB_PORT     = var.db_port
    DB_NAME     = var.db_name
    DB_USER     = var.db_username
    DB_PASSWORD = var.db_password
    DB_SSL_MODE = "require"

    # Add custom AWS region to ensure proper region is used
    CUSTOM_AWS_REGION = var.aws_region

    # Explicitly disable DB secrets to use direct database connection
    USE_DB_SECRETS = "false"
  }
}
