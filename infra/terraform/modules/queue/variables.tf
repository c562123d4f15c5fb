variable "name" {
  description = "Name of the queue; its DLQ is <name>-dlq"
  type        = string
}

variable "visibility_timeout_seconds" {
  description = "Seconds a delivered message stays hidden before SQS delivers it again"
  type        = number
  default     = 180
}

variable "message_retention_seconds" {
  description = "Seconds the queue keeps a message"
  type        = number
  default     = 345600 # 4 days
}

variable "dlq_message_retention_seconds" {
  description = "Seconds the DLQ keeps a failed message (14 days, the most SQS keeps: time to look at it)"
  type        = number
  default     = 1209600
}

variable "max_receive_count" {
  description = "Receives after which a message moves to the DLQ"
  type        = number
  default     = 5
}

variable "tags" {
  description = "Tags for both queues"
  type        = map(string)
  default     = {}
}
