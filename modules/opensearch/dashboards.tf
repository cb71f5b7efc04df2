# Dashboards access for people (off unless dashboards_access is set): Amazon Cognito sign-in in front of
# OpenSearch Dashboards, fine-grained access control (FGAC) behind it.
#
# - A user pool (no self sign-up, MFA, the hosted sign-in domain OpenSearch redirects to), an identity pool
#   without unauthenticated identities, and two roles people assume through it: "analyst" (the default for
#   everyone who signs in; read-only on the index) and "admin" (members of the user pool's "admins" group,
#   chosen from their token). "Configuring Amazon Cognito authentication for OpenSearch Dashboards",
#   https://docs.aws.amazon.com/opensearch-service/latest/developerguide/cognito-auth.html.
# - The role OpenSearch Service assumes to configure both pools, with the actions of AWS's
#   AmazonOpenSearchServiceCognitoAccess policy scoped to these two pools.
# - FGAC with an IAM master user, and the security roles and role mappings applied through the domain's
#   security REST API by scripts/apply_security.py (terraform_data + local-exec, signed with the master user's
#   credentials): the indexer's roles write the index, the API's read it, analysts read it without tombstones
#   or the indexer's fields, admins get all_access and security_manager ("Additional master users",
#   https://docs.aws.amazon.com/opensearch-service/latest/developerguide/fgac.html#fgac-more-masters).

locals {
  dashboards     = local.create && var.dashboards_access != null
  create_cognito = local.dashboards && try(var.dashboards_access.cognito == null, false)
  cognito        = local.dashboards ? try(var.dashboards_access.cognito, null) : null

  # The FGAC master user. With dashboards_access: the given one, or the identity applying Terraform as the IAM
  # role behind its session (FGAC maps roles, not sessions). Without: fine_grained_access_control's, if IAM.
  master_user_arn = local.dashboards ? coalesce(
    var.dashboards_access.master_user_arn,
    try(data.aws_iam_session_context.current[0].issuer_arn, null),
  ) : try(var.fine_grained_access_control.master_user_arn, null)

  admin_role_arn   = local.create_cognito ? aws_iam_role.dashboards["admin"].arn : try(local.cognito.admin_role_arn, null)
  analyst_role_arn = local.create_cognito ? aws_iam_role.dashboards["analyst"].arn : try(local.cognito.analyst_role_arn, null)

  # Principals the domain's access policy admits besides access_principal_arns (iam.tf): the master user
  # (it applies the security configuration) and the roles people sign in with.
  security_principal_arns = local.fine_grained ? compact([local.master_user_arn, local.admin_role_arn, local.analyst_role_arn]) : []

  cognito_domain_prefix = local.dashboards ? coalesce(
    var.dashboards_access.cognito_domain_prefix,
    "${var.domain_name}-${data.aws_caller_identity.current.account_id}",
  ) : null
  # Identity pool names allow letters, digits, spaces and underscores only.
  identity_pool_name = "${replace(var.domain_name, "-", "_")}_dashboards"

  alias          = var.index_access.alias
  index_patterns = [local.alias, "${local.alias}-*"]

  # The security configuration scripts/apply_security.py applies ("Create role" and "Create role mapping" of
  # the security REST API, https://docs.opensearch.org/latest/security/access-control/api/). Roles listed in
  # "roles" and their mappings are replaced as written; mappings of built-in roles (all_access,
  # security_manager, kibana_user) only ever gain these backend roles, so the master user AWS mapped stays.
  security_config = {
    roles = {
      # Every request the indexer makes (artifacts/update_indices/README.md, "Requests it makes"): the cold
      # start's GET /<alias>, index and alias creation, mapping updates, _bulk, the sequence guard's _mget,
      # and purge-tombstones' search, scroll and deletes. _bulk, _mget and scroll are cluster-level actions
      # in the security plugin, their items checked per index.
      "${local.alias}_writer" = {
        description         = "The stream indexer: writes the ${local.alias} alias and its versioned indices."
        cluster_permissions = ["indices:data/write/bulk", "indices:data/read/mget", "indices:data/read/scroll*"]
        index_permissions = [{
          index_patterns = local.index_patterns
          allowed_actions = [
            "indices:admin/get",
            "indices:admin/aliases",
            "indices:admin/aliases/get",
            "indices:admin/create",
            "indices:admin/mapping/put",
            "indices:data/write/bulk*",
            "indices:data/write/index",
            "indices:data/write/delete",
            "indices:data/read/mget*",
            "indices:data/read/search*",
            "indices:data/read/scroll*",
          ]
        }]
      }
      # The API's only request to the domain: POST /<alias>/_search.
      "${local.alias}_reader" = {
        description         = "The books API: searches the ${local.alias} alias."
        cluster_permissions = []
        index_permissions = [{
          index_patterns  = local.index_patterns
          allowed_actions = ["indices:data/read/search*"]
        }]
      }
      # People reading the books: the same documents the API shows (tombstones filtered by the alias's own
      # filter, as document-level security) without the indexer's reserved fields, whatever index they name.
      "${local.alias}_analyst" = {
        description         = "Read-only analysts: the ${local.alias} documents as the API shows them."
        cluster_permissions = ["cluster_composite_ops_ro"]
        index_permissions = [{
          index_patterns  = local.index_patterns
          allowed_actions = ["read"]
          dls             = jsonencode({ bool = { must_not = [{ term = { indexer_tombstone = true } }] } })
          fls             = ["~indexer_*"]
        }]
      }
    }
    role_mappings = merge(
      {
        "${local.alias}_writer"  = { backend_roles = var.index_access.writer_role_arns }
        "${local.alias}_reader"  = { backend_roles = var.index_access.reader_role_arns }
        "${local.alias}_analyst" = { backend_roles = compact([local.analyst_role_arn]) }
      },
      local.dashboards ? {
        kibana_user      = { backend_roles = [local.analyst_role_arn] } # Dashboards itself
        all_access       = { backend_roles = [local.admin_role_arn] }
        security_manager = { backend_roles = [local.admin_role_arn] }
      } : {},
    )
  }
}

data "aws_iam_session_context" "current" {
  count = local.dashboards && try(var.dashboards_access.master_user_arn == null, false) ? 1 : 0

  arn = data.aws_caller_identity.current.arn
}

################################################################################
# Cognito: user pool, sign-in domain, identity pool
################################################################################

resource "aws_cognito_user_pool" "dashboards" {
  count = local.create_cognito ? 1 : 0

  name = "${var.domain_name}-dashboards"

  # People are invited by an administrator (README: "Dashboards access"); nobody signs themselves up.
  admin_create_user_config {
    allow_admin_create_user_only = true
  }

  # TOTP enrolled in the managed sign-in pages at the first sign-in when MFA is ON ("TOTP software token
  # MFA", https://docs.aws.amazon.com/cognito/latest/developerguide/user-pool-settings-mfa-totp.html).
  mfa_configuration = var.dashboards_access.mfa_configuration
  software_token_mfa_configuration {
    enabled = true
  }

  password_policy {
    minimum_length                   = 14
    require_lowercase                = true
    require_uppercase                = true
    require_numbers                  = true
    require_symbols                  = true
    temporary_password_validity_days = 3
  }

  username_attributes      = ["email"]
  auto_verified_attributes = ["email"]

  account_recovery_setting {
    recovery_mechanism {
      name     = "verified_email"
      priority = 1
    }
  }

  tags = var.tags
}

# OpenSearch redirects to this domain's sign-in page: "Your Amazon Cognito user pool must have a domain name"
# (cognito-auth.html, About the user pool).
resource "aws_cognito_user_pool_domain" "dashboards" {
  count = local.create_cognito ? 1 : 0

  domain       = local.cognito_domain_prefix
  user_pool_id = aws_cognito_user_pool.dashboards[0].id
}

resource "aws_cognito_user_group" "dashboards" {
  for_each = local.create_cognito ? { admins = "admin", analysts = "analyst" } : {}

  name         = each.key
  description  = "${title(each.value)}s of the ${var.domain_name} OpenSearch Dashboards."
  user_pool_id = aws_cognito_user_pool.dashboards[0].id
  role_arn     = aws_iam_role.dashboards[each.value].arn
  precedence   = each.value == "admin" ? 1 : 2
}

resource "aws_cognito_identity_pool" "dashboards" {
  count = local.create_cognito ? 1 : 0

  identity_pool_name               = local.identity_pool_name
  allow_unauthenticated_identities = false
  allow_classic_flow               = false

  # OpenSearch Service adds its own app client of the user pool here ("Configuring identity providers",
  # cognito-auth.html); Terraform must not take it away again.
  lifecycle {
    ignore_changes = [cognito_identity_providers]
  }

  tags = var.tags
}

# The app client OpenSearch Service made in the user pool once the domain uses it: its provider name is what
# the identity pool's role mapping is keyed by. Its id is not an attribute of the domain
# (https://github.com/hashicorp/terraform-provider-aws/issues/15972), so it is read back here, after the domain.
data "aws_cognito_user_pool_clients" "dashboards" {
  count = local.create_cognito ? 1 : 0

  user_pool_id = aws_cognito_user_pool.dashboards[0].id

  depends_on = [aws_opensearch_domain.this]
}

locals {
  opensearch_client_ids = local.create_cognito ? [
    for index, name in data.aws_cognito_user_pool_clients.dashboards[0].client_names :
    data.aws_cognito_user_pool_clients.dashboards[0].client_ids[index]
    if startswith(name, "AmazonOpenSearchService-")
  ] : []
}

# Everyone who signs in gets the analyst role; members of a group get their group's role from their token
# ("(Optional) Configuring granular access", cognito-auth.html). Created after the domain, as it needs the
# domain's app client.
resource "aws_cognito_identity_pool_roles_attachment" "dashboards" {
  count = local.create_cognito ? 1 : 0

  identity_pool_id = aws_cognito_identity_pool.dashboards[0].id
  roles = {
    authenticated = aws_iam_role.dashboards["analyst"].arn
  }

  dynamic "role_mapping" {
    for_each = local.opensearch_client_ids
    content {
      identity_provider         = "${aws_cognito_user_pool.dashboards[0].endpoint}:${role_mapping.value}"
      type                      = "Token"
      ambiguous_role_resolution = "AuthenticatedRole"
    }
  }
}

################################################################################
# IAM: the role OpenSearch uses to configure Cognito, the roles people assume
################################################################################

# "The role must have the following trust relationship": opensearchservice.amazonaws.com, sts:AssumeRole
# (cognito-auth.html, About the CognitoAccessForAmazonOpenSearch role).
data "aws_iam_policy_document" "cognito_assume" {
  count = local.create_cognito ? 1 : 0

  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["opensearchservice.amazonaws.com"]
    }
  }
}

# AWS's AmazonOpenSearchServiceCognitoAccess
# (https://docs.aws.amazon.com/aws-managed-policy/latest/reference/AmazonOpenSearchServiceCognitoAccess.html),
# on these two pools and the two roles it passes to Cognito instead of every pool and role of the account.
data "aws_iam_policy_document" "cognito" {
  count = local.create_cognito ? 1 : 0

  statement {
    sid = "ConfigureDashboardsPools"
    actions = [
      "cognito-idp:DescribeUserPool",
      "cognito-idp:CreateUserPoolClient",
      "cognito-idp:DeleteUserPoolClient",
      "cognito-idp:UpdateUserPoolClient",
      "cognito-idp:DescribeUserPoolClient",
      "cognito-idp:AdminInitiateAuth",
      "cognito-idp:AdminUserGlobalSignOut",
      "cognito-idp:ListUserPoolClients",
      "cognito-identity:DescribeIdentityPool",
      "cognito-identity:UpdateIdentityPool",
      "cognito-identity:GetIdentityPoolRoles",
    ]
    # The identity pool's ARN spelled out: the provider's arn attribute needs the account id, which a provider
    # configured with skip_requesting_account_id (tests on moto) does not have.
    resources = [
      aws_cognito_user_pool.dashboards[0].arn,
      "arn:${data.aws_partition.current.partition}:cognito-identity:${data.aws_region.current.name}:${data.aws_caller_identity.current.account_id}:identitypool/${aws_cognito_identity_pool.dashboards[0].id}",
    ]
  }

  statement {
    sid       = "PassDashboardsRolesToCognito"
    actions   = ["iam:PassRole"]
    resources = [for role in aws_iam_role.dashboards : role.arn]

    condition {
      test     = "StringLike"
      variable = "iam:PassedToService"
      values   = ["cognito-identity.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "cognito" {
  count = local.create_cognito ? 1 : 0

  name_prefix        = "${var.domain_name}-os-cognito-"
  description        = "Lets OpenSearch Service configure the ${var.domain_name} Dashboards user and identity pools."
  assume_role_policy = data.aws_iam_policy_document.cognito_assume[0].json

  tags = var.tags
}

resource "aws_iam_role_policy" "cognito" {
  count = local.create_cognito ? 1 : 0

  name   = "configure-dashboards-pools"
  role   = aws_iam_role.cognito[0].id
  policy = data.aws_iam_policy_document.cognito[0].json
}

# Identities of this identity pool only, and only once signed in ("Invalid identity pool configuration" in
# cognito-auth.html's common configuration issues; "Role trust and permissions",
# https://docs.aws.amazon.com/cognito/latest/developerguide/role-trust-and-permissions.html).
data "aws_iam_policy_document" "dashboards_assume" {
  count = local.create_cognito ? 1 : 0

  statement {
    actions = ["sts:AssumeRoleWithWebIdentity"]

    principals {
      type        = "Federated"
      identifiers = ["cognito-identity.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "cognito-identity.amazonaws.com:aud"
      values   = [aws_cognito_identity_pool.dashboards[0].id]
    }

    condition {
      test     = "ForAnyValue:StringLike"
      variable = "cognito-identity.amazonaws.com:amr"
      values   = ["authenticated"]
    }
  }
}

# "The Amazon Cognito authenticated role needs es:ESHttp* permissions for the domain (/*) to access and use
# Dashboards" (cognito-auth.html); what each may do inside is fine-grained access control's decision.
data "aws_iam_policy_document" "dashboards" {
  count = local.create_cognito ? 1 : 0

  statement {
    sid       = "UseDashboards"
    actions   = ["es:ESHttpGet", "es:ESHttpHead", "es:ESHttpPost", "es:ESHttpPut", "es:ESHttpPatch", "es:ESHttpDelete"]
    resources = ["${local.domain_arn}/*"]
  }
}

resource "aws_iam_role" "dashboards" {
  for_each = local.create_cognito ? toset(["admin", "analyst"]) : toset([])

  name_prefix        = "${var.domain_name}-os-${each.key}-"
  description        = "People signed in to the ${var.domain_name} OpenSearch Dashboards as ${each.key}s (Cognito)."
  assume_role_policy = data.aws_iam_policy_document.dashboards_assume[0].json

  tags = var.tags
}

resource "aws_iam_role_policy" "dashboards" {
  for_each = aws_iam_role.dashboards

  name   = "use-dashboards"
  role   = each.value.id
  policy = data.aws_iam_policy_document.dashboards[0].json
}

################################################################################
# Security roles and role mappings inside the domain
################################################################################

# The hashicorp/aws provider has no resource for the security plugin's configuration, so the apply runs a
# script that PUTs it through the domain's REST API, signed (SigV4, curl --aws-sigv4) with the credentials
# of the identity applying Terraform, which must be the master user (the default) or mapped to
# security_manager. It runs again whenever the configuration or the endpoint changes. The endpoint must be
# reachable from where Terraform runs (for a VPC domain: inside the VPC).
resource "terraform_data" "security" {
  count = local.create && local.fine_grained && local.master_user_arn != null ? 1 : 0

  triggers_replace = {
    endpoint = aws_opensearch_domain.this[0].endpoint
    config   = sha256(jsonencode(local.security_config))
  }

  provisioner "local-exec" {
    command = "python3 ${path.module}/scripts/apply_security.py"
    environment = {
      OPENSEARCH_URL  = "https://${aws_opensearch_domain.this[0].endpoint}"
      AWS_REGION      = data.aws_region.current.name
      SECURITY_CONFIG = jsonencode(local.security_config)
      MASTER_USER_ARN = local.master_user_arn
    }
  }
}
