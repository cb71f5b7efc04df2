"""live/local's alarms and image units applied to a moto of this module's own (no image build): the repository
policy moto stores, a second plan that changes nothing, and the scan-findings rule: its target, the topic
policy that lets EventBridge publish, and its event pattern run over the events ECR documents.

moto stores policies without evaluating them and cannot deliver an event to an SNS target, so the pattern is
run on a rule of the same pattern that targets an SQS queue, on an event bus of its own (an event that matched
the real rule would make moto fail on its SNS target). moto's put_events also accepts the source "aws.ecr",
which AWS reserves to ECR itself; here it stands in for ECR. What AWS evaluates and moto does not is
test_conformance_images.py's.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import boto3
import pytest

from books_local.terragrunt import Environment, Stack

ROOT = Path(__file__).resolve().parents[2]
REPOSITORY = "books-local-indexer"
pytestmark = pytest.mark.timeout(900)

# "Event for a completed image scan (basic scanning)", the sample in "Amazon ECR events and EventBridge"
# (https://docs.aws.amazon.com/AmazonECR/latest/userguide/ecr-eventbridge.html). "finding-severity-counts"
# carries a count only for severities that have findings.
DOCUMENTED_SCAN = {
    "scan-status": "COMPLETE",
    "repository-name": "my-repository-name",
    "finding-severity-counts": {"CRITICAL": 10, "MEDIUM": 9},
    "image-digest": "sha256:7f5b2640fe6fb4f46592dfd3410c4a79dac4f89e4782432e0378abcd1234",
    "image-tags": [],
}


def _client(service: str, endpoint: str) -> Any:
    return boto3.client(
        service,
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


@pytest.fixture(scope="module")
def applied(module_moto: str, tmp_path_factory: pytest.TempPathFactory) -> tuple[Stack, dict[str, Any]]:
    environment = Environment.load(ROOT / "live" / "local", environ={"BOOKS_IMAGE_STEP": "off"})
    stack = Stack(environment, module_moto, tmp_path_factory.mktemp("scan-findings-state"))
    outputs = stack.apply(units=["alarms", "image"])
    return stack, outputs  # module_moto goes with the module: nothing to destroy


def _statements(policy: str) -> list[dict[str, Any]]:
    statements = json.loads(policy)["Statement"]
    return statements if isinstance(statements, list) else [statements]


def test_the_stored_repository_policy_lets_lambda_pull_and_a_second_plan_changes_nothing(
    applied: tuple[Stack, dict[str, Any]], module_moto: str
) -> None:
    """The statement Lambda would otherwise add itself ("Amazon ECR permissions",
    https://docs.aws.amazon.com/lambda/latest/dg/configuration-images.html) is Terraform's own, so the next
    plan has nothing to take away (terraform-aws-lambda#377)."""
    stack, _ = applied
    policy = _client("ecr", module_moto).get_repository_policy(repositoryName=REPOSITORY)["policyText"]
    (statement,) = [s for s in _statements(policy) if s.get("Sid") == "LambdaECRImageRetrieval"]
    assert statement["Principal"] == {"Service": "lambda.amazonaws.com"}
    assert sorted(statement["Action"]) == ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"]
    assert statement["Condition"] == {
        "StringLike": {"aws:SourceArn": "arn:aws:lambda:us-east-1:123456789012:function:*"}
    }
    assert stack.plan(units=["alarms", "image"]) == {"alarms": False, "image": False}


def test_the_scan_findings_rule_targets_the_alarm_topic_which_lets_eventbridge_publish(
    applied: tuple[Stack, dict[str, Any]], module_moto: str
) -> None:
    _, outputs = applied
    topic = outputs["alarms"]["topic_arn"]
    rule = outputs["image"]["scan_findings_rule_arn"].rsplit("/", 1)[1]
    events = _client("events", module_moto)
    (target,) = events.list_targets_by_rule(Rule=rule)["Targets"]
    assert target["Arn"] == topic
    attributes = _client("sns", module_moto).get_topic_attributes(TopicArn=topic)["Attributes"]
    (publish,) = [s for s in _statements(attributes["Policy"]) if s.get("Sid") == "EventBridgeRulesPublish"]
    assert publish["Principal"] == {"Service": "events.amazonaws.com"}
    assert "Condition" not in publish


def _scan(name: str, **detail: Any) -> dict[str, Any]:
    return {**DOCUMENTED_SCAN, "repository-name": REPOSITORY, "image-digest": f"sha256:{name}", **detail}


CASES = {
    "documented-sample-critical-and-medium": (_scan("documented"), True),
    "high-only": (_scan("high", **{"finding-severity-counts": {"HIGH": 1}}), True),
    "medium-and-low": (_scan("medium", **{"finding-severity-counts": {"MEDIUM": 9, "LOW": 3}}), False),
    "no-findings": (_scan("clean", **{"finding-severity-counts": {}}), False),
    "another-repository": (_scan("other", **{"repository-name": "someone-elses"}), False),
    "scan-failed": (_scan("failed", **{"scan-status": "FAILED"}), False),
}


def test_only_completed_scans_of_this_repository_with_critical_or_high_findings_match(
    applied: tuple[Stack, dict[str, Any]], module_moto: str
) -> None:
    _, outputs = applied
    events, sqs = _client("events", module_moto), _client("sqs", module_moto)
    rule = outputs["image"]["scan_findings_rule_arn"].rsplit("/", 1)[1]
    pattern = events.describe_rule(Name=rule)["EventPattern"]
    bus = f"scan-findings-{uuid.uuid4().hex[:8]}"
    events.create_event_bus(Name=bus)
    queue = sqs.create_queue(QueueName=bus)["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    events.put_rule(Name="same-pattern", EventBusName=bus, EventPattern=pattern)
    events.put_targets(Rule="same-pattern", EventBusName=bus, Targets=[{"Id": "queue", "Arn": queue_arn}])
    for detail, _ in CASES.values():
        entry = {"Source": "aws.ecr", "DetailType": "ECR Image Scan", "Detail": json.dumps(detail)}
        assert events.put_events(Entries=[{**entry, "EventBusName": bus}])["FailedEntryCount"] == 0
    image_action = {**_scan("pushed"), "action-type": "PUSH"}  # another detail-type of the same repository
    events.put_events(
        Entries=[
            {
                "Source": "aws.ecr",
                "DetailType": "ECR Image Action",
                "Detail": json.dumps(image_action),
                "EventBusName": bus,
            }
        ]
    )
    delivered = set()
    while messages := sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10).get("Messages", []):
        for message in messages:
            delivered.add(json.loads(message["Body"])["detail"]["image-digest"])
            sqs.delete_message(QueueUrl=queue, ReceiptHandle=message["ReceiptHandle"])
    expected = {detail["image-digest"] for detail, matches in CASES.values() if matches}
    assert delivered == expected
