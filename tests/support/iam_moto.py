"""A moto server that evaluates IAM, for tests that run code under exactly the policies Terraform creates.

moto checks every request's signature and its caller's identity policies once ``INITIAL_NO_AUTH_ACTION_COUNT``
requests have been served. It matches a statement's ``Resource`` against the request's resource ARN, but only
SQS, IAM and STS tell it that ARN; every other service's requests are evaluated against ``"*"``, so a policy
scoped to a table or a log group (as every policy here is) denies everything. That is stricter than AWS in a
way that would hide a wrong ARN behind a blanket denial, so this launcher gives moto the ARN AWS evaluates for
the services the indexer and its tools call, from the Service Authorization Reference's resource types:

- DynamoDB: ``table/<TableName>`` (every action the code calls is on the table resource type); DynamoDB
  Streams: the stream ARN (``StreamArn``, or the one moto's shard iterator carries for GetRecords), and for
  ListStreams the table's streams (``table/<TableName>/stream/*``, what the module grants);
  https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazondynamodb.html
- CloudWatch Logs: ``log-group:<name>:log-stream:<stream>`` for CreateLogStream and PutLogEvents, the form
  AWS's own Lambda execution-role examples grant as ``log-group:/aws/lambda/<function>:*``
  (https://docs.aws.amazon.com/lambda/latest/dg/monitoring-cloudwatchlogs-advanced.html).

Still not evaluated (moto's TODO list in moto/iam/access_control.py, and the reasons the conformance tests
exist): Condition blocks of identity policies, resource-based policies (the OpenSearch domain's access policy,
the SNS topic policy, KMS key policies), permissions boundaries and SCPs. OpenSearch's ``es:ESHttp*`` is
evaluated by ``support.iam_gate`` in front of the stand-in, not by moto.

Run as ``python -m support.iam_moto PORT``; ``start`` does that and creates the administrator whose keys set
everything up (the only requests served without authentication).

DynamoDB is authorized per table and, for a transaction, per action as the single-item call it stands for
("Permissions for Put, Update, Delete, and Get actions are governed by the permissions used for the
underlying PutItem, UpdateItem, DeleteItem, and GetItem operations. For the ConditionCheck action, you can use
the dynamodb:ConditionCheckItem permission", "Using IAM with DynamoDB transactions",
https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/transaction-apis-iam.html), refused as
DynamoDB does: HTTP 400, ``AccessDeniedException`` in DynamoDB's JSON ("Error handling with DynamoDB",
https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Programming.Errors.html), where moto
answers IAM's 403 XML (``install``).

Run as ``python -m support.iam_moto PORT`` (or with moto.server's own ``-H HOST -p PORT``).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["TRANSACTION_ACTIONS", "EnforcingMoto", "install", "permissions", "start"]

# A transaction action and the IAM action AWS authorizes it as (transaction-apis-iam.html).
TRANSACTION_ACTIONS = {
    "Put": "PutItem",
    "Update": "UpdateItem",
    "Delete": "DeleteItem",
    "ConditionCheck": "ConditionCheckItem",
    "Get": "GetItem",
}


def table_arn(partition: str, region: str, account: str, table: str) -> str:
    return f"arn:{partition}:dynamodb:{region}:{account}:table/{table}"


def permissions(action: str, body: dict[str, Any], arn: Any) -> Iterator[tuple[str, str]]:
    """(IAM action without the service prefix, resource ARN) pairs a DynamoDB call needs. ``arn`` maps a
    table name to its ARN."""
    if action in ("TransactWriteItems", "TransactGetItems"):
        for item in body.get("TransactItems") or []:
            for kind, operation in item.items():
                yield TRANSACTION_ACTIONS[kind], arn(operation.get("TableName", ""))
    elif action in ("BatchWriteItem", "BatchGetItem"):
        for table, requests in (body.get("RequestItems") or {}).items():
            if action == "BatchGetItem":
                yield "BatchGetItem", arn(table)
                continue
            kinds = {next(iter(request)) for request in requests}
            for kind in sorted(kinds):
                yield {"PutRequest": "PutItem", "DeleteRequest": "DeleteItem"}[kind], arn(table)
    elif body.get("TableName"):
        yield action, arn(body["TableName"])
    else:
        yield action, "*"


def install() -> None:
    from moto.core.exceptions import AccessDeniedError, JsonRESTError
    from moto.dynamodb.responses import DynamoHandler
    from moto.iam.access_control import IAMRequest
    from moto.utilities.utils import get_partition

    def authorize(self: Any, resource: str = "*") -> None:
        action = self._get_action()
        body = self.body if isinstance(self.body, dict) else {}
        partition = get_partition(self.region)

        def arn(table: str) -> str:
            return table_arn(partition, self.region, self.current_account, table)

        try:
            for needed, target in permissions(action, body, arn):
                self._get_action = lambda needed=needed: needed  # the action IAMRequest checks
                try:
                    self._authenticate_and_authorize_action(IAMRequest, target)
                except AccessDeniedError as denied:
                    message = f"{denied.message} on resource: {target}"
                    raise JsonRESTError("com.amazon.coral.service#AccessDeniedException", message) from None
        finally:
            del self._get_action  # the handler's own method again, which dispatches the call

    DynamoHandler._authenticate_and_authorize_normal_action = authorize


BOOTSTRAP_REQUESTS = 3  # CreateUser, PutUserPolicy, CreateAccessKey of the administrator
ADMIN_POLICY = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}


@dataclass(frozen=True)
class EnforcingMoto:
    endpoint: str
    admin_key: str
    admin_secret: str
    process: subprocess.Popen[bytes]

    def client(self, service: str, region: str = "us-east-1", **credentials: str) -> Any:
        """A boto3 client for ``service``: the administrator's unless credentials are given."""
        import boto3

        return boto3.client(
            service,
            endpoint_url=self.endpoint,
            region_name=region,
            aws_access_key_id=credentials.get("key", self.admin_key),
            aws_secret_access_key=credentials.get("secret", self.admin_secret),
            aws_session_token=credentials.get("token"),
        )

    def without_authentication(self, enabled: bool) -> None:
        """Switch evaluation off (True) or on again (False): moto's own /moto-api/reset-auth."""
        body = b"inf" if enabled else b"0"
        request = urllib.request.Request(f"{self.endpoint}/moto-api/reset-auth", data=body, method="POST")
        request.add_header("Content-Type", "application/octet-stream")  # a form type would hide the body
        urllib.request.urlopen(request, timeout=10).close()

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)


def start(log: Path) -> EnforcingMoto:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    tests = Path(__file__).resolve().parents[1]
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "support.iam_moto", str(port)],
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=tests,
            env={
                **os.environ,
                "PYTHONPATH": str(tests),
                "INITIAL_NO_AUTH_ACTION_COUNT": str(BOOTSTRAP_REQUESTS),
            },
        )
    endpoint = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            urllib.request.urlopen(f"{endpoint}/moto-api/", timeout=1).close()
            break
        except OSError as exc:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                raise RuntimeError(f"the enforcing moto did not start (log: {log})") from exc
            time.sleep(0.1)
    import boto3

    iam = boto3.client(
        "iam",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="bootstrap",
        aws_secret_access_key="bootstrap",
    )
    iam.create_user(UserName="administrator")
    iam.put_user_policy(UserName="administrator", PolicyName="all", PolicyDocument=json.dumps(ADMIN_POLICY))
    key = iam.create_access_key(UserName="administrator")["AccessKey"]
    return EnforcingMoto(endpoint, key["AccessKeyId"], key["SecretAccessKey"], process)


# ---- the server process ---------------------------------------------------------------------------------


def _body(handler: Any) -> dict[str, Any]:
    body = handler.body
    if isinstance(body, dict):
        return body
    try:
        return json.loads(body or "{}")
    except (TypeError, ValueError):
        return {}


def _dynamodb_resource(handler: Any) -> str:
    body = _body(handler)
    tables = [body["TableName"]] if "TableName" in body else list(body.get("RequestItems", {}))
    if len(tables) != 1:
        return "*"
    return f"arn:aws:dynamodb:{handler.region}:{handler.current_account}:table/{tables[0]}"


def _streams_resource(handler: Any) -> str:
    body = _body(handler)
    if "StreamArn" in body:
        return body["StreamArn"]
    if "ShardIterator" in body:  # moto's iterators are "<stream arn>|1|<id>"
        return str(body["ShardIterator"]).split("|", 1)[0]
    if "TableName" in body:
        return (
            f"arn:aws:dynamodb:{handler.region}:{handler.current_account}:table/{body['TableName']}/stream/*"
        )
    return "*"


def _logs_resource(handler: Any) -> str:
    body = _body(handler)
    group = body.get("logGroupName")
    if not group:
        return "*"
    arn = f"arn:aws:logs:{handler.region}:{handler.current_account}:log-group:{group}"
    stream = body.get("logStreamName")
    return f"{arn}:log-stream:{stream}" if stream else arn


def main(argv: list[str]) -> None:
    from moto.dynamodb.responses import DynamoHandler
    from moto.dynamodbstreams.responses import DynamoDBStreamsHandler
    from moto.logs.responses import LogsResponse
    from moto.server import main as serve

    DynamoHandler._determine_resource = _dynamodb_resource  # type: ignore[attr-defined]
    DynamoDBStreamsHandler._determine_resource = _streams_resource  # type: ignore[attr-defined]
    LogsResponse._determine_resource = _logs_resource  # type: ignore[attr-defined]
    install()  # DynamoDB per table and per transaction action (replaces the handler's check)
    serve(["-H", "127.0.0.1", "-p", argv[0]] if len(argv) == 1 else argv)


if __name__ == "__main__":
    main(sys.argv[1:])
