data "aws_partition" "current" {}
data "aws_region" "current" {}
data "aws_caller_identity" "current" {}

locals {
  create        = var.create
  create_alarms = local.create && var.create_alarms
  # The bucket's only policy statement is the TLS-only deny.
  create_bucket_policy = local.create && var.deny_insecure_transport

  partition = data.aws_partition.current.partition
  region    = data.aws_region.current.name
  account   = data.aws_caller_identity.current.account_id

  # "arn:<partition>:dynamodb:<region>:<account>:table/<name>"
  table_name = split("/", var.table_arn)[1]

  bucket_name        = coalesce(var.bucket_name, "${var.name}-${local.account}-${local.region}")
  bucket_arn         = "arn:${local.partition}:s3:::${local.bucket_name}"
  function_name      = "${var.name}-export"
  state_machine_name = var.name
  # Known before the state machine exists, so its role can name it (a Distributed Map starts executions of its
  # own state machine) without a dependency cycle.
  state_machine_arn = "arn:${local.partition}:states:${local.region}:${local.account}:stateMachine:${local.state_machine_name}"
  execution_arns = [
    "arn:${local.partition}:states:${local.region}:${local.account}:execution:${local.state_machine_name}:*",
    # child workflow executions of the Distributed Map: "execution:<state machine>/<map run label>:<id>"
    "arn:${local.partition}:states:${local.region}:${local.account}:execution:${local.state_machine_name}/*",
  ]

  # MaxConcurrency of both Distributed Maps: the domain's data nodes times what one node takes (README,
  # "Concurrency"); 429s slow a child down (the handler answers "throttled" and the child waits), they never
  # fail it. A Distributed Map runs at most 10,000 children at once.
  max_concurrency = min(var.opensearch_data_node_count * var.concurrency_per_data_node, 10000)

  # The stream indexer's environment (the lambda module's environment output) plus what only the export
  # handler reads: the table it confirms and repairs against, the bucket of exports and checkpoints.
  function_environment = merge(var.indexer_environment, {
    TABLE_NAME       = local.table_name
    BULK_LOAD_BUCKET = local.bucket_name
  })

  # Lambda's quota: "4 KB, for all environment variables associated with the function, in aggregate" ("Lambda
  # quotas", https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html), measured as the lambda
  # module measures it (compact JSON in UTF-8, Terraform's HTML escapes undone): the two variables added here
  # can push an environment the stream indexer just fits over it.
  environment_json  = replace(replace(replace(jsonencode(local.function_environment), "\\u003c", "<"), "\\u003e", ">"), "\\u0026", "&")
  environment_b64   = base64encode(local.environment_json)
  environment_bytes = length(local.environment_b64) / 4 * 3 - length(regexall("=", local.environment_b64))

  definition = templatefile("${path.module}/state_machine.asl.json", {
    table_arn       = var.table_arn
    bucket          = local.bucket_name
    function_arn    = try(aws_lambda_function.this[0].arn, "")
    max_concurrency = local.max_concurrency
    # With a customer managed key the export writes with it too ("S3SseAlgorithm", "S3SseKmsKeyId",
    # https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_ExportTableToPointInTime.html).
    export_encryption = var.kms_key_arn == null ? "" : "\"S3SseAlgorithm\": \"KMS\", \"S3SseKmsKeyId\": ${jsonencode(var.kms_key_arn)},"
  })
}

################################################################################
# Bucket: table exports, the run's lists and checkpoints (runs/), Map Run results (results/)
################################################################################

resource "aws_s3_bucket" "this" {
  # checkov:skip=CKV_AWS_18:Access logs need a second bucket per environment; CloudTrail data events are the account-level choice for auditing object access.
  # checkov:skip=CKV_AWS_21:Every object here is transient and rewritten in place (checkpoints); versions would keep each superseded checkpoint until the lifecycle rule expires it.
  # checkov:skip=CKV_AWS_144:Exports are reproducible from the table (PITR) at any time: replicating them to another region buys nothing.
  # checkov:skip=CKV_AWS_145:SSE-S3 by default because DynamoDB's export writes with the caller's permissions; a customer managed key is the kms_key_arn input (the roles then get kms:GenerateDataKey/Decrypt on it).
  # checkov:skip=CKV2_AWS_62:Nothing reacts to new objects: the state machine reads what it wrote itself.
  count = local.create ? 1 : 0

  bucket        = local.bucket_name
  force_destroy = var.force_destroy

  tags = var.tags
}

resource "aws_s3_bucket_ownership_controls" "this" {
  count = local.create ? 1 : 0

  bucket = aws_s3_bucket.this[0].id
  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_public_access_block" "this" {
  count = local.create ? 1 : 0

  bucket                  = aws_s3_bucket.this[0].id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_server_side_encryption_configuration" "this" {
  count = local.create ? 1 : 0

  bucket = aws_s3_bucket.this[0].id
  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm     = var.kms_key_arn == null ? "AES256" : "aws:kms"
      kms_master_key_id = var.kms_key_arn
    }
    bucket_key_enabled = var.kms_key_arn != null
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "this" {
  count = local.create ? 1 : 0

  bucket = aws_s3_bucket.this[0].id

  dynamic "rule" {
    for_each = ["runs/", "results/"]
    content {
      id     = "expire-${trimsuffix(rule.value, "/")}"
      status = "Enabled"

      filter {
        prefix = rule.value
      }

      expiration {
        days = var.object_expiration_days
      }

      abort_incomplete_multipart_upload {
        days_after_initiation = 1
      }
    }
  }
}

data "aws_iam_policy_document" "bucket" {
  count = local.create_bucket_policy ? 1 : 0

  statement {
    sid       = "DenyInsecureTransport"
    effect    = "Deny"
    actions   = ["s3:*"]
    resources = [local.bucket_arn, "${local.bucket_arn}/*"]

    principals {
      type        = "*"
      identifiers = ["*"]
    }

    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }
}

resource "aws_s3_bucket_policy" "this" {
  count = local.create_bucket_policy ? 1 : 0

  bucket = aws_s3_bucket.this[0].id
  policy = data.aws_iam_policy_document.bucket[0].json

  # A policy put before the public access block exists can be refused as public by S3's checks.
  depends_on = [aws_s3_bucket_public_access_block.this]
}

################################################################################
# Export function: the indexer's image with the export handler
################################################################################

resource "aws_cloudwatch_log_group" "function" {
  # checkov:skip=CKV_AWS_338:Retention is the log_retention_in_days input (30 days by default; live/prod keeps 365).
  count = local.create ? 1 : 0

  name              = "/aws/lambda/${local.function_name}"
  retention_in_days = var.log_retention_in_days
  kms_key_id        = var.log_kms_key_arn

  tags = var.tags
}

resource "aws_lambda_function" "this" {
  # checkov:skip=CKV_AWS_116:Only the state machine invokes this function, synchronously; a DLQ serves asynchronous invocations only.
  # checkov:skip=CKV_AWS_117:The function reaches the domain the way the stream indexer does; vpc_config puts both in the domain's VPC.
  # checkov:skip=CKV_AWS_272:Code signing applies to .zip packages only, not to container images.
  count = local.create ? 1 : 0

  function_name = local.function_name
  description   = "Backfills, reindexes and audits an OpenSearch index from a DynamoDB export (the indexer's image, export_function.handler)"
  role          = aws_iam_role.function[0].arn
  package_type  = "Image"
  image_uri     = var.image_uri
  architectures = [var.architecture]
  memory_size   = var.memory_size
  timeout       = var.timeout

  # The stream indexer's image, another handler: ImageConfig.Command overrides the image's CMD.
  image_config {
    command = ["export_function.handler"]
  }

  reserved_concurrent_executions = var.reserved_concurrent_executions
  kms_key_arn                    = var.function_kms_key_arn

  environment {
    variables = local.function_environment
  }

  dynamic "vpc_config" {
    for_each = var.vpc_config == null ? [] : [var.vpc_config]
    content {
      subnet_ids         = vpc_config.value.subnet_ids
      security_group_ids = vpc_config.value.security_group_ids
    }
  }

  tracing_config {
    mode = var.tracing_enabled ? "Active" : "PassThrough"
  }

  tags = var.tags

  lifecycle {
    precondition {
      condition     = local.environment_bytes <= 4096
      error_message = "The export function's environment takes ${local.environment_bytes} bytes (as compact JSON: the indexer's plus TABLE_NAME and BULK_LOAD_BUCKET); Lambda allows 4 KB (4096 bytes) in aggregate (\"Lambda quotas\"). Shorten the indexer's environment (entities, include/exclude lists) or the bucket's name."
    }
  }

  depends_on = [aws_cloudwatch_log_group.function, aws_iam_role_policy.function]
}

################################################################################
# State machine
################################################################################

resource "aws_cloudwatch_log_group" "state_machine" {
  # checkov:skip=CKV_AWS_338:Retention is the log_retention_in_days input (30 days by default; live/prod keeps 365).
  count = local.create ? 1 : 0

  # Step Functions delivers logs through CloudWatch Logs' vended-log delivery; AWS recommends the
  # /aws/vendedlogs/ prefix so the account's log resource policy does not grow with every group.
  name              = "/aws/vendedlogs/states/${local.state_machine_name}"
  retention_in_days = var.log_retention_in_days
  kms_key_id        = var.log_kms_key_arn

  tags = var.tags
}

resource "aws_sfn_state_machine" "this" {
  # checkov:skip=CKV_AWS_284:X-Ray is the tracing_enabled input: traces are billed per run, and the execution history and logs already show every state.
  count = local.create ? 1 : 0

  name       = local.state_machine_name
  role_arn   = aws_iam_role.state_machine[0].arn
  type       = "STANDARD" # a Distributed Map's children may run for hours; Express workflows stop at 5 minutes
  definition = local.definition

  logging_configuration {
    log_destination        = "${aws_cloudwatch_log_group.state_machine[0].arn}:*"
    include_execution_data = true
    level                  = var.log_level
  }

  tracing_configuration {
    enabled = var.tracing_enabled
  }

  tags = var.tags

  depends_on = [aws_iam_role_policy.state_machine]
}

################################################################################
# Alarm
################################################################################

resource "aws_cloudwatch_metric_alarm" "executions_failed" {
  count = local.create_alarms ? 1 : 0

  alarm_name          = "${var.name}-executions-failed"
  alarm_description   = "A bulk load failed (a file or slice kept failing, or the export failed): inspect the run with `python -m indexer.ops bulk-load status`, fix the cause, then redrive it."
  namespace           = "AWS/States"
  metric_name         = "ExecutionsFailed"
  statistic           = "Sum"
  dimensions          = { StateMachineArn = aws_sfn_state_machine.this[0].arn }
  comparison_operator = "GreaterThanThreshold"
  threshold           = 0
  period              = 60
  evaluation_periods  = 1
  treat_missing_data  = "notBreaching"
  alarm_actions       = var.alarm_actions
  ok_actions          = var.alarm_actions

  tags = var.tags
}

# An execution that timed out or was stopped did not finish either: the same runbook (status, then redrive or
# resume). An abandon (`bulk-load abandon`, StopExecution) fires the aborted one once, by the operator's hand.
resource "aws_cloudwatch_metric_alarm" "executions_unfinished" {
  for_each = local.create_alarms ? { executions-timed-out = "ExecutionsTimedOut", executions-aborted = "ExecutionsAborted" } : {}

  alarm_name          = "${var.name}-${each.key}"
  alarm_description   = "A bulk load did not finish (${each.value}): inspect the run with `python -m indexer.ops bulk-load status`, then redrive or resume it."
  namespace           = "AWS/States"
  metric_name         = each.value
  statistic           = "Sum"
  dimensions          = { StateMachineArn = aws_sfn_state_machine.this[0].arn }
  comparison_operator = "GreaterThanThreshold"
  threshold           = 0
  period              = 60
  evaluation_periods  = 1
  treat_missing_data  = "notBreaching"
  alarm_actions       = var.alarm_actions
  ok_actions          = var.alarm_actions

  tags = var.tags
}
