"""IAM that is exercised: the indexer and the operations tools run under exactly the policies Terraform
creates, with IAM evaluated, and every permission those policies grant is proven necessary.

The lambda module (with the table module) is applied by Terraform to a moto of this module's own that
evaluates IAM (``support.iam_moto``: signatures, identity policies, resource ARNs). Then:

- **The indexer** runs as on AWS, under its execution role (assumed, so moto evaluates the role's own
  policies, read live): the event source mapping's part with the role (Lambda "needs the following permissions
  to manage resources related to your DynamoDB stream": ``dynamodb:DescribeStream``, ``GetRecords``,
  ``GetShardIterator``, ``ListStreams``, "Using AWS Lambda with Amazon DynamoDB",
  https://docs.aws.amazon.com/lambda/latest/dg/with-ddb.html#events-dynamodb-permissions; the on-failure
  destination's ``sqs:SendMessage``, https://docs.aws.amazon.com/lambda/latest/dg/services-dynamodb-errors.html),
  the runtime's log delivery (``logs:CreateLogStream``, ``logs:PutLogEvents``,
  https://docs.aws.amazon.com/lambda/latest/dg/monitoring-cloudwatchlogs-advanced.html), and the handler,
  ``indexer.batch.process_event``, with the role's keys in its environment as Lambda passes them
  (https://docs.aws.amazon.com/lambda/latest/dg/configuration-envvars.html), signing its OpenSearch requests
  for ``es`` through ``support.iam_gate``, which evaluates ``es:ESHttp*`` on the domain's resource ARNs.
- **The operations tools** (``python -m indexer.ops``) run under a user that has only the module's operator
  policy attached.
- **Removing any one permission** from either policy must make something fail: a permission nothing needs is
  an extra permission, and the test names it.

What neither moto nor the gate evaluates, and which conformance tests cover instead: the domain's resource
policy and its ``aws:PrincipalArn`` condition, the execution role's trust policy and its ``aws:SourceAccount``
condition (``test_conformance_live.py``), key and topic policies.
"""

from __future__ import annotations

import contextlib
import copy
import io
import json
import shutil
import subprocess
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from books_local.failure_destination import failure_message
from books_local.lambda_events import LambdaContext, lambda_record
from books_local.terragrunt import provider_config, terraform_env
from indexer import batch
from indexer.ops.__main__ import main as ops_main
from support import iam_moto
from support.iam_gate import IamGate, Principal, evaluate

ROOT = Path(__file__).resolve().parents[2]
REGION = "us-east-1"
ACCOUNT = "123456789012"  # moto's
pytestmark = pytest.mark.timeout(1800)

CONFIG = """
module "table" {{
  source                      = "{root}/modules/table"
  name                        = "{name}"
  hash_key                    = "id"
  deletion_protection_enabled = false
}}

module "indexer" {{
  source                      = "{root}/modules/lambda"
  function_name               = "{name}-indexer"
  image_uri                   = "{account}.dkr.ecr.{region}.amazonaws.com/{name}-indexer:1"
  create_ecr_repository       = false
  create_event_source_mapping = false # moto answers 500 to table writes once a mapping targets an image
  table_stream_arn            = module.table.table_stream_arn
  table_partition_key         = "id"
  opensearch_endpoint         = "search-{name}.{region}.es.amazonaws.com"
  opensearch_domain_arn       = "arn:aws:es:{region}:{account}:domain/{name}"
  opensearch_index            = "{index}"
  alarm_actions               = ["arn:aws:sns:{region}:{account}:{name}-alarms"]
}}

output "table" {{
  value = module.table
}}

output "indexer" {{
  value = module.indexer
}}
"""


@dataclass
class Deployment:
    moto: iam_moto.EnforcingMoto
    name: str
    index: str
    table: dict[str, Any]
    indexer: dict[str, Any]
    function: dict[
        str, Any
    ]  # GetFunctionConfiguration (moto cannot verify signatures of Lambda's REST paths)

    @property
    def domain_arn(self) -> str:
        return f"arn:aws:es:{REGION}:{ACCOUNT}:domain/{self.name}"


@dataclass(frozen=True)
class Keys:
    key: str
    secret: str
    token: str | None
    arn: str

    def client(self, moto: iam_moto.EnforcingMoto, service: str) -> Any:
        extra = {"token": self.token} if self.token else {}
        return moto.client(service, key=self.key, secret=self.secret, **extra)

    def environ(self) -> dict[str, str]:
        environ = {"AWS_ACCESS_KEY_ID": self.key, "AWS_SECRET_ACCESS_KEY": self.secret}
        environ["AWS_SESSION_TOKEN"] = self.token or ""
        return environ


@pytest.fixture(scope="module")
def deployment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    workdir = tmp_path_factory.mktemp("iam-exercised")
    moto = iam_moto.start(workdir / "moto.log")
    name, index = "books-iam", f"iam{uuid.uuid4().hex[:8]}"
    try:
        (workdir / "main.tf").write_text(
            CONFIG.format(root=ROOT, name=name, index=index, region=REGION, account=ACCOUNT)
        )
        (workdir / "provider.tf").write_text(
            provider_config(REGION, moto.endpoint, {}, credentials=(moto.admin_key, moto.admin_secret))
        )
        # The apply is not under test (an administrator makes the resources), and moto cannot verify the
        # provider's signature of some Lambda calls (GetFunction answers 403): evaluation is off meanwhile.
        moto.without_authentication(True)
        for command in (["init"], ["apply", "-auto-approve"]):
            result = subprocess.run(
                ["terraform", *command, "-input=false", "-no-color"],
                cwd=workdir,
                env=terraform_env(),
                capture_output=True,
                text=True,
                timeout=1200,
            )
            assert result.returncode == 0, result.stderr[-3000:]
        shown = subprocess.run(
            ["terraform", "output", "-json"], cwd=workdir, env=terraform_env(), capture_output=True, text=True
        )
        outputs = {key: value["value"] for key, value in json.loads(shown.stdout).items()}
        moto.without_authentication(True)
        function = moto.client("lambda").get_function_configuration(FunctionName=f"{name}-indexer")
        moto.without_authentication(False)
        yield Deployment(moto, name, index, outputs["table"], outputs["indexer"], function)
    finally:
        moto.stop()


def _documents(iam: Any, kind: str, name: str) -> list[str]:
    """The identity policies of a role or user, read live (inline and attached managed ones), as JSON."""
    documents: list[str] = []
    if kind == "role":
        inline = iam.list_role_policies(RoleName=name)["PolicyNames"]
        documents += [
            json.dumps(iam.get_role_policy(RoleName=name, PolicyName=p)["PolicyDocument"]) for p in inline
        ]
        attached = iam.list_attached_role_policies(RoleName=name)["AttachedPolicies"]
    else:
        inline = iam.list_user_policies(UserName=name)["PolicyNames"]
        documents += [
            json.dumps(iam.get_user_policy(UserName=name, PolicyName=p)["PolicyDocument"]) for p in inline
        ]
        attached = iam.list_attached_user_policies(UserName=name)["AttachedPolicies"]
    for policy in attached:
        version = iam.get_policy(PolicyArn=policy["PolicyArn"])["Policy"]["DefaultVersionId"]
        document = iam.get_policy_version(PolicyArn=policy["PolicyArn"], VersionId=version)["PolicyVersion"]
        documents.append(json.dumps(document["Document"]))
    return documents


@pytest.fixture(scope="module")
def role_keys(deployment: Deployment) -> Keys:
    """The execution role's session, as Lambda assumes it. moto would evaluate the trust policy against the
    administrator (it has no service principals), so the assumption itself is made with evaluation off."""
    deployment.moto.without_authentication(True)
    try:
        answer = deployment.moto.client("sts").assume_role(
            RoleArn=deployment.indexer["role_arn"], RoleSessionName=deployment.indexer["function_name"]
        )
    finally:
        deployment.moto.without_authentication(False)
    credentials = answer["Credentials"]
    return Keys(
        credentials["AccessKeyId"],
        credentials["SecretAccessKey"],
        credentials["SessionToken"],
        answer["AssumedRoleUser"]["Arn"],
    )


@pytest.fixture(scope="module")
def operator_keys(deployment: Deployment) -> Keys:
    """A user whose only permissions are the operator policy Terraform created."""
    iam = deployment.moto.client("iam")
    iam.create_user(UserName="operator")
    iam.attach_user_policy(UserName="operator", PolicyArn=deployment.indexer["operator_policy_arn"])
    key = iam.create_access_key(UserName="operator")["AccessKey"]
    return Keys(key["AccessKeyId"], key["SecretAccessKey"], None, f"arn:aws:iam::{ACCOUNT}:user/operator")


@pytest.fixture(scope="module")
def gate(
    deployment: Deployment, role_keys: Keys, operator_keys: Keys, strict_opensearch_url: str
) -> Iterator[IamGate]:
    iam = deployment.moto.client("iam")
    owners = {
        role_keys.key: (role_keys, "role", deployment.indexer["role_name"]),
        operator_keys.key: (operator_keys, "user", "operator"),
    }

    def principal(access_key: str) -> Principal | None:
        if access_key not in owners:
            return None
        keys, kind, name = owners[access_key]
        return Principal(keys.arn, keys.secret, _documents(iam, kind, name))

    with IamGate(
        strict_opensearch_url, domain_arn=deployment.domain_arn, region=REGION, principals=principal
    ) as g:
        yield g


@pytest.fixture(scope="module")
def items(deployment: Deployment) -> dict[str, dict[str, Any]]:
    """Writes made by the API (not under test): three books, one of them deleted again (a tombstone)."""
    table = deployment.moto.client("dynamodb")
    books = {
        f"book-{n}": {"id": {"S": f"book-{n}"}, "title": {"S": f"Title {n}"}, "version": {"N": "1"}}
        for n in range(3)
    }
    for item in books.values():
        table.put_item(TableName=deployment.table["table_name"], Item=item)
    table.delete_item(TableName=deployment.table["table_name"], Key={"id": {"S": "book-2"}})
    return books


def _reset_index(opensearch_url: str, index: str) -> None:
    """Drop the alias's indices on the stand-in itself (not through the gate): a cold start creates them."""
    for number in (1, 2, 3):
        request = urllib.request.Request(f"{opensearch_url}/{index}-v{number}", method="DELETE")
        try:
            urllib.request.urlopen(request, timeout=10).close()
        except urllib.error.HTTPError as error:
            if error.code != 404:
                raise


def run_indexer(
    deployment: Deployment, keys: Keys, gate: IamGate, monkeypatch: pytest.MonkeyPatch
) -> list[str]:
    """One delivery of the table's stream as Lambda makes it, every AWS call with the role's keys; what
    failed, as text (empty when everything worked)."""
    moto, problems = deployment.moto, []
    _drain(moto.client("sqs"), deployment.indexer["dead_letter_queue_url"])
    stream_arn = deployment.table["table_stream_arn"]
    streams = keys.client(moto, "dynamodbstreams")
    records: list[dict[str, Any]] = []
    shard_id = ""
    try:  # the event source mapping's poller
        streams.list_streams(TableName=deployment.table["table_name"])
        for shard in streams.describe_stream(StreamArn=stream_arn)["StreamDescription"]["Shards"]:
            shard_id = shard["ShardId"]
            iterator = streams.get_shard_iterator(
                StreamArn=stream_arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
            )["ShardIterator"]
            records += streams.get_records(ShardIterator=iterator)["Records"]
    except ClientError as error:
        problems.append(f"stream: {error}")
    configuration = deployment.function
    environ = {
        **configuration["Environment"]["Variables"],
        "OPENSEARCH_ENDPOINT": gate.url,
        "AWS_REGION": REGION,
        **keys.environ(),
    }
    _set_environment(monkeypatch, environ)
    batch.reset_runtime()
    context = LambdaContext(configuration["FunctionName"], configuration["FunctionArn"], 512, 60)
    event = {"Records": [lambda_record(record, stream_arn, REGION) for record in records]}
    if not records:
        problems.append("the poller read no records")
        return problems
    try:  # the function
        response = batch.process_event(event, context)
        if response.get("batchItemFailures"):
            problems.append(f"handler reported failures: {response}")
    except Exception as error:  # a cold start that cannot create the index raises, as on Lambda
        problems.append(f"handler: {type(error).__name__}: {error}")
    finally:
        batch.reset_runtime()
    try:  # the mapping's on-failure destination (a batch given up on), then the runtime's log delivery
        message = failure_message(
            records=event["Records"][:1],
            shard_id=shard_id,
            stream_arn=stream_arn,
            function_arn=configuration["FunctionArn"],
            condition="RetryAttemptsExhausted",
            invoke_count=11,
            function_error=None,
        )
        sqs = keys.client(moto, "sqs")
        sqs.send_message(
            QueueUrl=deployment.indexer["dead_letter_queue_url"], MessageBody=json.dumps(message)
        )
        gone = json.loads(json.dumps(message).replace(shard_id, "shardId-00000000000000000000-00000000"))
        sqs.send_message(QueueUrl=deployment.indexer["dead_letter_queue_url"], MessageBody=json.dumps(gone))
        logs = keys.client(moto, "logs")
        stream_name = f"2026/01/01/[$LATEST]{uuid.uuid4().hex}"
        logs.create_log_stream(logGroupName=deployment.indexer["log_group_name"], logStreamName=stream_name)
        logs.put_log_events(
            logGroupName=deployment.indexer["log_group_name"],
            logStreamName=stream_name,
            logEvents=[{"timestamp": int(time.time() * 1000), "message": json.dumps(response_log(records))}],
        )
    except ClientError as error:
        problems.append(f"delivery: {error}")
    problems += [f"opensearch: {d.action} on {d.resource}" for d in gate.denied() if d.principal == keys.arn]
    return problems


def _drain(sqs: Any, queue_url: str) -> None:
    """Empty the queue (PurgeQueue may run once a minute, on moto as on SQS)."""
    while messages := sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages"):
        for message in messages:
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])


def response_log(records: list[dict[str, Any]]) -> dict[str, Any]:
    return {"message": "batch processed", "records": len(records)}


def _set_environment(monkeypatch: pytest.MonkeyPatch, environ: dict[str, str]) -> None:
    """The process environment a Lambda (or the operator's shell) would have; an empty value is unset."""
    for variable, value in environ.items():
        if value:
            monkeypatch.setenv(variable, value)
        else:
            monkeypatch.delenv(variable, raising=False)


# Each command with the exit code it ends with when every permission it needs is there. The queue holds two
# messages (run_indexer): one batch the stream still holds, one naming a shard that never existed.
OPS_COMMANDS: tuple[tuple[tuple[str, ...], int], ...] = (
    (("backfill",), 0),
    (("audit", "--recheck-after", "0"), 0),
    # the live batch is replayed from the stream and deleted; the other is "gone" and released at once
    # (ChangeMessageVisibility), so the run reports a failure
    (("replay-dlq", "--wait-seconds", "0"), 1),
    # the released message again, from the table's current items for its keys (BatchGetItem): replayed
    (("replay-dlq", "--wait-seconds", "0", "--source", "table"), 0),
    (("purge-tombstones", "--older-than", "48h"), 0),  # the stream's retention and more: scans, purges none
    (("reindex", "--recheck-after", "0", "--delete-old"), 0),
)
DENIED = ("AccessDenied", "not authorized", "AuthorizationException")
# Grants the scenario cannot reach, each with the code path that needs it; any other unexercised grant fails.
# Not proven necessary by this scenario (so listed, never silently passed): the runbook's commands use them on
# paths its run does not reach or whose outcome the removal did not change.
UNREACHED = {
    "ReadTable: dynamodb:GetItem": "backfill --checkpoint re-reads the items an earlier run failed to write "
    "(indexer/ops/backfill.py, _retry_failed); nothing fails to write here",
    "ReadTable: dynamodb:BatchGetItem": "replay-dlq --source table and the audit's rechecks read items "
    "with it (indexer/ops/reads.py); here the table-source replay receives no message (the one the first "
    "replay released does not come back from moto's queue), so it never reads",
    "DrainDeadLetters: sqs:ChangeMessageVisibility": "replay-dlq releases the messages it could not replay "
    "(indexer/ops/dlq.py); without it the first replay still exits 1 for the gone batch and nothing later "
    "observes the release, for the reason above",
}


def run_operator(
    deployment: Deployment, keys: Keys, gate: IamGate, monkeypatch: pytest.MonkeyPatch
) -> list[str]:
    """Every operations command, in-process, under the operator's keys; what failed (empty: all worked)."""
    moto, problems = deployment.moto, []
    configuration = deployment.function
    environ = {
        **configuration["Environment"]["Variables"],
        "OPENSEARCH_ENDPOINT": gate.url,
        "AWS_REGION": REGION,
        "TABLE_NAME": deployment.table["table_name"],
        "DEAD_LETTER_QUEUE_URL": deployment.indexer["dead_letter_queue_url"],
        **keys.environ(),
    }
    _set_environment(monkeypatch, environ)
    for command, expected in OPS_COMMANDS:
        errors = io.StringIO()
        with contextlib.redirect_stderr(errors):
            code = ops_main([*command, "--dynamodb-endpoint", moto.endpoint], environ=environ)
        denied = [line for line in errors.getvalue().splitlines() if any(word in line for word in DENIED)]
        if code != expected or denied:
            problems.append(f"{' '.join(command)} exited {code} (expected {expected}): {denied[:2]}")
    problems += [f"opensearch: {d.action} on {d.resource}" for d in gate.denied() if d.principal == keys.arn]
    return problems


def _without(document: dict[str, Any], sid: str, action: str) -> dict[str, Any]:
    smaller = copy.deepcopy(document)
    for statement in smaller["Statement"]:
        if statement.get("Sid") == sid:
            actions = [statement["Action"]] if isinstance(statement["Action"], str) else statement["Action"]
            statement["Action"] = [a for a in actions if a != action]
    smaller["Statement"] = [s for s in smaller["Statement"] if s["Action"]]
    return smaller


def _grants(document: dict[str, Any]) -> list[tuple[str, str]]:
    return [
        (statement["Sid"], action)
        for statement in document["Statement"]
        for action in ([statement["Action"]] if isinstance(statement["Action"], str) else statement["Action"])
    ]


def _each_permission_removed(
    document: dict[str, Any],
    put: Callable[[dict[str, Any]], None],
    run: Callable[[], list[str]],
    gate: IamGate,
) -> list[str]:
    """The grants whose removal broke nothing (extra permissions), trying each one alone (after proving the
    whole policy works, or every removal would look necessary)."""
    extra = []
    gate.decisions.clear()
    assert run() == [], "the unchanged policy must work before permissions are taken away"
    try:
        for sid, action in _grants(document):
            put(_without(document, sid, action))
            gate.decisions.clear()
            if not run():
                extra.append(f"{sid}: {action}")
    finally:
        put(document)
    return extra


# ---- the indexer ------------------------------------------------------------------------------------------


def test_the_indexer_runs_under_exactly_its_execution_role(
    deployment: Deployment,
    role_keys: Keys,
    gate: IamGate,
    items: dict[str, Any],
    opensearch_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _reset_index(opensearch_url, deployment.index)
    gate.decisions.clear()
    assert run_indexer(deployment, role_keys, gate, monkeypatch) == []
    allowed = {(d.action, d.resource.split("/", 2)[-1]) for d in gate.decisions if d.allowed}
    assert allowed == {
        ("es:ESHttpGet", deployment.index),  # the alias and what it points at (cold start)
        ("es:ESHttpPut", f"{deployment.index}-v1"),  # the first index, created with its alias
        ("es:ESHttpPost", f"{deployment.index}/_bulk"),
    }


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "{index}/_delete_by_query"),
        ("POST", "{index}-v1/_delete_by_query"),
        ("POST", "{index}-v1/_close"),
        ("POST", "{index}/_close"),
        ("PUT", "{index}-v1/_settings"),
        ("PUT", "{index}/_settings"),
        ("DELETE", "{index}-v1"),
        ("POST", "_bulk"),
        ("PUT", "{index}-v2"),
    ],
)
def test_the_indexers_role_cannot_delete_close_or_reconfigure_the_index(
    deployment: Deployment, method: str, path: str
) -> None:
    """Issue 19: the grant on "<alias>-*" also covered _delete_by_query, _close and _settings (IAM's "*"
    matches "/": "IAM JSON policy elements: Resource",
    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_resource.html).
    The role's rendered policy, evaluated for those requests' actions and resources, allows none of them."""
    action = f"es:ESHttp{method.capitalize()}"
    resource = f"{deployment.domain_arn}/{path.format(index=deployment.index)}"
    assert evaluate([deployment.indexer["role_policy_json"]], action, resource) is False


def test_a_call_outside_the_role_is_denied(deployment: Deployment, role_keys: Keys) -> None:
    """The enforcement is real: the same keys may not scan the table (only the stream is theirs)."""
    with pytest.raises(ClientError, match=r"AccessDenied|not authorized"):
        role_keys.client(deployment.moto, "dynamodb").scan(TableName=deployment.table["table_name"])


def test_removing_any_one_permission_from_the_indexers_role_breaks_it(
    deployment: Deployment,
    role_keys: Keys,
    gate: IamGate,
    items: dict[str, Any],
    opensearch_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    iam = deployment.moto.client("iam")
    role = deployment.indexer["role_name"]
    (policy_name,) = iam.list_role_policies(RoleName=role)["PolicyNames"]
    document = iam.get_role_policy(RoleName=role, PolicyName=policy_name)["PolicyDocument"]
    assert json.loads(deployment.indexer["role_policy_json"]) == document  # the module's rendered policy

    def put(policy: dict[str, Any]) -> None:
        iam.put_role_policy(RoleName=role, PolicyName=policy_name, PolicyDocument=json.dumps(policy))

    def run() -> list[str]:
        _reset_index(opensearch_url, deployment.index)
        return run_indexer(deployment, role_keys, gate, monkeypatch)

    assert _each_permission_removed(document, put, run, gate) == []


# ---- the operations tools ---------------------------------------------------------------------------------


def test_the_operations_tools_run_under_exactly_the_operator_policy(
    deployment: Deployment,
    role_keys: Keys,
    operator_keys: Keys,
    gate: IamGate,
    items: dict[str, Any],
    opensearch_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _reset_index(opensearch_url, deployment.index)
    assert run_indexer(deployment, role_keys, gate, monkeypatch) == []  # an index, a tombstone, a dead letter
    gate.decisions.clear()
    assert run_operator(deployment, operator_keys, gate, monkeypatch) == []
    assert json.loads(deployment.indexer["operator_policy_json"]) == json.loads(
        json.dumps(_attached(deployment))
    )


def _attached(deployment: Deployment) -> dict[str, Any]:
    iam = deployment.moto.client("iam")
    arn = deployment.indexer["operator_policy_arn"]
    version = iam.get_policy(PolicyArn=arn)["Policy"]["DefaultVersionId"]
    return iam.get_policy_version(PolicyArn=arn, VersionId=version)["PolicyVersion"]["Document"]


def test_removing_any_one_permission_from_the_operator_policy_breaks_a_tool(
    deployment: Deployment,
    role_keys: Keys,
    operator_keys: Keys,
    gate: IamGate,
    items: dict[str, Any],
    opensearch_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    iam = deployment.moto.client("iam")
    arn = deployment.indexer["operator_policy_arn"]
    document = _attached(deployment)

    def put(policy: dict[str, Any]) -> None:
        for version in iam.list_policy_versions(PolicyArn=arn)["Versions"]:
            if not version["IsDefaultVersion"]:
                iam.delete_policy_version(PolicyArn=arn, VersionId=version["VersionId"])
        iam.create_policy_version(PolicyArn=arn, PolicyDocument=json.dumps(policy), SetAsDefault=True)

    def run() -> list[str]:
        _reset_index(opensearch_url, deployment.index)
        assert run_indexer(deployment, role_keys, gate, monkeypatch) == []
        gate.decisions.clear()
        return run_operator(deployment, operator_keys, gate, monkeypatch)

    assert sorted(_each_permission_removed(document, put, run, gate)) == sorted(UNREACHED)


if shutil.which("terraform") is None:  # pragma: no cover - every machine of this project has it
    pytest.skip("needs terraform", allow_module_level=True)
