# The environment's CloudWatch dashboard: live/_envcommon/dashboard.hcl.
include "root" {
  path = find_in_parent_folders("terragrunt.hcl")
}

include "envcommon" {
  path           = "${dirname(find_in_parent_folders("terragrunt.hcl"))}/live/_envcommon/dashboard.hcl"
  expose         = true
  merge_strategy = "deep"
}
