# Root configuration every unit includes: remote state, the generated provider and the common inputs.
# Run `terragrunt run-all <command>` from an environment folder (live/<env>).

locals {
  env = read_terragrunt_config(find_in_parent_folders("env.hcl")).locals

  # live/local aims at a local emulator: a local state file instead of S3 (under BOOKS_TF_STATE_DIR when set),
  # fake credentials, endpoints.
  emulated = local.env.emulator_endpoint != ""

  default_tags = {
    Project     = "books"
    Environment = local.env.environment
    ManagedBy   = "terragrunt"
    Unit        = path_relative_to_include()
  }

  backends = {
    s3 = {
      bucket         = "books-terraform-state-${local.env.account_id}-${local.env.region}"
      key            = "${path_relative_to_include()}/terraform.tfstate"
      region         = local.env.region
      encrypt        = true
      dynamodb_table = "books-terraform-locks"
    }
    local = {
      path = "${get_env("BOOKS_TF_STATE_DIR", "${get_parent_terragrunt_dir()}/.state/terragrunt")}/${path_relative_to_include()}/terraform.tfstate"
    }
  }

  emulator_services = ["apigateway", "cloudwatch", "dynamodb", "ecr", "events", "iam", "kms", "lambda", "logs", "opensearch", "s3", "sfn", "sns", "sqs", "sts"]
}

remote_state {
  backend = local.emulated ? "local" : "s3"
  config  = local.backends[local.emulated ? "local" : "s3"]

  generate = {
    path      = "backend.tf"
    if_exists = "overwrite_terragrunt"
  }
}

generate "provider" {
  path      = "provider.tf"
  if_exists = "overwrite_terragrunt"
  contents  = <<-EOF
    provider "aws" {
      region              = "${local.env.region}"
      allowed_account_ids = ["${local.env.account_id}"]

      default_tags {
        tags = ${jsonencode(local.default_tags)}
      }
    %{~if local.emulated}
      # The account id is requested (from the emulator's STS), so allowed_account_ids guards here too: with
      # skip_requesting_account_id the provider knows no account and refuses every one.

      access_key                  = "testing"
      secret_key                  = "testing"
      skip_credentials_validation = true
      skip_metadata_api_check     = true
      skip_region_validation      = true
      s3_use_path_style           = true # the emulator serves buckets under its own host name, not <bucket>.<host>

      endpoints {
    %{~for service in local.emulator_services}
        ${service} = "${local.env.emulator_endpoint}"
    %{~endfor}
      }
    %{~endif}
    }
  EOF
}

# Inputs every module declares; units add only what differs.
inputs = {
  tags = local.env.tags
}
