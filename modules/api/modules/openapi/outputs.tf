output "document" {
  description = "The rendered OpenAPI 3 document as a JSON string (the REST API body)."
  value       = local.document
}
