"""The documents of a multi-get answer, refusing the ones that are errors instead of reading them as absent.

OpenSearch answers ``_mget`` with HTTP 200 even when it could not read a document: that document's entry
carries an ``error`` (an index that does not exist, e.g. a lost alias's index, or a shard that is not
available during a restart) and no ``found`` (the multi-get action turns per-index and per-shard failures
into per-document failures: "Multi-get documents", https://docs.opensearch.org/latest/api-reference/
document-apis/multi-get/, response fields). Read as "not found", such an entry would make a writer create a
document over one it could not see. Every reader of ``_mget`` takes the documents through ``docs_of``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from opensearchpy.exceptions import TransportError


class MgetItemError(TransportError):
    """A document of a multi-get answer is an error, not a document or an absence."""


def docs_of(answer: Mapping[str, Any]) -> list[dict[str, Any]]:
    """``answer["docs"]``; MgetItemError naming the first entry that is an error."""
    docs = list(answer.get("docs", []))
    for doc in docs:
        if "error" in doc:
            error = doc["error"]
            kind = error.get("type", "error") if isinstance(error, dict) else str(error)
            raise MgetItemError(
                "N/A", f"mget of {doc.get('_id')!r} in {doc.get('_index')!r} failed: {kind}", doc
            )
    return docs
