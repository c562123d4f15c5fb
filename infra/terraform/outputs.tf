# Named as infra/template.yaml's outputs.

output "QueueUrl" {
  description = "SQS_URL of the scheduler and the worker's queue"
  value       = module.workflow_queue.queue_url
}

output "DeadLetterQueueUrl" {
  description = "The queue's DLQ"
  value       = module.workflow_queue.dlq_url
}

output "FunctionArn" {
  description = "The scheduler function (null before the image is pushed)"
  value       = module.scheduler_lambda.function_arn
}

output "WorkerFunctionArn" {
  description = "The worker function, fed by the queue"
  value       = module.worker_lambda.function_arn
}

output "RepositoryUri" {
  description = "Where make push pushes the image"
  value       = one(aws_ecr_repository.scheduler[*].repository_url)
}

output "SecretArn" {
  description = "The database secret (DB_SECRET_ID)"
  value       = local.secret_arn
}

output "RuleName" {
  description = "The EventBridge rule that invokes the scheduler"
  value       = one(aws_cloudwatch_event_rule.scheduler[*].name)
}
