# The orders table (PK/SK keys, see ../env.hcl) and its stream: live/_envcommon/table.hcl.
include "root" {
  path = find_in_parent_folders("terragrunt.hcl")
}

include "envcommon" {
  path           = "${dirname(find_in_parent_folders("terragrunt.hcl"))}/live/_envcommon/table.hcl"
  expose         = true
  merge_strategy = "deep"
}
