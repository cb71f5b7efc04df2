# The alarm topic and its on-call subscriptions: live/_envcommon/alarms.hcl, destinations in ../env.hcl.
include "root" {
  path = find_in_parent_folders("terragrunt.hcl")
}

include "envcommon" {
  path           = "${dirname(find_in_parent_folders("terragrunt.hcl"))}/live/_envcommon/alarms.hcl"
  expose         = true
  merge_strategy = "deep"
}
