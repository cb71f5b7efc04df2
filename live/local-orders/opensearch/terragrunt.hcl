# The search domain: live/_envcommon/opensearch.hcl, sized by ../env.hcl.
include "root" {
  path = find_in_parent_folders("terragrunt.hcl")
}

include "envcommon" {
  path           = "${dirname(find_in_parent_folders("terragrunt.hcl"))}/live/_envcommon/opensearch.hcl"
  expose         = true
  merge_strategy = "deep"
}

# Fine-grained access control (off here; dashboards_access) would cover every entity's alias, from the
# indexer unit's own entities.hcl.
locals {
  entities = read_terragrunt_config(find_in_parent_folders("entities.hcl")).locals.entities
}

inputs = {
  index_access = {
    aliases = [for entity in local.entities : entity.index]
  }
}
