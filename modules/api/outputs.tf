output "invoke_url" {
  description = "URL of the deployed stage, e.g. https://<id>.execute-api.<region>.amazonaws.com/v1 (append /books)."
  value       = aws_api_gateway_stage.this.invoke_url
}

output "rest_api_id" {
  description = "ID of the REST API."
  value       = aws_api_gateway_rest_api.this.id
}

output "rest_api_execution_arn" {
  description = "Execution ARN of the REST API, for execute-api:Invoke policies of AWS_IAM callers."
  value       = aws_api_gateway_rest_api.this.execution_arn
}

output "rest_api_name" {
  description = "Name of the REST API (the ApiName dimension of its CloudWatch metrics)."
  value       = aws_api_gateway_rest_api.this.name
}

output "stage_name" {
  description = "Name of the deployed stage."
  value       = aws_api_gateway_stage.this.stage_name
}

output "openapi_document" {
  description = "The rendered OpenAPI 3 document (JSON) the REST API was built from; the local gateway serves it."
  value       = module.openapi.document
}

output "execution_role_arn" {
  description = "ARN of the role API Gateway assumes for DynamoDB and OpenSearch; grant it in the domain's access policy."
  value       = aws_iam_role.this.arn
}

output "idempotency_table_name" {
  description = "Name of the DynamoDB table of POST /books' Idempotency-Key records (items expire by TTL)."
  value       = aws_dynamodb_table.idempotency.name
}

output "idempotency_table_arn" {
  description = "ARN of the table of Idempotency-Key records."
  value       = aws_dynamodb_table.idempotency.arn
}

output "execution_log_group_name" {
  description = "Name of the CloudWatch log group receiving the stage's execution logs (API-Gateway-Execution-Logs_<rest_api_id>/<stage>)."
  value       = aws_cloudwatch_log_group.execution.name
}

output "access_log_group_name" {
  description = "Name of the CloudWatch log group receiving the stage's access logs."
  value       = aws_cloudwatch_log_group.access.name
}

output "api_key_id" {
  description = "ID of the API key when authorization is API_KEY, else null (read its value with aws apigateway get-api-key --include-value)."
  value       = try(aws_api_gateway_api_key.this[0].id, null)
}

output "usage_plan_id" {
  description = "ID of the usage plan when authorization is API_KEY, else null."
  value       = try(aws_api_gateway_usage_plan.this[0].id, null)
}

output "alarm_actions" {
  description = "List of ARNs every alarm of the API notifies."
  value       = var.create_alarms ? local.alarm_actions : null
}

output "cloudwatch_metric_alarm_arns" {
  description = "Map of alarm key (server-errors, latency) to alarm ARN."
  value       = { for key, alarm in aws_cloudwatch_metric_alarm.this : key => alarm.arn }
}
