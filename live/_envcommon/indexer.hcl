# The stream indexer: container-image Lambda on the table's stream, writing to the domain, running the image
# unit's image by digest. BOOKS_INDEXER_IMAGE_URI pins another (a rollback: <repository url>@sha256:...).
locals {
  env    = read_terragrunt_config(find_in_parent_folders("env.hcl")).locals
  pinned = get_env("BOOKS_INDEXER_IMAGE_URI", "")
}

terraform {
  source = "${dirname(find_in_parent_folders("terragrunt.hcl"))}/modules//lambda"
}

dependency "image" {
  config_path = "../image"

  mock_outputs = {
    image_uri    = "${local.env.account_id}.dkr.ecr.${local.env.region}.amazonaws.com/${local.env.name_prefix}-indexer@sha256:0000000000000000000000000000000000000000000000000000000000000000"
    architecture = local.env.indexer.architecture
  }
  mock_outputs_allowed_terraform_commands = ["init", "validate", "plan", "destroy"]
}

dependency "table" {
  config_path = "../table"

  mock_outputs = {
    table_stream_arn = "arn:aws:dynamodb:${local.env.region}:${local.env.account_id}:table/mock/stream/2024-01-01T00:00:00.000"
    table_hash_key   = try(local.env.table.hash_key, "id")
    table_range_key  = try(local.env.table.range_key, null)
  }
  mock_outputs_allowed_terraform_commands = ["init", "validate", "plan", "destroy"]
}

dependency "opensearch" {
  config_path = "../opensearch"

  mock_outputs = {
    domain_endpoint = "search-mock.${local.env.region}.es.amazonaws.com"
    domain_arn      = "arn:aws:es:${local.env.region}:${local.env.account_id}:domain/mock"
  }
  mock_outputs_allowed_terraform_commands = ["init", "validate", "plan", "destroy"]
}

dependency "alarms" {
  config_path = "../alarms"

  mock_outputs = {
    alarm_actions = ["arn:aws:sns:${local.env.region}:${local.env.account_id}:${local.env.name_prefix}-alarms"]
  }
  mock_outputs_allowed_terraform_commands = ["init", "validate", "plan", "destroy"]
}

inputs = {
  alarm_actions = dependency.alarms.outputs.alarm_actions
  function_name                  = "${local.env.name_prefix}-indexer"
  image_uri                      = local.pinned != "" ? local.pinned : dependency.image.outputs.image_uri
  architecture                   = dependency.image.outputs.architecture
  create_ecr_repository          = false # the image unit owns the repository
  memory_size                    = local.env.indexer.memory_size
  reserved_concurrent_executions = local.env.indexer.reserved_concurrent_executions
  log_retention_in_days          = local.env.indexer.log_retention_in_days
  table_stream_arn               = dependency.table.outputs.table_stream_arn
  table_partition_key            = dependency.table.outputs.table_hash_key
  # A table without a sort key has no table_range_key output at all: Terraform does not store a null output
  # (hashicorp/terraform#34080), so Terragrunt's outputs lack it.
  table_sort_key = try(dependency.table.outputs.table_range_key, null)
  opensearch_endpoint            = dependency.opensearch.outputs.domain_endpoint
  opensearch_domain_arn          = dependency.opensearch.outputs.domain_arn
}
