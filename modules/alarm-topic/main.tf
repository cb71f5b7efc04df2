# The one alarm topic of an environment: every alarm of the table, api, opensearch and lambda modules publishes
# here, and the on-call destinations subscribe to it.
#
# CloudWatch can publish to an encrypted topic only with kms:Decrypt and kms:GenerateDataKey* on its key, which
# the AWS managed alias/aws/sns key's fixed policy never grants: alarms would change state and deliver nothing
# ("Enable compatibility between event sources from AWS services and encrypted topics",
# https://docs.aws.amazon.com/sns/latest/dg/sns-key-management.html#compatibility-with-aws-services). Without
# kms_key_arn the topic gets a customer managed key whose policy grants exactly that.
#
# Email and HTTPS subscriptions stay "PendingConfirmation", and receive nothing, until the endpoint confirms
# them: SNS sends a confirmation message whose SubscribeURL (or Token, with ConfirmSubscription) must be used
# ("Amazon SNS doesn't send notifications to this endpoint until the subscription is confirmed",
# https://docs.aws.amazon.com/sns/latest/dg/http-subscription-confirmation-json.html; "Confirmation tokens are
# valid for three days", https://docs.aws.amazon.com/sns/latest/api/API_Subscribe.html).

data "aws_partition" "current" {}
data "aws_caller_identity" "current" {}

locals {
  create       = var.create
  create_topic = local.create && var.destinations.topic_arn == null
  create_key   = local.create_topic && var.kms_key_arn == null

  topic_arn = local.create_topic ? aws_sns_topic.this[0].arn : var.destinations.topic_arn

  subscriptions = local.create ? merge(
    { for address in var.destinations.email_addresses : "email:${address}" => { protocol = "email", endpoint = address } },
    { for url in var.destinations.https_endpoints : "https:${url}" => { protocol = "https", endpoint = url } },
  ) : {}
}

data "aws_iam_policy_document" "key" {
  # checkov:skip=CKV_AWS_109:A key policy: "*" is the key itself, and the account administers its own key as AWS's default key policy does.
  # checkov:skip=CKV_AWS_111:A key policy: "*" is the key itself; the only service grant is CloudWatch's Decrypt/GenerateDataKey from this account.
  # checkov:skip=CKV_AWS_356:A key policy's resource is always "*" (the key it is attached to).
  count = local.create_key ? 1 : 0

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

resource "aws_kms_key" "this" {
  count = local.create_key ? 1 : 0

  description             = "Encrypts the ${var.name} alarm topic; CloudWatch alarms may use it to publish."
  enable_key_rotation     = true
  deletion_window_in_days = 7
  policy                  = data.aws_iam_policy_document.key[0].json

  tags = var.tags
}

resource "aws_sns_topic" "this" {
  count = local.create_topic ? 1 : 0

  name              = var.name
  kms_master_key_id = local.create_key ? aws_kms_key.this[0].arn : var.kms_key_arn

  tags = var.tags
}

# Alarms of this account publish; nobody else does. The topic's default policy already limits Publish to the
# owner's account; this one names the CloudWatch service principal with the confused-deputy guard AWS documents
# for service principals (aws:SourceAccount).
data "aws_iam_policy_document" "topic" {
  count = local.create_topic ? 1 : 0

  statement {
    sid       = "CloudWatchAlarmsPublish"
    actions   = ["sns:Publish"]
    resources = [aws_sns_topic.this[0].arn]

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

  statement {
    sid       = "AccountManages"
    actions   = ["sns:GetTopicAttributes", "sns:SetTopicAttributes", "sns:Subscribe", "sns:ListSubscriptionsByTopic", "sns:Publish"]
    resources = [aws_sns_topic.this[0].arn]

    principals {
      type        = "AWS"
      identifiers = ["arn:${data.aws_partition.current.partition}:iam::${data.aws_caller_identity.current.account_id}:root"]
    }
  }
}

resource "aws_sns_topic_policy" "this" {
  count = local.create_topic ? 1 : 0

  arn    = aws_sns_topic.this[0].arn
  policy = data.aws_iam_policy_document.topic[0].json
}

resource "aws_sns_topic_subscription" "this" {
  for_each = local.subscriptions

  topic_arn              = local.topic_arn
  protocol               = each.value.protocol
  endpoint               = each.value.endpoint
  endpoint_auto_confirms = false
}
