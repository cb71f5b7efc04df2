"""The API's DynamoDB calls run under exactly the policy Terraform gives its integration role, with IAM
enforced: a permission missing from modules/api/iam.tf fails here, not in production.

Setup, on a moto of its own (support.iam_moto: DynamoDB authorized per table and per transaction action, as
AWS does): Terraform applies modules/api's role and policy (and the idempotency table they name); an IAM user
gets the role's inline policy exactly as Terraform wrote it (read back from IAM); then enforcement is switched
on (``/moto-api/reset-auth`` 0) and the local gateway signs every DynamoDB call of the role's integrations
with that user's key, as API Gateway signs them with the role's session ("credentials" of the integration).

What moto cannot evaluate, and what stands in for it:
- the role's trust policy (API Gateway assuming it): test_api_conformance.py checks it against AWS's
  documented condition keys;
- Condition blocks: the execution policy has none (checked below), so nothing it allows hides in one;
- resource-based policies: the OpenSearch domain's access policy (the opensearch module's principals) and the
  es:ESHttpPost grant on ``<domain>/<index>/_search``, checked below against AWS's documented resource form,
  since the local OpenSearch takes unsigned calls.
"""

from __future__ import annotations

import copy
import json
import os
import shutil
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
from api_http_client import Api
from botocore.credentials import Credentials

from books_local.api_credentials import ApiCredentials, issue
from books_local.api_server import LocalApiServer, make_server
from books_local.openapi_document import render_openapi_document
from books_local.ports import free_port
from books_local.terraform_cli import provider_config, terraform_env
from support.api_tables import create_books_table
from support.iam_moto import TRANSACTION_ACTIONS

ROOT = Path(__file__).resolve().parents[2]
REGION = "us-east-1"
ACCOUNT = "123456789012"  # moto's
JSON = {"Content-Type": "application/json"}


@dataclass
class Enforced:
    api: Api
    iam: Any
    user: str
    policy_name: str
    policy: dict[str, Any]
    role_arn: str
    integration: ApiCredentials

    def allow(self, policy: dict[str, Any]) -> None:
        self.iam.put_user_policy(
            UserName=self.user, PolicyName=self.policy_name, PolicyDocument=json.dumps(policy)
        )


def start_iam_moto(log: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "tests"), str(ROOT / "local")])}
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "support.iam_moto", "-H", "127.0.0.1", "-p", str(port)],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    endpoint = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            urllib.request.urlopen(f"{endpoint}/moto-api/", timeout=1).close()
            return process, endpoint
        except OSError as exc:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                raise RuntimeError(f"support.iam_moto did not start (log: {log})") from exc
            time.sleep(0.1)


def apply_integration_role(workdir: Path, endpoint: str, inputs: dict[str, Any]) -> None:
    """modules/api's execution role and its policy, as Terraform makes them (and what they depend on)."""
    shutil.copytree(ROOT / "modules" / "api", workdir, ignore=shutil.ignore_patterns(".terraform*"))
    (workdir / "provider.tf").write_text(provider_config(REGION, endpoint, {}))
    (workdir / "terraform.tfvars.json").write_text(json.dumps(inputs))
    for command in (
        ["init", "-input=false", "-no-color"],
        ["apply", "-input=false", "-no-color", "-auto-approve", "-target=aws_iam_role_policy.this"],
    ):
        result = subprocess.run(
            ["terraform", *command],
            cwd=workdir,
            env=terraform_env(),
            capture_output=True,
            text=True,
            timeout=900,
        )
        assert result.returncode == 0, result.stderr + result.stdout


@pytest.fixture(scope="module")
def enforced(tmp_path_factory: pytest.TempPathFactory, opensearch_url: str) -> Iterator[Enforced]:
    workdir = tmp_path_factory.mktemp("iam-enforced")
    process, endpoint = start_iam_moto(workdir / "moto.log")
    server: LocalApiServer | None = None
    try:
        name = f"books-iam-{uuid.uuid4().hex[:8]}"
        table = f"{name}-books"
        apply_integration_role(
            workdir / "api",
            endpoint,
            {
                "name": name,
                "table_name": table,
                "table_arn": f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{table}",
                "opensearch_domain_endpoint": f"search-{name}.{REGION}.es.amazonaws.com",
                "opensearch_domain_arn": f"arn:aws:es:{REGION}:{ACCOUNT}:domain/{name}",
                "opensearch_index": name,
            },
        )
        # Still without enforcement: the admin (for the tests' own reads), the consumer, the books table.
        iam = boto3.client("iam", endpoint_url=endpoint, region_name=REGION)
        (role,) = [r for r in iam.list_roles()["Roles"] if r["RoleName"].startswith(f"{name}-api-")]
        (policy_name,) = iam.list_role_policies(RoleName=role["RoleName"])["PolicyNames"]
        policy = iam.get_role_policy(RoleName=role["RoleName"], PolicyName=policy_name)["PolicyDocument"]
        policy = json.loads(policy) if isinstance(policy, str) else policy
        execution_arn = f"arn:aws:execute-api:{REGION}:{ACCOUNT}:{name}"
        admin = issue(endpoint, REGION, execution_arn, user_name=f"{name}-admin")
        iam.put_user_policy(
            UserName=f"{name}-admin",
            PolicyName="admin",
            PolicyDocument=json.dumps(
                {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
            ),
        )
        integration = issue(endpoint, REGION, execution_arn, user_name=f"{name}-integration")
        iam.delete_user_policy(UserName=f"{name}-integration", PolicyName="invoke-books-api")
        iam.put_user_policy(
            UserName=f"{name}-integration", PolicyName=policy_name, PolicyDocument=json.dumps(policy)
        )
        consumer = issue(endpoint, REGION, execution_arn)
        admin_session = boto3.session.Session(
            aws_access_key_id=admin.access_key_id,
            aws_secret_access_key=admin.secret_access_key,
            region_name=REGION,
        )
        dynamodb = admin_session.client("dynamodb", endpoint_url=endpoint)
        create_books_table(dynamodb, table)
        document = render_openapi_document(
            authorization="AWS_IAM",
            table_name=table,
            idempotency_table_name=f"{name}-idempotency",
            opensearch_index=name,
            execution_role_arn=role["Arn"],
        )
        # From here on every call to this moto is authorized against its caller's policies.
        reset = urllib.request.Request(
            f"{endpoint}/moto-api/reset-auth",
            data=b"0",
            method="POST",
            headers={"Content-Type": "text/plain"},
        )
        urllib.request.urlopen(reset, timeout=10).close()
        server = make_server(
            document,
            endpoint,
            opensearch_url,
            credentials=consumer.secrets,
            identities=consumer.identities,
            integration_credentials={
                role["Arn"]: Credentials(integration.access_key_id, integration.secret_access_key)
            },
        )
        server.start()
        yield Enforced(
            Api(server.url, table, name, dynamodb, consumer),
            admin_session.client("iam", endpoint_url=endpoint),
            f"{name}-integration",
            policy_name,
            policy,
            role["Arn"],
            integration,
        )
    finally:
        if server is not None:
            server.close()
        process.terminate()
        process.wait(timeout=10)


def every_operation(api: Api) -> dict[str, int]:
    """Status of each DynamoDB-backed operation (a keyed create, a plain one, read, list, replace, delete)."""
    key = str(uuid.uuid4())
    keyed = api.call("POST", "/books", {"title": "k", "author": "a"}, JSON | {"Idempotency-Key": key})
    plain = api.call("POST", "/books", {"title": "p", "author": "a"})
    book_id = keyed.json()["id"] if keyed.status == 201 else plain.json().get("id", "missing")
    existing = book_id if keyed.status == 201 or plain.status == 201 else "missing"
    return {
        "POST /books (Idempotency-Key)": keyed.status,
        "POST /books": plain.status,
        "GET /books/{id}": api.call("GET", f"/books/{existing}").status,
        "GET /books": api.call("GET", "/books?limit=5").status,
        "PUT /books/{id}": api.call("PUT", f"/books/{existing}", {"title": "r", "author": "a"}).status,
        "DELETE /books/{id}": api.call("DELETE", f"/books/{existing}").status,
    }


def test_every_operation_works_under_exactly_the_roles_policy(enforced: Enforced) -> None:
    assert every_operation(enforced.api) == {
        "POST /books (Idempotency-Key)": 201,
        "POST /books": 201,
        "GET /books/{id}": 200,
        "GET /books": 200,
        "PUT /books/{id}": 200,
        "DELETE /books/{id}": 204,
    }


def test_enforcement_is_on_the_role_reaches_no_other_table(enforced: Enforced) -> None:
    """The integration's key may write the books table and no other: the policy's resources are evaluated,
    not merely stored (moto alone would check every DynamoDB call against "*": support.iam_moto)."""
    other = f"{enforced.api.table_name}-other"
    create_books_table(enforced.api.dynamodb, other)
    role = boto3.client(
        "dynamodb",
        endpoint_url=enforced.api.dynamodb.meta.endpoint_url,
        region_name=REGION,
        aws_access_key_id=enforced.integration.access_key_id,
        aws_secret_access_key=enforced.integration.secret_access_key,
    )
    item = {"id": {"S": str(uuid.uuid4())}, "title": {"S": "t"}}

    role.put_item(TableName=enforced.api.table_name, Item=item)
    with pytest.raises(role.exceptions.ClientError) as denied:
        role.put_item(TableName=other, Item=item)
    with pytest.raises(role.exceptions.ClientError) as not_granted:
        role.delete_table(TableName=enforced.api.table_name)

    assert denied.value.response["Error"]["Code"] == "AccessDeniedException"
    assert not_granted.value.response["Error"]["Code"] == "AccessDeniedException"


# Each (statement, action) of the policy and an operation that needs it: removing it must break that one.
NEEDED_BY = {
    ("Books", "dynamodb:PutItem"): "POST /books",
    ("Books", "dynamodb:GetItem"): "GET /books/{id}",
    ("Books", "dynamodb:UpdateItem"): "PUT /books/{id}",
    ("Books", "dynamodb:DeleteItem"): "DELETE /books/{id}",
    ("Books", "dynamodb:Scan"): "GET /books",
    ("IdempotencyKeys", "dynamodb:PutItem"): "POST /books (Idempotency-Key)",
}


def without(policy: dict[str, Any], sid: str, action: str) -> dict[str, Any]:
    reduced = copy.deepcopy(policy)
    for statement in reduced["Statement"]:
        if statement.get("Sid") == sid:
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            statement["Action"] = [name for name in actions if name != action]
    reduced["Statement"] = [statement for statement in reduced["Statement"] if statement["Action"]]
    return reduced


def dynamodb_permissions(policy: dict[str, Any]) -> set[tuple[str, str]]:
    return {
        (statement["Sid"], action)
        for statement in policy["Statement"]
        for action in (
            statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        )
        if action.startswith("dynamodb:")
    }


def test_every_dynamodb_permission_of_the_policy_is_one_an_operation_needs(enforced: Enforced) -> None:
    assert dynamodb_permissions(enforced.policy) == set(NEEDED_BY)


@pytest.mark.parametrize(("sid", "action"), sorted(NEEDED_BY), ids=lambda value: str(value))
def test_removing_one_permission_breaks_the_operation_that_needs_it(
    enforced: Enforced, sid: str, action: str
) -> None:
    enforced.allow(without(enforced.policy, sid, action))
    try:
        statuses = every_operation(enforced.api)
    finally:
        enforced.allow(enforced.policy)

    broken = NEEDED_BY[(sid, action)]
    assert statuses[broken] == 500, statuses  # AccessDeniedException reaches the client as INTERNAL_ERROR
    if broken != "POST /books":  # without PutItem on the books table nothing can be created to read
        assert {name: status for name, status in statuses.items() if status >= 500} == {broken: 500}


def test_the_policy_has_no_condition_moto_could_not_evaluate(enforced: Enforced) -> None:
    assert all("Condition" not in statement for statement in enforced.policy["Statement"])


def test_search_is_granted_on_the_documented_resource_of_the_index_search(enforced: Enforced) -> None:
    """moto cannot evaluate es: actions against the local OpenSearch. AWS's resource for an index's search is
    the domain ARN followed by the request path: "Resource":
    "arn:aws:es:us-west-1:987654321098:domain/test-domain/commerce-data/_search" lets a user do "only one
    operation: searches against the commerce-data index" ("Identity and Access Management in Amazon
    OpenSearch Service", https://docs.aws.amazon.com/opensearch-service/latest/developerguide/ac.html). GET
    /search POSTs to exactly that path of the configured index (or alias)."""
    (search,) = [s for s in enforced.policy["Statement"] if s.get("Sid") == "Search"]

    assert search["Action"] in ("es:ESHttpPost", ["es:ESHttpPost"])
    resource = search["Resource"]
    name = enforced.api.index
    assert resource == f"arn:aws:es:{REGION}:{ACCOUNT}:domain/{name}/{name}/_search"


def test_transactions_are_authorized_per_action_as_aws_documents() -> None:
    """support.iam_moto authorizes each action of TransactWriteItems as its single-item call, per
    transaction-apis-iam.html; this is the table that test relies on."""
    assert TRANSACTION_ACTIONS == {
        "Put": "PutItem",
        "Update": "UpdateItem",
        "Delete": "DeleteItem",
        "ConditionCheck": "ConditionCheckItem",
        "Get": "GetItem",
    }
