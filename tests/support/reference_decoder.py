"""The boto3-based decoder the fast one (``attribute_values``) must equal: boto3's ``TypeDeserializer``,
finishing the job (plain JSON-ready values instead of Decimal/set/Binary). Not used at run time; the
property test tests/indexer/test_attribute_values.py keeps it as the oracle."""

from __future__ import annotations

import base64
from collections.abc import Iterable
from decimal import Decimal

from boto3.dynamodb.types import TypeDeserializer

from indexer.attribute_values import decimal_of, number_of, raw_bytes


class PlainDeserializer(TypeDeserializer):
    """boto3's TypeDeserializer with plain results: exact numbers, sorted sets, base64 binary."""

    def _deserialize_n(self, value: str) -> int | Decimal:
        return number_of(decimal_of(value))

    def _deserialize_ns(self, value: Iterable[str]) -> list[int | Decimal]:
        return [number_of(n) for n in sorted(decimal_of(v) for v in value)]

    def _deserialize_ss(self, value: Iterable[str]) -> list[str]:
        return sorted(value)

    def _deserialize_b(self, value: bytes | bytearray | str) -> str:
        return base64.b64encode(raw_bytes(value)).decode("ascii")

    def _deserialize_bs(self, value: Iterable[bytes | bytearray | str]) -> list[str]:
        return [base64.b64encode(b).decode("ascii") for b in sorted(raw_bytes(v) for v in value)]
