# Alarms on what callers see: the share of 5XX answers and the 99th-percentile latency of the stage. REST APIs
# publish 5XXError and Latency in AWS/ApiGateway per ApiName and Stage ("Amazon API Gateway dimensions and
# metrics", https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-metrics-and-dimensions.html).
# They notify alarm_actions, or a topic made here when that list is empty, so every alarm reaches someone.

locals {
  create_alarm_topic = var.create_alarms && length(var.alarm_actions) == 0
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

resource "aws_sns_topic" "alarms" {
  count = local.create_alarm_topic ? 1 : 0

  name              = "${var.name}-api-alarms"
  kms_master_key_id = var.alarm_topic_kms_key_id

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
