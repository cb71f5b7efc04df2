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

  # Each alias the function writes (opensearch_index, or every entity's), the versioned indices behind it
  # ("<alias>-v1") and their documents: every request the indexer makes lies under the alias's paths
  # (GET /<alias>, PUT /<alias>-v1, POST /<alias>/_bulk). The root /_bulk is deliberately absent: it would let
  # the role write to any index named in the body.
  statement {
    sid       = "WriteIndex"
    actions   = ["es:ESHttpGet", "es:ESHttpHead", "es:ESHttpPost", "es:ESHttpPut"]
    resources = flatten([for alias in local.index_aliases : ["${var.opensearch_domain_arn}/${alias}", "${var.opensearch_domain_arn}/${alias}/*", "${var.opensearch_domain_arn}/${alias}-*"]])
  }
}

data "aws_iam_policy_document" "this" {
  count = local.create ? 1 : 0

  source_policy_documents = [data.aws_iam_policy_document.data_access[0].json]

  statement {
    sid       = "WriteOwnLogs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.this[0].arn}:*"]
  }

  statement {
    sid       = "SendFailedBatches"
    actions   = ["sqs:SendMessage", "sqs:GetQueueAttributes"]
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
