"""AWS conformance of live/dev and live/prod, read from their plans (with mocks; nothing applied).

moto accepts every rule below being broken: it lets any principal assume any role, creates a domain with
three nodes over two zones, ignores advanced options and never evaluates an alarm. Each test encodes one rule
from AWS's documentation, cited in its docstring, over the planned resources (tests/infra/live_plans.py).
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from live_plans import Plan, all_resources

ENVIRONMENTS = ("dev", "prod")

# Condition keys AWS documents in the trust policy of a role each service principal assumes. A principal
# missing here fails the test: look its documentation up before adding it.
#   apigateway: "Control access to a REST API with IAM permissions" shows the integration role's trust policy
#     with no condition, https://docs.aws.amazon.com/apigateway/latest/developerguide/permissions.html; API
#     Gateway is not documented to send aws:SourceAccount/aws:SourceArn when it assumes it, and a condition on
#     an absent key denies: every route answers 500.
#   lambda: "Working with AWS managed policies in the execution role" documents aws:SourceAccount and
#     aws:SourceArn in execution-role trust policies,
#     https://docs.aws.amazon.com/lambda/latest/dg/permissions-managed-policies.html
#   states: "Creating an IAM role for your state machine", "Prevent cross-service confused deputy issue",
#     shows aws:SourceArn and aws:SourceAccount in the state machine role's trust policy,
#     https://docs.aws.amazon.com/step-functions/latest/dg/procedure-create-iam-role.html
DOCUMENTED_TRUST_CONDITION_KEYS: dict[str, set[str]] = {
    "apigateway.amazonaws.com": set(),
    "lambda.amazonaws.com": {"aws:SourceAccount", "aws:SourceArn"},
    "states.amazonaws.com": {"aws:SourceAccount", "aws:SourceArn"},
}


@pytest.fixture(params=ENVIRONMENTS)
def plans(request: pytest.FixtureRequest, live_plans: dict[str, dict[str, Plan]]) -> dict[str, Plan]:
    return live_plans[request.param]


def _statements(policy: str) -> list[dict[str, Any]]:
    statements = json.loads(policy)["Statement"]
    return statements if isinstance(statements, list) else [statements]


def test_trust_policies_use_only_condition_keys_aws_documents_for_the_service(plans: dict[str, Plan]) -> None:
    roles = list(all_resources(plans, "aws_iam_role"))
    assert {role.address for _, role in roles} >= {"aws_iam_role.this", "aws_iam_role.this[0]"}
    for unit, role in roles:
        for statement in _statements(role.values["assume_role_policy"]):
            services = statement["Principal"]["Service"]
            for service in [services] if isinstance(services, str) else services:
                assert service in DOCUMENTED_TRUST_CONDITION_KEYS, f"{unit} {role.address}: look up {service}"
                keys = {key for test in statement.get("Condition", {}).values() for key in test}
                undocumented = keys - DOCUMENTED_TRUST_CONDITION_KEYS[service]
                assert not undocumented, (
                    f"{unit} {role.address}: {service} is not documented to supply {sorted(undocumented)} "
                    "when it assumes a role; the condition would deny every AssumeRole"
                )


def test_the_api_integration_role_trusts_api_gateway_without_conditions(plans: dict[str, Plan]) -> None:
    """The blocker itself: "API Gateway does not have permission to assume the provided role" on every route
    (https://docs.aws.amazon.com/apigateway/latest/developerguide/permissions.html)."""
    (role,) = [r for r in plans["api"].resources("aws_iam_role") if r.address == "aws_iam_role.this"]
    (statement,) = _statements(role.values["assume_role_policy"])
    assert statement["Principal"] == {"Service": "apigateway.amazonaws.com"}
    assert statement["Action"] == "sts:AssumeRole"
    assert "Condition" not in statement


def _domains(plans: dict[str, Plan]) -> list[dict[str, Any]]:
    domains = [domain.values for _, domain in all_resources(plans, "aws_opensearch_domain")]
    assert domains, "no OpenSearch domain planned"
    return domains


def test_zone_aware_domains_spread_data_nodes_evenly_over_two_or_three_zones(plans: dict[str, Plan]) -> None:
    """CreateDomain rejects data nodes that cannot be spread evenly over the zones (three nodes over the
    default two zones): "Configuring a multi-AZ domain in Amazon OpenSearch Service",
    https://docs.aws.amazon.com/opensearch-service/latest/developerguide/managedomains-multiaz.html; the zone
    count is 2 or 3 (AWS::OpenSearchService::Domain ZoneAwarenessConfig: "Valid values are 2 and 3")."""
    for domain in _domains(plans):
        (cluster,) = domain["cluster_config"]
        if not cluster["zone_awareness_enabled"]:
            assert cluster["zone_awareness_config"] == []
            continue
        (zones,) = cluster["zone_awareness_config"]
        assert zones["availability_zone_count"] in (2, 3)
        assert cluster["instance_count"] % zones["availability_zone_count"] == 0, cluster


def test_production_domains_have_three_dedicated_master_nodes(live_plans: dict[str, dict[str, Plan]]) -> None:
    """AWS recommends three dedicated master nodes for each production domain: "Dedicated master nodes in
    Amazon OpenSearch Service",
    https://docs.aws.amazon.com/opensearch-service/latest/developerguide/managedomains-dedicatedmasternodes.html.
    Zone-aware domains are the production ones; prod has one."""
    zone_aware = 0
    for plans in live_plans.values():
        for domain in _domains(plans):
            (cluster,) = domain["cluster_config"]
            if cluster["zone_awareness_enabled"]:
                zone_aware += 1
                assert cluster["dedicated_master_enabled"] is True, cluster
                assert cluster["dedicated_master_count"] in (3, 5), cluster
                assert cluster["dedicated_master_type"].endswith(".search"), cluster
    assert zone_aware >= 1, "live/prod plans no zone-aware domain"


def test_domains_refuse_an_explicit_index_in_request_bodies(plans: dict[str, Plan]) -> None:
    """Index-scoped IAM policies hold only with rest.action.multi.allow_explicit_index "false" (otherwise an
    "_index" inside a _bulk body writes elsewhere): "AdvancedOptionsStatus",
    https://docs.aws.amazon.com/opensearch-service/latest/APIReference/API_AdvancedOptionsStatus.html, and
    "Identity and Access Management in Amazon OpenSearch Service" (advanced options)."""
    for domain in _domains(plans):
        assert domain["advanced_options"].get("rest.action.multi.allow_explicit_index") == "false"


def test_every_alarm_notifies_someone_on_alarm_and_on_ok(plans: dict[str, Plan]) -> None:
    """An alarm without actions only changes state in the console ("Using Amazon CloudWatch alarms",
    https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/AlarmThatSendsEmail.html)."""
    alarms = list(all_resources(plans, "aws_cloudwatch_metric_alarm"))
    assert alarms
    for unit, alarm in alarms:
        assert alarm.is_set("alarm_actions"), f"{unit} {alarm.address} notifies nobody"
        assert alarm.is_set("ok_actions"), f"{unit} {alarm.address} never reports recovery"
    for unit, topic in all_resources(plans, "aws_sns_topic"):
        assert topic.is_set("kms_master_key_id"), f"{unit} {topic.address} is not encrypted with KMS"


def test_alarm_topics_use_keys_cloudwatch_may_use(plans: dict[str, Plan]) -> None:
    """CloudWatch publishes to an encrypted topic only with kms:Decrypt and kms:GenerateDataKey* on its key;
    the AWS managed alias/aws/sns key never grants them, so alarms would deliver nothing ("Enable
    compatibility between event sources from AWS services and encrypted topics",
    https://docs.aws.amazon.com/sns/latest/dg/sns-key-management.html#compatibility-with-aws-services)."""
    topics = list(all_resources(plans, "aws_sns_topic"))
    keys = [key for _, key in all_resources(plans, "aws_kms_key")]
    assert topics
    for unit, topic in topics:
        assert "alias/aws/" not in str(topic.values.get("kms_master_key_id") or ""), f"{unit} {topic.address}"
    assert len(keys) >= len(topics)  # one customer managed key per topic made here
    for key in keys:
        assert key.values["enable_key_rotation"] is True
        grants = [
            s
            for s in _statements(key.values["policy"])
            if s.get("Principal", {}).get("Service") == "cloudwatch.amazonaws.com"
        ]
        (grant,) = grants
        actions = grant["Action"] if isinstance(grant["Action"], list) else [grant["Action"]]
        assert {"kms:Decrypt", "kms:GenerateDataKey*"} <= set(actions), grant


def _metrics(plans: dict[str, Plan]) -> dict[str, dict[str, Any]]:
    return {
        f"{alarm.values['namespace']}/{alarm.values['metric_name']}": alarm.values
        for _, alarm in all_resources(plans, "aws_cloudwatch_metric_alarm")
    }


def test_the_recommended_opensearch_alarms_exist(plans: dict[str, Plan]) -> None:
    """ "Recommended CloudWatch alarms for Amazon OpenSearch Service",
    https://docs.aws.amazon.com/opensearch-service/latest/developerguide/cloudwatch-alarms.html: red for one
    minute, yellow for five, free storage, snapshot failure, JVM memory pressure >= 95% for three minutes."""
    metrics = _metrics(plans)
    red = metrics["AWS/ES/ClusterStatus.red"]
    assert (red["statistic"], red["threshold"], red["period"], red["evaluation_periods"]) == (
        "Maximum",
        1,
        60,
        1,
    )
    assert red["comparison_operator"] == "GreaterThanOrEqualToThreshold"
    assert metrics["AWS/ES/ClusterStatus.yellow"]["evaluation_periods"] == 5
    assert metrics["AWS/ES/FreeStorageSpace"]["comparison_operator"] == "LessThanOrEqualToThreshold"
    assert metrics["AWS/ES/AutomatedSnapshotFailure"]["threshold"] == 1
    jvm = metrics["AWS/ES/JVMMemoryPressure"]
    assert (jvm["threshold"], jvm["evaluation_periods"]) == (95, 3)
    for key in ("AWS/ES/ClusterStatus.red", "AWS/ES/FreeStorageSpace"):
        assert set(metrics[key]["dimensions"]) == {"DomainName", "ClientId"}


def test_the_runbooks_dlq_alarm_and_the_api_alarms_exist(plans: dict[str, Plan]) -> None:
    """docs/operations.md relies on "the DLQ alarm"; API Gateway publishes 5XXError and Latency per ApiName
    and Stage ("Amazon API Gateway dimensions and metrics",
    https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-metrics-and-dimensions.html)."""
    metrics = _metrics(plans)
    (queue,) = [q for _, q in all_resources(plans, "aws_sqs_queue")]
    dlq = metrics["AWS/SQS/ApproximateNumberOfMessagesVisible"]
    assert dlq["dimensions"] == {"QueueName": queue.values["name"]}
    assert "AWS/Lambda/IteratorAge" in metrics
    for metric in ("AWS/ApiGateway/5XXError", "AWS/ApiGateway/Latency"):
        assert set(metrics[metric]["dimensions"]) == {"ApiName", "Stage"}, metric


def test_dead_lettered_records_are_still_in_the_stream(plans: dict[str, Plan]) -> None:
    """DynamoDB Streams keep records 24 hours ("Lambda parameters for Amazon DynamoDB event source mappings",
    https://docs.aws.amazon.com/lambda/latest/dg/services-ddb-params.html) and the on-failure destination gets
    only metadata about a discarded batch
    (https://docs.aws.amazon.com/lambda/latest/dg/services-dynamodb-errors.html): the maximum record age must
    be strictly below 86400 s so the records can still be read when the message arrives."""
    mappings = list(all_resources(plans, "aws_lambda_event_source_mapping"))
    assert mappings
    for unit, mapping in mappings:
        assert 60 <= mapping.values["maximum_record_age_in_seconds"] < 86400, f"{unit} {mapping.address}"
        assert 0 <= mapping.values["maximum_retry_attempts"] <= 10000
        (destination,) = mapping.values["destination_config"]
        assert destination["on_failure"], f"{unit} {mapping.address} has no on-failure destination"
