"""From a document id back to the DynamoDB key it came from (``keys.KeySchema.doc_id`` in reverse).

An orphaned document is known only by its id; checking whether the table still has the item needs its key,
typed as the table declares it (``AttributeDefinitions``: S, N or B).
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from indexer.keys import KeySchema, number_text


class NotAKey(ValueError):
    """The id cannot have come from this table's keys (so the document is an orphan by construction)."""


@dataclass(frozen=True)
class KeyCodec:
    keys: KeySchema
    types: dict[str, str]  # attribute name -> "S" | "N" | "B"

    @classmethod
    def for_table(cls, dynamodb: Any, table: str, keys: KeySchema) -> KeyCodec:
        definitions = dynamodb.describe_table(TableName=table)["Table"]["AttributeDefinitions"]
        return cls(keys, {d["AttributeName"]: d["AttributeType"] for d in definitions})

    def key(self, doc_id: str) -> dict[str, Any]:
        """The DynamoDB-JSON key for ``doc_id``; NotAKey when no item of this table has that id."""
        names = self.keys.names
        if len(names) == 1:
            values: list[Any] = [doc_id]
            texts = True
        else:
            try:
                values = json.loads(doc_id, parse_float=Decimal)
            except ValueError as exc:
                raise NotAKey(f"{doc_id!r} is not a JSON array of two key values") from exc
            if not isinstance(values, list) or len(values) != 2:
                raise NotAKey(f"{doc_id!r} is not a JSON array of two key values")
            texts = False
        return {name: self._attribute(name, value, texts) for name, value in zip(names, values, strict=True)}

    def _attribute(self, name: str, value: Any, text: bool) -> dict[str, Any]:
        kind = self.types.get(name, "S")
        if kind == "S" and isinstance(value, str):
            return {"S": value}
        if kind == "N":
            if text:
                try:
                    value = json.loads(value, parse_float=Decimal)
                except ValueError as exc:
                    raise NotAKey(f"{name}: {value!r} is not a number") from exc
            if isinstance(value, int | Decimal) and not isinstance(value, bool):
                # exact digits in DynamoDB's own plain form (a float, or the default 28-digit context, would
                # lose those beyond its precision; str() would write 0.0000001 as 1E-7)
                return {"N": number_text(value)}
        if kind == "B" and isinstance(value, str):
            try:
                return {"B": base64.b64decode(value, validate=True)}
            except (binascii.Error, ValueError) as exc:
                raise NotAKey(f"{name}: {value!r} is not base64") from exc
        raise NotAKey(f"{name}: {value!r} is not a valid {kind} key value")
