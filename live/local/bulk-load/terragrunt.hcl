# Export-based backfill, reindex and audit (Step Functions): live/_envcommon/bulk-load.hcl, sized by ../env.hcl.
include "root" {
  path = find_in_parent_folders("terragrunt.hcl")
}

include "envcommon" {
  path           = "${dirname(find_in_parent_folders("terragrunt.hcl"))}/live/_envcommon/bulk-load.hcl"
  expose         = true
  merge_strategy = "deep"
}

# moto keeps everything in memory and `make down` drops it: the bucket may go with its objects. moto serves
# plain HTTP and applies the bucket policy's TLS-only deny to every object request (local/README.md).
inputs = {
  force_destroy           = true
  deny_insecure_transport = false
}
