# The search domain; only the indexer's and the API's roles may call it (ARNs known by name; the API role has a name_prefix).
include "root" {
  path   = find_in_parent_folders("terragrunt.hcl")
  expose = true
}

terraform {
  source = "${get_parent_terragrunt_dir("root")}/modules//opensearch"
}

locals {
  env = include.root.locals.env
}

inputs = {
  domain_name            = local.env.name_prefix
  instance_type          = local.env.opensearch.instance_type
  instance_count         = local.env.opensearch.instance_count
  zone_awareness_enabled = local.env.opensearch.zone_awareness_enabled
  ebs_volume_size        = local.env.opensearch.ebs_volume_size
  access_principal_arns = [
    "arn:aws:iam::${local.env.account_id}:role/${local.env.name_prefix}-indexer",
    "arn:aws:iam::${local.env.account_id}:role/${local.env.name_prefix}-api-*",
  ]
}
