# The search domain; only the indexer's, the bulk load's export function's and the API's roles may call it (ARNs
# known by name; the API role has a name_prefix). Sizing: env.hcl's opensearch.
locals {
  env = read_terragrunt_config(find_in_parent_folders("env.hcl")).locals
}

terraform {
  source = "${dirname(find_in_parent_folders("terragrunt.hcl"))}/modules//opensearch"
}

inputs = {
  domain_name             = local.env.name_prefix
  instance_type           = local.env.opensearch.instance_type
  instance_count          = local.env.opensearch.instance_count
  zone_awareness_enabled  = local.env.opensearch.zone_awareness_enabled
  availability_zone_count = local.env.opensearch.availability_zone_count
  dedicated_master        = local.env.opensearch.dedicated_master
  ebs_volume_size         = local.env.opensearch.ebs_volume_size
  log_retention_in_days   = local.env.opensearch.log_retention_in_days
  access_principal_arns = [
    "arn:aws:iam::${local.env.account_id}:role/${local.env.name_prefix}-indexer",
    "arn:aws:iam::${local.env.account_id}:role/${local.env.name_prefix}-bulk-load-export",
    "arn:aws:iam::${local.env.account_id}:role/${local.env.name_prefix}-api-*",
  ]
}
