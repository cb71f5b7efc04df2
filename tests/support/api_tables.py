"""The tables the api module's templates write, created on moto as the modules create them: the books table
(partition key "id", modules/table) and the api module's own table of Idempotency-Key records."""

from __future__ import annotations

from typing import Any

__all__ = ["create_books_table", "create_idempotency_table"]


def create_books_table(dynamodb: Any, name: str) -> None:
    dynamodb.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )


def create_idempotency_table(dynamodb: Any, name: str) -> None:
    """The api module's Idempotency-Key records (modules/api/main.tf): scope + entry, TTL on expiresAt."""
    dynamodb.create_table(
        TableName=name,
        KeySchema=[
            {"AttributeName": "scope", "KeyType": "HASH"},
            {"AttributeName": "entry", "KeyType": "RANGE"},
        ],
        AttributeDefinitions=[
            {"AttributeName": "scope", "AttributeType": "S"},
            {"AttributeName": "entry", "AttributeType": "S"},
        ],
        BillingMode="PAY_PER_REQUEST",
    )
    dynamodb.update_time_to_live(
        TableName=name, TimeToLiveSpecification={"Enabled": True, "AttributeName": "expiresAt"}
    )
