data "aws_partition" "current" {}
data "aws_region" "current" {}
data "aws_caller_identity" "current" {}

locals {
  create = var.create

  domain_arn = "arn:${data.aws_partition.current.partition}:es:${data.aws_region.current.name}:${data.aws_caller_identity.current.account_id}:domain/${var.domain_name}"

  # Fine-grained access control: with dashboards_access (an IAM master user, dashboards.tf) or as given.
  fine_grained = local.dashboards || var.fine_grained_access_control != null
  fine_grained_options = local.dashboards ? {
    master_user_arn                = local.master_user_arn
    internal_user_database_enabled = false
    master_user_name               = null
  } : var.fine_grained_access_control

  # Dedicated masters by default exactly on zone-aware (production) domains; see var.dedicated_master.
  dedicated_master_enabled = coalesce(var.dedicated_master.enabled, var.zone_awareness_enabled)
  log_types                = local.create ? var.log_types : toset([])
}

resource "aws_opensearch_domain" "this" {
  # checkov:skip=CKV_AWS_317:Audit logs require fine-grained access control, which is the fine_grained_access_control input; log_types then accepts AUDIT_LOGS.
  # checkov:skip=CKV_AWS_318:Dedicated masters follow the dedicated_master input: on by default for zone-aware (production) domains, which a validation enforces; off for single-zone development domains.
  # checkov:skip=CKV2_AWS_59:Same as CKV_AWS_318: three dedicated masters on every zone-aware domain, none on single-zone development domains.
  count = local.create ? 1 : 0

  domain_name    = var.domain_name
  engine_version = var.engine_version

  cluster_config {
    instance_type          = var.instance_type
    instance_count         = var.instance_count
    zone_awareness_enabled = var.zone_awareness_enabled

    dynamic "zone_awareness_config" {
      for_each = var.zone_awareness_enabled ? [var.availability_zone_count] : []
      content {
        availability_zone_count = zone_awareness_config.value
      }
    }

    dedicated_master_enabled = local.dedicated_master_enabled
    dedicated_master_type    = local.dedicated_master_enabled ? var.dedicated_master.instance_type : null
    dedicated_master_count   = local.dedicated_master_enabled ? var.dedicated_master.count : null
  }

  # Without this, an "_index" inside a _bulk or _mget body escapes the index-scoped resources of the IAM
  # policies: AWS says it must be "false" to control access to sub-resources such as indices
  # ("AdvancedOptionsStatus", https://docs.aws.amazon.com/opensearch-service/latest/APIReference/API_AdvancedOptionsStatus.html;
  # "Identity and Access Management in Amazon OpenSearch Service", advanced options,
  # https://docs.aws.amazon.com/opensearch-service/latest/developerguide/ac.html). Clients then name the index in
  # the URL path (POST /<index>/_bulk) and never in the body.
  advanced_options = {
    "rest.action.multi.allow_explicit_index" = "false"
  }

  ebs_options {
    ebs_enabled = true
    volume_type = "gp3"
    volume_size = var.ebs_volume_size
    iops        = var.ebs_iops
    throughput  = var.ebs_throughput
  }

  encrypt_at_rest {
    enabled    = true
    kms_key_id = var.kms_key_arn
  }

  node_to_node_encryption {
    enabled = true
  }

  domain_endpoint_options {
    enforce_https       = true
    tls_security_policy = var.tls_security_policy
  }

  # FGAC "requires HTTPS for all traffic to the domain, encryption of data at rest, and node-to-node
  # encryption" (https://docs.aws.amazon.com/opensearch-service/latest/developerguide/fgac.html): all three
  # are always on above.
  dynamic "advanced_security_options" {
    for_each = local.fine_grained ? [local.fine_grained_options] : []
    content {
      enabled                        = true
      anonymous_auth_enabled         = false
      internal_user_database_enabled = advanced_security_options.value.internal_user_database_enabled

      master_user_options {
        master_user_arn      = advanced_security_options.value.master_user_arn
        master_user_name     = advanced_security_options.value.master_user_name
        master_user_password = var.master_user_password
      }
    }
  }

  dynamic "cognito_options" {
    for_each = local.dashboards ? [1] : []
    content {
      enabled          = true
      user_pool_id     = local.create_cognito ? aws_cognito_user_pool.dashboards[0].id : local.cognito.user_pool_id
      identity_pool_id = local.create_cognito ? aws_cognito_identity_pool.dashboards[0].id : local.cognito.identity_pool_id
      role_arn         = local.create_cognito ? aws_iam_role.cognito[0].arn : local.cognito.role_arn
    }
  }

  dynamic "vpc_options" {
    for_each = var.vpc_options == null ? [] : [var.vpc_options]
    content {
      subnet_ids         = vpc_options.value.subnet_ids
      security_group_ids = vpc_options.value.security_group_ids
    }
  }

  dynamic "log_publishing_options" {
    for_each = local.log_types
    content {
      enabled                  = true
      log_type                 = log_publishing_options.value
      cloudwatch_log_group_arn = aws_cloudwatch_log_group.this[log_publishing_options.value].arn
    }
  }

  access_policies = data.aws_iam_policy_document.access.json

  tags = merge(var.tags, { Name = var.domain_name })

  # OpenSearch validates that it may write to the log groups when the domain is created, and with Cognito that
  # its role may configure the pools and that the user pool has a sign-in domain.
  depends_on = [aws_cloudwatch_log_resource_policy.this, aws_iam_role_policy.cognito, aws_cognito_user_pool_domain.dashboards]
}

resource "aws_cloudwatch_log_group" "this" {
  # checkov:skip=CKV_AWS_338:Retention is the log_retention_in_days input (30 days by default; live/prod can keep a year).
  for_each = local.log_types

  name              = "/aws/opensearch/${var.domain_name}/${lower(each.value)}"
  retention_in_days = var.log_retention_in_days
  kms_key_id        = var.log_kms_key_arn

  tags = var.tags
}
