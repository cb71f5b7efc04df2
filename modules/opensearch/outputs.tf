output "domain_name" {
  description = "Name of the domain."
  value       = try(aws_opensearch_domain.this[0].domain_name, null)
}

output "domain_arn" {
  description = "ARN of the domain."
  value       = try(aws_opensearch_domain.this[0].arn, null)
}

output "domain_endpoint" {
  description = "Host name of the domain's HTTPS endpoint (no scheme)."
  value       = try(aws_opensearch_domain.this[0].endpoint, null)
}

output "domain_id" {
  description = "Unique identifier of the domain."
  value       = try(aws_opensearch_domain.this[0].domain_id, null)
}

output "log_group_arns" {
  description = "Map of log type to the ARN of its CloudWatch log group."
  value       = { for type, group in aws_cloudwatch_log_group.this : type => group.arn }
}

output "alarm_actions" {
  description = "List of ARNs every alarm of the domain notifies."
  value       = local.create_alarms ? local.alarm_actions : null
}

output "cloudwatch_metric_alarm_arns" {
  description = "Map of alarm key (cluster-red, free-storage, ...) to alarm ARN."
  value       = merge({ for key, alarm in aws_cloudwatch_metric_alarm.this : key => alarm.arn }, { for alarm in aws_cloudwatch_metric_alarm.server_errors : "5xx" => alarm.arn })
}
