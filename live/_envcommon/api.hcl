# The books REST API: DynamoDB through direct integrations, GET /search through the domain.
locals {
  env = read_terragrunt_config(find_in_parent_folders("env.hcl")).locals
}

terraform {
  source = "${dirname(find_in_parent_folders("terragrunt.hcl"))}/modules//api"
}

# What a platform team reads after the apply (`terragrunt output`): the books URL and a SigV4-signed request
# with the caller's own credentials (curl >= 7.75). An output file next to the module, which keeps its own.
generate "deploy_outputs" {
  path      = "deploy_outputs.tf"
  if_exists = "overwrite_terragrunt"
  contents  = <<-EOF
    output "books_url" {
      description = "URL of the books collection."
      value       = "$${aws_api_gateway_stage.this.invoke_url}/books"
    }

    output "example_request" {
      description = "A signed request (the caller needs execute-api:Invoke on rest_api_execution_arn)."
      value       = "curl --aws-sigv4 'aws:amz:${local.env.region}:execute-api' --user $AWS_ACCESS_KEY_ID:$AWS_SECRET_ACCESS_KEY -H x-amz-security-token:$AWS_SESSION_TOKEN '$${aws_api_gateway_stage.this.invoke_url}/books?limit=10'"
    }
  EOF
}

dependency "table" {
  config_path = "../table"

  mock_outputs = {
    table_name = "mock"
    table_arn  = "arn:aws:dynamodb:${local.env.region}:${local.env.account_id}:table/mock"
  }
  mock_outputs_allowed_terraform_commands = ["init", "validate", "plan", "destroy"]
}

dependency "opensearch" {
  config_path = "../opensearch"

  mock_outputs = {
    domain_endpoint = "search-mock.${local.env.region}.es.amazonaws.com"
    domain_arn      = "arn:aws:es:${local.env.region}:${local.env.account_id}:domain/mock"
  }
  mock_outputs_allowed_terraform_commands = ["init", "validate", "plan", "destroy"]
}

dependency "alarms" {
  config_path = "../alarms"

  mock_outputs = {
    alarm_actions = ["arn:aws:sns:${local.env.region}:${local.env.account_id}:${local.env.name_prefix}-alarms"]
  }
  mock_outputs_allowed_terraform_commands = ["init", "validate", "plan", "destroy"]
}

inputs = {
  alarm_actions = dependency.alarms.outputs.alarm_actions
  name                       = local.env.name_prefix
  table_name                 = dependency.table.outputs.table_name
  table_arn                  = dependency.table.outputs.table_arn
  opensearch_domain_endpoint = dependency.opensearch.outputs.domain_endpoint
  opensearch_domain_arn      = dependency.opensearch.outputs.domain_arn
  authorization              = "AWS_IAM"
  # The account's API Gateway logging role (one per account and region) is a prerequisite, not ours to
  # replace: creating it here would repoint the account at a role that a destroy deletes.
  create_account_cloudwatch_role = false
  throttling = {
    rate_limit  = local.env.api.throttling_rate_limit
    burst_limit = local.env.api.throttling_burst_limit
  }
}
