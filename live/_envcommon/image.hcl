# The indexer's ECR repository and image: built from artifacts/update_indices for the function's architecture,
# tagged with a digest of those sources, pushed, and output by digest for the indexer unit.
locals {
  env       = read_terragrunt_config(find_in_parent_folders("env.hcl")).locals
  repo_root = dirname(find_in_parent_folders("terragrunt.hcl"))
}

terraform {
  source = "${local.repo_root}/modules//image"
}

inputs = {
  repository_name = "${local.env.name_prefix}-indexer"
  source_dir      = "${local.repo_root}/artifacts/update_indices"
  source_excludes = ["(^|/)__pycache__/", "\\.pyc$", "(^|/)README\\.md$"] # docs do not change the image
  build_script    = "${local.repo_root}/artifacts/update_indices/build-image.sh"
  architecture    = local.env.indexer.architecture
  docker_command  = get_env("DOCKER", "docker")
}
