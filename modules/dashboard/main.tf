data "aws_region" "current" {}
data "aws_caller_identity" "current" {}

# One dashboard for the whole pipeline, in the order an on-call engineer reads it: what callers see (the API),
# how far the index is behind the table (the stream's iterator age beside the indexer's own lag), what fails
# (the indexer's errors, the dead-letter queue), the cluster, and every alarm's state. The body follows
# "Dashboard Body Structure and Syntax"
# (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch-Dashboard-Body-Structure.html):
# a 24-column grid, each metric as [namespace, name, dimension name, value, ..., {options}].
# tests/infra/test_dashboard.py checks that every metric named here is one its resource publishes.

locals {
  create = var.create
  region = data.aws_region.current.name

  api    = ["ApiName", var.api.name, "Stage", var.api.stage]
  lambda = ["FunctionName", var.indexer.function_name]
  queue  = ["QueueName", var.indexer.dead_letter_queue_name]
  domain = ["DomainName", var.opensearch_domain_name, "ClientId", data.aws_caller_identity.current.account_id]
  own    = var.indexer.metrics_namespace

  lag_threshold = var.index_lag_alarm_threshold_ms == null ? [] : [
    { label = "index lag alarm", value = var.index_lag_alarm_threshold_ms },
  ]

  graphs = [
    {
      title = "API requests", x = 0, y = 0, width = 8, stat = "Sum", left = { min = 0 }, horizontal = []
      metrics = [
        concat(["AWS/ApiGateway", "Count"], local.api, [{ label = "requests" }]),
      ]
    },
    {
      title = "API errors", x = 8, y = 0, width = 8, stat = "Sum", left = { min = 0 }, horizontal = []
      metrics = [
        concat(["AWS/ApiGateway", "5XXError"], local.api, [{ label = "5XX" }]),
        concat(["AWS/ApiGateway", "4XXError"], local.api, [{ label = "4XX" }]),
      ]
    },
    {
      title = "API latency (ms)", x = 16, y = 0, width = 8, stat = "p99", left = { min = 0 }, horizontal = []
      metrics = [
        concat(["AWS/ApiGateway", "Latency"], local.api, [{ label = "latency p99" }]),
        concat(["AWS/ApiGateway", "Latency"], local.api, [{ stat = "p50", label = "latency p50" }]),
        concat(["AWS/ApiGateway", "IntegrationLatency"], local.api, [{ label = "integration p99" }]),
      ]
    },
    {
      title = "How far the index is behind the table (ms)", x = 0, y = 6, width = 12, stat = "Maximum"
      left  = { min = 0 }, horizontal = local.lag_threshold
      metrics = [
        concat(["AWS/Lambda", "IteratorAge"], local.lambda, [{ label = "stream iterator age (batch arrival)" }]),
        concat([local.own, "IndexLagMax"], local.lambda, [{ label = "index lag, max (acknowledged)" }]),
        concat([local.own, "IndexLagP90"], local.lambda, [{ label = "index lag, p90 of a batch" }]),
      ]
    },
    {
      title = "Indexer records", x = 12, y = 6, width = 12, stat = "Sum", left = { min = 0 }, horizontal = []
      metrics = [
        concat([local.own, "RecordsIn"], local.lambda, [{ label = "records in" }]),
        concat([local.own, "DocumentsWritten"], local.lambda, [{ label = "documents written" }]),
        concat([local.own, "TombstonesWritten"], local.lambda, [{ label = "deletes (tombstones)" }]),
        concat([local.own, "IgnoredAsOlder"], local.lambda, [{ label = "ignored as older (409)" }]),
        concat([local.own, "RecordsSkipped"], local.lambda, [{ label = "skipped (superseded in batch)" }]),
      ]
    },
    {
      title = "Indexer errors", x = 0, y = 12, width = 12, stat = "Sum", left = { min = 0 }, horizontal = []
      metrics = [
        concat(["AWS/Lambda", "Errors"], local.lambda, [{ label = "invocation errors" }]),
        concat(["AWS/Lambda", "Throttles"], local.lambda, [{ label = "throttles" }]),
        concat([local.own, "FailedRetryable"], local.lambda, [{ label = "failed: retryable (429/5xx/time)" }]),
        concat([local.own, "FailedRejected"], local.lambda, [{ label = "failed: rejected by OpenSearch" }]),
        concat([local.own, "FailedUndecodable"], local.lambda, [{ label = "failed: undecodable" }]),
        concat([local.own, "FailedHook"], local.lambda, [{ label = "failed: document hook" }]),
        concat([local.own, "BulkRetries"], local.lambda, [{ label = "bulk item retries" }]),
      ]
    },
    {
      title = "Dead-letter queue (batches given up on)", x = 12, y = 12, width = 12, stat = "Maximum", left = { min = 0 }, horizontal = []
      metrics = [
        concat(["AWS/SQS", "ApproximateNumberOfMessagesVisible"], local.queue, [{ label = "messages" }]),
        concat(["AWS/SQS", "ApproximateAgeOfOldestMessage"], local.queue, [{ label = "oldest (s)", yAxis = "right" }]),
      ]
    },
    {
      title = "Cluster status", x = 0, y = 18, width = 6, stat = "Maximum", left = { min = 0, max = 1 }, horizontal = []
      metrics = [
        concat(["AWS/ES", "ClusterStatus.green"], local.domain, [{ label = "green", color = "#2ca02c" }]),
        concat(["AWS/ES", "ClusterStatus.yellow"], local.domain, [{ label = "yellow", color = "#ff7f0e" }]),
        concat(["AWS/ES", "ClusterStatus.red"], local.domain, [{ label = "red", color = "#d62728" }]),
      ]
    },
    {
      title = "Free storage (MiB, emptiest node)", x = 6, y = 18, width = 6, stat = "Minimum", left = { min = 0 }, horizontal = []
      metrics = [
        concat(["AWS/ES", "FreeStorageSpace"], local.domain, [{ label = "free storage" }]),
      ]
    },
    {
      title = "JVM memory pressure (%)", x = 12, y = 18, width = 6, stat = "Maximum", left = { min = 0, max = 100 }, horizontal = []
      metrics = [
        concat(["AWS/ES", "JVMMemoryPressure"], local.domain, [{ label = "data nodes" }]),
      ]
    },
    {
      title = "CPU (%)", x = 18, y = 18, width = 6, stat = "Maximum", left = { min = 0, max = 100 }, horizontal = []
      metrics = [
        concat(["AWS/ES", "CPUUtilization"], local.domain, [{ label = "data nodes, busiest" }]),
      ]
    },
  ]

  widgets = concat(
    [for graph in local.graphs : {
      type   = "metric"
      x      = graph.x
      y      = graph.y
      width  = graph.width
      height = 6
      properties = {
        title       = graph.title
        region      = local.region
        view        = "timeSeries"
        stacked     = false
        period      = 60
        stat        = graph.stat
        metrics     = graph.metrics
        yAxis       = { left = graph.left }
        annotations = { horizontal = graph.horizontal }
      }
    }],
    length(var.alarm_arns) == 0 ? [] : [{
      type   = "alarm"
      x      = 0
      y      = 24
      width  = 24
      height = 4
      properties = {
        title  = "Alarms"
        alarms = var.alarm_arns
        sortBy = "stateUpdatedTimestamp"
      }
    }],
  )
}

resource "aws_cloudwatch_dashboard" "this" {
  count = local.create ? 1 : 0

  dashboard_name = var.dashboard_name
  dashboard_body = jsonencode({ widgets = local.widgets })
}
