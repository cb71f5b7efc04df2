# The environment's one alarm topic: every unit's alarms publish to it; env.hcl's alarms.destinations (email
# addresses, HTTPS endpoints or an existing topic) subscribe, and alarms.required refuses a plan without any.
locals {
  env = read_terragrunt_config(find_in_parent_folders("env.hcl")).locals
}

terraform {
  source = "${dirname(find_in_parent_folders("terragrunt.hcl"))}/modules//alarm-topic"
}

inputs = {
  name                = "${local.env.name_prefix}-alarms"
  destinations        = local.env.alarms.destinations
  require_destination = local.env.alarms.required
}
