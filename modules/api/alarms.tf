# Alarms on what callers see: the share of 5XX answers and the 99th-percentile latency of the stage. REST APIs
# publish 5XXError and Latency in AWS/ApiGateway per ApiName and Stage ("Amazon API Gateway dimensions and
# metrics", https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-metrics-and-dimensions.html).
# They notify alarm_actions, or a topic made here when that list is empty, so every alarm reaches someone.

locals {
  create_alarm_topic = var.create_alarms && length(var.alarm_actions) == 0
  create_alarm_key   = local.create_alarm_topic && var.alarm_topic_kms_key_id == null
  alarm_actions      = concat(aws_sns_topic.alarms[*].arn, var.alarm_actions)

  alarms = {
    server-errors = {
      description        = "More than ${var.server_error_alarm_rate * 100}% of requests answered 5XX (integration failures, e.g. the execution role or a template)."
      metric_name        = "5XXError"
      statistic          = "Average" # 5XXError is 1 or 0 per request: its average is the error rate
      extended_statistic = null
      threshold          = var.server_error_alarm_rate
    }
    latency = {
      description        = "The 99th percentile of request latency is above ${var.latency_alarm_threshold_ms} ms."
      metric_name        = "Latency"
      statistic          = null
      extended_statistic = "p99"
      threshold          = var.latency_alarm_threshold_ms
    }
  }
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

  description             = "Encrypts the ${var.name} API alarm topic; CloudWatch alarms may use it to publish."
  enable_key_rotation     = true
  deletion_window_in_days = 7
  policy                  = data.aws_iam_policy_document.alarm_key[0].json

  tags = var.tags
}

resource "aws_sns_topic" "alarms" {
  count = local.create_alarm_topic ? 1 : 0

  name              = "${var.name}-api-alarms"
  kms_master_key_id = local.create_alarm_key ? aws_kms_key.alarms[0].arn : var.alarm_topic_kms_key_id

  tags = var.tags
}

resource "aws_cloudwatch_metric_alarm" "this" {
  for_each = var.create_alarms ? local.alarms : {}

  alarm_name          = "${var.name}-api-${each.key}"
  alarm_description   = each.value.description
  namespace           = "AWS/ApiGateway"
  metric_name         = each.value.metric_name
  statistic           = each.value.statistic
  extended_statistic  = each.value.extended_statistic
  dimensions          = { ApiName = aws_api_gateway_rest_api.this.name, Stage = aws_api_gateway_stage.this.stage_name }
  comparison_operator = "GreaterThanThreshold"
  threshold           = each.value.threshold
  period              = 60
  evaluation_periods  = var.alarm_evaluation_periods
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions

  tags = var.tags
}
