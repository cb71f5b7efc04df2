# The role API Gateway assumes for its integrations: exactly the DynamoDB actions the templates use, on this
# table only, PutItem on the idempotency table, and POST to this domain's _search on the configured index only.
# POST /books is a TransactWriteItems of Put actions, which IAM authorizes as dynamodb:PutItem on each item's
# table ("Using IAM with DynamoDB transactions": "Permissions for Put, Update, Delete, and Get actions are
# governed by the permissions used for the underlying PutItem, UpdateItem, DeleteItem, and GetItem operations",
# https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/transaction-apis-iam.html).

# No aws:SourceAccount / aws:SourceArn condition: AWS documents no such key for apigateway.amazonaws.com when
# it assumes an integration role (its guides show this trust policy with the service principal alone), and
# with the condition every call fails with "API Gateway does not have permission to assume the provided role"
# (issue 10). The role can only be passed by principals of this account with iam:PassRole.
data "aws_iam_policy_document" "assume" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["apigateway.amazonaws.com"]
    }
  }
}

data "aws_iam_policy_document" "execution" {
  statement {
    sid       = "Books"
    actions   = ["dynamodb:PutItem", "dynamodb:GetItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:Scan"]
    resources = [var.table_arn]
  }

  statement {
    sid       = "IdempotencyKeys"
    actions   = ["dynamodb:PutItem"]
    resources = [aws_dynamodb_table.idempotency.arn]
  }

  statement {
    sid       = "Search"
    actions   = ["es:ESHttpPost"]
    resources = ["${var.opensearch_domain_arn}/${var.opensearch_index}/_search"]
  }
}

resource "aws_iam_role" "this" {
  name_prefix        = "${var.name}-api-"
  description        = "Lets API Gateway (${var.name}) read and write the books table and search its OpenSearch index."
  assume_role_policy = data.aws_iam_policy_document.assume.json
  tags               = var.tags
}

resource "aws_iam_role_policy" "this" {
  name   = "books"
  role   = aws_iam_role.this.id
  policy = data.aws_iam_policy_document.execution.json
}

# Optional, off by default: API Gateway writes execution and access logs through ONE role per account and region
# (aws_api_gateway_account). Creating it here replaces whatever role the account already uses, and destroying
# this stack leaves the account's setting pointing at a deleted role, breaking every other API's logging. Make it
# once per account and region, in its own stack, and keep it false everywhere else.
data "aws_iam_policy_document" "cloudwatch_assume" {
  count = var.create_account_cloudwatch_role ? 1 : 0

  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["apigateway.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "cloudwatch" {
  count = var.create_account_cloudwatch_role ? 1 : 0

  name_prefix        = "apigateway-cloudwatch-"
  description        = "Lets API Gateway write execution and access logs for this account and region."
  assume_role_policy = data.aws_iam_policy_document.cloudwatch_assume[0].json
  tags               = var.tags
}

# The actions of AWS's AmazonAPIGatewayPushToCloudWatchLogs, limited to this account and region.
data "aws_iam_policy_document" "cloudwatch" {
  count = var.create_account_cloudwatch_role ? 1 : 0

  statement {
    actions = [
      "logs:CreateLogGroup", "logs:CreateLogStream", "logs:DescribeLogGroups", "logs:DescribeLogStreams",
      "logs:PutLogEvents", "logs:GetLogEvents", "logs:FilterLogEvents",
    ]
    resources = ["arn:${data.aws_partition.current.partition}:logs:${local.region}:${data.aws_caller_identity.current.account_id}:*"]
  }
}

resource "aws_iam_role_policy" "cloudwatch" {
  count = var.create_account_cloudwatch_role ? 1 : 0

  name   = "cloudwatch-logs"
  role   = aws_iam_role.cloudwatch[0].id
  policy = data.aws_iam_policy_document.cloudwatch[0].json
}

resource "aws_api_gateway_account" "this" {
  count      = var.create_account_cloudwatch_role ? 1 : 0
  depends_on = [aws_iam_role_policy.cloudwatch]

  cloudwatch_role_arn = aws_iam_role.cloudwatch[0].arn
}
