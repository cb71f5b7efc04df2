"""The indexer's alarms in the plans of live/dev and live/prod, against how CloudWatch documents it evaluates
them. moto stores alarms but never evaluates one, so these tests evaluate the planned alarms by the rules AWS
documents, quoted where they are used:

- "Configuring how CloudWatch alarms treat missing data" and "Evaluating an alarm",
  https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/alarms-and-missing-data.html and
  https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/AlarmThatSendsEmail.html;
- "Use metric math", https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/using-metric-math.html.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from live_plans import Plan

from indexer import metrics

ENVIRONMENTS = ("dev", "prod")
pytestmark = pytest.mark.timeout(1800)

BREACH, OK = "X", "0"


@pytest.fixture(params=ENVIRONMENTS)
def plans(request: pytest.FixtureRequest, live_plans: dict[str, dict[str, Plan]]) -> dict[str, Plan]:
    return live_plans[request.param]


def alarm(plans: dict[str, Plan], suffix: str) -> dict[str, Any]:
    (found,) = [
        a.values
        for a in plans["indexer"].resources("aws_cloudwatch_metric_alarm")
        if a.values["alarm_name"].endswith(f"-{suffix}")
    ]
    return found


def goes_to_alarm(points: str, datapoints_to_alarm: int, evaluation_periods: int) -> bool:
    """Whether ``points`` (oldest first; X breaching, 0 not, every period with a data point) put an alarm in
    ALARM: "If no data points in the evaluation range are missing, CloudWatch evaluates the alarm based on the
    most recent data points collected. The number of data points evaluated is equal to the Evaluation
    Periods", of which "Datapoints to Alarm" must breach ("Evaluating an alarm")."""
    assert set(points) <= {BREACH, OK}, "only periods with data: missing data follows other rules"
    return points[-evaluation_periods:].count(BREACH) >= datapoints_to_alarm


def test_the_lag_alarm_counts_quiet_minutes_as_missing_and_fires_on_m_of_n(plans: dict[str, Plan]) -> None:
    """IndexLagMax exists only in minutes with a batch. With quiet minutes treated as not breaching and five
    breaching minutes in a row required (the old alarm), late batches with a quiet minute between them never
    fired it. Treated as missing, quiet minutes count neither way, and the documented example "- - X - -"
    (3 of 3) goes to ALARM under "missing" and stays OK under "notBreaching" ("Avoiding premature transitions
    to alarm state", alarms-and-missing-data.html); an M of N alarm fires on M late minutes among N."""
    lag = alarm(plans, "index-lag")
    assert (lag["namespace"], lag["metric_name"]) == (metrics.NAMESPACE, "IndexLagMax")
    assert lag["statistic"] == "Maximum"
    assert lag["period"] == 60
    assert lag["treat_missing_data"] == "missing"
    m, n = lag["datapoints_to_alarm"], lag["evaluation_periods"]
    assert 1 < m < n, "an M out of N alarm"
    assert goes_to_alarm("X0X0X", m, n)  # late batches every other minute, on-time ones between
    assert not goes_to_alarm("X0000", m, n)  # one late batch, then on time


def _evaluate(expression: str, values: dict[str, int]) -> int:
    """The expression for one period by metric math's rules: arithmetic treats a missing value as 0 ("Missing
    values in a time series are treated as 0") and a comparison yields 1 or 0. Only ids, + - >, numbers and
    parentheses are allowed, so Python evaluates it with the same precedence."""
    assert re.fullmatch(r"[a-z0-9_ ()+\-><]*", expression), expression
    return int(eval(expression, {"__builtins__": {}}, values))  # the expression was checked above


def test_the_heartbeat_fires_when_the_table_is_written_and_the_indexer_receives_nothing(
    plans: dict[str, Plan],
) -> None:
    """IteratorAge is emitted only "when your function finishes processing a batch of records" ("Monitoring
    with CloudWatch Logs", https://docs.aws.amazon.com/lambda/latest/dg/events-dynamodb-metrics.html), and
    IndexLagMax only by a running indexer: a disabled event source mapping left every alarm OK. The heartbeat
    compares the table's writes with the records the indexer received."""
    heartbeat = alarm(plans, "heartbeat")
    queries = {q["id"]: q for q in heartbeat["metric_query"]}
    (result,) = [q for q in queries.values() if q["return_data"]]
    stats = {i: q["metric"][0] for i, q in queries.items() if q["metric"]}
    # "A math expression used for an alarm can include as many as 10 metrics. Each metric must be using the
    # same period" ("Alarms on math expressions").
    assert len(stats) <= 10
    assert len({stat["period"] for stat in stats.values()}) == 1
    (received,) = [i for i, stat in stats.items() if stat["namespace"] == metrics.NAMESPACE]
    assert stats[received]["metric_name"] == "RecordsIn"
    (function,) = plans["indexer"].resources("aws_lambda_function")
    assert stats[received]["dimensions"] == {"FunctionName": function.values["function_name"]}
    writes = [i for i, stat in stats.items() if stat["namespace"] == "AWS/DynamoDB"]
    stream_arn = plans["indexer"].variable("table_stream_arn")
    table = stream_arn.split(":table/")[1].split("/stream/")[0]
    # SampleCount of SuccessfulRequestLatency: "The number of successful requests", by TableName and Operation
    # ("DynamoDB metrics and dimensions",
    # https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/metrics-dimensions.html).
    assert {stats[i]["dimensions"]["Operation"] for i in writes} == {
        "PutItem",
        "UpdateItem",
        "DeleteItem",
        "BatchWriteItem",
        "TransactWriteItems",
    }
    for i in writes:
        assert (stats[i]["metric_name"], stats[i]["stat"]) == ("SuccessfulRequestLatency", "SampleCount")
        assert stats[i]["dimensions"]["TableName"] == table

    def period(write_count: int, records: int) -> str:
        values = dict.fromkeys(writes, 0)
        values[writes[0]] = write_count
        value = _evaluate(result["expression"], {**values, received: records})
        breached = value >= heartbeat["threshold"]
        assert heartbeat["comparison_operator"] == "GreaterThanOrEqualToThreshold"
        return BREACH if breached else OK

    m, n = heartbeat["datapoints_to_alarm"], heartbeat["evaluation_periods"]
    # While the table is written every period has a data point, so the plain M of N rule applies.
    assert goes_to_alarm(period(4, 0) * n, m, n)  # the indexer stopped
    assert m * stats[received]["period"] <= 15 * 60, "a stall pages within about 15 minutes"
    assert not goes_to_alarm(period(4, 4) * n, m, n)  # records flow
    assert not goes_to_alarm(period(0, 3) * n, m, n)  # a backlog drains with no new writes
    # one period's writes acknowledged in the next (or its metrics line arriving late) does not page
    assert not goes_to_alarm(period(4, 0) + period(4, 4) * (n - 1), m, n)
    assert heartbeat["treat_missing_data"] == "notBreaching"  # no writes and no records: nothing to say
    assert heartbeat["alarm_actions"]
    assert heartbeat["ok_actions"]
