output "queue_arn" {
  description = "ARN of the queue"
  value       = aws_sqs_queue.this.arn
}

output "queue_url" {
  description = "URL of the queue (SQS_URL)"
  value       = aws_sqs_queue.this.url
}

output "queue_name" {
  description = "Name of the queue"
  value       = aws_sqs_queue.this.name
}

output "dlq_arn" {
  description = "ARN of the DLQ"
  value       = aws_sqs_queue.dlq.arn
}

output "dlq_url" {
  description = "URL of the DLQ"
  value       = aws_sqs_queue.dlq.url
}

output "dlq_name" {
  description = "Name of the DLQ"
  value       = aws_sqs_queue.dlq.name
}
