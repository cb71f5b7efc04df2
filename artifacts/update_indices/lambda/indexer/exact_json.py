"""JSON for OpenSearch that keeps DynamoDB numbers exactly: a ``Decimal`` is written as its decimal text.

DynamoDB numbers have up to 38 significant digits
(https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/HowItWorks.NamingRulesDataTypes.html#HowItWorks.DataTypes.Number);
a float keeps about 16, and opensearch-py's ``JSONSerializer`` turns every ``Decimal`` into a float. The
decoder keeps non-integral numbers as ``Decimal`` (integers as ``int``, exact at any size), and this
serializer writes them as JSON numbers in plain notation with exactly their digits: the text DynamoDB sent
(``1.50`` stays ``1.50``, ``0.0000001`` is not turned into ``1E-7``) goes into ``_source`` unchanged.

Documents without a ``Decimal`` take the standard library's C encoder as before; only those with one take
the small encoder below.

``dumps_bytes`` is the bulk writer's fast path: orjson, whose ``default`` hook writes a ``Decimal`` as an
``orjson.Fragment`` of the same exact text. orjson refuses integers outside 64 bits (DynamoDB's up to 38
digits are beyond that) without calling ``default``; such a document takes ``dumps_exact`` instead, so every
number keeps its digits either way.
"""

from __future__ import annotations

import json
from decimal import Decimal
from json.encoder import encode_basestring  # type: ignore[attr-defined]  # the C version when available
from typing import Any

import orjson
from opensearchpy.exceptions import SerializationError
from opensearchpy.serializer import JSONSerializer


def decimal_text(value: Decimal) -> str:
    """The exact value as a JSON number in plain notation, digits as given: ``Decimal("1.50")``: ``1.50``."""
    if not value.is_finite():
        raise ValueError(f"{value} is not a finite number; JSON cannot carry it")
    return format(value, "f")


class _HasDecimal(Exception):
    pass


class ExactJSONSerializer(JSONSerializer):
    """opensearch-py's JSON serializer, writing ``Decimal`` as its exact decimal text instead of a float."""

    def dumps(self, data: Any) -> Any:
        if isinstance(data, str | bytes):  # a pre-built body (the bulk writer's NDJSON) goes out as it is
            return data
        try:
            if isinstance(data, dict) and Decimal in map(type, data.values()):
                return dumps_exact(data, default=super().default)  # skip a fast attempt bound to fail
            try:
                return json.dumps(data, default=self._default, ensure_ascii=False, separators=(",", ":"))
            except _HasDecimal:
                return dumps_exact(data, default=super().default)
        except (ValueError, TypeError) as exc:
            raise SerializationError(data, exc) from exc

    def _default(self, data: Any) -> Any:
        if isinstance(data, Decimal):
            raise _HasDecimal
        return super().default(data)


_OPENSEARCH_DEFAULT = JSONSerializer().default  # dates, UUIDs and the like, as opensearch-py writes them
_ORJSON_OPTIONS = orjson.OPT_NON_STR_KEYS  # like json.dumps: non-string keys become strings


def _orjson_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return orjson.Fragment(decimal_text(value))
    return _OPENSEARCH_DEFAULT(value)


def dumps_bytes(data: Any) -> bytes:
    """Compact UTF-8 JSON with exact Decimals and integers of any size; the same JSON as ``dumps_exact``.

    ValueError or TypeError (opensearch-py's SerializationError for an unknown type) when it is not JSON."""
    try:
        return orjson.dumps(data, default=_orjson_default, option=_ORJSON_OPTIONS)
    except orjson.JSONEncodeError:  # an int beyond 64 bits, or not JSON at all: the exact encoder decides
        return dumps_exact(data, default=_OPENSEARCH_DEFAULT).encode("utf-8", "surrogatepass")  # as before


def dumps_exact(data: Any, *, default: Any = None, sort_keys: bool = False) -> str:
    """Compact JSON like ``json.dumps(separators=(",", ":"), ensure_ascii=False)``, with exact Decimals."""
    parts: list[str] = []
    _encode(data, parts, default, sort_keys)
    return "".join(parts)


_SCALARS: dict[type, Any] = {
    str: encode_basestring,
    int: int.__repr__,
    bool: lambda value: "true" if value else "false",
    type(None): lambda _: "null",
    float: lambda value: json.dumps(value),
    Decimal: decimal_text,
}


def _encode(value: Any, out: list[str], default: Any, sort_keys: bool) -> None:
    scalar = _SCALARS.get(type(value))
    if scalar is not None:
        out.append(scalar(value))
    elif isinstance(value, dict):
        out.append("{")
        items = sorted(value.items()) if sort_keys else value.items()
        first = True
        for key, item in items:
            if not first:
                out.append(",")
            first = False
            out.append(encode_basestring(key if isinstance(key, str) else json.dumps(key).strip('"')))
            out.append(":")
            _encode(item, out, default, sort_keys)
        out.append("}")
    elif isinstance(value, list | tuple):
        out.append("[")
        for i, item in enumerate(value):
            if i:
                out.append(",")
            _encode(item, out, default, sort_keys)
        out.append("]")
    elif isinstance(value, str | int | float | Decimal):  # subclasses of the scalar types
        for kind, encode in _SCALARS.items():
            if isinstance(value, kind) and not (kind is int and isinstance(value, bool)):
                out.append(encode(value))
                return
    elif default is not None:
        _encode(default(value), out, default, sort_keys)
    else:
        raise TypeError(f"Unable to serialize {value!r} (type: {type(value)})")
