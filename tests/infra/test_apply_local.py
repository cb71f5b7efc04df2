"""live/local applied unit by unit against moto with plain terraform, as `terragrunt run-all apply` would:
outputs flow into dependents' inputs, the resources carry the modules' settings, a second plan shows no
changes, and destroy leaves nothing behind.

Runs on a moto of its own (``infra_moto``). The event source mapping is switched back on here (live/local
turns it off because moto answers 500 to table writes once a mapping targets an image function; nothing in
this test writes to the table), so the mapping's settings are proven too.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from books_local.terragrunt import Stack

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.timeout(1800)  # apply + plan + destroy: ~2 min on an idle machine


@pytest.fixture(scope="module")
def applied(infra_moto: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Stack, dict]]:
    log: list[str] = []
    stack = Stack(
        ROOT / "live" / "local",
        infra_moto,
        tmp_path_factory.mktemp("live-local"),
        overrides={"indexer": {"create_event_source_mapping": True}},
        log=log.append,
    )
    outputs = stack.apply()
    print("\n".join(log))
    try:
        yield stack, outputs
    finally:
        if any(stack.state_resources(name) for name in stack.environment.units):
            stack.destroy()


def client(endpoint: str, service: str) -> Any:
    return boto3.client(
        service,
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


def test_every_unit_is_applied_with_its_outputs(applied: tuple[Stack, dict]) -> None:
    _, outputs = applied
    assert set(outputs) == {
        "alarms",
        "table",
        "opensearch",
        "api",
        "indexer",
        "image",
        "dashboard",
        "bulk-load",
    }
    # every alarm of every unit publishes to the one alarm topic (written once, by the alarms unit)
    assert outputs["alarms"]["alarm_actions"] == [outputs["alarms"]["topic_arn"]]
    assert outputs["table"]["table_name"] == "books-local"
    assert outputs["opensearch"]["domain_name"] == "books-local"
    assert outputs["indexer"]["function_name"] == "books-local-indexer"
    # the api unit's generated deploy outputs: the URL and a signed request against it
    assert outputs["api"]["books_url"] == f"{outputs['api']['invoke_url']}/books"
    assert f"'{outputs['api']['books_url']}?limit=10'" in outputs["api"]["example_request"]
    assert outputs["api"]["example_request"].startswith("curl --aws-sigv4 'aws:amz:us-east-1:execute-api'")
    assert outputs["api"]["rest_api_id"]


def test_terraform_ran_with_what_the_root_config_generates_and_inputs_as_tf_vars(
    applied: tuple[Stack, dict],
) -> None:
    """The emulator executes the root's generate and remote_state blocks (provider.tf, backend.tf) and passes
    inputs as TF_VAR_ variables, as Terragrunt does: no file of its own stands in for them."""
    stack, _ = applied
    for name, unit in stack.environment.units.items():
        workdir = stack._workdir(name)
        for file_name, contents in unit.generated_files().items():
            assert (workdir / file_name).read_text() == contents, f"{name}: {file_name}"
        state = Path(unit.remote_state()["config"]["path"])
        assert state.is_file(), f"{name}: no state at the root's backend path {state}"
        assert state.is_relative_to(stack.state_dir / "tfstate" / "live" / "local")
        tfvars = [path.name for path in workdir.glob("*.tfvars*")]
        assert set(tfvars) <= {".terragrunt-null-vars.auto.tfvars.json"}, f"{name}: inputs in {tfvars}"
        for path in workdir.glob("*.tfvars*"):
            assert set(json.loads(path.read_text()).values()) == {None}, f"{name}: {path} holds non-nulls"


def test_dependency_outputs_are_fed_into_dependents(applied: tuple[Stack, dict], infra_moto: str) -> None:
    _, outputs = applied
    function = client(infra_moto, "lambda").get_function_configuration(FunctionName="books-local-indexer")
    env = function["Environment"]["Variables"]
    assert env["OPENSEARCH_ENDPOINT"] == f"https://{outputs['opensearch']['domain_endpoint']}"
    assert env["OPENSEARCH_INDEX"] == "books"
    assert env["TABLE_PARTITION_KEY"] == outputs["table"]["table_hash_key"] == "id"
    assert env["OPENSEARCH_AUTH"] == "sigv4"
    mapping = client(infra_moto, "lambda").get_event_source_mapping(
        UUID=outputs["indexer"]["event_source_mapping_uuid"]
    )
    assert mapping["EventSourceArn"] == outputs["table"]["table_stream_arn"]
    api = client(infra_moto, "apigateway").get_rest_api(restApiId=outputs["api"]["rest_api_id"])
    assert api["name"].startswith("books-local")


def test_resources_carry_the_modules_settings(applied: tuple[Stack, dict], infra_moto: str) -> None:
    _, outputs = applied
    table = client(infra_moto, "dynamodb").describe_table(TableName="books-local")["Table"]
    assert table["StreamSpecification"] == {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"}
    assert table["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    backups = client(infra_moto, "dynamodb").describe_continuous_backups(TableName="books-local")
    pitr = backups["ContinuousBackupsDescription"]["PointInTimeRecoveryDescription"]
    assert pitr["PointInTimeRecoveryStatus"] == "ENABLED"

    function = client(infra_moto, "lambda").get_function(FunctionName="books-local-indexer")
    assert function["Configuration"]["PackageType"] == "Image"
    # without BOOKS_IMAGE_STEP=on nothing is built: the function gets the content tag (test_image_step.py
    # covers the build, the push and the digest)
    assert function["Code"]["ImageUri"] == outputs["image"]["image_uri"]
    assert function["Code"]["ImageUri"].startswith(f"{outputs['image']['repository_url']}:src-")

    mapping = client(infra_moto, "lambda").get_event_source_mapping(
        UUID=outputs["indexer"]["event_source_mapping_uuid"]
    )
    settings = outputs["indexer"]["event_source_mapping"]
    assert mapping["BatchSize"] == settings["batch_size"]
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert mapping["StartingPosition"] == settings["starting_position"] == "TRIM_HORIZON"
    assert mapping["MaximumRetryAttempts"] == settings["maximum_retry_attempts"] >= 0
    assert mapping["BisectBatchOnFunctionError"] is True
    destination = mapping["DestinationConfig"]["OnFailure"]["Destination"]
    assert destination == settings["destination_arn"] == outputs["indexer"]["dead_letter_queue_arn"]
    queue = client(infra_moto, "sqs").get_queue_attributes(
        QueueUrl=outputs["indexer"]["dead_letter_queue_url"], AttributeNames=["All"]
    )["Attributes"]
    assert queue["SqsManagedSseEnabled"] == "true"

    repository = client(infra_moto, "ecr").describe_repositories(repositoryNames=["books-local-indexer"])
    repo = repository["repositories"][0]
    assert repo["imageTagMutability"] == "IMMUTABLE"
    assert repo["imageScanningConfiguration"] == {"scanOnPush": True}

    alarms = client(infra_moto, "cloudwatch").describe_alarms(AlarmNamePrefix="books-local-indexer-")
    assert {a.get("MetricName") for a in alarms["MetricAlarms"]} == {
        "IteratorAge",
        "IndexLagMax",
        "Errors",
        "ApproximateNumberOfMessagesVisible",
        None,  # the heartbeat: metric math over the table's writes and the indexer's RecordsIn
    }
    (heartbeat,) = [a for a in alarms["MetricAlarms"] if a["AlarmName"] == "books-local-indexer-heartbeat"]
    watched = {q["MetricStat"]["Metric"]["MetricName"] for q in heartbeat["Metrics"] if "MetricStat" in q}
    assert watched == {"SuccessfulRequestLatency", "RecordsIn"}
    every = client(infra_moto, "cloudwatch").describe_alarms(AlarmNamePrefix="books-local-")["MetricAlarms"]
    assert every
    assert {tuple(a["AlarmActions"]) for a in every} == {(outputs["alarms"]["topic_arn"],)}
    topics = client(infra_moto, "sns").list_topics()["Topics"]
    assert [topic["TopicArn"] for topic in topics] == [outputs["alarms"]["topic_arn"]]

    domain = client(infra_moto, "opensearch").describe_domain(DomainName="books-local")["DomainStatus"]
    assert domain["DomainEndpointOptions"]["EnforceHTTPS"] is True
    assert domain["DomainEndpointOptions"]["TLSSecurityPolicy"].startswith("Policy-Min-TLS-1-2")
    assert domain["NodeToNodeEncryptionOptions"]["Enabled"] is True
    assert domain["EncryptionAtRestOptions"]["Enabled"] is True
    statement = json.loads(domain["AccessPolicies"])["Statement"][0]
    principals = statement["Condition"]["ArnLike"]["aws:PrincipalArn"]
    assert sorted(principals) == [
        "arn:aws:iam::123456789012:role/books-local-api-*",
        "arn:aws:iam::123456789012:role/books-local-bulk-load-export",
        "arn:aws:iam::123456789012:role/books-local-indexer",
    ]
    assert statement["Resource"] == f"{outputs['opensearch']['domain_arn']}/*"


def test_the_bulk_load_unit_runs_the_indexers_image_with_its_environment(
    applied: tuple[Stack, dict], infra_moto: str
) -> None:
    """The export function is the indexer's image with another command, the indexer's settings plus the
    table and the bucket; the state machine Terraform created is the module's rendered definition, which
    this moto (the local stack's, executing definitions) parsed when it was created."""
    _, outputs = applied
    bulk = outputs["bulk-load"]
    lambda_ = client(infra_moto, "lambda")
    export = lambda_.get_function(FunctionName=bulk["function_name"])
    indexer = lambda_.get_function(FunctionName=outputs["indexer"]["function_name"])
    assert export["Code"]["ImageUri"] == indexer["Code"]["ImageUri"]
    configuration = export["Configuration"]
    assert configuration["ImageConfigResponse"]["ImageConfig"]["Command"] == ["export_function.handler"]
    assert configuration["Timeout"] == 900
    indexer_env = indexer["Configuration"]["Environment"]["Variables"]
    assert configuration["Environment"]["Variables"] == {
        **indexer_env,
        "TABLE_NAME": outputs["table"]["table_name"],
        "BULK_LOAD_BUCKET": bulk["bucket_name"],
    }
    machine = client(infra_moto, "stepfunctions").describe_state_machine(
        stateMachineArn=bulk["state_machine_arn"]
    )
    assert machine["type"] == "STANDARD"
    assert json.loads(machine["definition"]) == json.loads(bulk["definition"])
    assert f'"FunctionName": "{bulk["function_arn"]}"' in bulk["definition"]
    assert machine["loggingConfiguration"]["destinations"][0]["cloudWatchLogsLogGroup"][
        "logGroupArn"
    ].endswith(f"/aws/vendedlogs/states/{bulk['state_machine_name']}:*")
    s3 = client(infra_moto, "s3")
    encryption = s3.get_bucket_encryption(Bucket=bulk["bucket_name"])["ServerSideEncryptionConfiguration"]
    assert encryption["Rules"][0]["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    block = s3.get_public_access_block(Bucket=bulk["bucket_name"])["PublicAccessBlockConfiguration"]
    assert all(block.values())
    rules = s3.get_bucket_lifecycle_configuration(Bucket=bulk["bucket_name"])["Rules"]
    assert {rule["Filter"]["Prefix"] for rule in rules} == {"runs/", "results/"}
    backups = client(infra_moto, "dynamodb").describe_continuous_backups(
        TableName=outputs["table"]["table_name"]
    )
    assert (
        backups["ContinuousBackupsDescription"]["PointInTimeRecoveryDescription"]["PointInTimeRecoveryStatus"]
        == "ENABLED"
    )


def test_the_dashboard_shows_the_alarms_and_resources_the_other_units_made(
    applied: tuple[Stack, dict], infra_moto: str
) -> None:
    """Every alarm the units made is on the alarm widget, and every metric widget names those units' real
    resources (tests/infra/test_dashboard.py checks the metric names against what each resource publishes)."""
    _, outputs = applied
    cloudwatch = client(infra_moto, "cloudwatch")
    body = json.loads(
        cloudwatch.get_dashboard(DashboardName=outputs["dashboard"]["dashboard_name"])["DashboardBody"]
    )
    (alarm_widget,) = [w for w in body["widgets"] if w["type"] == "alarm"]
    made = {a["AlarmArn"] for a in cloudwatch.describe_alarms()["MetricAlarms"]}
    assert set(alarm_widget["properties"]["alarms"]) == made
    named: dict[str, set[str]] = {}
    for widget in body["widgets"]:
        for entry in widget["properties"].get("metrics", []):
            fields = [part for part in entry if not isinstance(part, dict)]
            for key, value in zip(fields[2::2], fields[3::2], strict=True):
                named.setdefault(key, set()).add(value)
    api = client(infra_moto, "apigateway").get_rest_api(restApiId=outputs["api"]["rest_api_id"])
    assert named == {
        "ApiName": {api["name"]},
        "Stage": {outputs["api"]["stage_name"]},
        "FunctionName": {outputs["indexer"]["function_name"]},
        "QueueName": {outputs["indexer"]["dead_letter_queue_url"].rsplit("/", 1)[1]},
        "DomainName": {outputs["opensearch"]["domain_name"]},
        "ClientId": {"123456789012"},
        # the heartbeat graph: the table's successful writes per write operation
        "TableName": {outputs["table"]["table_name"]},
        "Operation": {"PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems"},
    }


def test_second_plan_shows_no_changes(applied: tuple[Stack, dict]) -> None:
    stack, _ = applied
    assert stack.plan() == dict.fromkeys(
        ("alarms", "table", "opensearch", "image", "api", "indexer", "dashboard", "bulk-load"), False
    )


def test_destroy_leaves_nothing_behind(applied: tuple[Stack, dict], infra_moto: str) -> None:
    stack, _ = applied
    stack.destroy()
    for name in stack.environment.units:
        assert stack.state_resources(name) == [], f"{name}: state still holds resources"
    assert client(infra_moto, "dynamodb").list_tables()["TableNames"] == []
    assert client(infra_moto, "lambda").list_functions()["Functions"] == []
    assert client(infra_moto, "lambda").list_event_source_mappings()["EventSourceMappings"] == []
    assert client(infra_moto, "opensearch").list_domain_names()["DomainNames"] == []
    assert client(infra_moto, "apigateway").get_rest_apis()["items"] == []
    assert client(infra_moto, "sqs").list_queues().get("QueueUrls", []) == []
    assert client(infra_moto, "ecr").describe_repositories()["repositories"] == []
    assert client(infra_moto, "iam").list_roles()["Roles"] == []
    assert client(infra_moto, "logs").describe_log_groups()["logGroups"] == []
    assert client(infra_moto, "logs").describe_resource_policies()["resourcePolicies"] == []
    assert client(infra_moto, "cloudwatch").describe_alarms()["MetricAlarms"] == []
    assert client(infra_moto, "sns").list_topics()["Topics"] == []
    assert client(infra_moto, "stepfunctions").list_state_machines()["stateMachines"] == []
    assert client(infra_moto, "s3").list_buckets()["Buckets"] == []
