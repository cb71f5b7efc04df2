# Access policy: only the given principals may call the domain's HTTP API (es:ESHttp*), only on this domain.
#
# The principals are roles made by units that depend on this domain (the indexer's, the API's), so they may
# not exist yet when the domain is created, and a resource policy naming an absent role is rejected.
# The policy therefore names each principal's account and pins the exact role ARNs with a
# condition on aws:PrincipalArn, which needs no role to exist and still admits nobody else. ArnLike lets a
# caller name a role made with a name_prefix (the api module's) as "role/<prefix>*"; exact ARNs match exactly.
locals {
  access_principal_arns = distinct(concat(var.access_principal_arns, local.security_principal_arns))
}

data "aws_iam_policy_document" "access" {
  statement {
    sid       = "AllowGivenPrincipals"
    effect    = "Allow"
    actions   = var.access_actions
    resources = ["${local.domain_arn}/*"]

    principals {
      type        = "AWS"
      identifiers = length(local.access_principal_arns) == 0 ? ["arn:${data.aws_partition.current.partition}:iam::${data.aws_caller_identity.current.account_id}:root"] : distinct([for arn in local.access_principal_arns : "arn:${split(":", arn)[1]}:iam::${split(":", arn)[4]}:root"])
    }

    condition {
      test     = "ArnLike"
      variable = "aws:PrincipalArn"
      # An empty list would match nothing; keep the statement valid and closed.
      values = length(local.access_principal_arns) == 0 ? ["arn:${data.aws_partition.current.partition}:iam::${data.aws_caller_identity.current.account_id}:role/none"] : local.access_principal_arns
    }
  }
}

# CloudWatch Logs resource policy letting the OpenSearch service write exactly these log groups.
data "aws_iam_policy_document" "logs" {
  count = length(local.log_types) > 0 ? 1 : 0

  statement {
    sid       = "OpenSearchLogPublishing"
    effect    = "Allow"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = [for group in aws_cloudwatch_log_group.this : "${group.arn}:*"]

    principals {
      type        = "Service"
      identifiers = ["es.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [data.aws_caller_identity.current.account_id]
    }

    condition {
      test     = "ArnLike"
      variable = "aws:SourceArn"
      values   = [local.domain_arn]
    }
  }
}

resource "aws_cloudwatch_log_resource_policy" "this" {
  count = length(local.log_types) > 0 ? 1 : 0

  policy_name     = "${var.domain_name}-opensearch-logs"
  policy_document = data.aws_iam_policy_document.logs[0].json
}
