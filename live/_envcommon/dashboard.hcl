# One CloudWatch dashboard per environment: the API, the stream's iterator age beside the indexer's lag, the
# table's writes beside the records the indexer received, the indexer's errors and dead-letter queue, the
# cluster, and every unit's alarms. Mocks mirror the real names.
locals {
  env = read_terragrunt_config(find_in_parent_folders("env.hcl")).locals
  arn = "arn:aws:cloudwatch:${local.env.region}:${local.env.account_id}:alarm"
}

terraform {
  source = "${dirname(find_in_parent_folders("terragrunt.hcl"))}/modules//dashboard"
}

dependency "api" {
  config_path = "../api"

  mock_outputs = {
    rest_api_name                = local.env.name_prefix
    stage_name                   = "v1"
    cloudwatch_metric_alarm_arns = { server-errors = "${local.arn}:${local.env.name_prefix}-api-server-errors" }
  }
  mock_outputs_allowed_terraform_commands = ["init", "validate", "plan", "destroy"]
}

dependency "table" {
  config_path = "../table"

  mock_outputs = {
    table_name = local.env.name_prefix
  }
  mock_outputs_allowed_terraform_commands = ["init", "validate", "plan", "destroy"]
}

dependency "indexer" {
  config_path = "../indexer"

  mock_outputs = {
    function_name                = "${local.env.name_prefix}-indexer"
    metrics_namespace            = "BooksIndexer"
    dead_letter_queue_name       = "${local.env.name_prefix}-indexer-dlq"
    index_lag_alarm_threshold_ms = 60000
    entity_configuration         = null # no entities in the books environments
    cloudwatch_metric_alarm_arns = { index-lag = "${local.arn}:${local.env.name_prefix}-indexer-index-lag", heartbeat = "${local.arn}:${local.env.name_prefix}-indexer-heartbeat" }
  }
  mock_outputs_allowed_terraform_commands = ["init", "validate", "plan", "destroy"]
}

dependency "opensearch" {
  config_path = "../opensearch"

  mock_outputs = {
    domain_name                  = local.env.name_prefix
    cloudwatch_metric_alarm_arns = { cluster-red = "${local.arn}:${local.env.name_prefix}-opensearch-cluster-red" }
  }
  mock_outputs_allowed_terraform_commands = ["init", "validate", "plan", "destroy"]
}

dependency "bulk_load" {
  config_path = "../bulk-load"

  mock_outputs = {
    cloudwatch_metric_alarm_arns = { executions-failed = "${local.arn}:${local.env.name_prefix}-bulk-load-executions-failed" }
  }
  mock_outputs_allowed_terraform_commands = ["init", "validate", "plan", "destroy"]
}

inputs = {
  dashboard_name = local.env.name_prefix
  api = {
    name  = dependency.api.outputs.rest_api_name
    stage = dependency.api.outputs.stage_name
  }
  indexer = {
    function_name          = dependency.indexer.outputs.function_name
    metrics_namespace      = dependency.indexer.outputs.metrics_namespace
    dead_letter_queue_name = dependency.indexer.outputs.dead_letter_queue_name
    # entity_configuration is null without entities, and Terraform stores no null output.
    entities = try(dependency.indexer.outputs.entity_configuration, null) != null
  }
  table_name                   = dependency.table.outputs.table_name
  opensearch_domain_name       = dependency.opensearch.outputs.domain_name
  index_lag_alarm_threshold_ms = dependency.indexer.outputs.index_lag_alarm_threshold_ms
  alarm_arns = concat(
    values(dependency.api.outputs.cloudwatch_metric_alarm_arns),
    values(dependency.indexer.outputs.cloudwatch_metric_alarm_arns),
    values(dependency.opensearch.outputs.cloudwatch_metric_alarm_arns),
    values(dependency.bulk_load.outputs.cloudwatch_metric_alarm_arns),
  )
}
