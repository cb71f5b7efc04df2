"""DynamoDB JSON (``{"N": "7"}``, ``{"M": {...}}``) to plain JSON-ready values, without boto3.

The result is exactly what boto3's ``TypeDeserializer`` gives, finished for JSON (the boto3-based decoder in
tests/support/reference_decoder.py is the oracle of a property test over every DynamoDB type): integers stay
exact Python ints (no float rounding of large integers), non-integral numbers stay exact ``Decimal``
(``exact_json`` writes their digits), sets become sorted lists, binary becomes base64 text. Binary arrives as
bytes from boto3 clients, as ``boto3.dynamodb.types.Binary`` from the resource API and as base64 text in
Lambda events; all are accepted.

Why not boto3 at run time: its dispatch (a ``getattr`` of a formatted, lower-cased method name per value) was
the largest single cost of decoding a stream record (bench/cpu.py), and importing ``boto3.dynamodb.types``
pulls boto3, botocore and s3transfer into the handler's cold start. This module dispatches through one dict
and imports boto3 only when a ``Binary`` value actually arrives.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Iterable, Mapping
from decimal import Decimal
from typing import Any

from indexer.errors import RecordError

_MAX_FAST_INT_DIGITS = 38  # DynamoDB's precision; longer digit strings take the Decimal path


def plain_value(attribute: Mapping[str, Any]) -> Any:
    """One DynamoDB-JSON attribute value (e.g. ``{"N": "7"}``) as plain JSON (``7``). Like boto3: the first
    key names the type, in any letter case; TypeError when there is none or it is unknown."""
    if attribute.__class__ is not dict:
        attribute = dict(attribute)
    if not attribute:
        raise TypeError("Value must be a nonempty dictionary whose key is a valid dynamodb type.")
    tag = next(iter(attribute))
    decode = _DECODERS.get(tag)
    if decode is None:
        decode = _DECODERS.get(f"{tag}".lower())
        if decode is None:
            raise TypeError(f"Dynamodb type {tag} is not supported")
    return decode(attribute[tag])


def decimal_of(text: Any) -> Decimal:
    """The exact number. Not boto3's 38-digit context: it raises ``Rounded`` on DynamoDB's own plain text of
    a number like 1E+40 (a 1 and 40 zeros), although it has one significant digit."""
    number = Decimal(text)
    if not number.is_finite():
        raise ValueError(f"number {text!r} is not finite")
    return number


def number_of(value: Decimal) -> int | Decimal:
    return int(value) if value == value.to_integral_value() else value


def raw_bytes(value: Any) -> bytes:
    """Bytes from bytes, a boto3 ``Binary`` or base64 text; RecordError for anything else."""
    if isinstance(value, bytes | bytearray):
        return bytes(value)
    if not isinstance(value, str):
        from boto3.dynamodb.types import Binary  # only when the resource API handed us one

        if isinstance(value, Binary):
            return bytes(value.value)
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise RecordError("binary attribute is neither bytes nor base64 text") from exc


def _n(text: Any) -> int | Decimal:
    if text.__class__ is str and len(text) <= _MAX_FAST_INT_DIGITS and text.isascii() and text.isdigit():
        return int(text)  # the common case: a non-negative integer in plain digits
    return number_of(decimal_of(text))


def _ns(values: Iterable[Any]) -> list[int | Decimal]:
    return [number_of(n) for n in sorted(decimal_of(v) for v in values)]


def _b(value: Any) -> str:
    return base64.b64encode(raw_bytes(value)).decode("ascii")


def _bs(values: Iterable[Any]) -> list[str]:
    return [base64.b64encode(b).decode("ascii") for b in sorted(raw_bytes(v) for v in values)]


def _l(values: Iterable[Mapping[str, Any]]) -> list[Any]:
    return [plain_value(v) for v in values]


def _m(values: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    return {k: plain_value(v) for k, v in values.items()}


def _same(value: Any) -> Any:
    return value


def _null(_: Any) -> None:
    return None


_BY_TYPE: dict[str, Callable[[Any], Any]] = {
    "s": _same,
    "n": _n,
    "b": _b,
    "bool": _same,
    "null": _null,
    "m": _m,
    "l": _l,
    "ss": sorted,
    "ns": _ns,
    "bs": _bs,
}
_DECODERS = {**_BY_TYPE, **{name.upper(): decode for name, decode in _BY_TYPE.items()}}
