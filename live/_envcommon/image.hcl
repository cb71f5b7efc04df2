# The indexer's ECR repository and image: built from artifacts/update_indices for the function's architecture,
# tagged with a digest of those sources (git's tracked files), pushed, and output by digest for the indexer
# unit; or, where env.hcl's image.promote is set, dev's image copied by digest (live/<env>/release.hcl).
locals {
  env       = read_terragrunt_config(find_in_parent_folders("env.hcl")).locals
  repo_root = dirname(find_in_parent_folders("terragrunt.hcl"))
}

terraform {
  source = "${local.repo_root}/modules//image"
}

inputs = {
  repository_name = "${local.env.name_prefix}-indexer"
  source_dir = "${local.repo_root}/artifacts/update_indices"
  # git's tracked files, the same list build-image.sh builds from: an untracked file changes nothing
  source_files     = split("\n", trimspace(run_cmd("--terragrunt-quiet", "git", "-C", "${local.repo_root}/artifacts/update_indices", "ls-files")))
  source_excludes  = ["(^|/)README\\.md$"] # docs do not change the image
  pull_account_ids = local.env.image.pull_account_ids
  build_script    = "${local.repo_root}/artifacts/update_indices/build-image.sh"
  architecture    = local.env.indexer.architecture
  docker_command  = get_env("DOCKER", "docker")
}
