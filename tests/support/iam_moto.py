"""A moto server that authorizes DynamoDB calls as AWS does, for the tests that run under exactly the policies
Terraform creates. Run it as a process: ``python -m support.iam_moto -H 127.0.0.1 -p PORT``.

moto evaluates identity policies once its INITIAL_NO_AUTH_ACTION_COUNT is used up (``POST
/moto-api/reset-auth`` with ``0`` switches enforcement on after the setup), but for DynamoDB it checks
every action against the resource ``*``: a policy scoped to a table ARN, as ours are, allows nothing, and a
policy on ``*`` allows everything. And it authorizes TransactWriteItems as one action,
``dynamodb:TransactWriteItems``, which IAM does not have. AWS authorizes a call on the table it names
(https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazondynamodb.html: the resource
type of PutItem, GetItem, UpdateItem, DeleteItem, Scan, ... is ``table``,
``arn:${Partition}:dynamodb:${Region}:${Account}:table/${TableName}``), and each action of a transaction
as the single-item call it stands for, on its own table ("Permissions for Put, Update, Delete, and Get
actions are governed by the permissions used for the underlying PutItem, UpdateItem, DeleteItem, and GetItem
operations.
For the ConditionCheck action, you can use the dynamodb:ConditionCheckItem permission", "Using IAM with
DynamoDB transactions",
https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/transaction-apis-iam.html). This module makes
moto's DynamoDB handler do both before the server starts, and refuse as DynamoDB does: HTTP 400,
``AccessDeniedException`` in DynamoDB's JSON ("Error handling with DynamoDB", common errors:
https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Programming.Errors.html), where moto answers
IAM's 403 XML. What moto still cannot evaluate: Condition blocks of identity policies, resource-based
policies, permission boundaries, session policies and SCPs.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from typing import Any

__all__ = ["TRANSACTION_ACTIONS", "install", "permissions"]

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


if __name__ == "__main__":
    install()
    from moto.server import main

    main(sys.argv[1:])
