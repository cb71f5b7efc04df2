# The search domain: live/_envcommon/opensearch.hcl, sized by ../env.hcl.
include "root" {
  path = find_in_parent_folders("terragrunt.hcl")
}

include "envcommon" {
  path           = "${dirname(find_in_parent_folders("terragrunt.hcl"))}/live/_envcommon/opensearch.hcl"
  expose         = true
  merge_strategy = "deep"
}

# People sign in to OpenSearch Dashboards (Cognito, fine-grained access control: admins and read-only analysts);
# the deploy role (env.hcl's roles.deploy) is the master user and must be who applies. Switching it on for an
# existing domain, and prod: modules/opensearch/README.md, "Dashboards access".
inputs = {
  dashboards_access = {
    master_user_arn = include.envcommon.locals.env.roles.deploy
  }
}
