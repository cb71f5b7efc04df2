# AWS's recommended alarms for a domain ("Recommended CloudWatch alarms for Amazon OpenSearch Service",
# https://docs.aws.amazon.com/opensearch-service/latest/developerguide/cloudwatch-alarms.html), each with the
# statistic, period and consecutive periods that page lists. They notify alarm_actions, or a topic made here when
# that list is empty, so every alarm reaches someone.

locals {
  create_alarms      = local.create && var.create_alarms
  create_alarm_topic = local.create_alarms && length(var.alarm_actions) == 0
  create_alarm_key   = local.create_alarm_topic && var.alarm_topic_kms_key_id == null

  alarm_actions = concat(aws_sns_topic.alarms[*].arn, var.alarm_actions)

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

# CloudWatch can publish to an encrypted topic only with kms:Decrypt and kms:GenerateDataKey* on its key, which
# the AWS managed alias/aws/sns key's fixed policy never grants: alarms would change state and deliver nothing
# ("Enable compatibility between event sources from AWS services and encrypted topics",
# https://docs.aws.amazon.com/sns/latest/dg/sns-key-management.html#compatibility-with-aws-services). Without
# alarm_topic_kms_key_id the topic gets a customer managed key whose policy grants exactly that.
data "aws_iam_policy_document" "alarm_key" {
  # checkov:skip=CKV_AWS_109:A key policy: "*" is the key itself, and the account administers its own key as AWS's default key policy does.
  # checkov:skip=CKV_AWS_111:A key policy: "*" is the key itself; the only service grant is CloudWatch's Decrypt/GenerateDataKey from this account.
  # checkov:skip=CKV_AWS_356:A key policy's resource is always "*" (the key it is attached to).
  count = local.create_alarm_key ? 1 : 0

  statement {
    sid       = "AccountAdministers"
    actions   = ["kms:*"]
    resources = ["*"]

    principals {
      type        = "AWS"
      identifiers = ["arn:${data.aws_partition.current.partition}:iam::${data.aws_caller_identity.current.account_id}:root"]
    }
  }

  statement {
    sid       = "CloudWatchAlarmsPublish"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey*"]
    resources = ["*"]

    principals {
      type        = "Service"
      identifiers = ["cloudwatch.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [data.aws_caller_identity.current.account_id]
    }
  }
}

resource "aws_kms_key" "alarms" {
  count = local.create_alarm_key ? 1 : 0

  description             = "Encrypts the ${var.domain_name} OpenSearch alarm topic; CloudWatch alarms may use it to publish."
  enable_key_rotation     = true
  deletion_window_in_days = 7
  policy                  = data.aws_iam_policy_document.alarm_key[0].json

  tags = var.tags
}

resource "aws_sns_topic" "alarms" {
  count = local.create_alarm_topic ? 1 : 0

  name              = "${var.domain_name}-opensearch-alarms"
  kms_master_key_id = local.create_alarm_key ? aws_kms_key.alarms[0].arn : var.alarm_topic_kms_key_id

  tags = var.tags
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
