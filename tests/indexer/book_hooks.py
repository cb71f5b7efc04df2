"""Document hooks used by the tests through DOCUMENT_HOOK=book_hooks:<function>."""

from __future__ import annotations

from typing import Any

from indexer.changes import Change


def enrich(document: dict[str, Any], change: Change) -> dict[str, Any] | None:
    """Adds a sortable title and drops drafts from the index."""
    if document.get("status") == "draft":
        return None
    document["title_sort"] = str(document.get("title", "")).casefold()
    document["indexed_version"] = change.version
    return document


def explode(document: dict[str, Any], change: Change) -> dict[str, Any]:
    raise KeyError("price")


def not_a_dict(document: dict[str, Any], change: Change) -> list[str]:
    return ["no"]


not_callable = 42


def refuse_poison(document: dict[str, Any], change: Change) -> dict[str, Any]:
    """Fails for a book titled "poison", passes every other one through."""
    if document.get("title") == "poison":
        raise ValueError("poisoned title")
    return document
