"""The stream view type the indexer needs, checked on the records themselves at every invocation.

Every DynamoDB Streams record says what it captured in ``dynamodb.StreamViewType``: ``KEYS_ONLY``,
``NEW_IMAGE``, ``OLD_IMAGE`` or ``NEW_AND_OLD_IMAGES``
(https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_streams_StreamRecord.html). The indexer
indexes new images and versions deletes from old images, so it needs ``NEW_AND_OLD_IMAGES``. Any other view
type fails the invocation with a :class:`SettingsError` naming the table's setting, instead of acknowledging
every record with a warning and leaving the index empty or stale. Records without the field (hand-made
events) are not judged.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from indexer.errors import SettingsError

REQUIRED_VIEW_TYPE = "NEW_AND_OLD_IMAGES"


def check_stream_view_type(records: Iterable[Mapping[str, Any]]) -> None:
    """SettingsError when a record comes from a stream whose view type the indexer cannot work with."""
    for record in records:
        view_type = (record.get("dynamodb") or {}).get("StreamViewType")
        if view_type is not None and view_type != REQUIRED_VIEW_TYPE:
            raise SettingsError(
                f"StreamViewType {view_type}: the indexer needs {REQUIRED_VIEW_TYPE} (new images to index, "
                "old images to version deletes); set the table's StreamSpecification.StreamViewType "
                f"(stream_view_type of modules/table) to {REQUIRED_VIEW_TYPE}"
            )
