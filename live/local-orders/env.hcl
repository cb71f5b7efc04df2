# Local, the worked example of a single-table design (README.md, "Single-table designs"): an orders table with
# PK/SK keys and its stream, the domain and the indexer, against a moto server (`make up STACK=orders`). No API.
locals {
  environment       = "local-orders"
  region            = "us-east-1"
  account_id        = "123456789012"
  name_prefix       = "orders-local"
  emulator_endpoint = get_env("BOOKS_AWS_ENDPOINT", "http://127.0.0.1:5000")
  tags              = { CostCenter = "orders-local" }

  table      = { deletion_protection_enabled = false, hash_key = "PK", range_key = "SK" }
  opensearch = { instance_type = "t3.small.search", instance_count = 1, zone_awareness_enabled = false, availability_zone_count = 2, dedicated_master = null, ebs_volume_size = 10, log_retention_in_days = 1 }
  indexer    = { architecture = "x86_64", memory_size = 512, reserved_concurrent_executions = null, log_retention_in_days = 1 }
  api        = null # no API unit: only the indexer's role may call the domain
  alarms     = { required = false, destinations = {} }
}
