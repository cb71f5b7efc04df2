# The stream indexer: container-image Lambda on the table's stream, writing to the domain.
include "root" {
  path   = find_in_parent_folders("terragrunt.hcl")
  expose = true
}

terraform {
  source = "${get_parent_terragrunt_dir("root")}/modules//lambda"
}

locals {
  env = include.root.locals.env
}

dependency "table" {
  config_path = "../table"

  mock_outputs = {
    table_stream_arn = "arn:aws:dynamodb:${local.env.region}:${local.env.account_id}:table/mock/stream/2024-01-01T00:00:00.000"
    table_hash_key   = "id"
  }
  mock_outputs_allowed_terraform_commands = ["init", "validate", "plan"]
}

dependency "opensearch" {
  config_path = "../opensearch"

  mock_outputs = {
    domain_endpoint = "search-mock.${local.env.region}.es.amazonaws.com"
    domain_arn      = "arn:aws:es:${local.env.region}:${local.env.account_id}:domain/mock"
  }
  mock_outputs_allowed_terraform_commands = ["init", "validate", "plan"]
}

inputs = {
  function_name                  = "${local.env.name_prefix}-indexer"
  image_uri                      = "${local.env.account_id}.dkr.ecr.${local.env.region}.amazonaws.com/${local.env.name_prefix}-indexer:${local.env.image_tag}"
  memory_size                    = local.env.indexer.memory_size
  reserved_concurrent_executions = local.env.indexer.reserved_concurrent_executions
  log_retention_in_days          = local.env.indexer.log_retention_in_days
  table_stream_arn               = dependency.table.outputs.table_stream_arn
  table_partition_key            = dependency.table.outputs.table_hash_key
  opensearch_endpoint            = dependency.opensearch.outputs.domain_endpoint
  opensearch_domain_arn          = dependency.opensearch.outputs.domain_arn
}
