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

output "dashboards_url" {
  description = "URL of OpenSearch Dashboards (behind Cognito sign-in with dashboards_access), or null."
  value       = try("https://${aws_opensearch_domain.this[0].dashboard_endpoint}", null)
}

output "master_user_arn" {
  description = "ARN of the fine-grained access control master user when it is an IAM principal, else null."
  value       = local.master_user_arn
}

output "dashboards_user_pool_id" {
  description = "ID of the Cognito user pool people sign in with (made here or given), or null without dashboards_access."
  value       = local.dashboards ? (local.create_cognito ? aws_cognito_user_pool.dashboards[0].id : local.cognito.user_pool_id) : null
}

output "dashboards_identity_pool_id" {
  description = "ID of the Cognito identity pool behind Dashboards sign-in, or null without dashboards_access."
  value       = local.dashboards ? (local.create_cognito ? aws_cognito_identity_pool.dashboards[0].id : local.cognito.identity_pool_id) : null
}

output "dashboards_admin_role_arn" {
  description = "ARN of the IAM role of Dashboards admins (mapped to all_access and security_manager), or null."
  value       = local.admin_role_arn
}

output "dashboards_analyst_role_arn" {
  description = "ARN of the IAM role of Dashboards analysts (read-only on the index), or null."
  value       = local.analyst_role_arn
}

output "security_config" {
  description = "The security roles and role mappings applied inside the domain with fine-grained access control (scripts/apply_security.py), or null without it."
  value       = local.fine_grained ? local.security_config : null
}
