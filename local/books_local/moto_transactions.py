"""DynamoDB transactions on moto (the pinned 5.2.x) as DynamoDB runs them: isolated, and at the cost of the
items they touch.

moto's ``transact_write_items`` deep-copies every table a transaction names before it starts (a POST /books
took 77 ms with 500 books in the table, 0.9 s with 5,000), writes action by action, and on a cancelled
transaction puts the copies back: a write another request made meanwhile, and the stream records it produced,
are lost. DynamoDB isolates transactions from each other and from single-item writes ("Isolation levels for
DynamoDB transactions": serializable between a transaction and any standard write,
https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/transaction-apis.html#transaction-isolation).

Here every condition is evaluated first, under a lock that single-item writes also take, and the writes are
made only when all of them hold: nothing to undo, no copies. Validation (more than 100 actions, two actions on
one item, one operation per action) raises before anything is read, as moto does; the answer of a cancelled
transaction is moto's own ``TransactionCanceledException``, reasons in action order with ``ALL_OLD`` items.

The local stack's moto process installs this (``python -m books_local.moto_server``); the test suite's moto
containers run moto as released, where the API's own transactions are isolated by the local gateway.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from typing import Any

__all__ = ["install"]

_LOCK = threading.RLock()
_installed = False


def _locked(method: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(method)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with _LOCK:
            return method(*args, **kwargs)

    return wrapper


def install() -> None:
    """Replaces moto's DynamoDB transact_write_items and serialises its single-item writes with it (once)."""
    global _installed
    if _installed:
        return
    from moto.dynamodb.comparisons import get_filter_expression
    from moto.dynamodb.exceptions import (
        ConditionalCheckFailed,
        MockValidationException,
        MultipleTransactionsException,
        TooManyTransactionsException,
        TransactionCanceledException,
        TransactWriteSingleOpException,
    )
    from moto.dynamodb.models import DynamoDBBackend

    def transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> None:
        if len(transact_items) > 100:
            raise TooManyTransactionsException()
        with _LOCK:
            targets: set[tuple[str, str]] = set()
            writes: list[tuple[str, dict[str, Any], dict[str, Any]]] = []
            errors: list[tuple[str | None, str | None, dict[str, Any] | None]] = []
            for action in transact_items:
                if len(action) > 1:
                    raise TransactWriteSingleOpException
                kind, operation = next(iter(action.items()))
                old: dict[str, Any] | None = None
                try:
                    if kind not in {"ConditionCheck", "Put", "Delete", "Update"}:
                        raise ValueError("Unsupported transaction operation")
                    table = self.get_table(operation["TableName"])
                    if kind == "Put":
                        attributes = operation["Item"]
                        key = {table.hash_key_attr: attributes[table.hash_key_attr]}
                        if table.range_key_attr is not None:
                            key[table.range_key_attr] = attributes[table.range_key_attr]
                    else:
                        key = operation["Key"]
                    target = (str(operation["TableName"]), str(dict(sorted(key.items()))))
                    if target in targets:
                        raise MultipleTransactionsException()
                    targets.add(target)
                    current = self.get_item(operation["TableName"], key)
                    condition = operation.get("ConditionExpression")
                    if condition is not None:
                        check = get_filter_expression(
                            condition,
                            operation.get("ExpressionAttributeNames"),
                            operation.get("ExpressionAttributeValues"),
                        )
                        if not check.expr(current):
                            wanted = operation.get("ReturnValuesOnConditionCheckFailure") == "ALL_OLD"
                            if wanted and current:
                                old = current.to_json()["Attributes"]
                            raise ConditionalCheckFailed(item=old)
                    writes.append((kind, operation, key))
                    errors.append((None, None, None))
                except (MultipleTransactionsException, MockValidationException):
                    raise
                except ConditionalCheckFailed as error:
                    errors.append(("ConditionalCheckFailed", str(error.message), old))
                except Exception as error:  # moto's own mapping of other failures to reasons
                    errors.append((type(error).__name__, str(error), old))
            if any(code is not None for code, _, _ in errors):
                raise TransactionCanceledException(errors)
            # Every condition held at once, under the lock: apply the writes, which cannot fail on them now.
            for kind, operation, key in writes:
                names = operation.get("ExpressionAttributeNames")
                values = operation.get("ExpressionAttributeValues")
                if kind == "Put":
                    self.put_item(operation["TableName"], operation["Item"])
                elif kind == "Delete":
                    self.delete_item(operation["TableName"], key)
                elif kind == "Update":
                    self.update_item(
                        operation["TableName"],
                        key,
                        update_expression=operation["UpdateExpression"],
                        expression_attribute_names=names,
                        expression_attribute_values=values,
                    )

    DynamoDBBackend.transact_write_items = transact_write_items
    for name in ("put_item", "update_item", "delete_item"):
        setattr(DynamoDBBackend, name, _locked(getattr(DynamoDBBackend, name)))
    _installed = True
