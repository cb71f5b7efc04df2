# The search domain; only the indexer's, the bulk load's export function's and the API's roles may call it (ARNs
# known by name; the API role has a name_prefix). Sizing: env.hcl's opensearch.
locals {
  env = read_terragrunt_config(find_in_parent_folders("env.hcl")).locals
  # With fine-grained access control (dev's dashboards_access) these roles are mapped inside the domain too.
  indexer_role = "arn:aws:iam::${local.env.account_id}:role/${local.env.name_prefix}-indexer"
  export_role  = "arn:aws:iam::${local.env.account_id}:role/${local.env.name_prefix}-bulk-load-export"
  api_roles    = "arn:aws:iam::${local.env.account_id}:role/${local.env.name_prefix}-api-*"
  # The writers: the stream indexer, and the bulk load's export function (the same image, the same writes)
  # where the environment has a bulk-load unit (env.hcl's bulk_load; local-orders has none).
  bulk_load = try(local.env.bulk_load, null) != null
  writers   = local.bulk_load ? local.indexer_export : local.indexer_only
  # The API's role only where there is an API (env.hcl's api is null where there is none: local-orders).
  indexer_only        = [local.indexer_role]
  indexer_export      = [local.indexer_role, local.export_role]
  indexer_and_api     = [local.indexer_role, local.api_roles]
  indexer_export_api  = [local.indexer_role, local.export_role, local.api_roles]
  writers_and_readers = local.bulk_load ? local.indexer_export_api : local.indexer_and_api
  api_only            = [local.api_roles]
  no_roles            = []
}

terraform {
  source = "${dirname(find_in_parent_folders("terragrunt.hcl"))}/modules//opensearch"
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
  domain_name             = local.env.name_prefix
  instance_type           = local.env.opensearch.instance_type
  instance_count          = local.env.opensearch.instance_count
  zone_awareness_enabled  = local.env.opensearch.zone_awareness_enabled
  availability_zone_count = local.env.opensearch.availability_zone_count
  dedicated_master        = local.env.opensearch.dedicated_master
  ebs_volume_size         = local.env.opensearch.ebs_volume_size
  log_retention_in_days   = local.env.opensearch.log_retention_in_days
  index_access = {
    writer_role_arns = local.writers
    reader_role_arns = local.env.api == null ? local.no_roles : local.api_only
  }
  access_principal_arns = local.env.api == null ? local.writers : local.writers_and_readers
}
