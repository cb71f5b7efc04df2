"""A document hook for the operations tests (DOCUMENT_HOOK=ops.ops_hooks:stamp)."""

from __future__ import annotations

from typing import Any

from indexer.changes import Change


def stamp(document: dict[str, Any], change: Change) -> dict[str, Any] | None:
    """Drops drafts; copies the version into the document (the case that needs a version-aware audit)."""
    if document.get("status") == "draft":
        return None
    document["indexed_version"] = change.version
    return document


def refuse_boom(document: dict[str, Any], change: Change) -> dict[str, Any]:
    """Fails items titled "boom" (a permanent per-item error, as a mapping conflict would be)."""
    if document.get("title") == "boom":
        raise ValueError("boom is not indexable")
    return document
