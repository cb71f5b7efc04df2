# The table, as every environment has it (the books key `id` unless env.hcl names others); its stream feeds the
locals {
  env = read_terragrunt_config(find_in_parent_folders("env.hcl")).locals
}

terraform {
  source = "${dirname(find_in_parent_folders("terragrunt.hcl"))}/modules//table"
}

inputs = {
  name                        = local.env.name_prefix
  hash_key                    = try(local.env.table.hash_key, "id") # env.hcl may name other keys (local-orders: PK/SK)
  range_key                   = try(local.env.table.range_key, null)
  deletion_protection_enabled = local.env.table.deletion_protection_enabled
}
