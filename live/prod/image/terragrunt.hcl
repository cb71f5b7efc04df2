# The indexer's repository and image: live/_envcommon/image.hcl; prod builds nothing, it promotes dev's image.
include "root" {
  path = find_in_parent_folders("terragrunt.hcl")
}

include "envcommon" {
  path           = "${dirname(find_in_parent_folders("terragrunt.hcl"))}/live/_envcommon/image.hcl"
  expose         = true
  merge_strategy = "deep"
}

# The digest dev runs, recorded by `make promote` in ../release.hcl (BOOKS_PROMOTE_IMAGE_URI overrides it).
inputs = {
  promote_from = { image_uri = get_env("BOOKS_PROMOTE_IMAGE_URI", read_terragrunt_config("../release.hcl").locals.indexer_image_uri) }
}
