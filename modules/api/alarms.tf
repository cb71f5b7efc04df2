# Alarms on what callers see: the share of 5XX answers and the 99th-percentile latency of the stage. REST APIs
# publish 5XXError and Latency in AWS/ApiGateway per ApiName and Stage ("Amazon API Gateway dimensions and
# metrics", https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-metrics-and-dimensions.html).
# They notify alarm_actions (the environment's alarm topic: modules/alarm-topic), on ALARM and on OK.

locals {
  alarm_actions = var.alarm_actions

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
