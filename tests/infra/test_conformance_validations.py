"""AWS rules the modules enforce at plan time: `terraform plan` of a module with inputs AWS would refuse (or
that break what AWS documents) fails with the validation's message, and the nearest valid input plans.

moto creates the domain with three data nodes over two zones, and lets a mapping dead-letter records the
stream has already trimmed: only these validations stand between such inputs and a failed or lossy deploy.
"""

from __future__ import annotations

import copy
import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from live_plans import ONCALL

from books_local.terragrunt import Environment, provider_config, terraform_env

ROOT = Path(__file__).resolve().parents[2]
ACCOUNT = "123456789012"  # moto's
TOPIC = f"arn:aws:sns:us-east-1:{ACCOUNT}:books-conformance-alarms"
REQUIRED: dict[str, dict[str, Any]] = {
    "alarm-topic": {"name": "books-conformance-alarms"},
    "opensearch": {"domain_name": "books-conformance", "alarm_actions": [TOPIC]},
    "lambda": {
        "function_name": "books-conformance-indexer",
        "image_uri": f"{ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com/books-conformance-indexer:1.0.0",
        "table_stream_arn": f"arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/books/stream/2026-01-01T00:00:00",
        "opensearch_endpoint": "search-books.us-east-1.es.amazonaws.com",
        "opensearch_domain_arn": f"arn:aws:es:us-east-1:{ACCOUNT}:domain/books-conformance",
        "alarm_actions": [TOPIC],
    },
    "api": {
        "name": "books-conformance",
        "table_name": "books",
        "table_arn": f"arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/books",
        "opensearch_domain_endpoint": "search-books.us-east-1.es.amazonaws.com",
        "opensearch_domain_arn": f"arn:aws:es:us-east-1:{ACCOUNT}:domain/books-conformance",
        "alarm_actions": [TOPIC],
    },
}


class Module:
    """A module copied into a directory of its own, initialised once, planned with varying inputs (each set
    of inputs once: a plan costs three starts of the AWS provider, and moto's state does not change here)."""

    def __init__(self, name: str, workdir: Path, endpoint: str) -> None:
        self.name = name
        self.workdir = workdir
        self._plans: dict[str, subprocess.CompletedProcess[str]] = {}
        self._shown: dict[str, dict[str, Any]] = {}
        shutil.copytree(ROOT / "modules" / name, workdir, ignore=shutil.ignore_patterns(".terraform*"))
        (workdir / "provider.tf").write_text(provider_config("us-east-1", endpoint, {}))
        init = self._terraform("init", "-input=false", "-no-color")
        assert init.returncode == 0, init.stderr + init.stdout

    def _terraform(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["terraform", *args],
            cwd=self.workdir,
            env=terraform_env(),
            capture_output=True,
            text=True,
            timeout=600,
        )

    def plan(self, **inputs: Any) -> subprocess.CompletedProcess[str]:
        variables = json.dumps({**REQUIRED[self.name], **inputs}, sort_keys=True)
        if variables not in self._plans:
            (self.workdir / "terraform.tfvars.json").write_text(variables)
            result = self._terraform("plan", "-input=false", "-no-color", "-lock=false", "-out=plan.bin")
            self._plans[variables] = result
            if result.returncode == 0:
                self._shown[variables] = json.loads(self._terraform("show", "-json", "plan.bin").stdout)
        return self._plans[variables]

    def planned(self, **inputs: Any) -> dict[str, Any]:
        """The plan's JSON; the plan must succeed."""
        result = self.plan(**inputs)
        assert result.returncode == 0, result.stderr + result.stdout
        return copy.deepcopy(self._shown[json.dumps({**REQUIRED[self.name], **inputs}, sort_keys=True)])

    def refuses(self, message: str, **inputs: Any) -> None:
        result = self.plan(**inputs)
        assert result.returncode != 0, f"{self.name} planned {inputs}:\n{result.stdout[-2000:]}"
        text = " ".join((result.stderr + result.stdout).split())  # Terraform wraps long messages
        assert "Invalid value for variable" in text, text
        assert message in text, text


@pytest.fixture(scope="module")
def modules(tmp_path_factory: pytest.TempPathFactory, infra_moto: str) -> dict[str, Module]:
    workdir = tmp_path_factory.mktemp("conformance-modules")
    return {name: Module(name, workdir / name, infra_moto) for name in REQUIRED}


def _cluster(plan: dict[str, Any]) -> dict[str, Any]:
    (domain,) = [r for r in plan["resource_changes"] if r["type"] == "aws_opensearch_domain"]
    return domain["change"]["after"]["cluster_config"][0]


# ---- OpenSearch: "Configuring a multi-AZ domain in Amazon OpenSearch Service"
# (https://docs.aws.amazon.com/opensearch-service/latest/developerguide/managedomains-multiaz.html) ---------


def test_three_data_nodes_over_two_zones_are_refused(modules: dict[str, Module]) -> None:
    modules["opensearch"].refuses(
        "instance_count must be a multiple of availability_zone_count",
        instance_type="r7g.large.search",
        instance_count=3,
        zone_awareness_enabled=True,
        availability_zone_count=2,
    )


def test_zone_counts_other_than_two_or_three_are_refused(modules: dict[str, Module]) -> None:
    # AWS::OpenSearchService::Domain ZoneAwarenessConfig: "Valid values are 2 and 3."
    modules["opensearch"].refuses(
        "availability_zone_count must be 2 or 3",
        instance_count=4,
        zone_awareness_enabled=True,
        availability_zone_count=4,
    )


def test_three_zone_aware_nodes_plan_over_three_zones_with_three_dedicated_masters(
    modules: dict[str, Module],
) -> None:
    """What live/prod asks for (three zone-aware r7g nodes) plans with the defaults: three zones, and the
    three dedicated masters AWS recommends for production ("Dedicated master nodes in Amazon OpenSearch
    Service",
    https://docs.aws.amazon.com/opensearch-service/latest/developerguide/managedomains-dedicatedmasternodes.html)."""
    cluster = _cluster(
        modules["opensearch"].planned(
            instance_type="r7g.large.search", instance_count=3, zone_awareness_enabled=True
        )
    )
    assert cluster["zone_awareness_config"] == [{"availability_zone_count": 3}]
    assert (cluster["dedicated_master_enabled"], cluster["dedicated_master_count"]) == (True, 3)


def test_a_single_zone_domain_has_no_dedicated_masters_by_default(modules: dict[str, Module]) -> None:
    cluster = _cluster(modules["opensearch"].planned())
    assert cluster["dedicated_master_enabled"] is False
    assert cluster["dedicated_master_count"] is None


def test_a_zone_aware_domain_without_dedicated_masters_is_refused(modules: dict[str, Module]) -> None:
    modules["opensearch"].refuses(
        "dedicated_master.enabled must not be false on a zone-aware (production) domain",
        instance_type="r7g.large.search",
        instance_count=3,
        zone_awareness_enabled=True,
        dedicated_master={"enabled": False},
    )


def test_an_even_number_of_dedicated_masters_is_refused(modules: dict[str, Module]) -> None:
    modules["opensearch"].refuses("dedicated_master.count must be 3 or 5", dedicated_master={"count": 2})


@pytest.mark.parametrize(
    "instance_type", ["r7g.large", "r7g.large.elasticsearch", "large.search", "R7G.large.search"]
)
def test_instance_types_not_shaped_like_opensearch_types_are_refused(
    modules: dict[str, Module], instance_type: str
) -> None:
    # "Supported instance types in Amazon OpenSearch Service": <family>.<size>.search
    modules["opensearch"].refuses(
        "instance_type must be an OpenSearch instance type", instance_type=instance_type
    )


@pytest.mark.parametrize("key", ["", "alias/aws/sns"])
def test_the_alarm_topic_is_encrypted_with_a_key_cloudwatch_may_use(
    modules: dict[str, Module], key: str
) -> None:
    """CloudWatch needs kms:Decrypt and kms:GenerateDataKey* on an encrypted topic's key, which the AWS
    managed alias/aws/sns never grants ("Enable compatibility between event sources from AWS services and
    encrypted topics",
    https://docs.aws.amazon.com/sns/latest/dg/sns-key-management.html#compatibility-with-aws-services)."""
    modules["alarm-topic"].refuses("the alarm topic is always encrypted", kms_key_arn=key)


@pytest.mark.parametrize("name", ["api", "lambda", "opensearch"])
def test_alarms_that_notify_nobody_are_refused(modules: dict[str, Module], name: str) -> None:
    """An alarm without actions only changes state in the console ("Using Amazon CloudWatch alarms",
    https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/AlarmThatSendsEmail.html): every module's
    alarms need the environment's alarm topic, and none makes a topic of its own any more."""
    modules[name].refuses("alarm_actions must name at least one SNS topic", alarm_actions=[])
    plan = modules[name].planned()
    types = {r["type"] for r in plan["resource_changes"]}
    assert "aws_cloudwatch_metric_alarm" in types
    assert not types & {"aws_sns_topic", "aws_kms_key"}, f"{name} still writes its own alarm topic"


def test_a_prod_plan_without_an_on_call_destination_fails_saying_how_to_set_one(
    modules: dict[str, Module],
) -> None:
    prod = Environment.load(ROOT / "live" / "prod", environ={}).units["alarms"].inputs(command="plan")
    assert prod["require_destination"] is True
    modules["alarm-topic"].refuses(
        "No on-call destination: this environment requires one",
        **{**prod, "destinations": {}},
    )
    text = " ".join((modules["alarm-topic"].plan(**{**prod, "destinations": {}}).stderr).split())
    assert "Set alarms.destinations in live/<env>/env.hcl" in text
    assert "email_addresses" in text
    named = Environment.load(ROOT / "live" / "prod", environ={"BOOKS_ONCALL_EMAILS": ONCALL})
    plan = modules["alarm-topic"].planned(**named.units["alarms"].inputs(command="plan"))
    (subscription,) = [r for r in plan["resource_changes"] if r["type"] == "aws_sns_topic_subscription"]
    assert subscription["change"]["after"]["protocol"] == "email"
    assert subscription["change"]["after"]["endpoint"] == ONCALL
    (topic,) = [r for r in plan["resource_changes"] if r["type"] == "aws_sns_topic"]
    assert topic["change"]["after"]["name"] == "books-prod-alarms"


# ---- RFC 2606 ("Reserved Top Level DNS Names"): example.com, example.net and example.org, and the TLDs
# .example, .invalid, .localhost and .test, are reserved so that nothing sent there reaches anyone ----------

PLACEHOLDER = "An on-call destination is a placeholder on a domain reserved for examples"


def test_prods_committed_placeholder_fails_the_plan_until_a_real_address_is_set(
    modules: dict[str, Module],
) -> None:
    """live/prod/env.hcl stays honest: it names no one, so a prod plan fails and says how to name someone."""
    committed = Environment.load(ROOT / "live" / "prod", environ={}).units["alarms"].inputs(command="plan")
    assert committed["destinations"]["email_addresses"] == ["replace-me@example.com"]
    modules["alarm-topic"].refuses(PLACEHOLDER, **committed)
    text = " ".join(modules["alarm-topic"].plan(**committed).stderr.split())
    assert "BOOKS_ONCALL_EMAILS" in text
    assert "live/<env>/env.hcl" in text


@pytest.mark.parametrize(
    "destinations",
    [
        {"email_addresses": ["oncall@example.com"]},
        {"email_addresses": ["real@books.internal", "Pager@Team.EXAMPLE.ORG"]},
        {"email_addresses": ["oncall@example.net"]},
        {"email_addresses": ["oncall@pager.test"]},
        {"https_endpoints": ["https://hooks.example.com/alarms"]},
        {"https_endpoints": ["https://pager.invalid:8443/x"]},
    ],
)
def test_a_required_destination_on_a_reserved_domain_is_refused(
    modules: dict[str, Module], destinations: dict[str, list[str]]
) -> None:
    modules["alarm-topic"].refuses(PLACEHOLDER, destinations=destinations, require_destination=True)


def test_reserved_domains_are_only_refused_where_someone_must_be_paged(modules: dict[str, Module]) -> None:
    """dev requires no destination: its example address is a harmless default. Names that merely contain a
    reserved word are real domains."""
    modules["alarm-topic"].planned(destinations={"email_addresses": ["dev@example.com"]})
    modules["alarm-topic"].planned(
        destinations={
            "email_addresses": ["oncall@myexample.com"],
            "https_endpoints": ["https://testing.io/x"],
        },
        require_destination=True,
    )


def test_an_existing_topic_is_used_as_it_is(modules: dict[str, Module]) -> None:
    existing = f"arn:aws:sns:us-east-1:{ACCOUNT}:team-pager"
    plan = modules["alarm-topic"].planned(destinations={"topic_arn": existing}, require_destination=True)
    assert not {r["type"] for r in plan.get("resource_changes", [])} & {"aws_sns_topic", "aws_kms_key"}
    assert plan["planned_values"]["outputs"]["alarm_actions"]["value"] == [existing]


# ---- Lambda: "Lambda parameters for Amazon DynamoDB event source mappings"
# (https://docs.aws.amazon.com/lambda/latest/dg/services-ddb-params.html): streams keep records 24 hours ----


@pytest.mark.parametrize("age", [86400, 604800])
def test_a_record_age_reaching_the_streams_retention_is_refused(modules: dict[str, Module], age: int) -> None:
    modules["lambda"].refuses(
        "must be at least 60 and below 86400", event_source_mapping={"maximum_record_age_in_seconds": age}
    )


def test_the_default_record_age_leaves_half_a_day_to_read_dead_lettered_records(
    modules: dict[str, Module],
) -> None:
    plan = modules["lambda"].planned()
    (mapping,) = [r for r in plan["resource_changes"] if r["type"] == "aws_lambda_event_source_mapping"]
    assert mapping["change"]["after"]["maximum_record_age_in_seconds"] == 43200


# ---- Lambda: MaximumBatchingWindowInSeconds, "any value from 0 seconds to 300 seconds in increments of
# seconds", default 0 for DynamoDB streams ("Lambda parameters for Amazon DynamoDB event source mappings",
# https://docs.aws.amazon.com/lambda/latest/dg/services-ddb-params.html; the CreateEventSourceMapping API
# reference) ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("window", [-1, 301, 0.5])
def test_a_batching_window_aws_would_refuse_is_refused(modules: dict[str, Module], window: float) -> None:
    modules["lambda"].refuses(
        "must be a whole number of seconds between 0 and 300",
        event_source_mapping={"maximum_batching_window_in_seconds": window},
    )


def test_the_default_batching_window_is_lambdas_own_for_streams_and_300_plans(
    modules: dict[str, Module],
) -> None:
    """0: invoke as soon as a poll finds records, so a write is searchable within a poll and a bulk."""
    plan = modules["lambda"].planned()
    (mapping,) = [r for r in plan["resource_changes"] if r["type"] == "aws_lambda_event_source_mapping"]
    assert mapping["change"]["after"]["maximum_batching_window_in_seconds"] == 0
    plan = modules["lambda"].planned(event_source_mapping={"maximum_batching_window_in_seconds": 300})
    (mapping,) = [r for r in plan["resource_changes"] if r["type"] == "aws_lambda_event_source_mapping"]
    assert mapping["change"]["after"]["maximum_batching_window_in_seconds"] == 300


# ---- API Gateway: one CloudWatch logging role per account and region (aws_api_gateway_account) ------------


def test_the_api_leaves_the_accounts_logging_role_alone_by_default(modules: dict[str, Module]) -> None:
    """UpdateAccount sets the account's one cloudWatchRoleArn for the region ("Set up CloudWatch logging for
    REST APIs in API Gateway",
    https://docs.aws.amazon.com/apigateway/latest/developerguide/set-up-logging.html): a stack that makes it
    replaces the account's role, and destroying the stack leaves the account pointing at a deleted role."""
    plan = modules["api"].planned()
    types = {r["type"] for r in plan["resource_changes"]}
    assert "aws_api_gateway_stage" in types
    assert "aws_api_gateway_account" not in types
    opted_in = modules["api"].planned(create_account_cloudwatch_role=True)
    assert "aws_api_gateway_account" in {r["type"] for r in opted_in["resource_changes"]}


# ---- Dashboards access: fine-grained access control with an IAM master user --------------------------------

DEPLOY_ROLE = f"arn:aws:iam::{ACCOUNT}:role/books-deploy"


def test_dashboards_access_without_a_master_user_is_refused(modules: dict[str, Module]) -> None:
    """The master user is fixed by the input: "whoever applies" made CI and a person applying in turn swap
    the master user and the access policy on every apply."""
    modules["opensearch"].refuses(
        "dashboards_access.master_user_arn must be the IAM role that applies Terraform",
        dashboards_access={},
    )


def test_dashboards_access_on_an_elasticsearch_engine_is_refused(modules: dict[str, Module]) -> None:
    """Fine-grained access control "requires OpenSearch or Elasticsearch 6.7 or later"
    (https://docs.aws.amazon.com/opensearch-service/latest/developerguide/fgac.html); the module reads back
    the Cognito app client only by the name OpenSearch engines give it."""
    modules["opensearch"].refuses(
        "dashboards_access needs an OpenSearch engine",
        engine_version="Elasticsearch_6.5",
        dashboards_access={"master_user_arn": DEPLOY_ROLE},
    )


def test_the_migration_period_is_an_input_and_off_by_default(modules: dict[str, Module]) -> None:
    """AnonymousAuthEnabled: "True to enable a 30-day migration period during which administrators can create
    role mappings. Only necessary when enabling fine-grained access control on an existing domain"
    (https://docs.aws.amazon.com/opensearch-service/latest/APIReference/API_AdvancedSecurityOptionsInput.html)."""
    for migration, expected in ((None, False), (True, True)):
        access = {"master_user_arn": DEPLOY_ROLE}
        if migration is not None:
            access["migration_period"] = migration
        plan = modules["opensearch"].planned(dashboards_access=access)
        (domain,) = [r for r in plan["resource_changes"] if r["type"] == "aws_opensearch_domain"]
        (security,) = domain["change"]["after"]["advanced_security_options"]
        assert security["anonymous_auth_enabled"] is expected
        assert security["master_user_options"][0]["master_user_arn"] == DEPLOY_ROLE
