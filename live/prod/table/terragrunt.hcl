# The books table; its stream feeds the indexer.
include "root" {
  path   = find_in_parent_folders("terragrunt.hcl")
  expose = true
}

terraform {
  source = "${get_parent_terragrunt_dir("root")}/modules//table"
}

inputs = {
  name                        = include.root.locals.env.name_prefix
  hash_key                    = "id"
  deletion_protection_enabled = include.root.locals.env.table.deletion_protection_enabled
}
