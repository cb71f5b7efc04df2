"""The environment dashboards (modules/dashboard), read from the plans of live/dev and live/prod: every widget
names a metric that its resource publishes, under the dimensions and names of the resources planned beside it.

AWS's metrics are checked against the lists AWS documents for each namespace (cited below); the indexer's
against the lines its own code writes (``indexer.metrics``, parsed as EMF by ``support.emf``). moto accepts
any dashboard body, so only these checks stop a widget that would stay empty on AWS.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from live_plans import ROOT, Plan, all_resources

from books_local.terragrunt import provider_config, terraform_env
from indexer import metrics
from indexer.bulk import WriteStats
from indexer.tally import Tally
from support import emf

ENVIRONMENTS = ("dev", "prod")

# namespace: (the dimensions these widgets use, the metrics AWS documents in it, where)
DOCUMENTED: dict[str, tuple[set[str], set[str], str]] = {
    "AWS/ApiGateway": (
        {"ApiName", "Stage"},
        {"4XXError", "5XXError", "CacheHitCount", "CacheMissCount", "Count", "IntegrationLatency", "Latency"},
        "https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-metrics-and-dimensions.html",
    ),
    "AWS/Lambda": (
        {"FunctionName"},
        {"Invocations", "Errors", "Throttles", "Duration", "IteratorAge", "ConcurrentExecutions"},
        "https://docs.aws.amazon.com/lambda/latest/dg/monitoring-metrics-types.html",
    ),
    "AWS/SQS": (
        {"QueueName"},
        {
            "ApproximateAgeOfOldestMessage",
            "ApproximateNumberOfMessagesDelayed",
            "ApproximateNumberOfMessagesNotVisible",
            "ApproximateNumberOfMessagesVisible",
            "NumberOfEmptyReceives",
            "NumberOfMessagesDeleted",
            "NumberOfMessagesReceived",
            "NumberOfMessagesSent",
            "SentMessageSize",
        },
        "https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-available-cloudwatch-metrics.html",
    ),
    # SuccessfulRequestLatency by TableName and Operation; Operation is one of the listed DynamoDB operations.
    "AWS/DynamoDB": (
        {"TableName", "Operation"},
        {"SuccessfulRequestLatency", "ConsumedWriteCapacityUnits", "ConditionalCheckFailedRequests"},
        "https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/metrics-dimensions.html",
    ),
    "AWS/ES": (
        {"DomainName", "ClientId"},
        {
            "ClusterStatus.green",
            "ClusterStatus.yellow",
            "ClusterStatus.red",
            "FreeStorageSpace",
            "JVMMemoryPressure",
            "CPUUtilization",
            "ClusterIndexWritesBlocked",
            "AutomatedSnapshotFailure",
            "MasterJVMMemoryPressure",
        },
        "https://docs.aws.amazon.com/opensearch-service/latest/developerguide/managedomains-cloudwatchmetrics.html",
    ),
}


# "Operation: This dimension limits the data to one of the following DynamoDB operations" (the page above).
DYNAMODB_OPERATIONS = {
    "PutItem",
    "DeleteItem",
    "UpdateItem",
    "GetItem",
    "BatchGetItem",
    "Scan",
    "Query",
    "BatchWriteItem",
    "TransactWriteItems",
    "TransactGetItems",
    "ExecuteTransaction",
    "BatchExecuteStatement",
    "ExecuteStatement",
}


@pytest.fixture(params=ENVIRONMENTS)
def plans(request: pytest.FixtureRequest, live_plans: dict[str, dict[str, Plan]]) -> dict[str, Plan]:
    return live_plans[request.param]


def dashboard(plans: dict[str, Plan]) -> dict[str, Any]:
    (resource,) = plans["dashboard"].resources("aws_cloudwatch_dashboard")
    return json.loads(resource.values["dashboard_body"])


def graphed(body: dict[str, Any]) -> Iterator[tuple[str, str, str, dict[str, str]]]:
    """(widget title, namespace, metric name, dimensions) of every metric of every metric widget; each
    expression must name only ids of its own widget ("Use metric math", the Id of each metric)."""
    for widget in body["widgets"]:
        if widget["type"] != "metric":
            continue
        entries = widget["properties"]["metrics"]
        ids = {part["id"] for entry in entries for part in entry if isinstance(part, dict) and "id" in part}
        for entry in entries:
            fields = [part for part in entry if not isinstance(part, dict)]
            if not fields:  # an expression over the widget's metrics
                (options,) = entry
                named = set(options["expression"].replace("+", " ").split())
                assert named <= ids - {options["id"]}, f"{widget['properties']['title']}: {options}"
                continue
            namespace, name, *pairs = fields
            yield (
                widget["properties"]["title"],
                namespace,
                name,
                dict(zip(pairs[::2], pairs[1::2], strict=True)),
            )


def indexer_line(entities: bool = False) -> emf.Document:
    """A line as the indexer writes it, for a batch that exercised every figure (lag included); with
    ``entities`` as a function with ENTITY_CONFIG writes it."""
    record = {"dynamodb": {"ApproximateCreationDateTime": 1_795_000_000, "SequenceNumber": "1"}}
    document = metrics.metrics_line(
        "f", [record], Tally(records=1, indexed=1), WriteStats(requests=1), None, 1_795_000_001.5, entities
    )
    return emf.parse(json.dumps(document))


def check_widgets(
    body: dict[str, Any], names: dict[str, str], entities: bool = False
) -> set[tuple[str, str]]:
    """Every graphed metric is one its namespace publishes, under exactly its dimensions, naming the planned
    resources (``names``: dimension -> value); returns the (namespace, metric) pairs seen."""
    line = indexer_line(entities)
    (namespace,) = {metric.namespace for metric in line.metrics}
    published = {
        **DOCUMENTED,
        namespace: ({"FunctionName"}, line.names(), "indexer/metrics.py: the EMF line the indexer writes"),
    }
    seen = set()
    for title, space, name, dimensions in graphed(body):
        assert space in published, f"{title}: no resource publishes into {space}"
        keys, documented, source = published[space]
        assert name in documented, f"{title}: {space} {name} is not among the metrics of {source}"
        assert set(dimensions) == keys, f"{title}: {space} {name} dimensions {sorted(dimensions)}"
        for key, value in dimensions.items():
            if key == "Operation":
                assert value in DYNAMODB_OPERATIONS, f"{title}: Operation {value!r}"
                continue
            assert value == names[key], (
                f"{title}: {key}={value!r}, but the planned resource is {names[key]!r}"
            )
        seen.add((space, name))
    return seen


def only(plan: Plan, type_: str) -> dict[str, Any]:
    (resource,) = plan.resources(type_)
    return resource.values


def test_every_widget_names_a_metric_its_resource_publishes(plans: dict[str, Plan]) -> None:
    # The names each dimension must carry: the resources the other units plan.
    names = {
        "ApiName": only(plans["api"], "aws_api_gateway_rest_api")["name"],
        "Stage": only(plans["api"], "aws_api_gateway_stage")["stage_name"],
        "FunctionName": only(plans["indexer"], "aws_lambda_function")["function_name"],
        "QueueName": only(plans["indexer"], "aws_sqs_queue")["name"],
        "TableName": only(plans["table"], "aws_dynamodb_table")["name"],
        "DomainName": only(plans["opensearch"], "aws_opensearch_domain")["domain_name"],
        # the account, as the domain's own alarms name it
        "ClientId": next(
            alarm.values["dimensions"]["ClientId"]
            for alarm in plans["opensearch"].resources("aws_cloudwatch_metric_alarm")
            if alarm.values["dimensions"]
        ),
    }
    seen = check_widgets(dashboard(plans), names)
    assert {
        ("AWS/Lambda", "IteratorAge"),
        (metrics.NAMESPACE, "IndexLagMax"),
        (metrics.NAMESPACE, "RecordsIn"),
        ("AWS/DynamoDB", "SuccessfulRequestLatency"),
    } <= seen
    assert {space for space, _ in seen} == set(DOCUMENTED) | {metrics.NAMESPACE}


def test_with_entities_the_folding_figures_are_graphed_as_the_indexer_writes_them(
    infra_moto: str, tmp_path: Path
) -> None:
    """The dashboard of an indexer with ENTITY_CONFIG (indexer.entities) graphs the entity metrics, and each
    is one the indexer writes in that mode; without entities none is graphed (they would stay empty)."""
    shutil.copytree(ROOT / "modules" / "dashboard", tmp_path, dirs_exist_ok=True)
    (tmp_path / "provider.tf").write_text(provider_config("us-east-1", infra_moto, {}))
    names = {"ApiName": "orders", "Stage": "v1", "FunctionName": "orders-indexer", "QueueName": "orders-dlq"}
    inputs = {
        "dashboard_name": "orders",
        "api": {"name": "orders", "stage": "v1"},
        "indexer": {
            "function_name": "orders-indexer",
            "metrics_namespace": metrics.NAMESPACE,
            "dead_letter_queue_name": "orders-dlq",
            "entities": True,
        },
        "opensearch_domain_name": "orders",
    }
    (tmp_path / "terraform.tfvars.json").write_text(json.dumps(inputs))
    for command in (["init"], ["plan", "-lock=false", "-out=plan.bin"]):
        done = subprocess.run(
            ["terraform", *command, "-input=false", "-no-color"],
            cwd=tmp_path,
            env=terraform_env(),
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert done.returncode == 0, done.stderr + done.stdout
    shown = subprocess.run(
        ["terraform", "show", "-json", "plan.bin"], cwd=tmp_path, env=terraform_env(), capture_output=True
    )
    plan = Plan("dashboard", json.loads(shown.stdout))
    body = json.loads(only(plan, "aws_cloudwatch_dashboard")["dashboard_body"])
    seen = check_widgets(body, {**names, "DomainName": "orders", "ClientId": "123456789012"}, entities=True)
    assert {(metrics.NAMESPACE, name) for name in metrics.ENTITY_COUNTS} <= seen
    flat = {name for space, name in seen if space == metrics.NAMESPACE} - set(metrics.ENTITY_COUNTS)
    assert flat <= set(indexer_line().names())


def test_the_iterator_age_and_the_index_lag_share_one_graph_with_the_lag_alarms_threshold(
    plans: dict[str, Plan],
) -> None:
    lag_graphs = [
        widget["properties"]
        for widget in dashboard(plans)["widgets"]
        if widget["type"] == "metric"
        and {tuple(entry[:2]) for entry in widget["properties"]["metrics"] if isinstance(entry[0], str)}
        >= {("AWS/Lambda", "IteratorAge"), (metrics.NAMESPACE, "IndexLagMax")}
    ]
    (graph,) = lag_graphs
    (alarm,) = [
        a
        for _, a in all_resources(plans, "aws_cloudwatch_metric_alarm")
        if a.values["metric_name"] == "IndexLagMax"
    ]
    (threshold,) = graph["annotations"]["horizontal"]
    assert threshold["value"] == alarm.values["threshold"]


def test_the_lag_alarm_watches_a_metric_the_indexer_writes_in_the_namespace_the_module_names(
    plans: dict[str, Plan],
) -> None:
    """The alarm and the dashboard read the namespace from the lambda module, the indexer writes its own
    constant: the two must agree, or the alarm watches a metric nobody publishes."""
    line = indexer_line()
    assert plans["indexer"].output("metrics_namespace") == metrics.NAMESPACE
    (alarm,) = [
        a
        for _, a in all_resources(plans, "aws_cloudwatch_metric_alarm")
        if a.values["namespace"] == metrics.NAMESPACE
    ]
    assert alarm.values["metric_name"] in line.names()
    assert alarm.values["dimensions"] == {
        "FunctionName": only(plans["indexer"], "aws_lambda_function")["function_name"]
    }
    assert (alarm.values["statistic"], alarm.values["comparison_operator"]) == (
        "Maximum",
        "GreaterThanThreshold",
    )
    assert alarm.is_set("alarm_actions")
    assert alarm.is_set("ok_actions")


def test_the_alarm_widget_shows_the_alarms_of_the_api_the_indexer_the_domain_and_the_bulk_load(
    plans: dict[str, Plan],
) -> None:
    """The widget takes alarm ARNs ("Dashboard Body Structure and Syntax", alarm status widget:
    https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch-Dashboard-Body-Structure.html);
    with the mocks of a plan they are one per unit (tests/infra/test_apply_local.py checks the real ones)."""
    (widget,) = [w for w in dashboard(plans)["widgets"] if w["type"] == "alarm"]
    alarms = widget["properties"]["alarms"]
    assert alarms == plans["dashboard"].variable("alarm_arns")
    prefix = plans["dashboard"].variable("dashboard_name")
    units = {arn.split(":alarm:")[1].removeprefix(f"{prefix}-").rsplit("-executions")[0] for arn in alarms}
    units = {unit if unit == "bulk-load" else unit.split("-")[0] for unit in units}
    assert units == {"api", "indexer", "opensearch", "bulk-load"}
