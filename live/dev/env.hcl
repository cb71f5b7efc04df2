# Development: one small node, no zone awareness, two weeks of logs, deletion allowed.
locals {
  environment       = "dev"
  region            = "eu-west-1"
  account_id        = "111111111111"
  name_prefix       = "books-dev"
  emulator_endpoint = ""
  tags              = { CostCenter = "books-dev" }

  table      = { deletion_protection_enabled = false }
  opensearch = { instance_type = "t3.small.search", instance_count = 1, zone_awareness_enabled = false, availability_zone_count = 2, dedicated_master = null, ebs_volume_size = 10, log_retention_in_days = 14 }
  indexer    = { architecture = "x86_64", memory_size = 512, reserved_concurrent_executions = null, log_retention_in_days = 14 }
  api        = { throttling_rate_limit = 50, throttling_burst_limit = 100 }
  alarms     = { required = false, destinations = { email_addresses = ["books-dev-alerts@example.com"] } }
  image      = { pull_account_ids = ["222222222222"] } # prod promotes dev's images (make promote)
  # Who applies and who operates (placeholders, like the account id; modules/opensearch/README.md "Dashboards
  # access"): the deploy role applies Terraform and is the domain's fine-grained access control master user;
  # operators run python -m indexer.ops (docs/operations.md) and are admitted to the domain and mapped inside it.
  roles = { deploy = "arn:aws:iam::${local.account_id}:role/books-deploy", operators = ["arn:aws:iam::${local.account_id}:role/books-dev-operator"] }
  bulk_load  = { concurrency_per_data_node = 2, memory_size = 1024, log_retention_in_days = 14 }
}
