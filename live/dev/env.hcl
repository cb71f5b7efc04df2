# Development: one small node, no zone awareness, short log retention, deletion allowed.
locals {
  environment       = "dev"
  region            = "eu-west-1"
  account_id        = "111111111111"
  name_prefix       = "books-dev"
  emulator_endpoint = ""
  image_tag         = get_env("INDEXER_IMAGE_TAG", "dev-latest")
  tags              = { CostCenter = "books-dev" }

  table      = { deletion_protection_enabled = false }
  opensearch = { instance_type = "t3.small.search", instance_count = 1, zone_awareness_enabled = false, ebs_volume_size = 10 }
  indexer    = { memory_size = 512, reserved_concurrent_executions = null, log_retention_in_days = 14 }
  api        = { throttling_rate_limit = 50, throttling_burst_limit = 100 }
}
