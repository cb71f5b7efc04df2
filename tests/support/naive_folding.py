"""The well-known write-up's folding scheme, as a stand-in for the indexer, to show the tests catch it.

The write-up folds a single-table design by applying each stream record to the parent's document as it comes:

- a parent row's INSERT/MODIFY updates the parent's fields (a partial ``doc`` update, upserting);
- a child row's INSERT **and** MODIFY append the child to the parent's array (a painless ``add``);
- a child's REMOVE assigns a boolean to the array; a parent's REMOVE is never sent;
- a section (one object) is overwritten by every child row of its kind;
- no version anywhere; failures are logged and the batch is acknowledged.

The stand-in server has no scripts, so each update is a read-modify-write of the document over HTTP, which
is what the script does inside the server. Only the test judges this; nothing ships it.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping
from typing import Any

from boto3.dynamodb.types import TypeDeserializer

_decode = TypeDeserializer().deserialize


class NaiveFolder:
    def __init__(self, opensearch_url: str, config: Mapping[str, Any], partition_key: str, sort_key: str):
        self.url = opensearch_url.rstrip("/")
        self.config = config
        self.partition_key = partition_key
        self.sort_key = sort_key

    def process(self, event: Mapping[str, Any]) -> dict[str, Any]:
        for record in event.get("Records", []):
            try:
                self._apply(record)
            except Exception as exc:  # the write-up logs and moves on
                print(f"naive folder: {type(exc).__name__}: {exc}")
        return {"batchItemFailures": []}

    def _apply(self, record: Mapping[str, Any]) -> None:
        body = record["dynamodb"]
        keys = {k: _decode(v) for k, v in body["Keys"].items()}
        image = {k: _decode(v) for k, v in (body.get("NewImage") or {}).items()}
        pk, sk = keys[self.partition_key], keys[self.sort_key]
        for entity in self.config["entities"]:
            if entity.get("document_id") != "partition_key":
                continue
            if sk.startswith(entity["match"].get("sort_key_prefix", "\0")):
                if record["eventName"] != "REMOVE":
                    self._update(entity["index"], pk, lambda doc, i=image, e=entity: {**doc, **_fields(i, e)})
                return  # a parent delete is never sent
            for child in entity.get("children", []):
                if not sk.startswith(child["match"]["sort_key_prefix"]):
                    continue
                field = child["field"]
                if record["eventName"] == "REMOVE":
                    self._update(entity["index"], pk, lambda doc, field=field: {**doc, field: False})
                elif child.get("fold", "array") == "section":
                    self._update(
                        entity["index"], pk, lambda doc, f=field, i=image, c=child: {**doc, f: _fields(i, c)}
                    )
                else:
                    self._update(
                        entity["index"],
                        pk,
                        lambda doc, f=field, i=image, c=child: _append(doc, f, _fields(i, c)),
                    )
                return

    def _update(self, index: str, doc_id: str, change: Any) -> None:
        path = f"/{index}/_doc/{urllib.parse.quote(doc_id, safe='')}"
        try:
            current = self._request("GET", path)["_source"]
        except urllib.error.HTTPError as exc:
            if exc.code != 404:
                raise
            current = {}
        self._request("PUT", path, change(current))

    def _request(self, method: str, path: str, body: Any = None) -> Any:
        data = json.dumps(body, default=str).encode() if body is not None else None
        request = urllib.request.Request(self.url + path, data=data, method=method)
        request.add_header("content-type", "application/json")
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.loads(response.read())


def _append(document: dict[str, Any], field: str, element: dict[str, Any]) -> dict[str, Any]:
    current = document.get(field)
    return {**document, field: [*(current if isinstance(current, list) else []), element]}


def _fields(image: Mapping[str, Any], level: Mapping[str, Any]) -> dict[str, Any]:
    """The image with the level's include/exclude lists applied (as the indexer would), numbers as JSON."""
    include, exclude = level.get("include"), set(level.get("exclude", ()))
    return {
        k: (float(v) if hasattr(v, "as_tuple") else v)
        for k, v in image.items()
        if (include is None or k in include) and k not in exclude
    }
