output "table_name" {
  description = "Name of the table."
  value       = try(aws_dynamodb_table.this[0].name, null)
}

output "table_arn" {
  description = "ARN of the table."
  value       = try(aws_dynamodb_table.this[0].arn, null)
}

output "table_stream_arn" {
  description = "ARN of the table's stream (the indexer's event source)."
  value       = try(aws_dynamodb_table.this[0].stream_arn, null)
}

output "table_stream_label" {
  description = "Timestamp label of the table's stream."
  value       = try(aws_dynamodb_table.this[0].stream_label, null)
}

output "table_hash_key" {
  description = "Name of the partition key attribute."
  value       = try(aws_dynamodb_table.this[0].hash_key, null)
}

output "table_range_key" {
  description = "Name of the sort key attribute, or null when the table has none."
  value       = try(aws_dynamodb_table.this[0].range_key, null)
}
