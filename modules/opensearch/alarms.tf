# AWS's recommended alarms for a domain ("Recommended CloudWatch alarms for Amazon OpenSearch Service",
# https://docs.aws.amazon.com/opensearch-service/latest/developerguide/cloudwatch-alarms.html), each with the
# statistic, period and consecutive periods that page lists. They notify alarm_actions (the environment's alarm
# topic: modules/alarm-topic), on ALARM and on OK.

locals {
  create_alarms = local.create && var.create_alarms
  alarm_actions = var.alarm_actions

  # FreeStorageSpace is in MiB per node; AWS suggests 25% of each node's storage instead of a fixed 20 GiB.
  free_storage_threshold_mib = floor(var.ebs_volume_size * 1024 * 0.25)

  alarms = merge(
    {
      cluster-red = {
        description = "At least one primary shard and its replicas are not allocated to a node: searches miss data, writes to it fail."
        metric_name = "ClusterStatus.red"
        statistic   = "Maximum"
        operator    = "GreaterThanOrEqualToThreshold"
        threshold   = 1
        period      = 60
        periods     = 1
      }
      cluster-yellow = {
        description = "At least one replica shard is not allocated to a node: one more node failure can lose data."
        metric_name = "ClusterStatus.yellow"
        statistic   = "Maximum"
        operator    = "GreaterThanOrEqualToThreshold"
        threshold   = 1
        period      = 60
        periods     = 5
      }
      free-storage = {
        description = "A data node is down to a quarter of its storage (${local.free_storage_threshold_mib} MiB): writes will be blocked."
        metric_name = "FreeStorageSpace"
        statistic   = "Minimum"
        operator    = "LessThanOrEqualToThreshold"
        threshold   = local.free_storage_threshold_mib
        period      = 60
        periods     = 1
      }
      index-writes-blocked = {
        description = "The cluster is blocking write requests (ClusterBlockException): the indexer's batches fail."
        metric_name = "ClusterIndexWritesBlocked"
        statistic   = "Maximum"
        operator    = "GreaterThanOrEqualToThreshold"
        threshold   = 1
        period      = 300
        periods     = 1
      }
      automated-snapshot-failure = {
        description = "An automated snapshot failed (often because the cluster is red): there may be no recent restore point."
        metric_name = "AutomatedSnapshotFailure"
        statistic   = "Maximum"
        operator    = "GreaterThanOrEqualToThreshold"
        threshold   = 1
        period      = 60
        periods     = 1
      }
      cpu-utilization = {
        description = "Data nodes' CPU has been at 80% or more for 45 minutes: searches and indexing slow down; use a larger instance type or add nodes."
        metric_name = "CPUUtilization"
        statistic   = "Maximum"
        operator    = "GreaterThanOrEqualToThreshold"
        threshold   = 80
        period      = 900
        periods     = 3
      }
      jvm-memory-pressure = {
        description = "Data nodes' JVM memory pressure is at 95% or more: the cluster may hit out-of-memory errors."
        metric_name = "JVMMemoryPressure"
        statistic   = "Maximum"
        operator    = "GreaterThanOrEqualToThreshold"
        threshold   = 95
        period      = 60
        periods     = 3
      }
    },
    local.dedicated_master_enabled ? {
      master-cpu-utilization = {
        description = "Dedicated masters' CPU has been at 50% or more for 45 minutes: use a larger master instance type."
        metric_name = "MasterCPUUtilization"
        statistic   = "Maximum"
        operator    = "GreaterThanOrEqualToThreshold"
        threshold   = 50
        period      = 900
        periods     = 3
      }
      master-jvm-memory-pressure = {
        description = "Dedicated masters' JVM memory pressure is at 95% or more: cluster management may stall."
        metric_name = "MasterJVMMemoryPressure"
        statistic   = "Maximum"
        operator    = "GreaterThanOrEqualToThreshold"
        threshold   = 95
        period      = 60
        periods     = 3
      }
    } : {},
  )
}

resource "aws_cloudwatch_metric_alarm" "this" {
  for_each = local.create_alarms ? local.alarms : {}

  alarm_name          = "${var.domain_name}-opensearch-${each.key}"
  alarm_description   = each.value.description
  namespace           = "AWS/ES"
  metric_name         = each.value.metric_name
  statistic           = each.value.statistic
  dimensions          = { DomainName = var.domain_name, ClientId = data.aws_caller_identity.current.account_id }
  comparison_operator = each.value.operator
  threshold           = each.value.threshold
  period              = each.value.period
  evaluation_periods  = each.value.periods
  treat_missing_data  = "missing"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions

  tags = var.tags
}

# "5xx alarms >= 10% of OpenSearchRequests" for 5 minutes, once (the same page): a share of the requests, so
# metric math over the two sums; "missing" keeps a quiet domain (no requests) from alarming.
resource "aws_cloudwatch_metric_alarm" "server_errors" {
  count = local.create_alarms ? 1 : 0

  alarm_name          = "${var.domain_name}-opensearch-5xx"
  alarm_description   = "At least 10% of the domain's requests answered 5xx in 5 minutes: data nodes may be overloaded or requests time out."
  comparison_operator = "GreaterThanOrEqualToThreshold"
  threshold           = 10
  evaluation_periods  = 1
  treat_missing_data  = "missing"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions

  metric_query {
    id          = "share"
    expression  = "100 * errors / requests"
    label       = "5xx share of requests (%)"
    return_data = true
  }

  dynamic "metric_query" {
    for_each = { errors = "5xx", requests = "OpenSearchRequests" }
    content {
      id = metric_query.key
      metric {
        namespace   = "AWS/ES"
        metric_name = metric_query.value
        period      = 300
        stat        = "Sum"
        dimensions  = { DomainName = var.domain_name, ClientId = data.aws_caller_identity.current.account_id }
      }
    }
  }

  tags = var.tags
}
