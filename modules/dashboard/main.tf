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

  api      = ["ApiName", var.api.name, "Stage", var.api.stage]
  lambda   = ["FunctionName", var.indexer.function_name]
  queue    = ["QueueName", var.indexer.dead_letter_queue_name]
  domain   = ["DomainName", var.opensearch_domain_name, "ClientId", data.aws_caller_identity.current.account_id]
  own      = var.indexer.metrics_namespace
  entities = var.indexer.entities

  lag_threshold = var.index_lag_alarm_threshold_ms == null ? [] : [
    { label = "index lag alarm", value = var.index_lag_alarm_threshold_ms },
  ]

  # The heartbeat alarm's view (modules/lambda): the table's successful writes per operation, summed by an
  # expression ("Use metric math", https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/using-metric-math.html),
  # beside the records the indexer received, in the alarm's five-minute periods.
  write_operations = ["PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems"]
  # (A for expression with "if" keeps the lists' element types apart; a conditional would need one type.)
  table_writes = [for entry in concat(
    [for operation in local.write_operations : [
      "AWS/DynamoDB", "SuccessfulRequestLatency", "TableName", coalesce(var.table_name, "-"), "Operation", operation,
      { stat = "SampleCount", id = lower(operation), visible = false },
    ]],
    [[{ expression = join(" + ", [for operation in local.write_operations : lower(operation)]), label = "table writes (successful)", id = "writes" }]],
  ) : entry if var.table_name != null]

  graphs = [
    {
      title = "API requests", x = 0, y = 0, width = 8, stat = "Sum", left = { min = 0 }, horizontal = [], period = 60
      metrics = [
        concat(["AWS/ApiGateway", "Count"], local.api, [{ label = "requests" }]),
      ]
    },
    {
      title = "API errors", x = 8, y = 0, width = 8, stat = "Sum", left = { min = 0 }, horizontal = [], period = 60
      metrics = [
        concat(["AWS/ApiGateway", "5XXError"], local.api, [{ label = "5XX" }]),
        concat(["AWS/ApiGateway", "4XXError"], local.api, [{ label = "4XX" }]),
      ]
    },
    {
      title = "API latency (ms)", x = 16, y = 0, width = 8, stat = "p99", left = { min = 0 }, horizontal = [], period = 60
      metrics = [
        concat(["AWS/ApiGateway", "Latency"], local.api, [{ label = "latency p99" }]),
        concat(["AWS/ApiGateway", "Latency"], local.api, [{ stat = "p50", label = "latency p50" }]),
        concat(["AWS/ApiGateway", "IntegrationLatency"], local.api, [{ label = "integration p99" }]),
      ]
    },
    # IteratorAge: "how old the last record in the batch was when processing finished" (Lambda,
    # events-dynamodb-metrics.html). IndexLagP90 is each batch's p90, so a period's Maximum is the highest p90
    # of its batches, not a p90 over the period.
    {
      title = "How far the index is behind the table (ms)", x = 0, y = 6, width = 8, stat = "Maximum"
      left  = { min = 0 }, horizontal = local.lag_threshold, period = 60
      metrics = [
        concat(["AWS/Lambda", "IteratorAge"], local.lambda, [{ label = "stream iterator age (last record of a batch, when processed)" }]),
        concat([local.own, "IndexLagMax"], local.lambda, [{ label = "index lag, max (table write to acknowledgement)" }]),
        concat([local.own, "IndexLagP90"], local.lambda, [{ label = "index lag, highest p90 of a batch" }]),
      ]
    },
    {
      title = "Table writes and records the indexer received (heartbeat, per 5 minutes)", x = 8, y = 6, width = 8, stat = "Sum"
      left  = { min = 0 }, horizontal = [], period = 300
      metrics = concat(local.table_writes, [
        concat([local.own, "RecordsIn"], local.lambda, [{ label = "records received" }]),
      ])
    },
    {
      title = "Indexer records", x = 16, y = 6, width = 8, stat = "Sum", left = { min = 0 }, horizontal = [], period = 60
      metrics = concat([
        concat([local.own, "RecordsIn"], local.lambda, [{ label = "records in (redeliveries included)" }]),
        concat([local.own, "DocumentsWritten"], local.lambda, [{ label = "documents written" }]),
        concat([local.own, "TombstonesWritten"], local.lambda, [{ label = "deletes (tombstones)" }]),
        concat([local.own, "IgnoredAsOlder"], local.lambda, [{ label = "ignored as older (409)" }]),
        concat([local.own, "RecordsSkipped"], local.lambda, [{ label = "skipped (superseded in batch)" }]),
        ], [for entry in [
          concat([local.own, "DocumentsRebuilt"], local.lambda, [{ label = "folded documents rebuilt" }]),
          concat([local.own, "RebuildRetries"], local.lambda, [{ label = "rebuilds raced and redone" }]),
          concat([local.own, "TableReadUnits"], local.lambda, [{ label = "table read units (rebuilds)", yAxis = "right" }]),
      ] : entry if local.entities])
    },
    {
      title = "Indexer errors", x = 0, y = 12, width = 12, stat = "Sum", left = { min = 0 }, horizontal = [], period = 60
      metrics = concat([
        concat(["AWS/Lambda", "Errors"], local.lambda, [{ label = "invocation errors" }]),
        concat(["AWS/Lambda", "Throttles"], local.lambda, [{ label = "throttles" }]),
        concat([local.own, "FailedRetryable"], local.lambda, [{ label = "failed: retryable (429/5xx/time)" }]),
        concat([local.own, "FailedRejected"], local.lambda, [{ label = "failed: rejected by OpenSearch" }]),
        concat([local.own, "FailedUndecodable"], local.lambda, [{ label = "failed: undecodable" }]),
        concat([local.own, "FailedHook"], local.lambda, [{ label = "failed: document hook" }]),
        concat([local.own, "BulkRetries"], local.lambda, [{ label = "bulk item retries" }]),
        ], [for entry in [
          concat([local.own, "FailedEntityRules"], local.lambda, [{ label = "failed: breaks ENTITY_CONFIG's rules" }]),
      ] : entry if local.entities])
    },
    {
      title = "Dead-letter queue (batches given up on)", x = 12, y = 12, width = 12, stat = "Maximum", left = { min = 0 }, horizontal = [], period = 60
      metrics = [
        concat(["AWS/SQS", "ApproximateNumberOfMessagesVisible"], local.queue, [{ label = "messages" }]),
        concat(["AWS/SQS", "ApproximateAgeOfOldestMessage"], local.queue, [{ label = "oldest (s)", yAxis = "right" }]),
      ]
    },
    {
      title = "Cluster status", x = 0, y = 18, width = 6, stat = "Maximum", left = { min = 0, max = 1 }, horizontal = [], period = 60
      metrics = [
        concat(["AWS/ES", "ClusterStatus.green"], local.domain, [{ label = "green", color = "#2ca02c" }]),
        concat(["AWS/ES", "ClusterStatus.yellow"], local.domain, [{ label = "yellow", color = "#ff7f0e" }]),
        concat(["AWS/ES", "ClusterStatus.red"], local.domain, [{ label = "red", color = "#d62728" }]),
      ]
    },
    {
      title = "Free storage (MiB, emptiest node)", x = 6, y = 18, width = 6, stat = "Minimum", left = { min = 0 }, horizontal = [], period = 60
      metrics = [
        concat(["AWS/ES", "FreeStorageSpace"], local.domain, [{ label = "free storage" }]),
      ]
    },
    {
      title = "JVM memory pressure (%)", x = 12, y = 18, width = 6, stat = "Maximum", left = { min = 0, max = 100 }, horizontal = [], period = 60
      metrics = [
        concat(["AWS/ES", "JVMMemoryPressure"], local.domain, [{ label = "data nodes" }]),
      ]
    },
    {
      title = "CPU (%)", x = 18, y = 18, width = 6, stat = "Maximum", left = { min = 0, max = 100 }, horizontal = [], period = 60
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
        period      = graph.period
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
