# Local: the units against a moto server (`make up`, tests/infra); moto's account and fake credentials.
locals {
  environment       = "local"
  region            = "us-east-1"
  account_id        = "123456789012"
  name_prefix       = "books-local"
  emulator_endpoint = get_env("BOOKS_AWS_ENDPOINT", "http://127.0.0.1:5000")
  tags              = { CostCenter = "books-local" }

  table      = { deletion_protection_enabled = false }
  opensearch = { instance_type = "t3.small.search", instance_count = 1, zone_awareness_enabled = false, availability_zone_count = 2, dedicated_master = null, ebs_volume_size = 10, log_retention_in_days = 1 }
  indexer    = { architecture = "x86_64", memory_size = 512, reserved_concurrent_executions = null, log_retention_in_days = 1 }
  api        = { throttling_rate_limit = 50, throttling_burst_limit = 100 }
  alarms     = { required = false, destinations = {} }
  image      = { pull_account_ids = [] }
  bulk_load  = { concurrency_per_data_node = 2, memory_size = 1024, log_retention_in_days = 1 }
}
