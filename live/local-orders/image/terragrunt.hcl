# The indexer's repository and image: live/_envcommon/image.hcl, sized by ../env.hcl.
include "root" {
  path = find_in_parent_folders("terragrunt.hcl")
}

include "envcommon" {
  path           = "${dirname(find_in_parent_folders("terragrunt.hcl"))}/live/_envcommon/image.hcl"
  expose         = true
  merge_strategy = "deep"
}

# A registry on this machine stands in for ECR's (tests/images/registry.sh), moto for ECR's API. The build
# needs Docker, so it runs only with BOOKS_IMAGE_STEP=on (`make up` runs the indexer in-process without it).
inputs = {
  build_image       = get_env("BOOKS_IMAGE_STEP", "off") == "on"
  build_environment = { BASE_IMAGE = "local/lambda-python:3.11" } # nothing can be pulled here
  force_delete      = true
  stand_in = {
    registry         = get_env("BOOKS_IMAGE_REGISTRY", "127.0.0.1:5001")
    ecr_api_endpoint = include.envcommon.locals.env.emulator_endpoint
  }
}
