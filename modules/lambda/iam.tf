# The indexer's execution role: read this table's stream (and Query it when entities fold), write this
# domain's aliases, write its own log group, send failed batches to its own queue. Every statement names
# exact ARNs.

data "aws_iam_policy_document" "assume" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["lambda.amazonaws.com"]
    }

    # Only functions of this account may assume the role (confused-deputy guard). Lambda documents both
    # aws:SourceAccount and aws:SourceArn in execution-role trust policies ("Working with AWS managed policies
    # in the execution role", https://docs.aws.amazon.com/lambda/latest/dg/permissions-managed-policies.html).
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [data.aws_caller_identity.current.account_id]
    }
  }
}

resource "aws_iam_role" "this" {
  count = local.create ? 1 : 0

  name                 = var.role_name != null ? var.role_name : var.function_name
  assume_role_policy   = data.aws_iam_policy_document.assume.json
  permissions_boundary = var.role_permissions_boundary_arn

  tags = var.tags
}

# What the function reads of the table and writes to the domain. Every ARN here comes from inputs, so this
# document is known at plan time (tests/infra reads it from the plan); the role's policy adds the statements on
# the resources made here.
data "aws_iam_policy_document" "data_access" {
  count = local.create ? 1 : 0

  statement {
    sid       = "ReadTableStream"
    actions   = ["dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator"]
    resources = [var.table_stream_arn]
  }

  statement {
    sid       = "ListTableStreams"
    actions   = ["dynamodb:ListStreams"]
    resources = ["${local.table_arn}/stream/*"]
  }

  # A folded document is rebuilt from a strongly consistent Query of its partition (entities with
  # document_id = partition_key); without one the function never reads the table, so it may not.
  dynamic "statement" {
    for_each = local.folds ? [local.table_arn] : []
    content {
      sid       = "QueryTableForFolding"
      actions   = ["dynamodb:Query"]
      resources = [statement.value]
    }
  }

  # Exactly the requests the indexer makes, no more, for each alias it writes (opensearch_index, or every
  # entity's; tests/infra/test_iam_exercised.py runs it under this policy with es:ESHttp* evaluated): GET
  # /<alias> (and /<alias>/_alias) at a cold start, PUT /<alias>-v1 to create the first index with its alias,
  # and on an index an older release made PUT /<index>/_mapping and PUT /<index>/_alias/<alias>; POST
  # /<alias>/_bulk and /<alias>/_mget (tables without a write counter, folded documents' positions).
  # Not _delete_by_query, _close, _settings nor any DELETE: IAM's "*" also matches "/", so "<alias>-*" would
  # grant all of them. The root /_bulk is absent too: it would let the role write to any index in the body.
  statement {
    sid       = "ReadIndex"
    actions   = ["es:ESHttpGet"]
    resources = flatten([for alias in local.index_aliases : ["${var.opensearch_domain_arn}/${alias}", "${var.opensearch_domain_arn}/${alias}/_alias"]])
  }

  statement {
    sid     = "CreateIndex"
    actions = ["es:ESHttpPut"]
    resources = flatten([for alias in local.index_aliases : [
      "${var.opensearch_domain_arn}/${alias}-v1",
      "${var.opensearch_domain_arn}/${alias}-v*/_mapping",
      "${var.opensearch_domain_arn}/${alias}-v*/_alias/${alias}",
    ]])
  }
}

data "aws_iam_policy_document" "this" {
  count = local.create ? 1 : 0

  source_policy_documents = [data.aws_iam_policy_document.data_access[0].json]

  statement {
    sid       = "WriteDocuments"
    actions   = ["es:ESHttpPost"]
    resources = flatten([for alias in local.index_aliases : ["${var.opensearch_domain_arn}/${alias}/_bulk", "${var.opensearch_domain_arn}/${alias}/_mget"]])
  }

  statement {
    sid       = "WriteOwnLogs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.this[0].arn}:*"]
  }

  # The event source mapping sends the metadata of a batch it gave up on to its on-failure destination with
  # the function's role: SendMessage only ("Retaining discarded records for a DynamoDB event source in
  # Lambda", https://docs.aws.amazon.com/lambda/latest/dg/services-dynamodb-errors.html).
  statement {
    sid       = "SendFailedBatches"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.dead_letter[0].arn]
  }

  dynamic "statement" {
    for_each = var.dead_letter_kms_key_arn == null ? [] : [var.dead_letter_kms_key_arn]
    content {
      sid       = "EncryptFailedBatches"
      actions   = ["kms:GenerateDataKey", "kms:Decrypt"]
      resources = [statement.value]
    }
  }

  # ENI management for a function in a VPC: these EC2 actions support no resource scoping.
  dynamic "statement" {
    for_each = var.vpc_config == null ? [] : [1]
    content {
      sid = "ManageVpcNetworkInterfaces"
      actions = [
        "ec2:CreateNetworkInterface",
        "ec2:DescribeNetworkInterfaces",
        "ec2:DeleteNetworkInterface",
        "ec2:AssignPrivateIpAddresses",
        "ec2:UnassignPrivateIpAddresses",
      ]
      resources = ["*"]
    }
  }

  # X-Ray accepts no resource scoping either; granted only when tracing is on.
  dynamic "statement" {
    for_each = var.tracing_mode == "Active" ? [1] : []
    content {
      sid       = "PutTraces"
      actions   = ["xray:PutTraceSegments", "xray:PutTelemetryRecords"]
      resources = ["*"]
    }
  }
}

resource "aws_iam_role_policy" "this" {
  count = local.create ? 1 : 0

  name   = "${var.function_name}-indexer"
  role   = aws_iam_role.this[0].id
  policy = data.aws_iam_policy_document.this[0].json
}

################################################################################
# Operator policy: what `python -m indexer.ops backfill|audit|replay-dlq|reindex|purge-tombstones` calls
# (docs/operations.md), for the role or group of whoever runs them. tests/infra/test_iam_exercised.py runs
# every tool under exactly this policy with IAM evaluated, so a missing permission fails a test.
################################################################################

data "aws_iam_policy_document" "operator" {
  count = local.create ? 1 : 0

  # Key schema check, backfill/audit/reindex scans, reads of single items for repairs and replays.
  statement {
    sid = "ReadTable"
    # Query: folded entities' partitions, rebuilt and audited (only when an entity folds)
    actions   = concat(["dynamodb:DescribeTable", "dynamodb:Scan", "dynamodb:GetItem", "dynamodb:BatchGetItem"], local.folds ? ["dynamodb:Query"] : [])
    resources = [local.table_arn]
  }

  # replay-dlq reads the dead-lettered range back from the stream (it must still be within 24 hours).
  statement {
    sid       = "ReadStreamForReplay"
    actions   = ["dynamodb:GetShardIterator", "dynamodb:GetRecords"]
    resources = [var.table_stream_arn]
  }

  statement {
    sid       = "DrainDeadLetters"
    actions   = ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility", "sqs:GetQueueAttributes"]
    resources = [aws_sqs_queue.dead_letter[0].arn]
  }

  dynamic "statement" {
    for_each = var.dead_letter_kms_key_arn == null ? [] : [var.dead_letter_kms_key_arn]
    content {
      sid       = "DecryptDeadLetters"
      actions   = ["kms:Decrypt"]
      resources = [statement.value]
    }
  }

  # The alias (every entity's with entities), its versioned indices and their documents: writes, repairs, the new index of a reindex and the
  # old one's deletion (reindex --delete-old, purge-tombstones' deletes).
  statement {
    sid     = "MaintainIndex"
    actions = ["es:ESHttpGet", "es:ESHttpHead", "es:ESHttpPost", "es:ESHttpPut", "es:ESHttpDelete"]
    resources = flatten([for alias in local.index_aliases : [
      "${var.opensearch_domain_arn}/${alias}",
      "${var.opensearch_domain_arn}/${alias}/*",
      "${var.opensearch_domain_arn}/${alias}-*",
    ]])
  }

  # Two APIs outside any index path: a scroll's next pages and its release (audit, purge-tombstones), and the
  # atomic alias swap of a reindex (POST /_aliases).
  statement {
    sid       = "ScrollAndSwapAlias"
    actions   = ["es:ESHttpPost", "es:ESHttpDelete"]
    resources = ["${var.opensearch_domain_arn}/_search/scroll", "${var.opensearch_domain_arn}/_aliases"]
  }
}

resource "aws_iam_policy" "operator" {
  count = local.create && var.create_operator_policy ? 1 : 0

  name        = "${var.function_name}-operator"
  description = "What python -m indexer.ops needs for ${var.function_name}'s table, stream, dead-letter queue and index."
  policy      = data.aws_iam_policy_document.operator[0].json

  tags = var.tags
}
