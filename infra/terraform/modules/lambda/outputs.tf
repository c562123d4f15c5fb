output "function_arn" {
  description = "ARN of the function (null when create_function is false)"
  value       = one(aws_lambda_function.this[*].arn)
}

output "function_name" {
  description = "Name of the function (null when create_function is false)"
  value       = one(aws_lambda_function.this[*].function_name)
}

output "role_arn" {
  description = "ARN of the function's role"
  value       = aws_iam_role.this.arn
}

output "role_name" {
  description = "Name of the function's role"
  value       = aws_iam_role.this.name
}

output "log_group_name" {
  description = "The function's log group"
  value       = aws_cloudwatch_log_group.this.name
}
