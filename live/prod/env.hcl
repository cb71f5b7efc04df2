# Production: three data nodes over three zones with three dedicated masters (CreateDomain rejects an odd
# node count over two zones), deletion protection, and a year of logs (indexer and domain; the API's access
# logs keep the api module's 365 days).
locals {
  environment       = "prod"
  region            = "eu-west-1"
  account_id        = "222222222222"
  name_prefix       = "books-prod"
  emulator_endpoint = ""
  tags              = { CostCenter = "books-prod" }

  table      = { deletion_protection_enabled = true }
  opensearch = { instance_type = "r7g.large.search", instance_count = 3, zone_awareness_enabled = true, availability_zone_count = 3, dedicated_master = { instance_type = "m6g.large.search", count = 3 }, ebs_volume_size = 50, log_retention_in_days = 365 }
  # No reserved concurrency: Lambda keeps at least 100 of the account's quota unreserved, so a new account (quota
  # 10) can reserve nothing; the stream's shards x parallelization_factor already bound the indexer's load.
  indexer = { architecture = "x86_64", memory_size = 1024, reserved_concurrent_executions = null, log_retention_in_days = 365 }
  api        = { throttling_rate_limit = 500, throttling_burst_limit = 1000 }
  # On-call destinations: email_addresses, https_endpoints and/or topic_arn. Until a real one is written here (or
  # exported as BOOKS_ONCALL_EMAILS, comma-separated), the placeholder below, on a domain reserved for examples
  # (RFC 2606), fails every prod plan: required means someone must be paged. Each email and HTTPS subscription
  # must be confirmed once (live/README.md).
  alarms = { required = true, destinations = { email_addresses = split(",", get_env("BOOKS_ONCALL_EMAILS", "replace-me@example.com")) } }
  image      = { pull_account_ids = [] }
  bulk_load  = { concurrency_per_data_node = 2, memory_size = 1024, log_retention_in_days = 365 }
}
