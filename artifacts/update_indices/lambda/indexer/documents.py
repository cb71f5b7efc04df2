"""Project: a Change into an opensearch-py bulk action (an index of the projected document, or a delete).

Projection: ``INDEX_INCLUDE_ATTRIBUTES`` keeps only the listed top-level attributes, then
``INDEX_EXCLUDE_ATTRIBUTES`` drops the listed ones, so sensitive attributes never reach the index.

The hook (``DOCUMENT_HOOK=module.path:function``) is the one place to transform or enrich a document::

    def enrich(document: dict, change: Change) -> dict | None: ...

It receives the projected document (a fresh dict it may change in place) and the Change (key, version,
kind), and returns the document to index, or None to keep the item out of the index: None turns the upsert
into a versioned delete, so an item that stops qualifying disappears instead of staying stale. The hook
runs only for upserts. Whatever it raises, or a return value that is not a JSON-serializable dict, fails that
record as a permanent error (reported, never silently dropped).

A delete is written as a tombstone document (``tombstones``), never as a delete request, so its version
survives an OpenSearch restart. Every action built from a stream record also stores the record's sequence
number (the reserved field ``indexer_sequence``) when it has no counter version; such a change gets its
concurrency condition from ``sequence_guard`` before it is sent.
"""

from __future__ import annotations

import importlib
import json
import time
from collections.abc import Callable
from typing import Any, Literal, TypedDict

from opensearchpy.exceptions import SerializationError
from opensearchpy.serializer import JSONSerializer

from indexer.changes import Change
from indexer.errors import HookError, SettingsError
from indexer.keys import RAW_ID_FIELD, is_hashed
from indexer.settings import Settings
from indexer.tombstones import (
    SEQUENCE_FIELD,
    TOMBSTONE_FIELD,
    sequence_text,
    tombstone_source,
    without_reserved,
)

Hook = Callable[[dict[str, Any], Change], "dict[str, Any] | None"]
_SERIALIZER = JSONSerializer()


class BulkAction(TypedDict, total=False):
    """An action for ``opensearchpy.helpers.streaming_bulk`` (its ``expand_action`` reads these names).

    No ``_index``: the index is in the request's URL (``POST /<index>/_bulk``). A domain with
    ``rest.action.multi.allow_explicit_index=false`` (so index-scoped IAM cannot be bypassed) refuses a whole
    ``_bulk`` request when any action names an index, even the URL's own."""

    _op_type: Literal["index", "create", "delete"]
    _id: str
    version: int
    version_type: Literal["external_gte", "external"]
    _source: dict[str, Any]


def load_hook(spec: str | None) -> Hook | None:
    """Import ``module.path:function``; SettingsError naming DOCUMENT_HOOK when it cannot be found."""
    if spec is None:
        return None
    module_name, _, function_name = spec.partition(":")
    try:
        module = importlib.import_module(module_name)
    except Exception as exc:  # not only ImportError: whatever the module raises while it is imported
        raise SettingsError(
            f"DOCUMENT_HOOK: cannot import module {module_name!r}: {type(exc).__name__}: {exc}"[:500]
        ) from exc
    hook = getattr(module, function_name, None)
    if not callable(hook):
        raise SettingsError(f"DOCUMENT_HOOK: module {module_name!r} has no function {function_name!r}")
    return hook


def project(image: dict[str, Any], settings: Settings) -> dict[str, Any]:
    """The image restricted by the include list, minus the exclude list (top-level attributes)."""
    if settings.include_attributes is not None:
        document = {name: image[name] for name in settings.include_attributes if name in image}
    else:
        document = without_reserved(image)  # the indexer's own fields are never taken from an item
    for name in settings.exclude_attributes:
        document.pop(name, None)
    return document


def build_action(change: Change, settings: Settings, hook: Hook | None) -> BulkAction | None:
    """The bulk action for a change; None when there is nothing to write (an upsert without a NewImage,
    as a KEYS_ONLY stream delivers). HookError when the hook fails."""
    if change.kind == "delete":
        return delete_action(change, settings)
    if change.image is None:
        return None
    document = project(change.image, settings)
    if hook is not None:
        document = run_hook(hook, document, change)
        if document is None:
            return delete_action(change, settings)
    if is_hashed(change.doc_id):  # the _id is a hash of a key over 512 bytes: keep the full id searchable
        document[RAW_ID_FIELD] = settings.keys.raw_id(change.key)
    return _versioned(change, settings, without_reserved(document))


def delete_action(change: Change, settings: Settings) -> BulkAction:
    """A delete, written as a tombstone document with the delete's version (see ``tombstones``).

    Its deletion time is the stream record's creation time; a change read from the table (a backfilled item
    the hook drops, a repair) has none, so it gets the time it is written: ``purge-tombstones`` finds a
    tombstone by that age, and one without any would never be purged. The time decides only when space is
    given back, never which write wins (the version does)."""
    deleted_at = change.created_at if change.created_at is not None else time.time()
    return _versioned(change, settings, tombstone_source(deleted_at))


def is_tombstone_action(action: BulkAction) -> bool:
    return bool(action.get("_source", {}).get(TOMBSTONE_FIELD))


def _versioned(change: Change, settings: Settings, source: dict[str, Any]) -> BulkAction:
    if change.version is None and change.sequence_number is not None:  # ordered by sequence_guard
        source[SEQUENCE_FIELD] = sequence_text(change.sequence_number)
    action: BulkAction = {
        "_op_type": "index",
        "_id": change.doc_id,
        "_source": source,
    }
    if change.version is not None:
        action["version"] = change.version
        action["version_type"] = "external_gte"
    return action


def run_hook(hook: Hook, document: dict[str, Any], change: Change) -> dict[str, Any] | None:
    try:
        result = hook(document, change)
    except Exception as exc:
        raise HookError(f"DOCUMENT_HOOK raised {type(exc).__name__}: {exc}"[:300]) from exc
    if result is None:
        return None
    if not isinstance(result, dict):
        raise HookError(f"DOCUMENT_HOOK returned {type(result).__name__}, expected dict or None")
    try:  # NaN and infinities too: JSON has no such numbers, and the bulk writer's orjson would write null
        json.dumps(result, allow_nan=False, default=_SERIALIZER.default)
    except (SerializationError, TypeError, ValueError) as exc:
        raise HookError(
            f"DOCUMENT_HOOK returned a document that is not JSON-serializable: {exc}"[:300]
        ) from exc
    return result
