"""Dashboards access (modules/opensearch, dashboards_access = {}): the Cognito pools and the IAM roles around
them, applied with Terraform to moto and read back through the AWS APIs, each against the rule AWS documents.

The domain itself is left out of the apply (``-target``): the provider waits ten minutes after creating one
on moto, and moto's domain never configures Cognito. The plan of live/dev (test_conformance_live.py) shows the
domain's side: Cognito options, fine-grained access control, the identity pool's role mapping.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from books_local.terragrunt import provider_config, terraform_env

ROOT = Path(__file__).resolve().parents[2]
DOMAIN = "books-dash"
TARGETS = (
    "aws_iam_role_policy.cognito",
    "aws_iam_role_policy.dashboards",
    "aws_cognito_user_group.dashboards",
    "aws_cognito_user_pool_domain.dashboards",
)
# AWS's AmazonOpenSearchServiceCognitoAccess, version 2
# (https://docs.aws.amazon.com/aws-managed-policy/latest/reference/AmazonOpenSearchServiceCognitoAccess.html).
COGNITO_ACCESS_ACTIONS = {
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
}


def _terraform(arguments: list[str], cwd: Path) -> None:
    done = subprocess.run(
        ["terraform", *arguments, "-input=false", "-no-color"],
        cwd=cwd,
        env=terraform_env(),
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == 0, f"terraform {arguments[0]}:\n{done.stderr}{done.stdout}"


@pytest.fixture(scope="module")
def aws(infra_moto: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    workdir = tmp_path_factory.mktemp("opensearch-dashboards")
    shutil.copytree(ROOT / "modules" / "opensearch", workdir, dirs_exist_ok=True)
    (workdir / "provider.tf").write_text(provider_config("us-east-1", infra_moto, {}))
    (workdir / "terraform.tfvars.json").write_text(
        json.dumps({"domain_name": DOMAIN, "dashboards_access": {}})
    )
    targets = [f"-target={target}" for target in TARGETS]
    _terraform(["init"], workdir)
    _terraform(["apply", "-auto-approve", *targets], workdir)
    session = boto3.session.Session(
        region_name="us-east-1", aws_access_key_id="testing", aws_secret_access_key="testing"
    )
    clients = {
        name: session.client(name, endpoint_url=infra_moto)
        for name in ("iam", "cognito-idp", "cognito-identity")
    }
    try:
        yield clients
    finally:
        _terraform(["destroy", "-auto-approve", *targets], workdir)


def role(aws: dict[str, Any], kind: str) -> dict[str, Any]:
    (found,) = [
        r for r in aws["iam"].list_roles()["Roles"] if r["RoleName"].startswith(f"{DOMAIN}-os-{kind}-")
    ]
    return found


def user_pool(aws: dict[str, Any]) -> dict[str, Any]:
    (pool,) = [
        p
        for p in aws["cognito-idp"].list_user_pools(MaxResults=60)["UserPools"]
        if p["Name"] == f"{DOMAIN}-dashboards"
    ]
    return aws["cognito-idp"].describe_user_pool(UserPoolId=pool["Id"])["UserPool"]


def identity_pool_id(aws: dict[str, Any]) -> str:
    pools = aws["cognito-identity"].list_identity_pools(MaxResults=60)["IdentityPools"]
    (pool,) = [p for p in pools if p["IdentityPoolName"] == "books_dash_dashboards"]
    return pool["IdentityPoolId"]


def test_the_role_opensearch_assumes_trusts_the_service_alone(aws: dict[str, Any]) -> None:
    """ "The role must have the following trust relationship": opensearchservice.amazonaws.com with
    sts:AssumeRole ("About the CognitoAccessForAmazonOpenSearch role",
    https://docs.aws.amazon.com/opensearch-service/latest/developerguide/cognito-auth.html); without it
    CreateDomain fails with "OpenSearch Service must be allowed to use the passed role"."""
    (statement,) = role(aws, "cognito")["AssumeRolePolicyDocument"]["Statement"]
    assert statement["Principal"] == {"Service": "opensearchservice.amazonaws.com"}
    assert statement["Action"] == "sts:AssumeRole"
    assert "Condition" not in statement


def test_the_role_opensearch_assumes_may_do_what_aws_managed_policy_grants_on_these_pools_only(
    aws: dict[str, Any],
) -> None:
    cognito = role(aws, "cognito")
    (name,) = aws["iam"].list_role_policies(RoleName=cognito["RoleName"])["PolicyNames"]
    document = aws["iam"].get_role_policy(RoleName=cognito["RoleName"], PolicyName=name)["PolicyDocument"]
    statements = {s["Sid"]: s for s in document["Statement"]}
    configure = statements["ConfigureDashboardsPools"]
    assert set(configure["Action"]) == COGNITO_ACCESS_ACTIONS
    pool = user_pool(aws)
    assert sorted(configure["Resource"]) == sorted(
        [pool["Arn"], f"arn:aws:cognito-identity:us-east-1:123456789012:identitypool/{identity_pool_id(aws)}"]
    )
    passing = statements["PassDashboardsRolesToCognito"]
    assert passing["Action"] == "iam:PassRole"
    assert sorted(passing["Resource"]) == sorted([role(aws, "admin")["Arn"], role(aws, "analyst")["Arn"]])
    assert passing["Condition"] == {"StringLike": {"iam:PassedToService": "cognito-identity.amazonaws.com"}}


@pytest.mark.parametrize("kind", ["admin", "analyst"])
def test_people_assume_their_role_only_through_this_identity_pool_once_signed_in(
    aws: dict[str, Any], kind: str
) -> None:
    """The trust Cognito needs to hand out a role: Federated cognito-identity.amazonaws.com,
    sts:AssumeRoleWithWebIdentity, aud = the identity pool, amr = authenticated (cognito-auth.html, "Common
    configuration issues": "Invalid identity pool configuration. Check assigned IAM roles for this pool")."""
    (statement,) = role(aws, kind)["AssumeRolePolicyDocument"]["Statement"]
    assert statement["Principal"] == {"Federated": "cognito-identity.amazonaws.com"}
    assert statement["Action"] == "sts:AssumeRoleWithWebIdentity"
    assert statement["Condition"] == {
        "StringEquals": {"cognito-identity.amazonaws.com:aud": identity_pool_id(aws)},
        "ForAnyValue:StringLike": {"cognito-identity.amazonaws.com:amr": "authenticated"},
    }


@pytest.mark.parametrize("kind", ["admin", "analyst"])
def test_the_signed_in_roles_may_call_only_this_domain(aws: dict[str, Any], kind: str) -> None:
    """ "The Amazon Cognito authenticated role needs es:ESHttp* permissions for the domain (/*) to access and
    use Dashboards" (cognito-auth.html); what they may do inside is fine-grained access control's."""
    name = role(aws, kind)["RoleName"]
    (policy,) = aws["iam"].list_role_policies(RoleName=name)["PolicyNames"]
    (statement,) = aws["iam"].get_role_policy(RoleName=name, PolicyName=policy)["PolicyDocument"]["Statement"]
    assert {action.removeprefix("es:ESHttp") for action in statement["Action"]} == {
        "Get",
        "Head",
        "Post",
        "Put",
        "Patch",
        "Delete",
    }
    assert statement["Resource"] == f"arn:aws:es:us-east-1:123456789012:domain/{DOMAIN}/*"


def test_the_user_pool_invites_people_requires_mfa_and_has_the_sign_in_domain(aws: dict[str, Any]) -> None:
    """ "Your Amazon Cognito user pool must have a domain name" (cognito-auth.html, About the user pool); TOTP
    MFA is enrolled by the managed sign-in pages ("TOTP software token MFA",
    https://docs.aws.amazon.com/cognito/latest/developerguide/user-pool-settings-mfa-totp.html)."""
    pool = user_pool(aws)
    assert pool["AdminCreateUserConfig"]["AllowAdminCreateUserOnly"] is True
    assert pool["MfaConfiguration"] == "ON"
    mfa = aws["cognito-idp"].get_user_pool_mfa_config(UserPoolId=pool["Id"])
    assert mfa["SoftwareTokenMfaConfiguration"] == {"Enabled": True}
    assert pool["Domain"] == f"{DOMAIN}-123456789012"
    assert pool["Policies"]["PasswordPolicy"]["MinimumLength"] >= 14
    groups = {
        g["GroupName"]: g["RoleArn"] for g in aws["cognito-idp"].list_groups(UserPoolId=pool["Id"])["Groups"]
    }
    assert groups == {"admins": role(aws, "admin")["Arn"], "analysts": role(aws, "analyst")["Arn"]}


def test_the_identity_pool_admits_no_unauthenticated_identity(aws: dict[str, Any]) -> None:
    pool = aws["cognito-identity"].describe_identity_pool(IdentityPoolId=identity_pool_id(aws))
    assert pool["AllowUnauthenticatedIdentities"] is False
