# The search domain; its access policy allows the indexer's, the bulk load's export function's (where there is
# one), the API's and the operators' roles (ARNs known by name; the API role has a name_prefix), and within the
# account any identity whose own IAM policy allows es:ESHttp* on it (modules/opensearch/iam.tf). Sizing: env.hcl's
# opensearch.
locals {
  env = read_terragrunt_config(find_in_parent_folders("env.hcl")).locals
  # With fine-grained access control (dev's dashboards_access) these roles are mapped inside the domain too.
  indexer_role = "arn:aws:iam::${local.env.account_id}:role/${local.env.name_prefix}-indexer"
  export_role  = "arn:aws:iam::${local.env.account_id}:role/${local.env.name_prefix}-bulk-load-export"
  api_roles    = "arn:aws:iam::${local.env.account_id}:role/${local.env.name_prefix}-api-*"
  # The API's role only where there is an API (env.hcl's api is null where there is none: local-orders).
  indexer_only    = [local.indexer_role]
  indexer_and_api = [local.indexer_role, local.api_roles]
  api_only        = [local.api_roles]
  export_only     = [local.export_role]
  no_roles        = []
  # The bulk load's export function where the environment has a bulk-load unit (env.hcl's bulk_load): it
  # writes like the indexer and also creates indices, swaps aliases and deletes old indices, so under
  # fine-grained access control it is mapped as an operator (index_operator), not a writer.
  exporters = try(local.env.bulk_load, null) != null ? local.export_only : local.no_roles
  # Operators of python -m indexer.ops (env.hcl's roles.operators, where an environment names them).
  operators = try(local.env.roles.operators, [])
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
  # The aliases (index_access.aliases) are the module's default, the indexer's opensearch_index ("books");
  # an environment with entities sets every entity's index in its unit (live/local-orders/opensearch).
  index_access = {
    writer_role_arns   = [local.indexer_role]
    reader_role_arns   = local.env.api == null ? local.no_roles : local.api_only
    operator_role_arns = concat(local.exporters, local.operators)
  }
  access_principal_arns = concat(local.indexer_only, local.exporters, local.env.api == null ? local.no_roles : local.api_only, local.operators)
}
