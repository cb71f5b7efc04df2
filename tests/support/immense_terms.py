"""Lucene's term limit, as OpenSearch applies it to keyword fields, for the strict proxy to enforce.

A keyword field indexes its whole value as one term, and Lucene refuses a term over 32,766 bytes of UTF-8:
the document fails with 400 ``illegal_argument_exception`` "Document contains at least one immense term in
field=... (whose UTF8 encoding is longer than the max length 32766)", caused by
``max_bytes_length_exceeded_exception``. ``ignore_above`` (a number of characters) keeps longer values out of
the index (they stay in ``_source``); a UTF-8 character takes up to 4 bytes, so 32766 / 4 = 8191 characters
is the largest cap that always protects. OpenSearch: "The ignore_above mapping parameter limits the maximum
number of characters for an indexed string"
(https://docs.opensearch.org/latest/mappings/mapping-parameters/ignore-above/); the Elasticsearch 7.x
reference OpenSearch was forked from (https://www.elastic.co/guide/en/elasticsearch/reference/7.10/
ignore-above.html): "useful for protecting against Lucene's term byte-length limit of 32766 [...] The value
for ignore_above is the character count, but Lucene counts bytes [...] 32766 / 4 = 8191 since UTF-8
characters may occupy at most 4 bytes". The stand-in accepts such terms.

``immense_terms`` finds the values a document would be refused for under an index's mappings: keyword fields
and keyword sub-fields (``fields``) without a cap that covers the value; unmapped strings through the
``dynamic_templates`` that match them, else OpenSearch's default (``text`` with a ``keyword`` sub-field capped
at 256 characters, which never refuses). Text fields are analysed into short tokens and are not judged.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterator, Mapping
from typing import Any

MAX_TERM_BYTES = 32766
KEYWORD_TYPES = frozenset({"keyword"})


def immense_terms(mappings: Mapping[str, Any], source: Mapping[str, Any]) -> list[tuple[str, int]]:
    """(field, UTF-8 length) of every value OpenSearch would refuse the document for."""
    refused: list[tuple[str, int]] = []
    for path, value in _strings(source, ()):
        size = len(value.encode("utf-8"))
        if size <= MAX_TERM_BYTES:
            continue
        for field, mapping in _keyword_fields(mappings, path):
            cap = mapping.get("ignore_above")
            if cap is None or len(value) <= int(cap):
                refused.append((field, size))
    return refused


def refusal(index: str, doc_id: str | None, field: str, size: int) -> dict[str, Any]:
    """A bulk item's answer for such a document, as OpenSearch gives it."""
    reason = f"bytes can be at most {MAX_TERM_BYTES} in length; got {size}"
    return {
        "_index": index,
        "_id": doc_id,
        "status": 400,
        "error": {
            "type": "illegal_argument_exception",
            "reason": f'Document contains at least one immense term in field="{field}" (whose UTF8 encoding '
            f"is longer than the max length {MAX_TERM_BYTES}), all of which were skipped.  Please correct "
            f"the analyzer to not produce such terms.  original message: {reason}",
            "caused_by": {"type": "max_bytes_length_exceeded_exception", "reason": reason},
        },
    }


def _strings(value: Any, path: tuple[str, ...]) -> Iterator[tuple[tuple[str, ...], str]]:
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, list):
        for element in value:
            yield from _strings(element, path)
    elif isinstance(value, Mapping):
        for name, inner in value.items():
            yield from _strings(inner, (*path, name))


def _keyword_fields(mappings: Mapping[str, Any], path: tuple[str, ...]) -> list[tuple[str, dict[str, Any]]]:
    """The keyword (sub-)fields a string at ``path`` is indexed into, with their mappings."""
    mapping = _mapped(mappings, path)
    if mapping is None:
        mapping = _dynamic(mappings, path)
    name = ".".join(path)
    found = [(name, mapping)] if mapping.get("type") in KEYWORD_TYPES else []
    for sub, sub_mapping in (mapping.get("fields") or {}).items():
        if sub_mapping.get("type") in KEYWORD_TYPES:
            found.append((f"{name}.{sub}", sub_mapping))
    return found


def _mapped(mappings: Mapping[str, Any], path: tuple[str, ...]) -> dict[str, Any] | None:
    properties: Mapping[str, Any] = mappings.get("properties") or {}
    mapping: dict[str, Any] | None = None
    for name in path:
        mapping = properties.get(name)
        if mapping is None:
            return None
        properties = mapping.get("properties") or {}
    return mapping


def _dynamic(mappings: Mapping[str, Any], path: tuple[str, ...]) -> dict[str, Any]:
    """The first dynamic template that maps a new string at ``path``, else OpenSearch's default mapping."""
    for entry in mappings.get("dynamic_templates") or []:
        template = next(iter(entry.values()))
        if template.get("match_mapping_type", "*") not in ("string", "*"):
            continue
        if "match" in template and not fnmatch.fnmatchcase(path[-1], template["match"]):
            continue
        if "path_match" in template and not fnmatch.fnmatchcase(".".join(path), template["path_match"]):
            continue
        return dict(template.get("mapping") or {})
    return {"type": "text", "fields": {"keyword": {"type": "keyword", "ignore_above": 256}}}
