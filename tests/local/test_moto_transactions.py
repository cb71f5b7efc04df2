"""The local stack's moto runs DynamoDB transactions as DynamoDB does (books_local.moto_transactions).

DynamoDB: a transaction's actions succeed or fail together; a cancelled one reports a reason per action in
order, with the old item where ReturnValuesOnConditionCheckFailure is ALL_OLD ("TransactWriteItems",
https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_TransactWriteItems.html); transactions are
serializable with each other and with standard writes ("Isolation levels for DynamoDB transactions",
https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/transaction-apis.html#transaction-isolation).
moto as released copies every table a transaction names (a POST /books cost grows with the table) and puts the
copies back on cancel, and two concurrent transactions can both pass one condition.
"""

from __future__ import annotations

import copy
import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from books_local import moto_transactions
from books_local.ports import free_port

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def dynamodb() -> Iterator[Any]:
    """``python -m books_local.moto_server`` as the local stack starts it, on a free port."""
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT / "local")}
    process = subprocess.Popen(
        [sys.executable, "-m", "books_local.moto_server", "-H", "127.0.0.1", "-p", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    endpoint = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            urllib.request.urlopen(f"{endpoint}/moto-api/", timeout=1).close()
            break
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                pytest.fail("books_local.moto_server did not start")
            time.sleep(0.1)
    try:
        client = boto3.client("dynamodb", endpoint_url=endpoint, region_name="us-east-1")
        client.create_table(
            TableName="books",
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
            StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
        )
        yield client
    finally:
        process.terminate()
        process.wait(timeout=10)


def put(book_id: str, **extra: Any) -> dict[str, Any]:
    return {
        "Put": {
            "TableName": "books",
            "Item": {"id": {"S": book_id}, "title": {"S": "t"}},
            "ConditionExpression": "attribute_not_exists(id)",
            "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
            **extra,
        }
    }


def test_a_cancelled_transaction_writes_nothing_and_names_each_actions_reason(dynamodb: Any) -> None:
    dynamodb.put_item(TableName="books", Item={"id": {"S": "taken"}, "title": {"S": "first"}})

    with pytest.raises(ClientError) as raised:
        dynamodb.transact_write_items(TransactItems=[put("fresh"), put("taken")])

    reasons = raised.value.response["CancellationReasons"]
    assert [reason["Code"] for reason in reasons] == ["None", "ConditionalCheckFailed"]
    assert reasons[1]["Item"]["title"] == {"S": "first"}
    assert "Item" not in dynamodb.get_item(TableName="books", Key={"id": {"S": "fresh"}})


def test_two_actions_on_one_item_are_refused_before_anything_is_written(dynamodb: Any) -> None:
    with pytest.raises(ClientError) as raised:
        dynamodb.transact_write_items(TransactItems=[put("twice"), put("twice")])

    assert raised.value.response["Error"]["Code"] == "ValidationException"
    assert "Item" not in dynamodb.get_item(TableName="books", Key={"id": {"S": "twice"}})


def test_concurrent_transactions_on_one_condition_let_exactly_one_through(dynamodb: Any) -> None:
    def attempt(_: int) -> bool:
        try:
            dynamodb.transact_write_items(TransactItems=[put("raced")])
        except ClientError:
            return False
        return True

    with ThreadPoolExecutor(max_workers=16) as pool:
        outcomes = list(pool.map(attempt, range(32)))

    assert outcomes.count(True) == 1


def test_a_transaction_copies_no_table(monkeypatch: pytest.MonkeyPatch) -> None:
    """moto as released deep-copies each named table per transaction: its cost grows with the table."""
    from moto import mock_aws
    from moto.dynamodb.models.table import Table

    moto_transactions.install()
    copied: list[str] = []
    real_deepcopy = copy.deepcopy

    def spy(value: Any, *args: Any) -> Any:
        if isinstance(value, Table):
            copied.append(value.name)
        return real_deepcopy(value, *args)

    monkeypatch.setattr(copy, "deepcopy", spy)
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        client.create_table(
            TableName="books",
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        client.transact_write_items(TransactItems=[put("a")])
        with pytest.raises(ClientError):
            client.transact_write_items(TransactItems=[put("b"), put("a")])

    assert copied == []
