output "state_machine_arn" {
  description = "ARN of the state machine (start a run with `python -m indexer.ops bulk-load start`)."
  value       = try(aws_sfn_state_machine.this[0].arn, null)
}

output "state_machine_name" {
  description = "Name of the state machine."
  value       = try(aws_sfn_state_machine.this[0].name, null)
}

output "state_machine_role_arn" {
  description = "ARN of the state machine's role."
  value       = try(aws_iam_role.state_machine[0].arn, null)
}

output "definition" {
  description = "The state machine's definition as deployed (state_machine.asl.json rendered); the local stack and the ASL validation run this text."
  value       = local.create ? local.definition : null
}

output "max_concurrency" {
  description = "MaxConcurrency of the Distributed Maps: opensearch_data_node_count x concurrency_per_data_node."
  value       = local.create ? local.max_concurrency : null
}

output "function_name" {
  description = "Name of the export function."
  value       = try(aws_lambda_function.this[0].function_name, null)
}

output "function_arn" {
  description = "ARN of the export function."
  value       = try(aws_lambda_function.this[0].arn, null)
}

output "function_role_arn" {
  description = "ARN of the export function's role (grant it access on the OpenSearch domain)."
  value       = try(aws_iam_role.function[0].arn, null)
}

output "function_environment" {
  description = "Map of the export function's environment: the stream indexer's plus TABLE_NAME and BULK_LOAD_BUCKET."
  value       = local.create ? local.function_environment : null
}

output "bucket_name" {
  description = "Name of the bucket holding exports and checkpoints (runs/) and Map Run results (results/)."
  value       = try(aws_s3_bucket.this[0].id, null)
}

output "bucket_arn" {
  description = "ARN of the bucket."
  value       = try(aws_s3_bucket.this[0].arn, null)
}

output "log_group_names" {
  description = "Map of the function's and the state machine's log group names (function, state_machine)."
  value = local.create ? {
    function      = aws_cloudwatch_log_group.function[0].name
    state_machine = aws_cloudwatch_log_group.state_machine[0].name
  } : {}
}

output "cloudwatch_metric_alarm_arns" {
  description = "Map of alarm key (executions-failed, executions-timed-out, executions-aborted) to alarm ARN."
  value = local.create_alarms ? merge(
    { executions-failed = aws_cloudwatch_metric_alarm.executions_failed[0].arn },
    { for key, alarm in aws_cloudwatch_metric_alarm.executions_unfinished : key => alarm.arn },
  ) : {}
}
