# Production: three zone-aware data nodes, deletion protection, a year of logs.
locals {
  environment       = "prod"
  region            = "eu-west-1"
  account_id        = "222222222222"
  name_prefix       = "books-prod"
  emulator_endpoint = ""
  image_tag         = get_env("INDEXER_IMAGE_TAG")
  tags              = { CostCenter = "books-prod" }

  table      = { deletion_protection_enabled = true }
  opensearch = { instance_type = "r7g.large.search", instance_count = 3, zone_awareness_enabled = true, ebs_volume_size = 50 }
  indexer    = { memory_size = 1024, reserved_concurrent_executions = 10, log_retention_in_days = 365 }
  api        = { throttling_rate_limit = 500, throttling_burst_limit = 1000 }
}
