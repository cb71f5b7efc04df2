# Export-based backfill, reindex and audit (Step Functions): live/_envcommon/bulk-load.hcl, sized by ../env.hcl.
include "root" {
  path = find_in_parent_folders("terragrunt.hcl")
}

include "envcommon" {
  path           = "${dirname(find_in_parent_folders("terragrunt.hcl"))}/live/_envcommon/bulk-load.hcl"
  expose         = true
  merge_strategy = "deep"
}
