# The stream indexer (Lambda): live/_envcommon/indexer.hcl, sized by ../env.hcl.
include "root" {
  path = find_in_parent_folders("terragrunt.hcl")
}

include "envcommon" {
  path           = "${dirname(find_in_parent_folders("terragrunt.hcl"))}/live/_envcommon/indexer.hcl"
  expose         = true
  merge_strategy = "deep"
}
