# The search domain: live/_envcommon/opensearch.hcl, sized by ../env.hcl.
include "root" {
  path = find_in_parent_folders("terragrunt.hcl")
}

include "envcommon" {
  path           = "${dirname(find_in_parent_folders("terragrunt.hcl"))}/live/_envcommon/opensearch.hcl"
  expose         = true
  merge_strategy = "deep"
}
