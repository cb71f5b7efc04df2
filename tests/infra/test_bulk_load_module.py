"""modules/bulk-load applied alone to the local stack's moto (which validates and can execute the
definition), then judged against AWS's documentation: the roles grant exactly what the run needs, the export
function is the indexer's image with the export command, and the definition uses only what Step Functions
documents. The validations refuse inputs AWS would refuse or that would break a run, at plan time.

moto evaluates no IAM policy and parses the definition loosely, so each rule below is checked as written, with
the page it comes from.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from books_local.terragrunt import provider_config, terraform_env
from indexer.ops.export_age import ExportTooOld
from indexer.ops.export_children import ItemsFailed
from support import fill_in_moto

ROOT = Path(__file__).resolve().parents[2]
MODULE = ROOT / "modules" / "bulk-load"
ACCOUNT, REGION = "123456789012", "us-east-1"
TABLE_ARN = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/books-conf"
DOMAIN_ARN = f"arn:aws:es:{REGION}:{ACCOUNT}:domain/books-conf"
NAME = "books-conf-bulk-load"
BUCKET = f"{NAME}-{ACCOUNT}-{REGION}"
BUCKET_ARN = f"arn:aws:s3:::{BUCKET}"
INDEXER_ENVIRONMENT = {
    "OPENSEARCH_ENDPOINT": "https://search-books-conf.us-east-1.es.amazonaws.com",
    "OPENSEARCH_INDEX": "books",
    "OPENSEARCH_AUTH": "sigv4",
    "OPENSEARCH_SERVICE": "es",
    "TABLE_PARTITION_KEY": "id",
    "VERSION_ATTRIBUTE": "version",
}
INPUTS = {
    "name": NAME,
    "table_arn": TABLE_ARN,
    "opensearch_domain_arn": DOMAIN_ARN,
    "opensearch_index_aliases": ["books", "orders"],
    "opensearch_data_node_count": 3,
    "concurrency_per_data_node": 2,
    "image_uri": f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/books-indexer@sha256:{'1' * 64}",
    "indexer_environment": INDEXER_ENVIRONMENT,
    "alarm_actions": [f"arn:aws:sns:{REGION}:{ACCOUNT}:books-alarms"],
    "force_destroy": True,
}


class Workdir:
    """A copy of the module with a provider aimed at moto."""

    def __init__(self, path: Path, endpoint: str) -> None:
        self.path = path
        shutil.copytree(MODULE, path, ignore=shutil.ignore_patterns(".terraform*"))
        (path / "provider.tf").write_text(provider_config(REGION, endpoint, {}))
        self.terraform("init", "-input=false")

    def terraform(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            ["terraform", *args, "-no-color"],
            cwd=self.path,
            env=terraform_env(),
            capture_output=True,
            text=True,
        )
        if check:
            assert result.returncode == 0, result.stderr + result.stdout
        return result

    def inputs(self, **overrides: Any) -> None:
        (self.path / "terraform.tfvars.json").write_text(json.dumps({**INPUTS, **overrides}))


@pytest.fixture(scope="module")
def moto(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with fill_in_moto.running(tmp_path_factory.mktemp("bulk-load-moto") / "moto.log") as running:
        yield running.endpoint


@pytest.fixture(scope="module")
def applied(moto: str, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    workdir = Workdir(tmp_path_factory.mktemp("bulk-load") / "module", moto)
    workdir.inputs()
    workdir.terraform("apply", "-auto-approve", "-input=false")
    outputs = json.loads(workdir.terraform("output", "-json").stdout)
    return {name: value["value"] for name, value in outputs.items()}  # no destroy: the moto is this module's


@pytest.fixture(scope="module")
def planner(moto: str, tmp_path_factory: pytest.TempPathFactory) -> Workdir:
    return Workdir(tmp_path_factory.mktemp("bulk-load-plans") / "module", moto)


def client(endpoint: str, service: str) -> Any:
    return boto3.client(
        service, endpoint_url=endpoint, region_name=REGION, aws_access_key_id="t", aws_secret_access_key="t"
    )


def statements(moto: str, role: str) -> dict[str, dict[str, Any]]:
    """{Sid: {"Action": sorted, "Resource": sorted, "Condition": ...}} of the role's one inline policy."""
    iam = client(moto, "iam")
    (name,) = iam.list_role_policies(RoleName=role)["PolicyNames"]
    document = iam.get_role_policy(RoleName=role, PolicyName=name)["PolicyDocument"]
    document = json.loads(document) if isinstance(document, str) else document
    found = {}
    for statement in document["Statement"]:
        assert statement["Effect"] == "Allow", statement
        listed = {
            key: sorted([value] if isinstance(value, str) else value)
            for key, value in statement.items()
            if key in ("Action", "Resource")
        }
        found[statement["Sid"]] = {
            **listed,
            **({"Condition": statement["Condition"]} if "Condition" in statement else {}),
        }
    return found


def trust(moto: str, role: str) -> dict[str, Any]:
    document = client(moto, "iam").get_role(RoleName=role)["Role"]["AssumeRolePolicyDocument"]
    (statement,) = (json.loads(document) if isinstance(document, str) else document)["Statement"]
    return statement


# ---- IAM ---------------------------------------------------------------------------------------------------


def test_the_state_machine_role_grants_exactly_what_the_run_needs(applied: dict[str, Any], moto: str) -> None:
    """- The export runs with the caller's permissions: dynamodb:ExportTableToPointInTime on the table and
      s3:AbortMultipartUpload, s3:PutObject, s3:PutObjectAcl on the destination ("Requesting a table export in
      DynamoDB", Set up S3 permissions,
      https://docs.amazonaws.cn/en_us/amazondynamodb/latest/developerguide/S3DataExport_Requesting.html).
    - A Distributed Map needs states:StartExecution on its own state machine and states:DescribeExecution and
      states:StopExecution on its executions ("IAM policies for using Distributed Map states",
      https://docs.aws.amazon.com/step-functions/latest/dg/iam-policies-eg-dist-map.html); its children are
      executions named "<state machine>/<label>:<id>"; redriving the parent redrives them.
    - The ItemReader reads the list object (s3:GetObject); the ResultWriter writes the results (s3:PutObject,
      s3:GetObject, s3:ListMultipartUploadParts, s3:AbortMultipartUpload), same page.
    - Log delivery to CloudWatch Logs takes only "*" ("Logging Step Functions executions in CloudWatch Logs",
      https://docs.aws.amazon.com/step-functions/latest/dg/cw-logs.html)."""
    machine = f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:{NAME}"
    executions = [
        f"arn:aws:states:{REGION}:{ACCOUNT}:execution:{NAME}/*",
        f"arn:aws:states:{REGION}:{ACCOUNT}:execution:{NAME}:*",
    ]
    assert applied["state_machine_arn"] == machine
    assert statements(moto, f"{NAME}-state-machine") == {
        "ExportTable": {"Action": ["dynamodb:ExportTableToPointInTime"], "Resource": [TABLE_ARN]},
        "DescribeExports": {"Action": ["dynamodb:DescribeExport"], "Resource": [f"{TABLE_ARN}/export/*"]},
        "WriteExports": {
            "Action": ["s3:AbortMultipartUpload", "s3:PutObject", "s3:PutObjectAcl"],
            "Resource": [f"{BUCKET_ARN}/runs/*"],
        },
        "InvokeExportFunction": {"Action": ["lambda:InvokeFunction"], "Resource": [applied["function_arn"]]},
        "StartChildExecutions": {"Action": ["states:StartExecution"], "Resource": [machine]},
        "ManageChildExecutions": {
            "Action": ["states:DescribeExecution", "states:RedriveExecution", "states:StopExecution"],
            "Resource": executions,
        },
        "ReadItems": {"Action": ["s3:GetObject"], "Resource": [f"{BUCKET_ARN}/runs/*"]},
        "WriteMapRunResults": {
            "Action": [
                "s3:AbortMultipartUpload",
                "s3:GetObject",
                "s3:ListMultipartUploadParts",
                "s3:PutObject",
            ],
            "Resource": [f"{BUCKET_ARN}/results/*"],
        },
        "DeliverLogs": {
            "Action": sorted(
                f"logs:{action}"
                for action in (
                    "CreateLogDelivery",
                    "GetLogDelivery",
                    "UpdateLogDelivery",
                    "DeleteLogDelivery",
                    "ListLogDeliveries",
                    "PutResourcePolicy",
                    "DescribeResourcePolicies",
                    "DescribeLogGroups",
                )
            ),
            "Resource": ["*"],
        },
    }
    statement = trust(moto, f"{NAME}-state-machine")
    assert statement["Principal"] == {"Service": "states.amazonaws.com"}
    assert statement["Condition"] == {"StringEquals": {"aws:SourceAccount": ACCOUNT}}


def test_the_export_function_role_grants_exactly_what_the_handler_calls(
    applied: dict[str, Any], moto: str
) -> None:
    """What the export handler calls (the contract in modules/bulk-load/README.md): S3 under runs/, the
    export's description, consistent reads of the table, and the index paths of every alias (one per entity),
    their concrete indices, the _aliases swap and a scroll's pages; es:ESHttpDelete only releases scrolls
    (helpers.scan's clear_scroll), never an index or a document."""
    assert statements(moto, f"{NAME}-export") == {
        "ReadWriteRuns": {"Action": ["s3:GetObject", "s3:PutObject"], "Resource": [f"{BUCKET_ARN}/runs/*"]},
        "ListRuns": {"Action": ["s3:ListBucket"], "Resource": [BUCKET_ARN]},
        "DescribeExports": {"Action": ["dynamodb:DescribeExport"], "Resource": [f"{TABLE_ARN}/export/*"]},
        "ReadTable": {
            "Action": [
                "dynamodb:BatchGetItem",
                "dynamodb:DescribeTable",
                "dynamodb:GetItem",
                "dynamodb:Query",
            ],
            "Resource": [TABLE_ARN],
        },
        "WriteIndex": {
            "Action": ["es:ESHttpGet", "es:ESHttpHead", "es:ESHttpPost", "es:ESHttpPut"],
            "Resource": sorted(f"{DOMAIN_ARN}/{a}{p}" for a in ("books", "orders") for p in ("", "-*", "/*")),
        },
        "SwapAliasScrollAndSearchPit": {
            "Action": ["es:ESHttpPost"],
            "Resource": [f"{DOMAIN_ARN}/_aliases", f"{DOMAIN_ARN}/_search", f"{DOMAIN_ARN}/_search/scroll"],
        },
        "ReadNewIndexHealth": {
            "Action": ["es:ESHttpGet"],
            "Resource": [f"{DOMAIN_ARN}/_cluster/health/{a}-*" for a in ("books", "orders")],
        },
        "ReleaseScrollsAndPits": {
            "Action": ["es:ESHttpDelete"],
            "Resource": [f"{DOMAIN_ARN}/_search/point_in_time", f"{DOMAIN_ARN}/_search/scroll"],
        },
        "WriteOwnLogs": {
            "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
            "Resource": [f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/aws/lambda/{NAME}-export:*"],
        },
    }
    statement = trust(moto, f"{NAME}-export")
    assert statement["Principal"] == {"Service": "lambda.amazonaws.com"}
    assert statement["Condition"] == {"StringEquals": {"aws:SourceAccount": ACCOUNT}}


def test_a_missing_checkpoint_reads_as_absent_because_list_bucket_has_no_prefix_condition(
    applied: dict[str, Any], moto: str
) -> None:
    """S3 GetObject, "Permissions" (https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetObject.html, and
    the AWS SDK for JavaScript's getObject reference): "If the object you request does not exist, the error
    Amazon S3 returns depends on whether you also have the s3:ListBucket permission": 404 ("no such key") with
    it, 403 ("access denied") without. RunStore.get reads a missing run.json or checkpoint as absent on
    NoSuchKey/404 only, so the function's role must hold s3:ListBucket for every GetObject it makes. A
    GetObject request carries no s3:prefix, so a ListBucket limited by an s3:prefix condition does not count
    for it (the condition key describes ListObjects' prefix parameter): the grant must be unconditional."""
    found = statements(moto, f"{NAME}-export")
    gets = [s for s in found.values() if "s3:GetObject" in s["Action"]]
    assert gets
    lists = [s for s in found.values() if "s3:ListBucket" in s["Action"] and BUCKET_ARN in s["Resource"]]
    assert [s.get("Condition") for s in lists] == [None], lists


# ---- the export function -----------------------------------------------------------------------------------


def test_the_export_function_is_the_indexers_image_with_the_export_command(
    applied: dict[str, Any], moto: str
) -> None:
    """ImageConfig: "Configuration values that override the container image Dockerfile settings"; Command
    replaces the image's CMD ("ImageConfig", https://docs.aws.amazon.com/lambda/latest/api/API_ImageConfig.html;
    "Container image settings", https://docs.aws.amazon.com/lambda/latest/dg/images-create.html#images-parms).
    The image's CMD is the stream handler; the command names a module the image copies into its task root,
    with a handler function, so the override resolves inside the same image."""
    function = client(moto, "lambda").get_function(FunctionName=applied["function_name"])
    configuration = function["Configuration"]
    assert configuration["PackageType"] == "Image"
    assert function["Code"]["ImageUri"] == INPUTS["image_uri"]
    (command,) = configuration["ImageConfigResponse"]["ImageConfig"]["Command"]
    assert command == "export_function.handler"
    dockerfile = (ROOT / "artifacts" / "update_indices" / "Dockerfile").read_text()
    assert 'CMD ["function.handler"]' in dockerfile
    assert "COPY lambda/ ${LAMBDA_TASK_ROOT}/" in dockerfile
    module, _, function_name = command.rpartition(".")
    source = (ROOT / "artifacts" / "update_indices" / "lambda" / f"{module}.py").read_text()
    assert re.search(rf"^def {function_name}\(event\b", source, re.MULTILINE)
    assert configuration["Timeout"] == 900  # Lambda's maximum; the handler answers partial well before it
    assert configuration["Environment"]["Variables"] == {
        **INDEXER_ENVIRONMENT,
        "TABLE_NAME": "books-conf",
        "BULK_LOAD_BUCKET": BUCKET,
    }
    assert applied["function_environment"] == configuration["Environment"]["Variables"]


# ---- the definition ----------------------------------------------------------------------------------------

# "States" in the Amazon States Language (https://states-language.net/spec.html#state-types).
STATE_TYPES = {"Pass", "Task", "Choice", "Wait", "Succeed", "Fail", "Parallel", "Map"}
# Resources the definition may call, each with the page that documents it.
RESOURCES = {
    # "Invoke an AWS Lambda function with Step Functions", optimized integration (Payload, ResultSelector)
    "arn:aws:states:::lambda:invoke",
    # "Learning to use AWS service SDK integrations in Step Functions" (aws-sdk:<service>:<apiAction>)
    "arn:aws:states:::aws-sdk:dynamodb:exportTableToPointInTime",
    "arn:aws:states:::aws-sdk:dynamodb:describeExport",
}
# "Handle transient Lambda service exceptions"
# (https://docs.aws.amazon.com/step-functions/latest/dg/bp-lambda-serviceexception.html) retries these; the
# Invoke API's throttling error is TooManyRequestsException, named Lambda.<error> by the integration.
LAMBDA_ERRORS = {
    "Lambda.ServiceException",
    "Lambda.AWSLambdaException",
    "Lambda.SdkClientException",
    "Lambda.TooManyRequestsException",
}


def _states(machine: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for name, state in machine["States"].items():
        yield name, state
        if "ItemProcessor" in state:
            yield from _states(state["ItemProcessor"])


FUNCTION_ERRORS = {error.__name__ for error in (ItemsFailed, ExportTooOld)}


def test_the_definition_uses_only_what_step_functions_documents(applied: dict[str, Any], moto: str) -> None:
    definition = json.loads(applied["definition"])
    described = client(moto, "stepfunctions").describe_state_machine(
        stateMachineArn=applied["state_machine_arn"]
    )
    assert json.loads(described["definition"]) == definition
    assert described["type"] == "STANDARD"
    maps = []
    for name, state in _states(definition):
        assert state["Type"] in STATE_TYPES, name
        if state["Type"] == "Task":
            assert state["Resource"] in RESOURCES, f"{name}: {state['Resource']}"
            for retrier in state.get("Retry", []):
                for error in retrier["ErrorEquals"]:
                    # aws-sdk errors: "ServiceName.ErrorName", both in PascalCase (the SDK integration page);
                    # the function's own errors by their exception class (a Python function's errorType):
                    # "States can report errors with other names", not beginning with "States." ("Handling
                    # errors in Step Functions workflows",
                    # https://docs.aws.amazon.com/step-functions/latest/dg/concepts-error-handling.html)
                    assert (
                        error in LAMBDA_ERRORS
                        or error in FUNCTION_ERRORS
                        or error == "States.TaskFailed"
                        or re.fullmatch(r"DynamoDb\.[A-Z][A-Za-z]+Exception", error)
                    ), f"{name}: {error}"
        if state["Resource" if state["Type"] == "Task" else "Type"] == "arn:aws:states:::lambda:invoke":
            # The state's data stays small: "Maximum input or output size for a task, state, or execution:
            # 256 KiB" ("Step Functions service quotas",
            # https://docs.aws.amazon.com/step-functions/latest/dg/service-quotas.html); the function may
            # answer up to Lambda's 6 MB, but only these fields enter the state's data.
            assert "ResultSelector" in state, name
            assert all(path.startswith("$.Payload.") for path in state["ResultSelector"].values()), name
        if state["Type"] == "Map":
            maps.append((name, state))
    assert {name for name, _ in maps} == {"Files", "Slices"}
    for name, state in maps:
        # "Using Map state in Distributed mode": DISTRIBUTED processing, items from S3 (ItemReader, a JSON
        # array), results to S3 (ResultWriter); MaxConcurrency up to 10,000 child executions.
        assert state["ItemProcessor"]["ProcessorConfig"] == {
            "Mode": "DISTRIBUTED",
            "ExecutionType": "STANDARD",
        }
        assert state["ItemReader"]["Resource"] == "arn:aws:states:::s3:getObject"
        assert state["ItemReader"]["ReaderConfig"] == {"InputType": "JSON"}
        assert state["ItemReader"]["Parameters"]["Bucket"] == BUCKET
        assert state["ResultWriter"]["Resource"] == "arn:aws:states:::s3:putObject"
        assert state["ResultWriter"]["Parameters"]["Prefix"].startswith("results/")
        # No tolerated failure: the default, zero, fails the run when any child fails
        # ("Tolerated failure threshold for Distributed Map state",
        # https://docs.aws.amazon.com/step-functions/latest/dg/maprun-fail-threshold.html).
        assert not {key for key in state if key.startswith("ToleratedFailure")}, name
        assert state["MaxConcurrency"] == applied["max_concurrency"] == 3 * 2


def test_the_bucket_refuses_requests_without_tls(applied: dict[str, Any], moto: str) -> None:
    """ "Enforce encryption of data in transit ... use the aws:SecureTransport condition" ("Security best
    practices for Amazon S3", https://docs.aws.amazon.com/AmazonS3/latest/userguide/security-best-practices.html):
    the bucket's one policy statement denies every action, on the bucket and its objects, without TLS."""
    policy = json.loads(client(moto, "s3").get_bucket_policy(Bucket=applied["bucket_name"])["Policy"])
    (statement,) = policy["Statement"]
    assert statement["Effect"] == "Deny"
    assert statement["Principal"] == "*" or statement["Principal"] == {"AWS": "*"}
    assert statement["Action"] == "s3:*"
    assert sorted(statement["Resource"]) == [BUCKET_ARN, f"{BUCKET_ARN}/*"]
    assert statement["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_the_log_group_and_alarm_watch_the_state_machine(applied: dict[str, Any], moto: str) -> None:
    described = client(moto, "stepfunctions").describe_state_machine(
        stateMachineArn=applied["state_machine_arn"]
    )
    (destination,) = described["loggingConfiguration"]["destinations"]
    assert destination["cloudWatchLogsLogGroup"]["logGroupArn"].endswith(
        f":log-group:{applied['log_group_names']['state_machine']}:*"
    )
    alarms = client(moto, "cloudwatch").describe_alarms(AlarmNamePrefix=f"{NAME}-")["MetricAlarms"]
    # "Step Functions metrics": ExecutionsFailed, ExecutionsTimedOut and ExecutionsAborted, per
    # StateMachineArn (https://docs.aws.amazon.com/step-functions/latest/dg/procedure-cw-metrics.html): every
    # way a run can end unfinished notifies someone
    assert sorted(alarm["MetricName"] for alarm in alarms) == [
        "ExecutionsAborted",
        "ExecutionsFailed",
        "ExecutionsTimedOut",
    ]
    for alarm in alarms:
        assert alarm["Namespace"] == "AWS/States"
        assert alarm["Dimensions"] == [{"Name": "StateMachineArn", "Value": applied["state_machine_arn"]}]
        assert alarm["AlarmActions"] == alarm["OKActions"] == INPUTS["alarm_actions"]


# ---- validations -------------------------------------------------------------------------------------------

REFUSED = {
    "a stream ARN for the table": (
        {"table_arn": f"{TABLE_ARN}/stream/2026-01-01T00:00:00.000"},
        "table_arn must be a DynamoDB table ARN",
    ),
    "an environment that is not the indexer's": (
        {"indexer_environment": {"LOG_LEVEL": "INFO"}},
        "indexer_environment must be the stream indexer's environment",
    ),
    "an environment that sets what the module sets": (
        {"indexer_environment": {**INDEXER_ENVIRONMENT, "TABLE_NAME": "other"}},
        "nor a TABLE_NAME other than table_arn's table",
    ),
    "more writers per node than write threads": (
        {"concurrency_per_data_node": 17},
        "concurrency_per_data_node must be a whole number from 1 to 16",
    ),
    "an alarm that notifies nobody": ({"alarm_actions": []}, "alarm_actions must name at least one topic"),
    "exports that expire before a redrive": ({"object_expiration_days": 3}, "object_expiration_days must be"),
    "a timeout over Lambda's 900 s": ({"timeout": 901}, "timeout must be between 60 and 900 seconds"),
}


@pytest.mark.parametrize("case", sorted(REFUSED))
def test_inputs_that_would_break_a_run_are_refused_at_plan_time(planner: Workdir, case: str) -> None:
    overrides, message = REFUSED[case]
    planner.inputs(**overrides)
    result = planner.terraform("plan", "-input=false", "-lock=false", "-refresh=false", check=False)
    assert result.returncode != 0, f"{case} planned"
    text = " ".join((result.stderr + result.stdout).split())
    assert "Invalid value for variable" in text, text
    assert message in text, text


def test_an_environment_over_lambdas_4_kb_is_refused_at_plan_time(planner: Workdir) -> None:
    """ "4 KB, for all environment variables associated with the function, in aggregate" ("Lambda quotas",
    https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html): the export function carries
    the indexer's environment and two more variables, so an environment the indexer just fits can fail
    here; the plan says so instead of CreateFunction."""
    crowded = {
        **INDEXER_ENVIRONMENT,
        "INDEX_INCLUDE_ATTRIBUTES": ",".join(f"attribute_{n:04d}" for n in range(270)),
    }
    planner.inputs(indexer_environment=crowded)
    result = planner.terraform("plan", "-input=false", "-lock=false", "-refresh=false", check=False)
    assert result.returncode != 0
    text = " ".join((result.stderr + result.stdout).split())
    assert "Lambda allows 4 KB (4096 bytes) in aggregate" in text, text
    planner.inputs(
        indexer_environment={**INDEXER_ENVIRONMENT, "TABLE_NAME": "books-conf"}
    )  # the same table: fine
    planner.terraform("plan", "-input=false", "-lock=false", "-refresh=false")


def test_max_concurrency_is_capped_at_the_distributed_maps_limit(planner: Workdir) -> None:
    """ "Distributed mode ... up to 10,000 parallel child workflow executions" ("Using Map state in
    Distributed mode", https://docs.aws.amazon.com/step-functions/latest/dg/state-map-distributed.html)."""
    planner.inputs(opensearch_data_node_count=1000, concurrency_per_data_node=16)
    planner.terraform("plan", "-input=false", "-lock=false", "-refresh=false", "-out=plan.bin")
    plan = json.loads(planner.terraform("show", "-json", "plan.bin").stdout)
    assert plan["planned_values"]["outputs"]["max_concurrency"]["value"] == 10000
