# The same constraints in every module (tests/infra/test_conformance_versions.py): Terraform 1.9 for validations
# that read other variables; provider 5.70 for the event source mapping's tags; below 7.0, the next major.
terraform {
  required_version = ">= 1.9.0"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.70, < 7.0"
    }
  }
}
