"""AWS conformance of live/dev and live/prod, read from their plans (with mocks; nothing applied).

moto accepts every rule below being broken: it lets any principal assume any role, creates a domain with
three nodes over two zones, ignores advanced options and never evaluates an alarm. Each test encodes one rule
from AWS's documentation, cited in its docstring, over the planned resources (tests/infra/live_plans.py).
"""

from __future__ import annotations

import fnmatch
import json
import re
from typing import Any

import pytest
from live_plans import ROOT, Plan, all_resources

INDEX_JSON = ROOT / "artifacts" / "update_indices" / "lambda" / "indexer" / "index.json"

ENVIRONMENTS = ("dev", "prod")
# The first test plans twelve units (six per environment) in its fixture: minutes on a loaded machine.
pytestmark = pytest.mark.timeout(1800)

# Condition keys AWS documents in the trust policy of a role each service principal assumes. A principal
# missing here fails the test: look its documentation up before adding it.
#   apigateway: "Control access to a REST API with IAM permissions" shows the integration role's trust policy
#     with no condition, https://docs.aws.amazon.com/apigateway/latest/developerguide/permissions.html; API
#     Gateway is not documented to send aws:SourceAccount/aws:SourceArn when it assumes it, and a condition on
#     an absent key denies: every route answers 500.
#   lambda: "Working with AWS managed policies in the execution role" documents aws:SourceAccount and
#     aws:SourceArn in execution-role trust policies,
#     https://docs.aws.amazon.com/lambda/latest/dg/permissions-managed-policies.html
#   opensearchservice: "The role must have the following trust relationship" (no condition) for the role
#     OpenSearch Service assumes to configure Cognito,
#     https://docs.aws.amazon.com/opensearch-service/latest/developerguide/cognito-auth.html
#   cognito-identity (a Federated principal): the identity pool's roles trust it with
#     cognito-identity.amazonaws.com:aud and :amr (cognito-auth.html, "Common configuration issues")
#   states: "Creating an IAM role for your state machine", "Prevent cross-service confused deputy issue",
#     shows aws:SourceArn and aws:SourceAccount in the state machine role's trust policy,
#     https://docs.aws.amazon.com/step-functions/latest/dg/procedure-create-iam-role.html
DOCUMENTED_TRUST_CONDITION_KEYS: dict[str, set[str]] = {
    "states.amazonaws.com": {"aws:SourceAccount", "aws:SourceArn"},
    "apigateway.amazonaws.com": set(),
    "lambda.amazonaws.com": {"aws:SourceAccount", "aws:SourceArn"},
    "opensearchservice.amazonaws.com": set(),
    "cognito-identity.amazonaws.com": {
        "cognito-identity.amazonaws.com:aud",
        "cognito-identity.amazonaws.com:amr",
    },
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
        if "assume_role_policy" not in role.values:
            continue  # names a pool made in the same apply: test_opensearch_dashboards.py reads it on moto
        for statement in _statements(role.values["assume_role_policy"]):
            services = statement["Principal"].get("Service") or statement["Principal"]["Federated"]
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
    cpu = metrics["AWS/ES/CPUUtilization"]  # "maximum is >= 80% for 15 minutes, 3 consecutive times"
    assert (cpu["statistic"], cpu["threshold"], cpu["period"], cpu["evaluation_periods"]) == (
        "Maximum",
        80,
        900,
        3,
    )
    domain_alarms = plans["opensearch"].resources("aws_cloudwatch_metric_alarm")
    (errors,) = [a for a in domain_alarms if a.values["metric_query"]]
    assert errors.values["threshold"] == 10  # "5xx alarms >= 10% of OpenSearchRequests"
    assert {q["metric"][0]["metric_name"] for q in errors.values["metric_query"] if q["metric"]} == {
        "5xx",
        "OpenSearchRequests",
    }
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


# ---- Dashboards access: Cognito sign-in and fine-grained access control (dev on, prod off) ----------------


def _domain(plans: dict[str, Plan]) -> Any:
    (domain,) = plans["opensearch"].resources("aws_opensearch_domain")
    return domain


def test_fine_grained_access_control_comes_with_encryption_at_rest_node_to_node_and_https(
    live_plans: dict[str, dict[str, Plan]],
) -> None:
    """Fine-grained access control requires encryption of data at rest, node-to-node encryption and "Require
    HTTPS for all traffic to the domain" ("Fine-grained access control in Amazon OpenSearch Service",
    https://docs.aws.amazon.com/opensearch-service/latest/developerguide/fgac.html; CreateDomain's
    AdvancedSecurityOptionsInput,
    https://docs.aws.amazon.com/opensearch-service/latest/APIReference/API_AdvancedSecurityOptionsInput.html)."""
    fine_grained = 0
    for plans in live_plans.values():
        for domain in _domains(plans):
            # absent from a plan that leaves it to AWS (computed): fine-grained access control is off there
            if not any(options["enabled"] for options in domain.get("advanced_security_options") or []):
                continue
            fine_grained += 1
            assert domain["encrypt_at_rest"][0]["enabled"] is True
            assert domain["node_to_node_encryption"][0]["enabled"] is True
            assert domain["domain_endpoint_options"][0]["enforce_https"] is True
    assert fine_grained >= 1, "live/dev plans no domain with fine-grained access control"


def test_dev_signs_people_in_with_cognito_and_an_iam_master_user(
    live_plans: dict[str, dict[str, Plan]],
) -> None:
    """Cognito authentication for Dashboards needs a user pool, an identity pool and the role OpenSearch
    Service uses to configure them (cognito-auth.html, Prerequisites); with an IAM master user, people reach
    Dashboards only through Cognito or SAML ("Accessing OpenSearch Dashboards as the master user", fgac.html).
    The master user is the deploy role env.hcl names, never whoever applies; the migration period
    (AnonymousAuthEnabled) stays off unless the switch-over asks for it."""
    domain = _domain(live_plans["dev"])
    (cognito,) = domain.values["cognito_options"]
    assert cognito["enabled"] is True
    unknown = domain.unknown["cognito_options"][0]
    assert {key for key in ("user_pool_id", "identity_pool_id", "role_arn") if unknown[key]} == {
        "user_pool_id",
        "identity_pool_id",
        "role_arn",
    }  # all made in this apply
    (security,) = domain.values["advanced_security_options"]
    assert security["enabled"] is True
    assert security["anonymous_auth_enabled"] is False
    assert security["internal_user_database_enabled"] is False
    (master,) = security["master_user_options"]
    assert master["master_user_arn"] == "arn:aws:iam::111111111111:role/books-deploy"
    plan = live_plans["dev"]["opensearch"]
    assert {r.address for r in plan.resources("aws_cognito_identity_pool")} == {
        "aws_cognito_identity_pool.dashboards[0]"
    }
    (identity_pool,) = plan.resources("aws_cognito_identity_pool")
    assert identity_pool.values["allow_unauthenticated_identities"] is False
    (user_pool,) = plan.resources("aws_cognito_user_pool")
    assert user_pool.values["admin_create_user_config"][0]["allow_admin_create_user_only"] is True
    assert plan.resources("aws_cognito_user_pool_domain")
    assert plan.resources("aws_cognito_identity_pool_roles_attachment")


def _security_config(plans: dict[str, Plan]) -> dict[str, Any]:
    (config,) = [
        change["after"]
        for name, change in plans["opensearch"].data["output_changes"].items()
        if name == "security_config"
    ]
    return config


def test_dev_maps_the_indexer_the_api_and_the_operators_inside_the_domain(
    live_plans: dict[str, dict[str, Plan]],
) -> None:
    """With fine-grained access control an IAM principal the access policy admits still needs a role mapping
    ("unless you map roles to users, every request to the cluster ends in a permissions error", fgac.html,
    "Mapping roles to users"): the indexer's role writes the alias, the API's roles search it, the operators
    (python -m indexer.ops) may do everything on it."""
    dev = live_plans["dev"]
    (function,) = dev["indexer"].resources("aws_lambda_function")
    mappings = {
        name: mapping.get("backend_roles") for name, mapping in _security_config(dev)["role_mappings"].items()
    }
    assert set(mappings) == {
        "index_writer",
        "index_reader",
        "index_analyst",
        "index_operator",
        "kibana_user",
        "all_access",
        "security_manager",
    }
    assert mappings["index_writer"] == [f"arn:aws:iam::111111111111:role/{function.values['function_name']}"]
    assert mappings["index_reader"] == ["arn:aws:iam::111111111111:role/books-dev-api-*"]
    # the bulk load's export function creates indices and moves aliases: an operator too
    assert mappings["index_operator"] == [
        "arn:aws:iam::111111111111:role/books-dev-bulk-load-export",
        "arn:aws:iam::111111111111:role/books-dev-operator",
    ]
    (security,) = dev["opensearch"].resources("terraform_data")
    assert security.address == "terraform_data.security[0]"


def test_the_api_roles_wildcard_matches_the_role_the_api_module_makes_and_no_other(
    live_plans: dict[str, dict[str, Plan]],
) -> None:
    """The API's role has a name_prefix, so its ARN is unknown until the api unit applies, after the domain:
    it is mapped by a wildcard. The security plugin matches mapped backend roles as wildcards
    (opensearch-project/security, src/main/java/org/opensearch/security/securityconf/ConfigModelV7.java,
    RoleMappingHolder: backend_roles compiled by WildcardMatcher.matchers() and matched against a user's roles
    by WildcardMatcher.getAllMatchingPatterns()); the documentation promises wildcards only for users and
    hosts, so this pins the one wildcard to exactly the roles the api module can create."""
    dev = live_plans["dev"]
    (pattern,) = _security_config(dev)["role_mappings"]["index_reader"]["backend_roles"]
    (role,) = [r for r in dev["api"].resources("aws_iam_role") if r.address == "aws_iam_role.this"]
    prefix = role.values["name_prefix"]
    account = "111111111111"
    made = f"arn:aws:iam::{account}:role/{prefix}20260101000000000000000001"
    assert fnmatch.fnmatchcase(made, pattern)
    assert pattern.count("*") == 1
    assert pattern.endswith("*")
    for other in ("books-dev-indexer", "books-dev-apiary", "books-prod-api-1", "books-dev-os-admin-1"):
        assert not fnmatch.fnmatchcase(f"arn:aws:iam::{account}:role/{other}", pattern), other


def test_people_roles_made_here_replace_their_predecessors_in_the_built_in_mappings(
    live_plans: dict[str, dict[str, Plan]],
) -> None:
    """The admin and analyst roles have a name_prefix: a replaced role gets a new ARN. The built-in mappings
    drop a predecessor by the module's own name pattern (and nothing else)."""
    dev = live_plans["dev"]
    mappings = _security_config(dev)["role_mappings"]
    (admin,) = mappings["all_access"]["replaces"]
    (analyst,) = mappings["kibana_user"]["replaces"]
    # the roles' account is the one applying (moto's here, env.hcl's account on AWS: the provider's guard)
    assert re.fullmatch(r"arn:aws:iam::[0-9]{12}:role/books-dev-os-admin-\*", admin), admin
    assert re.fullmatch(r"arn:aws:iam::[0-9]{12}:role/books-dev-os-analyst-\*", analyst), analyst
    assert mappings["security_manager"]["replaces"] == [admin]
    prefixes = {
        r.address: r.values["name_prefix"]
        for r in dev["opensearch"].resources("aws_iam_role")
        if r.name == "dashboards"
    }
    assert prefixes == {
        'aws_iam_role.dashboards["admin"]': "books-dev-os-admin-",
        'aws_iam_role.dashboards["analyst"]': "books-dev-os-analyst-",
    }


def test_prod_keeps_dashboards_access_off_until_switched_on(live_plans: dict[str, dict[str, Plan]]) -> None:
    """The README's prod switch is one input; until it is set, prod plans no Cognito and no FGAC change."""
    prod = live_plans["prod"]["opensearch"]
    assert prod.resources("aws_cognito_user_pool") == []
    assert _domain(live_plans["prod"]).values["cognito_options"] == []
    assert prod.resources("terraform_data") == []


def test_every_domain_is_green_with_the_shipped_index(plans: dict[str, Plan]) -> None:
    """Green means every primary and replica shard is allocated, yellow that some replica is not ("Cluster
    health", https://docs.opensearch.org/latest/api-reference/cluster-api/cluster-health/); a replica is
    never allocated on its primary's node, so one data node with one replica is yellow forever (issue 19:
    dev). The shipped index expands its replicas with the nodes ("index.auto_expand_replicas": 0 to 1,
    https://docs.opensearch.org/latest/install-and-configure/configuring-opensearch/index-settings/): none on
    a single node, one from two nodes on."""
    settings = json.loads(INDEX_JSON.read_text())["settings"]["index"]
    assert "number_of_replicas" not in settings
    low, high = (int(n) for n in settings["auto_expand_replicas"].split("-"))
    for domain in _domains(plans):
        (cluster,) = domain["cluster_config"]
        replicas = max(low, min(high, cluster["instance_count"] - 1))
        assert replicas <= cluster["instance_count"] - 1, cluster  # every replica has a node of its own
        if cluster["zone_awareness_enabled"]:
            assert replicas >= 1, "a zone-aware domain keeps a replica in another zone"


def test_slow_logs_are_published_and_have_thresholds(plans: dict[str, Plan]) -> None:
    """The domain publishes INDEX_SLOW_LOGS and SEARCH_SLOW_LOGS to CloudWatch Logs (with the log resource
    policy es.amazonaws.com needs), but OpenSearch writes a slow log entry only above a threshold, and every
    threshold is off (-1) until set on the index ("Monitoring OpenSearch logs with Amazon CloudWatch Logs",
    https://docs.aws.amazon.com/opensearch-service/latest/developerguide/createdomain-configure-slow-logs.html):
    the shipped index sets them."""
    for domain in _domains(plans):
        published = {option["log_type"] for option in domain["log_publishing_options"]}
        assert {"INDEX_SLOW_LOGS", "SEARCH_SLOW_LOGS"} <= published
    policies = [p for _, p in all_resources(plans, "aws_cloudwatch_log_resource_policy")]
    assert policies
    settings = json.loads(INDEX_JSON.read_text())["settings"]["index"]
    assert settings["search.slowlog.threshold.query.warn"] == "5s"
    assert settings["indexing.slowlog.threshold.index.warn"] == "5s"


def test_only_the_indexer_export_api_and_operator_roles_may_call_the_domain(plans: dict[str, Plan]) -> None:
    """The access policy names the account as principal (a role that does not exist yet would be refused) and
    allows only the given roles through aws:PrincipalArn (within the account an identity policy allowing
    es:ESHttp* suffices as well: modules/opensearch/iam.tf), which "compares the ARN of the principal that
    made the request" and, for a role session, is the role's ARN ("AWS global condition context keys",
    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html#condition-keys-principalarn).
    Neither moto nor the gate evaluates conditions, so this reads the policy: every Allow carries the
    condition, and it names nothing but the indexer's, the bulk load's export function's, the API's and the
    operators' roles (and, with Dashboards access, the people roles)."""
    for domain in _domains(plans):
        for statement in _statements(domain["access_policies"]):
            assert statement["Effect"] == "Allow"
            principals = statement["Principal"]["AWS"]
            for principal in [principals] if isinstance(principals, str) else principals:
                assert principal.endswith(":root"), principal
            allowed = statement["Condition"]["ArnLike"]["aws:PrincipalArn"]
            allowed = [allowed] if isinstance(allowed, str) else allowed
            assert any(arn.endswith("-indexer") for arn in allowed), allowed
            assert any(arn.endswith("-api-*") for arn in allowed), allowed
            people = [
                arn
                for arn in allowed
                if not arn.endswith(("-indexer", "-api-*", "-operator", "-bulk-load-export"))
            ]
            fine_grained = any(o["enabled"] for o in domain.get("advanced_security_options") or [])
            # with Dashboards access: also the FGAC master user and the admin and analyst roles people get
            assert len(people) <= (3 if fine_grained else 0), allowed


def test_no_environment_reserves_concurrency_a_new_account_cannot_give(plans: dict[str, Plan]) -> None:
    """ "You can reserve up to the Unreserved account concurrency value that is shown, minus 100 for functions
    that don't have reserved concurrency" ("Configuring reserved concurrency for a function",
    https://docs.aws.amazon.com/lambda/latest/dg/configuration-concurrency.html): on a new account, whose
    quota is 10, any reservation fails (issue 19: prod reserved 10)."""
    for unit, function in all_resources(plans, "aws_lambda_function"):
        assert function.values["reserved_concurrent_executions"] in (None, -1), f"{unit} {function.address}"
