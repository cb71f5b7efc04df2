"""Second entry point of the indexer's image (``ImageConfig.Command = ["export_function.handler"]``): the
bulk-load state machine's children (backfill, reindex and audit from a DynamoDB export). All the work is in
``indexer.ops.bulk_load`` and its ``export_children``/``slice_children``."""

from __future__ import annotations

from typing import Any

from indexer.ops.bulk_load import handle


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return handle(event, context)
