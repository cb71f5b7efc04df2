"""AWS conformance of the indexer's image repository in live/dev and live/prod, read from their plans (with
mocks; nothing applied): who may pull the image, and who is paged when a pushed image has vulnerabilities.

moto evaluates none of it: it stores repository and topic policies without reading them, never scans an image
and never delivers an EventBridge event to an SNS topic. Each test encodes one rule from AWS's documentation,
cited in its docstring; test_image_step.py applies the same module on moto and checks the stored policy and
an empty second plan, and test_scan_findings.py runs the applied event pattern over ECR's events.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from live_plans import Plan, all_resources

ENVIRONMENTS = ("dev", "prod")
pytestmark = pytest.mark.timeout(1800)  # the session's live_plans fixture plans every unit of dev and prod
LAMBDA_PULL = {"ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"}
REGION = "eu-west-1"  # both environments' (env.hcl)
ACCOUNT = "123456789012"  # the plans' data sources (caller identity) are answered by moto, with its account


@pytest.fixture(params=ENVIRONMENTS)
def environment(request: pytest.FixtureRequest) -> str:
    return request.param


def _statements(policy: str) -> list[dict[str, Any]]:
    statements = json.loads(policy)["Statement"]
    return statements if isinstance(statements, list) else [statements]


def _as_set(value: str | list[str]) -> set[str]:
    return {value} if isinstance(value, str) else set(value)


def _repository_policy(plans: dict[str, Plan]) -> list[dict[str, Any]]:
    (policy,) = [resource for _, resource in all_resources(plans, "aws_ecr_repository_policy")]
    assert "policy" in policy.values, "the repository policy must be known at plan time to be reviewed"
    return _statements(policy.values["policy"])


def test_lambda_may_always_pull_the_image_from_the_repository(
    live_plans: dict[str, dict[str, Plan]], environment: str
) -> None:
    """ "For a function in the same account as the container image in Amazon ECR, you can add
    ecr:BatchGetImage and ecr:GetDownloadUrlForLayer permissions to your Amazon ECR repository"; without them
    "Lambda adds" them itself ("Creating Lambda functions defined as container images", Amazon ECR
    permissions, https://docs.aws.amazon.com/lambda/latest/dg/configuration-images.html), and a policy
    Terraform writes without them takes them away again on the next apply. An idle function Lambda made
    Inactive then fetches the image again and fails: "If the corresponding container image no longer exists
    on Amazon ECR or permissions are revoked, the function enters the Failed state"
    (https://docs.aws.amazon.com/lambda/latest/dg/invocation-images.html; terraform-aws-lambda#377). So
    every environment writes the statement, scoped like Lambda's own to this account's functions."""
    plans = live_plans[environment]
    (statement,) = [
        s for s in _repository_policy(plans) if s.get("Principal") == {"Service": "lambda.amazonaws.com"}
    ]
    assert statement["Sid"] == "LambdaECRImageRetrieval"
    assert statement["Effect"] == "Allow"
    assert _as_set(statement["Action"]) == LAMBDA_PULL, "exactly the two actions Lambda documents"
    assert "Resource" not in statement  # a repository policy applies to its repository
    (source_arn,) = _as_set(statement["Condition"]["StringLike"]["aws:SourceArn"])
    assert source_arn == f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:*", source_arn


def test_only_dev_lets_the_promoting_account_pull_and_only_to_read(
    live_plans: dict[str, dict[str, Plan]],
) -> None:
    """Promotion copies dev's manifest into prod's own repository, so prod's account reads dev's repository
    ("Private repository policy examples in Amazon ECR": allow another account to pull,
    https://docs.aws.amazon.com/AmazonECR/latest/userguide/repository-policy-examples.html) and nothing else
    does; prod's repository admits no other account, and its function pulls from it as the same account."""
    (promotion,) = [s for s in _repository_policy(live_plans["dev"]) if s.get("Sid") == "PromotionPull"]
    assert _as_set(promotion["Principal"]["AWS"]) == {"arn:aws:iam::222222222222:root"}
    assert all(
        action.startswith(("ecr:BatchGet", "ecr:Get", "ecr:Describe", "ecr:BatchCheck"))
        for action in _as_set(promotion["Action"])
    )
    assert not [s for s in _repository_policy(live_plans["prod"]) if "AWS" in s.get("Principal", {})]


def test_vulnerable_images_page_the_alarm_topic(
    live_plans: dict[str, dict[str, Plan]], environment: str
) -> None:
    """The repositories scan on push; ECR sends "ECR Image Scan" when a scan completes, and
    "finding-severity-counts" holds a count only for severities that have findings ("Amazon ECR events and
    EventBridge", https://docs.aws.amazon.com/AmazonECR/latest/userguide/ecr-eventbridge.html). Lambda never
    patches an image ("you must create a new container image from the updated base image and redeploy your
    function", https://docs.aws.amazon.com/lambda/latest/dg/runtimes-update.html), so a CRITICAL or HIGH
    finding must reach a person: a rule on this repository's completed scans, targeting the alarm topic."""
    plans = live_plans[environment]
    (repository,) = [r for _, r in all_resources(plans, "aws_ecr_repository")]
    assert repository.values["image_scanning_configuration"] == [{"scan_on_push": True}]
    (rule,) = [r for _, r in all_resources(plans, "aws_cloudwatch_event_rule")]
    pattern = json.loads(rule.values["event_pattern"])
    assert pattern["source"] == ["aws.ecr"]
    assert pattern["detail-type"] == ["ECR Image Scan"]
    assert pattern["detail"]["repository-name"] == [repository.values["name"]]
    assert pattern["detail"]["scan-status"] == ["COMPLETE"]
    severities = {next(iter(branch["finding-severity-counts"])) for branch in pattern["detail"]["$or"]}
    assert severities == {"CRITICAL", "HIGH"}
    for branch in pattern["detail"]["$or"]:
        (counts,) = branch["finding-severity-counts"].values()
        assert counts == [{"numeric": [">", 0]}]
    (target,) = [r for _, r in all_resources(plans, "aws_cloudwatch_event_target")]
    assert target.values["arn"] == plans["image"].variable("scan_findings_topic_arn")
    assert target.values["arn"].endswith(f":books-{environment}-alarms")
    assert target.values["arn"] in plans["indexer"].variable("alarm_actions")  # the topic every alarm uses


def test_eventbridge_may_publish_to_the_alarm_topic_and_use_its_key(
    live_plans: dict[str, dict[str, Plan]], environment: str
) -> None:
    """EventBridge publishes to a topic only when its policy allows events.amazonaws.com sns:Publish, and
    "You can't use Condition blocks in Amazon SNS topic policies for EventBridge" ("Using resource-based
    policies for Amazon EventBridge", Amazon SNS permissions,
    https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-use-resource-based.html). On an encrypted
    topic the event source also needs kms:GenerateDataKey* and kms:Decrypt in the key's policy ("Enable
    compatibility between event sources from AWS services and encrypted topics",
    https://docs.aws.amazon.com/sns/latest/dg/sns-key-management.html#compatibility-with-aws-services)."""
    plans = live_plans[environment]
    (topic_policy,) = [r for _, r in all_resources(plans, "aws_sns_topic_policy")]
    assert "policy" in topic_policy.values, "the topic policy must be known at plan time to be reviewed"
    (publish,) = [
        s
        for s in _statements(topic_policy.values["policy"])
        if s["Principal"] == {"Service": "events.amazonaws.com"}
    ]
    assert _as_set(publish["Action"]) == {"sns:Publish"}
    assert "Condition" not in publish, "EventBridge cannot publish through a statement with a Condition"
    (topic,) = [r for _, r in all_resources(plans, "aws_sns_topic")]
    assert _as_set(publish["Resource"]) == {f"arn:aws:sns:{REGION}:{ACCOUNT}:{topic.values['name']}"}
    (key,) = [r for _, r in all_resources(plans, "aws_kms_key")]
    (grant,) = [
        s
        for s in _statements(key.values["policy"])
        if s.get("Principal") == {"Service": "events.amazonaws.com"}
    ]
    assert _as_set(grant["Action"]) == {"kms:Decrypt", "kms:GenerateDataKey*"}
