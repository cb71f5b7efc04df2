# The one alarm topic of an environment: every alarm of the table, api, opensearch and lambda modules publishes
# here, and the on-call destinations subscribe to it.
#
# CloudWatch can publish to an encrypted topic only with kms:Decrypt and kms:GenerateDataKey* on its key, which
# the AWS managed alias/aws/sns key's fixed policy never grants: alarms would change state and deliver nothing
# ("Enable compatibility between event sources from AWS services and encrypted topics",
# https://docs.aws.amazon.com/sns/latest/dg/sns-key-management.html#compatibility-with-aws-services). Without
# kms_key_arn the topic gets a customer managed key whose policy grants exactly that (and, with
# allow_eventbridge, the same to EventBridge, whose rules publish too).
#
# Email and HTTPS subscriptions stay "PendingConfirmation", and receive nothing, until the endpoint confirms
# them: SNS sends a confirmation message whose SubscribeURL (or Token, with ConfirmSubscription) must be used
# ("Amazon SNS doesn't send notifications to this endpoint until the subscription is confirmed",
# https://docs.aws.amazon.com/sns/latest/dg/http-subscription-confirmation-json.html; "Confirmation tokens are
# valid for three days", https://docs.aws.amazon.com/sns/latest/api/API_Subscribe.html).

data "aws_partition" "current" {}
data "aws_caller_identity" "current" {}
data "aws_region" "current" {}

locals {
  create       = var.create
  create_topic = local.create && var.destinations.topic_arn == null
  create_key   = local.create_topic && var.kms_key_arn == null

  topic_arn = local.create_topic ? aws_sns_topic.this[0].arn : var.destinations.topic_arn
  # The ARN the topic made here will have, known at plan time, so that its policy can be read in the plan.
  own_topic_arn = "arn:${data.aws_partition.current.partition}:sns:${data.aws_region.current.name}:${data.aws_caller_identity.current.account_id}:${var.name}"

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

  # EventBridge rules (the image module's scan findings) publish too: the key policy statement SNS documents
  # for AWS event sources, as written there (no condition).
  dynamic "statement" {
    for_each = var.allow_eventbridge ? [1] : []

    content {
      sid       = "EventBridgeRulesPublish"
      actions   = ["kms:Decrypt", "kms:GenerateDataKey*"]
      resources = ["*"]

      principals {
        type        = "Service"
        identifiers = ["events.amazonaws.com"]
      }
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

# Alarms of this account publish (and, with allow_eventbridge, EventBridge rules: below). The topic's default
# policy already limits Publish to the owner's account; this one names the CloudWatch service principal with the
# confused-deputy guard AWS documents for service principals (aws:SourceAccount).
data "aws_iam_policy_document" "topic" {
  count = local.create_topic ? 1 : 0

  statement {
    sid       = "CloudWatchAlarmsPublish"
    actions   = ["sns:Publish"]
    resources = [local.own_topic_arn]

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

  # EventBridge rules of this account (the image module's scan findings). No condition: "You can't use Condition
  # blocks in Amazon SNS topic policies for EventBridge" ("Using resource-based policies for Amazon
  # EventBridge", Amazon SNS permissions, https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-use-resource-based.html).
  # This is the statement as documented there; without allow_eventbridge nothing here names EventBridge.
  dynamic "statement" {
    for_each = var.allow_eventbridge ? [1] : []

    content {
      sid       = "EventBridgeRulesPublish"
      actions   = ["sns:Publish"]
      resources = [local.own_topic_arn]

      principals {
        type        = "Service"
        identifiers = ["events.amazonaws.com"]
      }
    }
  }

  statement {
    sid       = "AccountManages"
    actions   = ["sns:GetTopicAttributes", "sns:SetTopicAttributes", "sns:Subscribe", "sns:ListSubscriptionsByTopic", "sns:Publish"]
    resources = [local.own_topic_arn]

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
