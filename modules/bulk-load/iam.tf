# Two roles, every statement on exact ARNs: the export function's (read the export, keep its checkpoints,
# confirm against the table, write the index) and the state machine's (export the table into the bucket,
# invoke the function, run the Distributed Maps, write their results, deliver its logs).

################################################################################
# Export function
################################################################################

data "aws_iam_policy_document" "function_assume" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["lambda.amazonaws.com"]
    }

    # Only functions of this account may assume the role ("Working with AWS managed policies in the execution
    # role", https://docs.aws.amazon.com/lambda/latest/dg/permissions-managed-policies.html).
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account]
    }
  }
}

resource "aws_iam_role" "function" {
  count = local.create ? 1 : 0

  name                 = local.function_name
  assume_role_policy   = data.aws_iam_policy_document.function_assume.json
  permissions_boundary = var.role_permissions_boundary_arn

  tags = var.tags
}

data "aws_iam_policy_document" "function" {
  count = local.create ? 1 : 0

  # The export's data files and manifests, the files/slices lists prepare and swap write, one checkpoint per
  # file or slice: all under runs/<run>/.
  statement {
    sid       = "ReadWriteRuns"
    actions   = ["s3:GetObject", "s3:PutObject"]
    resources = ["${local.bucket_arn}/runs/*"]
  }

  # Without s3:ListBucket a GetObject of a missing key answers 403 AccessDenied, not 404 NoSuchKey (S3
  # GetObject, "Permissions", https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetObject.html): the first
  # read of run.json or of a checkpoint is such a read. The grant carries no s3:prefix condition, because a
  # GetObject sends no prefix and would not satisfy one; the bucket holds only this module's objects.
  statement {
    sid       = "ListRuns"
    actions   = ["s3:ListBucket"]
    resources = [local.bucket_arn]
  }

  # Prepare checks the export it was given: its status, time and manifest.
  statement {
    sid       = "DescribeExports"
    actions   = ["dynamodb:DescribeExport"]
    resources = ["${var.table_arn}/export/*"]
  }

  # Folded documents are rebuilt from their item collections (Query), differences confirmed and repaired with
  # consistent reads (GetItem, BatchGetItem); DescribeTable checks the key schema against the settings.
  statement {
    sid       = "ReadTable"
    actions   = ["dynamodb:DescribeTable", "dynamodb:Query", "dynamodb:GetItem", "dynamodb:BatchGetItem"]
    resources = [var.table_arn]
  }

  # Each alias, the concrete indices behind it (<alias>-v<n>, including their _settings during a reindex) and
  # their documents. No DELETE on them: tombstones are documents written with _bulk, and deleting an old index
  # after a reindex is the operator's decision (`reindex --delete-old`), not this function's.
  statement {
    sid     = "WriteIndex"
    actions = ["es:ESHttpGet", "es:ESHttpHead", "es:ESHttpPost", "es:ESHttpPut"]
    resources = flatten([for alias in var.opensearch_index_aliases : [
      "${var.opensearch_domain_arn}/${alias}",
      "${var.opensearch_domain_arn}/${alias}/*",
      "${var.opensearch_domain_arn}/${alias}-*",
    ]])
  }

  # APIs outside any index path: the swap (one POST /_aliases moves an alias atomically), the next pages of a
  # scroll (the tombstone copy reads with helpers.scan), and a slice's pages under a point in time (POST
  # /_search with the pit id: the point in time, opened on an index path above, names the index; a search of
  # the root without one could read other indices, which a read-only search is allowed to here).
  statement {
    sid       = "SwapAliasScrollAndSearchPit"
    actions   = ["es:ESHttpPost"]
    resources = ["${var.opensearch_domain_arn}/_aliases", "${var.opensearch_domain_arn}/_search/scroll", "${var.opensearch_domain_arn}/_search"]
  }

  # The swap waits for the new index's health (GET /_cluster/health/<alias>-vN).
  statement {
    sid       = "ReadNewIndexHealth"
    actions   = ["es:ESHttpGet"]
    resources = [for alias in var.opensearch_index_aliases : "${var.opensearch_domain_arn}/_cluster/health/${alias}-*"]
  }

  # The only DELETEs: helpers.scan releases its scroll context (DELETE /_search/scroll) and a slice closes its
  # point in time (DELETE /_search/point_in_time); nothing else of the domain can be deleted.
  statement {
    sid       = "ReleaseScrollsAndPits"
    actions   = ["es:ESHttpDelete"]
    resources = ["${var.opensearch_domain_arn}/_search/scroll", "${var.opensearch_domain_arn}/_search/point_in_time"]
  }

  statement {
    sid       = "WriteOwnLogs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.function[0].arn}:*"]
  }

  dynamic "statement" {
    for_each = var.kms_key_arn == null ? [] : [var.kms_key_arn]
    content {
      sid       = "UseBucketKey"
      actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
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

  # X-Ray accepts no resource scoping; granted only when tracing is on.
  dynamic "statement" {
    for_each = var.tracing_enabled ? [1] : []
    content {
      sid       = "PutTraces"
      actions   = ["xray:PutTraceSegments", "xray:PutTelemetryRecords"]
      resources = ["*"]
    }
  }
}

resource "aws_iam_role_policy" "function" {
  count = local.create ? 1 : 0

  name   = local.function_name
  role   = aws_iam_role.function[0].id
  policy = data.aws_iam_policy_document.function[0].json
}

################################################################################
# State machine
################################################################################

data "aws_iam_policy_document" "state_machine_assume" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["states.amazonaws.com"]
    }

    # Confused-deputy guard: only this account's state machines ("Creating an IAM role for your state machine",
    # "Prevent cross-service confused deputy issue",
    # https://docs.aws.amazon.com/step-functions/latest/dg/procedure-create-iam-role.html).
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account]
    }
  }
}

resource "aws_iam_role" "state_machine" {
  count = local.create ? 1 : 0

  name                 = "${var.name}-state-machine"
  assume_role_policy   = data.aws_iam_policy_document.state_machine_assume.json
  permissions_boundary = var.role_permissions_boundary_arn

  tags = var.tags
}

data "aws_iam_policy_document" "state_machine" {
  # checkov:skip=CKV_AWS_111:Only the CloudWatch Logs delivery actions and (with tracing) X-Ray use "*": neither supports resource-level permissions (https://docs.aws.amazon.com/step-functions/latest/dg/cw-logs.html).
  # checkov:skip=CKV_AWS_356:Same: log delivery and X-Ray actions accept only "*"; every other statement names exact ARNs.
  count = local.create ? 1 : 0

  # The export runs with the caller's permissions: ExportTableToPointInTime on the table and S3 writes into
  # the bucket ("Requesting a table export in DynamoDB",
  # https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/S3DataExport_Requesting.html).
  statement {
    sid       = "ExportTable"
    actions   = ["dynamodb:ExportTableToPointInTime"]
    resources = [var.table_arn]
  }

  statement {
    sid       = "DescribeExports"
    actions   = ["dynamodb:DescribeExport"]
    resources = ["${var.table_arn}/export/*"]
  }

  statement {
    sid       = "WriteExports"
    actions   = ["s3:AbortMultipartUpload", "s3:PutObject", "s3:PutObjectAcl"]
    resources = ["${local.bucket_arn}/runs/*"]
  }

  statement {
    sid       = "InvokeExportFunction"
    actions   = ["lambda:InvokeFunction"]
    resources = [aws_lambda_function.this[0].arn]
  }

  # A Distributed Map starts its children as executions of this state machine, describes and stops them,
  # and redrives them when the parent is redriven ("IAM policies for using Distributed Map states",
  # https://docs.aws.amazon.com/step-functions/latest/dg/iam-policies-eg-dist-map.html).
  statement {
    sid       = "StartChildExecutions"
    actions   = ["states:StartExecution"]
    resources = [local.state_machine_arn]
  }

  statement {
    sid       = "ManageChildExecutions"
    actions   = ["states:DescribeExecution", "states:StopExecution", "states:RedriveExecution"]
    resources = local.execution_arns
  }

  # ItemReader: the files/slices list (a JSON array) that prepare and swap wrote under runs/<run>/.
  statement {
    sid       = "ReadItems"
    actions   = ["s3:GetObject"]
    resources = ["${local.bucket_arn}/runs/*"]
  }

  # ResultWriter: the Map Runs' manifest and result files under results/.
  statement {
    sid       = "WriteMapRunResults"
    actions   = ["s3:PutObject", "s3:GetObject", "s3:ListMultipartUploadParts", "s3:AbortMultipartUpload"]
    resources = ["${local.bucket_arn}/results/*"]
  }

  dynamic "statement" {
    for_each = var.kms_key_arn == null ? [] : [var.kms_key_arn]
    content {
      sid       = "UseBucketKey"
      actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
      resources = [statement.value]
    }
  }

  # Log delivery to CloudWatch Logs: these actions support no resource-level permissions ("Logging Step
  # Functions executions in CloudWatch Logs", https://docs.aws.amazon.com/step-functions/latest/dg/cw-logs.html).
  statement {
    sid = "DeliverLogs"
    actions = [
      "logs:CreateLogDelivery",
      "logs:GetLogDelivery",
      "logs:UpdateLogDelivery",
      "logs:DeleteLogDelivery",
      "logs:ListLogDeliveries",
      "logs:PutResourcePolicy",
      "logs:DescribeResourcePolicies",
      "logs:DescribeLogGroups",
    ]
    resources = ["*"]
  }

  dynamic "statement" {
    for_each = var.tracing_enabled ? [1] : []
    content {
      sid       = "PutTraces"
      actions   = ["xray:PutTraceSegments", "xray:PutTelemetryRecords", "xray:GetSamplingRules", "xray:GetSamplingTargets"]
      resources = ["*"]
    }
  }
}

resource "aws_iam_role_policy" "state_machine" {
  count = local.create ? 1 : 0

  name   = "${var.name}-state-machine"
  role   = aws_iam_role.state_machine[0].id
  policy = data.aws_iam_policy_document.state_machine[0].json
}
