"""The environment dashboards (modules/dashboard), read from the plans of live/dev and live/prod: every widget
names a metric that its resource publishes, under the dimensions and names of the resources planned beside it.

AWS's metrics are checked against the lists AWS documents for each namespace (cited below); the indexer's
against the lines its own code writes (``indexer.metrics``, parsed as EMF by ``support.emf``). moto accepts
any dashboard body, so only these checks stop a widget that would stay empty on AWS.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import pytest
from live_plans import Plan, all_resources

from indexer import metrics
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


@pytest.fixture(params=ENVIRONMENTS)
def plans(request: pytest.FixtureRequest, live_plans: dict[str, dict[str, Plan]]) -> dict[str, Plan]:
    return live_plans[request.param]


def dashboard(plans: dict[str, Plan]) -> dict[str, Any]:
    (resource,) = plans["dashboard"].resources("aws_cloudwatch_dashboard")
    return json.loads(resource.values["dashboard_body"])


def graphed(body: dict[str, Any]) -> Iterator[tuple[str, str, str, dict[str, str]]]:
    """(widget title, namespace, metric name, dimensions) of every metric of every metric widget."""
    for widget in body["widgets"]:
        if widget["type"] != "metric":
            continue
        for entry in widget["properties"]["metrics"]:
            fields = [part for part in entry if not isinstance(part, dict)]
            namespace, name, *pairs = fields
            yield (
                widget["properties"]["title"],
                namespace,
                name,
                dict(zip(pairs[::2], pairs[1::2], strict=True)),
            )


def indexer_line() -> emf.Document:
    """A line as the indexer writes it, for a batch that exercised every figure (lag included)."""
    tally = SimpleNamespace(records=1, indexed=1, deleted=0, skipped=0, conflicts=0, failures=[])
    record = {"dynamodb": {"ApproximateCreationDateTime": 1_795_000_000, "SequenceNumber": "1"}}
    requests = SimpleNamespace(requests=1, retried=0)
    document = metrics.metrics_line("f", [record], tally, requests, None, 1_795_000_001.5)
    return emf.parse(json.dumps(document))


def only(plan: Plan, type_: str) -> dict[str, Any]:
    (resource,) = plan.resources(type_)
    return resource.values


def test_every_widget_names_a_metric_its_resource_publishes(plans: dict[str, Plan]) -> None:
    line = indexer_line()
    (namespace,) = {metric.namespace for metric in line.metrics}
    published = {
        **DOCUMENTED,
        namespace: ({"FunctionName"}, line.names(), "indexer/metrics.py: the EMF line the indexer writes"),
    }
    # The names each dimension must carry: the resources the other units plan.
    names = {
        "ApiName": only(plans["api"], "aws_api_gateway_rest_api")["name"],
        "Stage": only(plans["api"], "aws_api_gateway_stage")["stage_name"],
        "FunctionName": only(plans["indexer"], "aws_lambda_function")["function_name"],
        "QueueName": only(plans["indexer"], "aws_sqs_queue")["name"],
        "DomainName": only(plans["opensearch"], "aws_opensearch_domain")["domain_name"],
        # the account, as the domain's own alarms name it
        "ClientId": next(
            alarm.values["dimensions"]["ClientId"]
            for alarm in plans["opensearch"].resources("aws_cloudwatch_metric_alarm")
        ),
    }
    seen = set()
    for title, space, name, dimensions in graphed(dashboard(plans)):
        assert space in published, f"{title}: no resource publishes into {space}"
        keys, documented, source = published[space]
        assert name in documented, f"{title}: {space} {name} is not among the metrics of {source}"
        assert set(dimensions) == keys, f"{title}: {space} {name} dimensions {sorted(dimensions)}"
        for key, value in dimensions.items():
            assert value == names[key], (
                f"{title}: {key}={value!r}, but the planned resource is {names[key]!r}"
            )
        seen.add((space, name))
    assert {("AWS/Lambda", "IteratorAge"), (namespace, "IndexLagMax")} <= seen
    assert {space for space, _ in seen} == set(published)


def test_the_iterator_age_and_the_index_lag_share_one_graph_with_the_lag_alarms_threshold(
    plans: dict[str, Plan],
) -> None:
    lag_graphs = [
        widget["properties"]
        for widget in dashboard(plans)["widgets"]
        if widget["type"] == "metric"
        and {tuple(entry[:2]) for entry in widget["properties"]["metrics"]}
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


def test_the_alarm_widget_shows_the_alarms_of_the_api_the_indexer_and_the_domain(
    plans: dict[str, Plan],
) -> None:
    """The widget takes alarm ARNs ("Dashboard Body Structure and Syntax", alarm status widget:
    https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch-Dashboard-Body-Structure.html);
    with the mocks of a plan they are one per unit (tests/infra/test_apply_local.py checks the real ones)."""
    (widget,) = [w for w in dashboard(plans)["widgets"] if w["type"] == "alarm"]
    alarms = widget["properties"]["alarms"]
    assert alarms == plans["dashboard"].variable("alarm_arns")
    prefix = plans["dashboard"].variable("dashboard_name")
    units = {arn.split(":alarm:")[1].removeprefix(f"{prefix}-").split("-")[0] for arn in alarms}
    assert units == {"api", "indexer", "opensearch"}
