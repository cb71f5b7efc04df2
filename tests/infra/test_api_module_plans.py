"""The api module's stage, logging, idempotency table and CORS as `terraform plan` sees them, and the inputs
it refuses (the plan of modules/api alone against this suite's moto, test_conformance_validations.Module)."""

from __future__ import annotations

from typing import Any

import pytest
from test_conformance_validations import Module

# "Per-API, per-stage throttling limits are applied at the API method level for a stage. You can configure
# the same settings for all methods, or configure different throttle settings for each method." ("Throttle
# requests to your REST APIs",
# https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-request-throttling.html)
THROTTLING = (
    "https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-request-throttling.html"
)


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory, infra_moto: str) -> Module:
    return Module("api", tmp_path_factory.mktemp("api-module") / "api", infra_moto)


@pytest.fixture(scope="module")
def plan(api: Module) -> dict[str, Any]:
    """One plan with every input these tests read (plans cost tens of seconds on a busy machine)."""
    return api.planned(
        throttling={"rate_limit": 500, "burst_limit": 1000},
        execution_log_retention_in_days=90,
        cors={"allow_origins": ["https://books.example", "http://localhost:3000"]},
    )


def resources(plan: dict[str, Any], type_: str) -> dict[str, dict[str, Any]]:
    return {
        change["address"]: change["change"]["after"]
        for change in plan["resource_changes"]
        if change["type"] == type_ and "create" in change["change"]["actions"]
    }


def test_every_method_gets_the_default_throttling_and_search_a_lower_one(plan: dict[str, Any]) -> None:
    """Stage throttling is per method (THROTTLING): GET /search, an OpenSearch query each, has its own."""
    settings = {
        after["method_path"]: after["settings"][0]
        for after in resources(plan, "aws_api_gateway_method_settings").values()
    }
    default, search = settings["*/*"], settings["search/GET"]

    assert set(settings) == {"*/*", "search/GET"}
    assert (default["throttling_rate_limit"], default["throttling_burst_limit"]) == (500, 1000)
    assert (search["throttling_rate_limit"], search["throttling_burst_limit"]) == (20, 40)
    # A method's own settings replace */* for it: logging and metrics are repeated, not lost.
    for name in ("metrics_enabled", "logging_level", "data_trace_enabled", "caching_enabled"):
        assert search[name] == default[name], name


@pytest.mark.parametrize(
    "search", [{"rate_limit": 600, "burst_limit": 10}, {"rate_limit": 10, "burst_limit": 2000}]
)
def test_search_throttling_looser_than_the_default_is_refused(api: Module, search: dict[str, int]) -> None:
    api.refuses(
        "search_throttling.rate_limit and burst_limit must be greater than 0 and at most throttling's",
        throttling={"rate_limit": 500, "burst_limit": 1000},
        search_throttling=search,
    )


def test_the_execution_log_group_exists_with_a_retention_before_the_stage(plan: dict[str, Any]) -> None:
    """API Gateway creates API-Gateway-Execution-Logs_<rest-api-id>/<stage> itself, without retention, when it
    does not exist ("Set up CloudWatch logging for REST APIs in API Gateway",
    https://docs.aws.amazon.com/apigateway/latest/developerguide/set-up-logging.html)."""
    execution = resources(plan, "aws_cloudwatch_log_group")["aws_cloudwatch_log_group.execution"]
    config = plan["configuration"]["root_module"]["resources"]
    stage = next(r for r in config if r["address"] == "aws_api_gateway_stage.this")
    group = next(r for r in config if r["address"] == "aws_cloudwatch_log_group.execution")

    assert execution["retention_in_days"] == 90
    assert "aws_cloudwatch_log_group.execution" in stage["depends_on"]
    assert "aws_api_gateway_rest_api.this.id" in group["expressions"]["name"]["references"]


def test_the_idempotency_records_have_a_table_of_their_own_that_expires_them(plan: dict[str, Any]) -> None:
    table = resources(plan, "aws_dynamodb_table")["aws_dynamodb_table.idempotency"]

    assert table["name"] == "books-conformance-idempotency"
    assert (table["hash_key"], table["range_key"]) == ("scope", "entry")
    assert table["ttl"] == [{"enabled": True, "attribute_name": "expiresAt"}]
    assert table["stream_enabled"] in (False, None)  # nothing indexes these records


@pytest.mark.parametrize("origins", [[], ["*"], ["https://books.example/app"]])
def test_cors_origins_must_be_exact_origins(api: Module, origins: list[str]) -> None:
    """An origin is scheme://host[:port]; a browser compares Access-Control-Allow-Origin with it exactly
    (Fetch standard, CORS check: https://fetch.spec.whatwg.org/#cors-check); "*" would let any site in."""
    api.refuses("cors.allow_origins must list at least one origin", cors={"allow_origins": origins})


def test_a_domain_endpoint_of_another_region_is_refused(api: Module) -> None:
    """GET /search's integration reaches <subdomain>.<region>.es.amazonaws.com in the API's region
    (test_api_openapi_document.py): another region's domain would never answer."""
    result = api.plan(opensearch_domain_endpoint="search-books.eu-west-1.es.amazonaws.com")

    text = " ".join((result.stderr + result.stdout).split())
    assert result.returncode != 0, text[-2000:]
    assert "opensearch_domain_endpoint must be the domain's endpoint in this API's region (us-east-1)" in text
