# Backfill, reindex and audit from a DynamoDB export: a Standard state machine whose Distributed Maps run the
# indexer's image (export_function.handler), one child per data file. Runs the image the indexer runs, with
# the indexer's environment; MaxConcurrency follows the domain's data nodes (env.hcl's opensearch).
locals {
  env    = read_terragrunt_config(find_in_parent_folders("env.hcl")).locals
  pinned = get_env("BOOKS_INDEXER_IMAGE_URI", "")
}

terraform {
  source = "${dirname(find_in_parent_folders("terragrunt.hcl"))}/modules//bulk-load"
}

dependency "table" {
  config_path = "../table"

  mock_outputs = {
    table_arn = "arn:aws:dynamodb:${local.env.region}:${local.env.account_id}:table/mock"
  }
  mock_outputs_allowed_terraform_commands = ["init", "validate", "plan", "destroy"]
}

dependency "opensearch" {
  config_path = "../opensearch"

  mock_outputs = {
    domain_arn = "arn:aws:es:${local.env.region}:${local.env.account_id}:domain/mock"
  }
  mock_outputs_allowed_terraform_commands = ["init", "validate", "plan", "destroy"]
}

dependency "image" {
  config_path = "../image"

  mock_outputs = {
    image_uri    = "${local.env.account_id}.dkr.ecr.${local.env.region}.amazonaws.com/${local.env.name_prefix}-indexer@sha256:0000000000000000000000000000000000000000000000000000000000000000"
    architecture = local.env.indexer.architecture
  }
  mock_outputs_allowed_terraform_commands = ["init", "validate", "plan", "destroy"]
}

dependency "indexer" {
  config_path = "../indexer"

  mock_outputs = {
    environment = {
      OPENSEARCH_ENDPOINT = "https://search-mock.${local.env.region}.es.amazonaws.com"
      OPENSEARCH_INDEX    = "books"
      OPENSEARCH_AUTH     = "sigv4"
      TABLE_PARTITION_KEY = "id"
    }
    index_aliases = ["books"]
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
  name                       = "${local.env.name_prefix}-bulk-load"
  table_arn                  = dependency.table.outputs.table_arn
  opensearch_domain_arn      = dependency.opensearch.outputs.domain_arn
  opensearch_index_aliases   = dependency.indexer.outputs.index_aliases
  opensearch_data_node_count = local.env.opensearch.instance_count
  concurrency_per_data_node  = local.env.bulk_load.concurrency_per_data_node
  image_uri                  = local.pinned != "" ? local.pinned : dependency.image.outputs.image_uri
  architecture               = dependency.image.outputs.architecture
  indexer_environment        = dependency.indexer.outputs.environment
  memory_size                = local.env.bulk_load.memory_size
  log_retention_in_days      = local.env.bulk_load.log_retention_in_days
  alarm_actions              = dependency.alarms.outputs.alarm_actions
}
