"""The lambda module's ``entities`` input (a single-table design, ENTITY_CONFIG) planned against moto.

Two plans in all, each of a root module holding several instances of modules/lambda (a plan costs a provider
start, the slow part): one of valid configurations, whose ENTITY_CONFIG, TABLE_NAME and IAM grants are read
from the plan (the ``data_access`` policy document is known at plan time); and one where every instance
breaks one rule, each in a file of its own, so every validation error is attributed to the case that caused
it by the file name in its diagnostic.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import hcl2
import pytest

from books_local.terragrunt import Environment, provider_config, terraform_env
from indexer.entities import parse_entity_config

ROOT = Path(__file__).resolve().parents[2]
ACCOUNT = "123456789012"  # moto's
DOMAIN_ARN = f"arn:aws:es:us-east-1:{ACCOUNT}:domain/orders"
TABLE_ARN = f"arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/orders"
LAMBDA_ENVIRONMENT_LIMIT = 4096
pytestmark = pytest.mark.timeout(900)


def instance(name: str, *, create: bool = True, **inputs: Any) -> dict[str, Any]:
    """One modules/lambda instance (Terraform's JSON syntax), with the module's required inputs."""
    return {
        "module": {
            name: {
                "source": str(ROOT / "modules" / "lambda"),
                "create": create,
                "function_name": f"{name.replace('_', '-')}-indexer",
                "image_uri": f"{ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com/{name.replace('_', '-')}:1",
                "table_stream_arn": f"{TABLE_ARN}/stream/2026-01-01T00:00:00.000",
                "opensearch_endpoint": "search-orders.us-east-1.es.amazonaws.com",
                "opensearch_domain_arn": DOMAIN_ARN,
                "create_alarms": False,
                **inputs,
            }
        }
    }


def terraform(workdir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["terraform", *args], cwd=workdir, env=terraform_env(), capture_output=True, text=True, timeout=900
    )


def write_root(workdir: Path, endpoint: str, files: Mapping[str, dict[str, Any]]) -> None:
    workdir.mkdir(parents=True)
    (workdir / "provider.tf").write_text(provider_config("us-east-1", endpoint, {}))
    for name, body in files.items():
        (workdir / name).write_text(json.dumps(body, indent=2))
    init = terraform(workdir, "init", "-input=false", "-no-color")
    assert init.returncode == 0, init.stderr + init.stdout


# ---- the configurations ---------------------------------------------------------------------------------


def orders_entities() -> list[dict[str, Any]]:
    """The worked example's entities, as live/local-orders gives them to the indexer unit."""
    unit = Environment.load(ROOT / "live" / "local-orders", environ={}).units["indexer"]
    return unit.inputs(command="plan")["entities"]


# Flat entities only (no document is folded), told apart by attributes of each JSON type.
FLAT_ENTITIES = [
    {"name": "customer", "match": {"attribute": "kind", "equals": "customer"}, "index": "customers"},
    {"name": "seller", "match": {"attribute": "kind", "equals_number": 3}, "index": "sellers"},
    {"name": "flagged", "match": {"attribute": "kind", "equals_bool": True}, "index": "flagged.v2+x"},
]


@pytest.fixture(scope="module")
def planned(tmp_path_factory: pytest.TempPathFactory, infra_moto: str) -> dict[str, Any]:
    workdir = tmp_path_factory.mktemp("lambda-entities") / "valid"
    outputs = {
        "output": {
            f"{name}_{output}": {"value": f"${{module.{name}.{output}}}"}
            for name in ("books", "orders", "flat")
            for output in ("entity_configuration", "index_aliases", "environment_size_bytes")
        }
    }
    write_root(
        workdir,
        infra_moto,
        {
            "books.tf.json": instance("books"),
            "orders.tf.json": instance(
                "orders", table_partition_key="PK", table_sort_key="SK", entities=orders_entities()
            ),
            # <, > and & are HTML-escaped by jsonencode, ä takes two bytes: the size counts what Lambda counts
            "flat.tf.json": instance(
                "flat", entities=FLAT_ENTITIES, environment_variables={"NOTE": "<ä & ö>"}
            ),
            "outputs.tf.json": outputs,
        },
    )
    plan = terraform(workdir, "plan", "-input=false", "-no-color", "-lock=false", "-out=plan.bin")
    assert plan.returncode == 0, plan.stderr + plan.stdout
    return json.loads(terraform(workdir, "show", "-json", "plan.bin").stdout)


def output(plan: Mapping[str, Any], name: str) -> Any:
    return plan["planned_values"]["outputs"][name]["value"]


def environment_of(plan: Mapping[str, Any], module: str) -> dict[str, str]:
    (function,) = [
        change
        for change in plan["resource_changes"]
        if change["address"] == f"module.{module}.aws_lambda_function.this[0]"
    ]
    return function["change"]["after"]["environment"][0]["variables"]


def statements_of(plan: Mapping[str, Any], module: str) -> dict[str, dict[str, Any]]:
    """The function's grants on the table and the domain, by Sid, as planned (known at plan time)."""
    address = f"module.{module}.data.aws_iam_policy_document.data_access[0]"
    for child in plan["prior_state"]["values"]["root_module"].get("child_modules", []):
        for resource in child.get("resources", []):
            if resource["address"] == address:
                document = json.loads(resource["values"]["json"])
                return {statement["Sid"]: statement for statement in document["Statement"]}
    raise AssertionError(f"{address} was not read at plan time")


def resources(statement: Mapping[str, Any]) -> set[str]:
    value = statement["Resource"]
    return {value} if isinstance(value, str) else set(value)


def actions(statement: Mapping[str, Any]) -> set[str]:
    value = statement["Action"]
    return {value} if isinstance(value, str) else set(value)


def alias_paths(*aliases: str) -> set[str]:
    """The index paths the indexer's cold start uses, per alias (modules/lambda/iam.tf: ReadIndex and
    CreateIndex, known at plan; WriteDocuments' _bulk and _mget are built from the same list)."""
    suffixes = ("", "/_alias", "-v1", "-v*/_mapping")
    return {f"{DOMAIN_ARN}/{alias}{suffix}" for alias in aliases for suffix in suffixes} | {
        f"{DOMAIN_ARN}/{alias}-v*/_alias/{alias}" for alias in aliases
    }


def index_paths(statements: dict[str, Any]) -> set[str]:
    """Every path the cold start's domain statements grant."""
    return set().union(*(resources(statements[sid]) for sid in ("ReadIndex", "CreateIndex")))


# ---- without entities: nothing changes -------------------------------------------------------------------


def test_without_entities_the_role_may_not_query_the_table_and_writes_only_opensearch_index(
    planned: dict[str, Any],
) -> None:
    statements = statements_of(planned, "books")
    assert not any(a.startswith("dynamodb:Query") for s in statements.values() for a in actions(s))
    assert index_paths(statements) == alias_paths("books")
    environment = environment_of(planned, "books")
    assert environment["OPENSEARCH_INDEX"] == "books"
    assert not {"ENTITY_CONFIG", "TABLE_NAME"} & set(environment)
    assert output(planned, "books_entity_configuration") is None
    assert output(planned, "books_index_aliases") == ["books"]


# ---- the worked example: folded orders, flat customers ---------------------------------------------------


def test_folding_entities_may_query_the_table_and_nothing_else_of_it(planned: dict[str, Any]) -> None:
    """A folded document is rebuilt from a Query of its partition: dynamodb:Query on the table's ARN
    ("Actions, resources, and condition keys for Amazon DynamoDB": Query's resource type is the table,
    https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazondynamodb.html), not on its
    indexes, and no other read (GetItem, Scan) the function never makes."""
    statements = statements_of(planned, "orders")
    query = statements["QueryTableForFolding"]
    assert actions(query) == {"dynamodb:Query"}
    assert resources(query) == {TABLE_ARN}
    table_actions = {a for s in statements.values() for a in actions(s) if a.startswith("dynamodb:")}
    assert table_actions == {
        "dynamodb:Query",
        "dynamodb:DescribeStream",
        "dynamodb:GetRecords",
        "dynamodb:GetShardIterator",
        "dynamodb:ListStreams",
    }


def test_the_domain_grant_covers_every_entitys_alias_instead_of_opensearch_index(
    planned: dict[str, Any],
) -> None:
    assert index_paths(statements_of(planned, "orders")) == alias_paths("orders", "customers")
    assert output(planned, "orders_index_aliases") == ["orders", "customers"]
    assert "OPENSEARCH_INDEX" not in environment_of(planned, "orders")  # never written, never granted


def test_entity_config_is_compact_json_the_indexer_accepts_and_table_name_comes_from_the_stream(
    planned: dict[str, Any],
) -> None:
    environment = environment_of(planned, "orders")
    text = environment["ENTITY_CONFIG"]
    assert text == output(planned, "orders_entity_configuration")
    assert text == json.dumps(json.loads(text), separators=(",", ":"), sort_keys=True)  # compact
    assert json.loads(text) == {"entities": orders_entities()}  # unset optional fields are left out
    config = parse_entity_config(text, has_sort_key=True)
    assert config is not None
    assert config.folds
    assert config.indices == ("orders", "customers")
    assert (environment["TABLE_NAME"], environment["TABLE_PARTITION_KEY"], environment["TABLE_SORT_KEY"]) == (
        "orders",
        "PK",
        "SK",
    )


def test_flat_entities_get_no_query_grant_and_keep_the_json_type_of_equals(planned: dict[str, Any]) -> None:
    """The indexer compares ``equals`` with the attribute's type (true is not "true", 3 is not "3"), which a
    Terraform string would lose: equals_number and equals_bool become a JSON number and boolean."""
    statements = statements_of(planned, "flat")
    assert "QueryTableForFolding" not in statements
    assert index_paths(statements) == alias_paths("customers", "sellers", "flagged.v2+x")
    environment = environment_of(planned, "flat")
    matches = [entity["match"] for entity in json.loads(environment["ENTITY_CONFIG"])["entities"]]
    assert matches == [
        {"attribute": "kind", "equals": "customer"},
        {"attribute": "kind", "equals": 3},
        {"attribute": "kind", "equals": True},
    ]
    assert parse_entity_config(environment["ENTITY_CONFIG"], has_sort_key=False) is not None
    assert environment["TABLE_NAME"] == "orders"


@pytest.mark.parametrize("module", ["books", "orders", "flat"])
def test_the_environment_size_is_counted_as_lambda_measures_it(planned: dict[str, Any], module: str) -> None:
    """Lambda allows "4 KB, for all environment variables associated with the function, in aggregate"
    ("Lambda quotas", https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html) and, refusing
    more, quotes the "String measured": the variables as one JSON object. The module's count is that
    object's compact UTF-8 size (the flat case has <, >, & and two-byte letters in a value)."""
    environment = environment_of(planned, module)
    measured = len(json.dumps(environment, separators=(",", ":"), ensure_ascii=False).encode())
    assert output(planned, f"{module}_environment_size_bytes") == measured
    assert measured <= LAMBDA_ENVIRONMENT_LIMIT


# ---- every rule, refused at plan time with a message that names it ---------------------------------------

BASE: list[dict[str, Any]] = [
    {
        "name": "order",
        "match": {"sort_key_prefix": "ORDER#"},
        "index": "orders",
        "document_id": "partition_key",
        "children": [{"name": "item", "match": {"sort_key_prefix": "ITEM#"}, "field": "items"}],
    },
    {"name": "customer", "match": {"partition_key_prefix": "CUSTOMER#"}, "index": "customers"},
]


def changed(entity: int, child: int | None = None, **fields: Any) -> list[dict[str, Any]]:
    """BASE with some fields of one entity (or one of its children) replaced."""
    entities = json.loads(json.dumps(BASE))
    target = entities[entity] if child is None else entities[entity]["children"][child]
    target.update(fields)
    return entities


SECOND_CHILD = {"name": "shipment", "match": {"sort_key_prefix": "SHIPMENT#"}, "field": "shipments"}
WITHOUT_SORT_KEY: list[dict[str, Any]] = [
    {
        "name": "order",
        "match": {"attribute": "type", "equals": "order"},
        "index": "orders",
        "document_id": "partition_key",
        "children": [{"name": "item", "match": {"attribute": "type", "equals": "item"}, "field": "items"}],
    }
]

# case -> (inputs, the message, or the part of it, that names the rule)
REFUSED: dict[str, tuple[dict[str, Any], str]] = {
    "empty_list": ({"entities": []}, "entities must be null (flat indexing) or a non-empty list."),
    "bad_name": (
        {"entities": changed(0, name="order item")},
        "entities[*].name and entities[*].children[*].name must be 1-64 letters",
    ),
    "bad_child_name": (
        {"entities": changed(0, 0, name="1item")},
        "entities[*].name and entities[*].children[*].name must be 1-64 letters",
    ),
    "bad_index": (
        {"entities": changed(1, index="Customers")},
        "entities[*].index must be a valid alias name",
    ),
    "bad_document_id": (
        {"entities": changed(0, document_id="partition")},
        "entities[*].document_id must be key (one document per item) or partition_key",
    ),
    "children_without_partition_key": (
        {"entities": changed(0, document_id="key")},
        'entities[*].children need document_id = "partition_key"',
    ),
    "duplicate_names": ({"entities": changed(1, name="order")}, "entities[*].name must be unique."),
    "duplicate_indexes": ({"entities": changed(1, index="orders")}, "entities[*].index must be unique"),
    "duplicate_child_fields": (
        {"entities": changed(0, children=[BASE[0]["children"][0], {**SECOND_CHILD, "field": "items"}])},
        "entities[*].children[*].name and .field must be unique within their entity.",
    ),
    "empty_match": (
        {"entities": changed(1, match={})},
        "every match (entities[*].match, entities[*].children[*].match) needs a condition",
    ),
    "empty_prefix": (
        {"entities": changed(1, match={"partition_key_prefix": ""})},
        "must not be empty strings",
    ),
    "attribute_without_equals": (
        {"entities": changed(1, match={"attribute": "type"})},
        "match.attribute goes with exactly one of equals",
    ),
    "two_equals": (
        {"entities": changed(1, match={"attribute": "type", "equals": "c", "equals_bool": True})},
        "match.attribute goes with exactly one of equals",
    ),
    "equals_without_attribute": (
        {"entities": changed(1, match={"partition_key_prefix": "CUSTOMER#", "equals": "c"})},
        "match.attribute goes with exactly one of equals",
    ),
    "fractional_number": (
        {"entities": changed(1, match={"attribute": "tier", "equals_number": 1.5})},
        "match.equals_number must be a whole number",
    ),
    "sort_key_prefix_without_sort_key": (
        {"entities": changed(0, 0, order_by="line"), "table_sort_key": None},
        "match.sort_key_prefix needs table_sort_key",
    ),
    "same_match_twice": (
        {"entities": changed(1, match={"sort_key_prefix": "ORDER#"})},
        "every match must differ from every other one",
    ),
    "bad_fold": (
        {"entities": changed(0, 0, fold="list")},
        "fold must be array (a list of the child rows) or section",
    ),
    "max_children_zero": (
        {"entities": changed(0, 0, max_children=0)},
        "max_children must be a whole number from 1 to 100000",
    ),
    "section_of_two": (
        {"entities": changed(0, 0, fold="section", max_children=2)},
        'must be 1 (or unset) for fold = "section"',
    ),
    "order_by_without_sort_key": (
        {"entities": WITHOUT_SORT_KEY, "table_sort_key": None},
        "order_by must be an attribute name, and is required when the table has no sort key",
    ),
    "dotted_field": (
        {"entities": changed(0, 0, field="order.items")},
        "children[*].field must be a top-level field name",
    ),
    "field_also_included": (
        {"entities": changed(0, include=["status", "items"])},
        "children[*].field must be a top-level field name",
    ),
    "empty_exclude": (
        {"entities": changed(1, exclude=[])},
        "include and exclude (of entities and children) must be null or non-empty lists",
    ),
}


# Rules that read another variable (table_sort_key) are checked after the others, and a resource's
# precondition only once every variable is valid: Terraform does not get to them in a plan where any variable
# is invalid, so they have a plan of their own.
LATER = ("sort_key_prefix_without_sort_key", "order_by_without_sort_key")


@pytest.fixture(scope="module")
def refused(tmp_path_factory: pytest.TempPathFactory, infra_moto: str) -> dict[str, list[str]]:
    """case -> the error messages of its diagnostics (summary and detail), from two plans of every case."""
    files = {
        case: instance(case, create=False, **{"table_partition_key": "PK", "table_sort_key": "SK", **inputs})
        for case, (inputs, _) in REFUSED.items()
    }
    # One over Lambda's 4 KB (created, so the function's precondition is evaluated): ~5,900 bytes of names.
    big = changed(1, exclude=[f"attribute_{n:03d}_of_a_long_customer_record" for n in range(120)])
    files["environment_over_4kb"] = instance(
        "environment_over_4kb", table_partition_key="PK", table_sort_key="SK", entities=big
    )
    later = {*LATER, "environment_over_4kb"}
    found: dict[str, list[str]] = {}
    for name, cases in (("first", set(files) - later), ("later", later)):
        workdir = tmp_path_factory.mktemp("lambda-entities") / name
        write_root(workdir, infra_moto, {f"{case}.tf.json": files[case] for case in cases})
        plan = terraform(workdir, "plan", "-input=false", "-no-color", "-lock=false", "-json")
        assert plan.returncode != 0, plan.stdout[-3000:]
        for line in plan.stdout.splitlines():
            message = json.loads(line)
            diagnostic = message.get("diagnostic") or {}
            if message.get("type") == "diagnostic" and diagnostic.get("severity") == "error":
                text = " ".join(f"{diagnostic['summary']} {diagnostic.get('detail', '')}".split())
                found.setdefault(_case_of(diagnostic), []).append(text)
    return found


def _case_of(diagnostic: Mapping[str, Any]) -> str:
    """A variable's validation points at the argument in the case's own file; a resource's precondition at
    the module's code, in the module instance's directory (``.terraform/modules/<case>/main.tf``)."""
    path = Path((diagnostic.get("range") or {}).get("filename", "?"))
    return path.parent.name if path.parent.parent.name == "modules" else path.name.removesuffix(".tf.json")


@pytest.mark.parametrize("case", list(REFUSED))
def test_a_configuration_the_indexer_would_refuse_is_refused_at_plan_time(
    refused: dict[str, list[str]], case: str
) -> None:
    _, message = REFUSED[case]
    messages = refused.get(case, [])
    assert messages, f"{case} planned: {sorted(refused)}"
    assert all(text.startswith("Invalid value for variable") for text in messages), messages
    assert any(message in text for text in messages), messages


def test_no_valid_instance_is_refused(refused: dict[str, list[str]]) -> None:
    """Only the cases fail (every diagnostic is in a case's file): the valid parts of each are accepted."""
    assert set(refused) <= set(REFUSED) | {"environment_over_4kb"}, sorted(refused)


def test_an_environment_over_lambdas_4_kb_is_refused_at_plan_time(refused: dict[str, list[str]]) -> None:
    """ "4 KB, for all environment variables associated with the function, in aggregate" ("Lambda quotas",
    https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html). moto accepts more (it does
    not check the quota), so the module's precondition is what refuses it before AWS would, at apply."""
    (text,) = refused["environment_over_4kb"]
    assert text.startswith("Resource precondition failed"), text
    assert "Lambda allows 4 KB (4096 bytes) for all of them in aggregate" in text, text


@pytest.mark.parametrize("readme", ["README.md", "modules/lambda/README.md"])
def test_the_readmes_show_the_examples_entities_as_live_local_orders_has_them(readme: str) -> None:
    text = (ROOT / readme).read_text()
    blocks = [block.split("```", 1)[0] for block in text.split("```hcl\n")[1:]]
    (shown,) = [hcl2.loads(block) for block in blocks if "entities = [" in block]
    assert shown["entities"] == orders_entities()
