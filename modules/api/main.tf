data "aws_caller_identity" "current" {}

data "aws_partition" "current" {}

data "aws_region" "current" {}

locals {
  region         = data.aws_region.current.name
  create_api_key = var.authorization == "API_KEY"
  # An OpenSearch Service endpoint: "domain-id.region.es.amazonaws.com" ("Making and signing OpenSearch
  # Service requests"; China regions end in .amazonaws.com.cn). The capture is the region.
  opensearch_endpoint_pattern = "^[a-z0-9][a-z0-9-]*\\.([a-z0-9-]+)\\.es\\.amazonaws\\.com(?:\\.cn)?$"
}

# The whole API (routes, schemas, validators, integrations, templates, gateway responses) is this document.
module "openapi" {
  source = "./modules/openapi"

  title                      = var.name
  description                = var.description
  partition                  = data.aws_partition.current.partition
  region                     = local.region
  table_name                 = var.table_name
  execution_role_arn         = aws_iam_role.this.arn
  opensearch_domain_endpoint = var.opensearch_domain_endpoint
  opensearch_index           = var.opensearch_index
  authorization              = var.authorization
  limits                     = var.limits
  idempotency_table_name     = aws_dynamodb_table.idempotency.name
  idempotency_key_ttl_hours  = var.idempotency_key_ttl_hours
  cors                       = var.cors
}

# Idempotency-Key records of POST /books: a table of their own, so the books table holds books only (the
# indexer indexes every item of its stream, GET /books scans it) and the records can expire by TTL without
# touching the books' stream. Two small items per keyed create, keyed by the caller (scope) and the key
# (entry); the create template writes them in the same transaction as the book.
resource "aws_dynamodb_table" "idempotency" {
  #checkov:skip=CKV_AWS_119:The AWS owned key encrypts at rest by default; a customer managed key is the idempotency_table_kms_key_arn input.
  #checkov:skip=CKV_AWS_28:Records live idempotency_key_ttl_hours (24 by default): a point-in-time restore would bring back expired keys and nothing else of value.
  name         = "${var.name}-idempotency"
  billing_mode = "PAY_PER_REQUEST"
  hash_key     = "scope"
  range_key    = "entry"

  attribute {
    name = "scope"
    type = "S"
  }

  attribute {
    name = "entry"
    type = "S"
  }

  # The templates treat a record past expiresAt as absent: TTL deletes it later, in the background.
  ttl {
    enabled        = true
    attribute_name = "expiresAt"
  }

  server_side_encryption {
    enabled     = var.idempotency_table_kms_key_arn != null
    kms_key_arn = var.idempotency_table_kms_key_arn
  }

  point_in_time_recovery {
    enabled = false
  }

  tags = var.tags
}

resource "aws_api_gateway_rest_api" "this" {
  name        = var.name
  description = var.description
  body        = module.openapi.document

  endpoint_configuration {
    types = [var.endpoint_type]
  }

  tags = var.tags

  lifecycle {
    create_before_destroy = true

    # GET /search's integration URI names the domain as <subdomain>.es in this region, and API Gateway calls
    # <subdomain>.<region>.es.amazonaws.com (modules/openapi/main.tf): only a domain endpoint of that shape,
    # in the API's own region, is reached.
    precondition {
      condition     = try(regex(local.opensearch_endpoint_pattern, var.opensearch_domain_endpoint)[0] == local.region, false)
      error_message = "opensearch_domain_endpoint must be the domain's endpoint in this API's region (${local.region}), <domain-id>.${local.region}.es.amazonaws.com, as the opensearch module's domain_endpoint output gives it."
    }
  }
}

resource "aws_api_gateway_deployment" "this" {
  rest_api_id = aws_api_gateway_rest_api.this.id

  triggers = {
    redeployment = sha1(module.openapi.document)
  }

  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_cloudwatch_log_group" "access" {
  #checkov:skip=CKV_AWS_158:KMS is an input (access_log_kms_key_arn); CloudWatch Logs encrypts at rest without one.
  name              = "/aws/apigateway/${var.name}/${var.stage_name}/access"
  retention_in_days = var.access_log_retention_in_days
  kms_key_id        = var.access_log_kms_key_arn
  tags              = var.tags
}

# API Gateway writes execution logs to API-Gateway-Execution-Logs_<rest-api-id>/<stage> and creates that
# group itself, with no retention, unless it exists ("Set up CloudWatch logging for REST APIs in API
# Gateway", https://docs.aws.amazon.com/apigateway/latest/developerguide/set-up-logging.html): made here first
# (the stage depends on it), so it has a retention and goes with the stack.
resource "aws_cloudwatch_log_group" "execution" {
  #checkov:skip=CKV_AWS_158:KMS is an input (access_log_kms_key_arn); CloudWatch Logs encrypts at rest without one.
  name              = "API-Gateway-Execution-Logs_${aws_api_gateway_rest_api.this.id}/${var.stage_name}"
  retention_in_days = var.execution_log_retention_in_days
  kms_key_id        = var.access_log_kms_key_arn
  tags              = var.tags
}

resource "aws_api_gateway_stage" "this" {
  #checkov:skip=CKV_AWS_120:Caching would serve stale books after a PUT or DELETE; the table answers reads directly.
  #checkov:skip=CKV2_AWS_51:Client certificates authenticate API Gateway to HTTP backends; these integrations are AWS services signed with the execution role.
  #checkov:skip=CKV2_AWS_29:A WAF web ACL is an account-level choice with its own cost; attach one with aws_wafv2_web_acl_association.
  rest_api_id          = aws_api_gateway_rest_api.this.id
  deployment_id        = aws_api_gateway_deployment.this.id
  stage_name           = var.stage_name
  xray_tracing_enabled = var.xray_tracing_enabled

  access_log_settings {
    destination_arn = aws_cloudwatch_log_group.access.arn
    format = jsonencode({
      requestId          = "$context.requestId"
      extendedRequestId  = "$context.extendedRequestId"
      requestTime        = "$context.requestTime"
      ip                 = "$context.identity.sourceIp"
      caller             = "$context.identity.caller"
      userArn            = "$context.identity.userArn"
      apiKeyId           = "$context.identity.apiKeyId"
      httpMethod         = "$context.httpMethod"
      resourcePath       = "$context.resourcePath"
      status             = "$context.status"
      responseLength     = "$context.responseLength"
      responseLatency    = "$context.responseLatency"
      integrationStatus  = "$context.integration.status"
      integrationLatency = "$context.integration.latency"
      errorType          = "$context.error.responseType"
    })
  }

  tags = var.tags

  depends_on = [aws_api_gateway_account.this, aws_cloudwatch_log_group.execution]
}

# Throttling is per method ("Per-API, per-stage throttling limits are applied at the API method level for a
# stage. You can configure the same settings for all methods, or configure different throttle settings for
# each method": "Throttle requests to your REST APIs",
# https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-request-throttling.html): */* gives
# every method var.throttling, and GET /search, which costs an OpenSearch query each, its own lower limit. A
# method's own settings replace */* for it, so they repeat everything else.
locals {
  method_throttling = {
    "*/*"        = var.throttling
    "search/GET" = var.search_throttling
  }
}

resource "aws_api_gateway_method_settings" "this" {
  #checkov:skip=CKV_AWS_225:Caching would serve stale books after a PUT or DELETE; the table answers reads directly.
  for_each = local.method_throttling

  rest_api_id = aws_api_gateway_rest_api.this.id
  stage_name  = aws_api_gateway_stage.this.stage_name
  method_path = each.key

  settings {
    metrics_enabled        = true
    logging_level          = var.logging_level
    data_trace_enabled     = false
    throttling_rate_limit  = each.value.rate_limit
    throttling_burst_limit = each.value.burst_limit
    caching_enabled        = false
    cache_data_encrypted   = true
  }
}

# The stage-wide settings were one resource before GET /search had its own.
moved {
  from = aws_api_gateway_method_settings.this
  to   = aws_api_gateway_method_settings.this["*/*"]
}

resource "aws_api_gateway_usage_plan" "this" {
  count = local.create_api_key ? 1 : 0

  name = "${var.name}-${var.stage_name}"

  api_stages {
    api_id = aws_api_gateway_rest_api.this.id
    stage  = aws_api_gateway_stage.this.stage_name
  }

  throttle_settings {
    rate_limit  = var.throttling.rate_limit
    burst_limit = var.throttling.burst_limit
  }

  dynamic "quota_settings" {
    for_each = var.usage_plan_quota == null ? [] : [var.usage_plan_quota]

    content {
      limit  = quota_settings.value.limit
      period = quota_settings.value.period
    }
  }

  tags = var.tags
}

resource "aws_api_gateway_api_key" "this" {
  count = local.create_api_key ? 1 : 0

  name = "${var.name}-${var.stage_name}"
  tags = var.tags
}

resource "aws_api_gateway_usage_plan_key" "this" {
  count = local.create_api_key ? 1 : 0

  key_id        = aws_api_gateway_api_key.this[0].id
  key_type      = "API_KEY"
  usage_plan_id = aws_api_gateway_usage_plan.this[0].id
}
