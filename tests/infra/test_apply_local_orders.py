"""live/local-orders (the worked example of a single-table design, README.md "Single-table designs") applied
unit by unit against a moto of its own with plain terraform, as `terragrunt run-all apply` would: the PK/SK
table and its stream, the domain whose access policy names only the indexer, the function with the example's
ENTITY_CONFIG, a role that may Query the table and write both entities' aliases; a second plan shows no
changes.

Cost: one apply of four units and a plan of two. test_apply_local.py proves destroy on live/local; here the
moto process (``module_moto``) is simply stopped. As there, the event source mapping is switched back on
(nothing here writes to the table), so the mapping is proven on the orders stream too.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3
import pytest

from books_local.terragrunt import Environment, Stack

ROOT = Path(__file__).resolve().parents[2]
ENVIRONMENT = ROOT / "live" / "local-orders"
ACCOUNT = "123456789012"
pytestmark = pytest.mark.timeout(1800)  # apply + plan: 3 min idle, 8 at a load of 12 on 2 cores


@pytest.fixture(scope="module")
def applied(tmp_path_factory: pytest.TempPathFactory, module_moto: str) -> tuple[Stack, dict[str, Any], str]:
    log: list[str] = []
    stack = Stack(
        ENVIRONMENT,
        module_moto,
        tmp_path_factory.mktemp("live-local-orders"),
        overrides={"indexer": {"create_event_source_mapping": True}},
        log=log.append,
    )
    outputs = stack.apply()
    print("\n".join(log))
    return stack, outputs, module_moto


def client(endpoint: str, service: str) -> Any:
    return boto3.client(
        service,
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


def test_the_example_applies_its_five_units_and_no_api(applied: tuple[Stack, dict[str, Any], str]) -> None:
    _, outputs, endpoint = applied
    assert set(outputs) == {"alarms", "table", "opensearch", "image", "indexer"}
    assert client(endpoint, "apigateway").get_rest_apis()["items"] == []


def test_the_table_is_keyed_by_pk_and_sk_and_streams_both_images(
    applied: tuple[Stack, dict[str, Any], str],
) -> None:
    """A single-table design's item collections share a partition key and are told apart by a sort key;
    the indexer needs NEW_AND_OLD_IMAGES (its stream_view check)."""
    _, outputs, endpoint = applied
    table = client(endpoint, "dynamodb").describe_table(TableName=outputs["table"]["table_name"])["Table"]
    assert table["KeySchema"] == [
        {"AttributeName": "PK", "KeyType": "HASH"},
        {"AttributeName": "SK", "KeyType": "RANGE"},
    ]
    types = {d["AttributeName"]: d["AttributeType"] for d in table["AttributeDefinitions"]}
    assert types == {"PK": "S", "SK": "S"}
    assert table["StreamSpecification"] == {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"}
    assert (outputs["table"]["table_hash_key"], outputs["table"]["table_range_key"]) == ("PK", "SK")


def test_the_function_gets_the_examples_entities_and_its_table(
    applied: tuple[Stack, dict[str, Any], str],
) -> None:
    _, outputs, endpoint = applied
    function = client(endpoint, "lambda").get_function_configuration(
        FunctionName=outputs["indexer"]["function_name"]
    )
    variables = function["Environment"]["Variables"]
    entities = Environment.load(ENVIRONMENT, environ={}).units["indexer"].inputs(command="plan")["entities"]
    assert json.loads(variables["ENTITY_CONFIG"]) == {"entities": entities}
    assert variables["TABLE_NAME"] == outputs["table"]["table_name"]
    assert (variables["TABLE_PARTITION_KEY"], variables["TABLE_SORT_KEY"]) == ("PK", "SK")
    assert "OPENSEARCH_INDEX" not in variables
    assert outputs["indexer"]["index_aliases"] == ["orders", "customers"]
    # as Lambda measures it: "4 KB, for all environment variables associated with the function, in
    # aggregate" ("Lambda quotas", https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html)
    measured = len(json.dumps(variables, separators=(",", ":"), ensure_ascii=False).encode())
    assert outputs["indexer"]["environment_size_bytes"] == measured <= 4096
    mapping = client(endpoint, "lambda").get_event_source_mapping(
        UUID=outputs["indexer"]["event_source_mapping_uuid"]
    )
    assert mapping["EventSourceArn"] == outputs["table"]["table_stream_arn"]


def test_the_role_may_query_the_table_and_write_both_entities_aliases(
    applied: tuple[Stack, dict[str, Any], str],
) -> None:
    _, outputs, endpoint = applied
    iam = client(endpoint, "iam")
    role = outputs["indexer"]["role_name"]
    (name,) = iam.list_role_policies(RoleName=role)["PolicyNames"]
    document = iam.get_role_policy(RoleName=role, PolicyName=name)["PolicyDocument"]
    document = json.loads(document) if isinstance(document, str) else document
    statements = {statement["Sid"]: statement for statement in document["Statement"]}
    assert statements["QueryTableForFolding"]["Action"] == "dynamodb:Query"
    assert statements["QueryTableForFolding"]["Resource"] == outputs["table"]["table_arn"]
    domain = outputs["opensearch"]["domain_arn"]
    aliases = ("orders", "customers")

    def granted(sid: str) -> set[str]:
        resource = statements[sid]["Resource"]
        return {resource} if isinstance(resource, str) else set(resource)

    # exactly the paths the indexer's requests use, for each entity's alias (modules/lambda/iam.tf)
    assert granted("ReadIndex") == {f"{domain}/{a}{s}" for a in aliases for s in ("", "/_alias")}
    assert granted("CreateIndex") == {
        path
        for a in aliases
        for path in (f"{domain}/{a}-v1", f"{domain}/{a}-v*/_mapping", f"{domain}/{a}-v*/_alias/{a}")
    }
    assert granted("WriteDocuments") == {f"{domain}/{a}{s}" for a in aliases for s in ("/_bulk", "/_mget")}


def test_the_domain_admits_only_the_indexers_role(applied: tuple[Stack, dict[str, Any], str]) -> None:
    _, outputs, endpoint = applied
    domain = client(endpoint, "opensearch").describe_domain(DomainName=outputs["opensearch"]["domain_name"])
    (statement,) = json.loads(domain["DomainStatus"]["AccessPolicies"])["Statement"]
    assert statement["Condition"]["ArnLike"]["aws:PrincipalArn"] in (
        f"arn:aws:iam::{ACCOUNT}:role/orders-local-indexer",
        [f"arn:aws:iam::{ACCOUNT}:role/orders-local-indexer"],
    )
    assert statement["Resource"] == f"{outputs['opensearch']['domain_arn']}/*"


def test_a_second_plan_of_what_differs_from_live_local_shows_no_changes(
    applied: tuple[Stack, dict[str, Any], str],
) -> None:
    """The table (PK/SK) and the indexer (entities); opensearch and image are live/local's, whose second plan
    test_apply_local.py proves empty."""
    stack, _, _ = applied
    assert stack.plan(["table", "indexer"]) == {"table": False, "indexer": False}
