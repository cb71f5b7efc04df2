output "function_name" {
  description = "Name of the function."
  value       = try(aws_lambda_function.this[0].function_name, null)
}

output "function_arn" {
  description = "ARN of the function."
  value       = try(aws_lambda_function.this[0].arn, null)
}

output "role_arn" {
  description = "ARN of the function's execution role (grant it access on the OpenSearch domain)."
  value       = try(aws_iam_role.this[0].arn, null)
}

output "role_name" {
  description = "Name of the function's execution role."
  value       = try(aws_iam_role.this[0].name, null)
}

output "log_group_name" {
  description = "Name of the function's log group."
  value       = try(aws_cloudwatch_log_group.this[0].name, null)
}

output "ecr_repository_url" {
  description = "URL of the ECR repository to push the image to."
  value       = try(aws_ecr_repository.this[0].repository_url, null)
}

output "ecr_repository_arn" {
  description = "ARN of the ECR repository."
  value       = try(aws_ecr_repository.this[0].arn, null)
}

output "dead_letter_queue_url" {
  description = "URL of the SQS queue that receives batches the mapping gave up on."
  value       = try(aws_sqs_queue.dead_letter[0].url, null)
}

output "dead_letter_queue_name" {
  description = "Name of the SQS queue that receives batches the mapping gave up on."
  value       = try(aws_sqs_queue.dead_letter[0].name, null)
}

output "dead_letter_queue_arn" {
  description = "ARN of the SQS queue that receives batches the mapping gave up on."
  value       = try(aws_sqs_queue.dead_letter[0].arn, null)
}

output "event_source_mapping_uuid" {
  description = "UUID of the event source mapping, or null when it is not created."
  value       = try(aws_lambda_event_source_mapping.this[0].uuid, null)
}

output "event_source_mapping" {
  description = "The mapping's settings (batch size, window, retries, bisect, response types, starting position, destination), set even when the mapping is not created."
  value       = local.event_source_mapping
}

output "alarm_actions" {
  description = "List of ARNs every alarm of the indexer notifies."
  value       = local.create_alarms ? local.alarm_actions : null
}

output "cloudwatch_metric_alarm_arns" {
  description = "Map of alarm key (iterator-age, index-lag, errors, dead-letters, heartbeat) to alarm ARN."
  value       = merge({ for key, alarm in aws_cloudwatch_metric_alarm.this : key => alarm.arn }, { for alarm in aws_cloudwatch_metric_alarm.heartbeat : "heartbeat" => alarm.arn })
}

output "metrics_namespace" {
  description = "CloudWatch namespace of the indexer's own metrics (EMF lines in its logs), dimension FunctionName."
  value       = local.create ? local.metrics_namespace : null
}

output "index_lag_alarm_threshold_ms" {
  description = "Threshold of the index lag alarm in milliseconds, or null when alarms are off."
  value       = local.create_alarms ? var.index_lag_alarm_threshold_ms : null
}

output "role_policy_json" {
  description = "The execution role's policy document (JSON), as attached."
  value       = try(data.aws_iam_policy_document.this[0].json, null)
}

output "operator_policy_json" {
  description = "Policy document (JSON) for whoever runs python -m indexer.ops against this function's table, stream, queue and index."
  value       = try(data.aws_iam_policy_document.operator[0].json, null)
}

output "operator_policy_arn" {
  description = "ARN of the managed operator policy, when create_operator_policy."
  value       = try(aws_iam_policy.operator[0].arn, null)
}

output "index_aliases" {
  description = "List of the index aliases the function writes (every entity's index, or opensearch_index without entities); grant searchers these."
  value       = local.create ? local.index_aliases : null
}

output "entity_configuration" {
  description = "ENTITY_CONFIG as the function gets it (compact JSON), or null without entities."
  value       = local.create ? local.entity_configuration : null
}

output "environment_size_bytes" {
  description = "Size of the function's environment variables as Lambda measures it (compact JSON, UTF-8 bytes); Lambda allows 4096."
  value       = local.create ? local.environment_bytes : null
}

output "environment" {
  description = "Map of the function's environment (the indexer's settings): the bulk-load module's export function runs with the same."
  value       = local.create ? local.environment : null
}
