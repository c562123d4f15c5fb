# ---- the seed's inputs (shared/seed/scheduler-lambda-readme.md, "Terraform Configuration") ----------

variable "function_name" {
  description = "Name of the function; also names its role, policy and log group"
  type        = string
}

variable "package_type" {
  description = "Image (image_uri) or Zip (filename, handler, runtime)"
  type        = string
  default     = "Image"

  validation {
    condition     = contains(["Image", "Zip"], var.package_type)
    error_message = "package_type must be Image or Zip."
  }
}

variable "image_uri" {
  description = "The image when package_type is Image"
  type        = string
  default     = null
}

variable "memory_size" {
  description = "Memory in MB (CPU scales with it)"
  type        = number
  default     = 256

  validation {
    condition     = var.memory_size >= 128 && var.memory_size <= 10240
    error_message = "memory_size must be from 128 to 10240 MB."
  }
}

variable "timeout" {
  description = "Timeout in seconds"
  type        = number
  default     = 60

  validation {
    condition     = var.timeout >= 1 && var.timeout <= 900
    error_message = "timeout must be from 1 to 900 seconds."
  }
}

variable "create_function" {
  description = "false creates everything but the function (a first deployment, before the image is pushed)"
  type        = bool
  default     = true
}

variable "sqs_queue_arn" {
  description = "The queue the function may send to (sqs:SendMessage); null for none"
  type        = string
  default     = null
}

variable "env_vars" {
  description = "The function's environment variables"
  type        = map(string)
  default     = {}
}

# ---- what a zip needs -----------------------------------------------------------------------------

variable "filename" {
  description = "Path of the zip when package_type is Zip (package_zip.py builds it)"
  type        = string
  default     = null
}

variable "source_code_hash" {
  description = "Base64 SHA-256 of the zip (filebase64sha256(filename)): a change redeploys the code"
  type        = string
  default     = null
}

variable "handler" {
  description = "Handler when package_type is Zip"
  type        = string
  default     = null
}

variable "runtime" {
  description = "Runtime when package_type is Zip"
  type        = string
  default     = "python3.12"
}

variable "architecture" {
  description = "x86_64 or arm64 (an image must be built for it)"
  type        = string
  default     = "x86_64"

  validation {
    condition     = contains(["x86_64", "arm64"], var.architecture)
    error_message = "architecture must be x86_64 or arm64."
  }
}

# ---- the rest --------------------------------------------------------------------------------------

variable "description" {
  description = "Description of the function"
  type        = string
  default     = null
}

variable "policy_name" {
  description = "Name of the role's inline policy (defaults to function_name)"
  type        = string
  default     = null
}

variable "secret_arn" {
  description = "A secret the function reads (secretsmanager:GetSecretValue); null for none"
  type        = string
  default     = null
}

variable "read_secret" {
  description = "Grant secretsmanager:GetSecretValue on secret_arn (a bool, known at plan time, where secret_arn is not)"
  type        = bool
  default     = false
}

variable "policy_statements" {
  description = "Extra statements for the role's policy: map of sid to { actions, resources }"
  type = map(object({
    actions   = list(string)
    resources = list(string)
  }))
  default = {}
}

variable "log_retention_days" {
  description = "Days CloudWatch keeps the function's logs"
  type        = number
  default     = 30
}

variable "subnet_ids" {
  description = "Subnets from which the function reaches the database (empty: no VPC)"
  type        = list(string)
  default     = []
}

variable "security_group_ids" {
  description = "Security groups of the function when subnet_ids is set"
  type        = list(string)
  default     = []
}

variable "tags" {
  description = "Tags for every resource"
  type        = map(string)
  default     = {}
}
