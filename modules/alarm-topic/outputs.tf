output "topic_arn" {
  description = "ARN of the topic alarms publish to (made here, or destinations.topic_arn)."
  value       = local.create ? local.topic_arn : null
}

output "alarm_actions" {
  description = "List of ARNs to pass as every module's alarm_actions."
  value       = local.create ? [local.topic_arn] : []
}

output "kms_key_arn" {
  description = "ARN of the key made for the topic, else null."
  value       = try(aws_kms_key.this[0].arn, null)
}

output "subscription_arns" {
  description = "Map of destination (protocol:endpoint) to subscription ARN; email and HTTPS ones are pending until confirmed."
  value       = { for key, subscription in aws_sns_topic_subscription.this : key => subscription.arn }
}
