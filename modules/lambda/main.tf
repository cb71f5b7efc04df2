data "aws_partition" "current" {}
data "aws_region" "current" {}
data "aws_caller_identity" "current" {}

locals {
  create                      = var.create
  create_ecr_repository       = local.create && var.create_ecr_repository
  create_event_source_mapping = local.create && var.create_event_source_mapping
  create_alarms               = local.create && var.create_alarms

  # The stream ARN is "<table arn>/stream/<label>"; the table ARN scopes dynamodb:ListStreams.
  table_arn = split("/stream/", var.table_stream_arn)[0]

  # The namespace of the metrics the indexer writes in its logs (indexer/metrics.py NAMESPACE; a test keeps
  # the two equal); its only dimension is FunctionName.
  metrics_namespace = "BooksIndexer"
  # "arn:...:table/<name>/stream/<label>": the table folded documents are rebuilt from (TABLE_NAME).
  table_name = split(":table/", local.table_arn)[1]

  # The indexer's client wants a URL; the opensearch module's domain_endpoint is a bare host name.
  opensearch_url = can(regex("^https?://", var.opensearch_endpoint)) ? var.opensearch_endpoint : "https://${var.opensearch_endpoint}"

  # Single-table designs: ENTITY_CONFIG as compact JSON, unset optional fields left out (the indexer applies
  # its defaults, and every byte counts against the 4 KB of the function's environment). equals_number and
  # equals_bool become "equals" with their JSON type: the indexer compares types exactly (true is not "true").
  entities = var.entities == null ? [] : var.entities
  entity_configuration = var.entities == null ? null : jsonencode({ entities = [for i, e in local.entities : merge(
    { for key, value in {
      name        = e.name
      match       = local.matches[i][0]
      index       = e.index
      document_id = e.document_id
      include     = e.include
      exclude     = e.exclude
      mappings    = e.mappings == null ? null : { properties = jsondecode(e.mappings) }
    } : key => value if value != null },
    e.children == null ? {} : { children = [for j, c in e.children : { for key, value in {
      name         = c.name
      match        = local.matches[i][j + 1]
      field        = c.field
      fold         = c.fold
      order_by     = c.order_by
      descending   = c.descending
      max_children = c.max_children
      include      = c.include
      exclude      = c.exclude
    } : key => value if value != null }] },
  )] })
  # Per entity: its own match, then its children's, as the JSON has them.
  matches = [for e in local.entities : [for m in concat([e.match], [for c in(e.children == null ? [] : e.children) : c.match]) : merge(
    { for key, value in { partition_key_prefix = m.partition_key_prefix, sort_key_prefix = m.sort_key_prefix, attribute = m.attribute } : key => value if value != null },
    { for key, value in { equals = m.equals } : key => value if value != null },
    { for key, value in { equals = m.equals_number } : key => value if value != null },
    { for key, value in { equals = m.equals_bool } : key => value if value != null },
  )]]
  # Whether a document is rebuilt from its partition (document_id = partition_key): then the function reads the
  # table with Query, and only then is it allowed to.
  folds = anytrue([for e in local.entities : e.document_id == "partition_key"])
  # The aliases the function writes: every entity's, or opensearch_index without entities.
  index_aliases = var.entities == null ? [var.opensearch_index] : [for e in local.entities : e.index]

  # Names as read by indexer/settings.py (artifacts/update_indices/README.md documents each). With entities,
  # OPENSEARCH_INDEX is left out: the indexer writes only the entities' aliases, and only those are granted.
  indexer_environment = { for name, value in {
    OPENSEARCH_ENDPOINT      = local.opensearch_url
    OPENSEARCH_INDEX         = var.entities == null ? var.opensearch_index : null
    OPENSEARCH_AUTH          = var.opensearch_auth
    OPENSEARCH_SERVICE       = "es"
    TABLE_PARTITION_KEY      = var.table_partition_key
    TABLE_SORT_KEY           = var.table_sort_key
    INDEX_INCLUDE_ATTRIBUTES = join(",", var.index_include_attributes)
    INDEX_EXCLUDE_ATTRIBUTES = join(",", var.index_exclude_attributes)
    DOCUMENT_HOOK            = var.document_hook
    BULK_MAX_BYTES           = tostring(var.bulk_max_bytes)
    BULK_MAX_ACTIONS         = tostring(var.bulk_max_actions)
    LOG_LEVEL                = var.log_level
    ENTITY_CONFIG            = local.entity_configuration
    TABLE_NAME               = var.entities == null ? null : local.table_name
  } : name => value if value != null && value != "" }

  environment = merge(local.indexer_environment, var.environment_variables)

  # Lambda's quota: "4 KB, for all environment variables associated with the function, in aggregate" ("Lambda
  # quotas", https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html). Lambda measures the
  # variables as one JSON object (its refusal quotes the "String measured"): counted here in UTF-8 bytes of
  # the compact JSON, with Terraform's HTML escapes of <, > and & undone. base64 gives the byte count.
  environment_json  = replace(replace(replace(jsonencode(local.environment), "\\u003c", "<"), "\\u003e", ">"), "\\u0026", "&")
  environment_b64   = base64encode(local.environment_json)
  environment_bytes = length(local.environment_b64) / 4 * 3 - length(regexall("=", local.environment_b64))

  # What the mapping does, whether or not it is created here: the local stack replays the stream with
  # exactly these settings instead of restating them.
  event_source_mapping = {
    batch_size                         = var.event_source_mapping.batch_size
    maximum_batching_window_in_seconds = var.event_source_mapping.maximum_batching_window_in_seconds
    maximum_retry_attempts             = var.event_source_mapping.maximum_retry_attempts
    maximum_record_age_in_seconds      = var.event_source_mapping.maximum_record_age_in_seconds
    bisect_batch_on_function_error     = var.event_source_mapping.bisect_batch_on_function_error
    parallelization_factor             = var.event_source_mapping.parallelization_factor
    starting_position                  = var.event_source_mapping.starting_position
    function_response_types            = ["ReportBatchItemFailures"]
    destination_arn                    = try(aws_sqs_queue.dead_letter[0].arn, null)
  }
}

################################################################################
# Image repository
################################################################################

resource "aws_ecr_repository" "this" {
  count = local.create_ecr_repository ? 1 : 0

  name = var.ecr_repository_name != null ? var.ecr_repository_name : var.function_name
  # Immutable tags: a deployed tag always means the same image, so a rollback is a tag change.
  image_tag_mutability = "IMMUTABLE"
  force_delete         = var.ecr_force_delete

  image_scanning_configuration {
    scan_on_push = true
  }

  encryption_configuration {
    encryption_type = var.ecr_kms_key_arn == null ? "AES256" : "KMS"
    kms_key         = var.ecr_kms_key_arn
  }

  tags = var.tags
}

resource "aws_ecr_lifecycle_policy" "this" {
  count = local.create_ecr_repository ? 1 : 0

  repository = aws_ecr_repository.this[0].name
  policy = jsonencode({
    rules = [
      {
        rulePriority = 1
        description  = "Expire untagged images after a day (failed or superseded pushes)"
        selection    = { tagStatus = "untagged", countType = "sinceImagePushed", countUnit = "days", countNumber = 1 }
        action       = { type = "expire" }
      },
      {
        rulePriority = 2
        description  = "Keep the newest ${var.ecr_max_image_count} images for rollbacks"
        selection    = { tagStatus = "any", countType = "imageCountMoreThan", countNumber = var.ecr_max_image_count }
        action       = { type = "expire" }
      },
    ]
  })
}

################################################################################
# Function
################################################################################

resource "aws_cloudwatch_log_group" "this" {
  # checkov:skip=CKV_AWS_338:Retention is the log_retention_in_days input (30 days by default; live/prod keeps 365).
  count = local.create ? 1 : 0

  name              = "/aws/lambda/${var.function_name}"
  retention_in_days = var.log_retention_in_days
  kms_key_id        = var.log_kms_key_arn

  tags = var.tags
}

resource "aws_lambda_function" "this" {
  # checkov:skip=CKV_AWS_116:A function DLQ only serves asynchronous invocations; failed stream batches go to the event source mapping's on-failure SQS destination.
  # checkov:skip=CKV_AWS_272:Code signing applies to .zip packages only, not to container images.
  count = local.create ? 1 : 0

  function_name = var.function_name
  description   = var.description
  role          = aws_iam_role.this[0].arn
  package_type  = "Image"
  image_uri     = var.image_uri
  architectures = [var.architecture]
  memory_size   = var.memory_size
  timeout       = var.timeout

  reserved_concurrent_executions = var.reserved_concurrent_executions
  kms_key_arn                    = var.kms_key_arn

  environment {
    variables = local.environment
  }

  dynamic "vpc_config" {
    for_each = var.vpc_config == null ? [] : [var.vpc_config]
    content {
      subnet_ids         = vpc_config.value.subnet_ids
      security_group_ids = vpc_config.value.security_group_ids
    }
  }

  tracing_config {
    mode = var.tracing_mode
  }

  tags = var.tags

  lifecycle {
    precondition {
      condition     = local.environment_bytes <= 4096
      error_message = "The function's environment variables take ${local.environment_bytes} bytes (as compact JSON); Lambda allows 4 KB (4096 bytes) for all of them in aggregate (\"Lambda quotas\"). Shorten entities (fewer include/exclude names, shorter prefixes and names) or environment_variables."
    }
  }

  # The group must exist first, or Lambda creates it itself without retention (and outside Terraform).
  depends_on = [aws_cloudwatch_log_group.this, aws_iam_role_policy.this]
}

################################################################################
# Event source mapping and its on-failure destination
################################################################################

resource "aws_sqs_queue" "dead_letter" {
  count = local.create ? 1 : 0

  name                      = "${var.function_name}-dlq"
  message_retention_seconds = 1209600 # 14 days, the SQS maximum: time to inspect and replay failures
  sqs_managed_sse_enabled   = var.dead_letter_kms_key_arn == null ? true : null
  kms_master_key_id         = var.dead_letter_kms_key_arn

  tags = var.tags
}

resource "aws_lambda_event_source_mapping" "this" {
  count = local.create_event_source_mapping ? 1 : 0

  event_source_arn  = var.table_stream_arn
  function_name     = aws_lambda_function.this[0].arn
  starting_position = local.event_source_mapping.starting_position

  batch_size                         = local.event_source_mapping.batch_size
  maximum_batching_window_in_seconds = local.event_source_mapping.maximum_batching_window_in_seconds
  parallelization_factor             = local.event_source_mapping.parallelization_factor
  bisect_batch_on_function_error     = local.event_source_mapping.bisect_batch_on_function_error
  # Bounded, never -1: a poison record must not block its shard until the stream drops it.
  maximum_retry_attempts        = local.event_source_mapping.maximum_retry_attempts
  maximum_record_age_in_seconds = local.event_source_mapping.maximum_record_age_in_seconds
  # The handler reports the first failed sequence number; Lambda retries from there only.
  function_response_types = local.event_source_mapping.function_response_types

  destination_config {
    on_failure {
      destination_arn = aws_sqs_queue.dead_letter[0].arn
    }
  }

  tags = var.tags
}

################################################################################
# Alarms
################################################################################

locals {
  # Every alarm notifies the environment's alarm topic (modules/alarm-topic), on ALARM and on OK.
  alarm_actions = var.alarm_actions

  alarms = {
    iterator-age = {
      description = "The indexer lags behind the table's stream: the oldest record in the last batch is older than ${var.iterator_age_alarm_threshold_ms} ms."
      namespace   = "AWS/Lambda"
      metric_name = "IteratorAge"
      statistic   = "Maximum"
      threshold   = var.iterator_age_alarm_threshold_ms
      dimensions  = { FunctionName = var.function_name }
    }
    errors = {
      description = "The indexer failed invocations (crashes or timeouts, not item failures it reported)."
      namespace   = "AWS/Lambda"
      metric_name = "Errors"
      statistic   = "Sum"
      threshold   = 0
      dimensions  = { FunctionName = var.function_name }
    }
    dead-letters = {
      description = "Stream batches gave up after retries and were sent to the on-failure queue: the index misses changes."
      namespace   = "AWS/SQS"
      metric_name = "ApproximateNumberOfMessagesVisible"
      statistic   = "Maximum"
      threshold   = 0
      dimensions  = { QueueName = "${var.function_name}-dlq" }
    }
    # The indexer's own figure (an EMF line per invocation, artifacts/update_indices/README.md "Metrics"): how
    # long the oldest record it acknowledged took from its table write to the index, retries included.
    # IteratorAge stops at the batch's arrival; this one ends when searches can find the change.
    index-lag = {
      description = "Changes reach the index late: a record the indexer acknowledged waited more than ${var.index_lag_alarm_threshold_ms} ms from its table write (IndexLagMax)."
      namespace   = local.metrics_namespace
      metric_name = "IndexLagMax"
      statistic   = "Maximum"
      threshold   = var.index_lag_alarm_threshold_ms
      dimensions  = { FunctionName = var.function_name }
    }
  }
}

resource "aws_cloudwatch_metric_alarm" "this" {
  for_each = local.create_alarms ? local.alarms : {}

  alarm_name          = "${var.function_name}-${each.key}"
  alarm_description   = each.value.description
  namespace           = each.value.namespace
  metric_name         = each.value.metric_name
  statistic           = each.value.statistic
  dimensions          = each.value.dimensions
  comparison_operator = "GreaterThanThreshold"
  threshold           = each.value.threshold
  period              = 60
  evaluation_periods  = var.alarm_evaluation_periods
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions

  tags = var.tags
}
