# The books table, as every environment has it; its stream feeds the indexer. Sizing: env.hcl's table.
locals {
  env = read_terragrunt_config(find_in_parent_folders("env.hcl")).locals
}

terraform {
  source = "${dirname(find_in_parent_folders("terragrunt.hcl"))}/modules//table"
}

inputs = {
  name                        = local.env.name_prefix
  hash_key                    = "id"
  deletion_protection_enabled = local.env.table.deletion_protection_enabled
}
