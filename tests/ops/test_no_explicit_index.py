"""Every writer names its index in the URL only: no ``_index`` in any ``_bulk`` or ``_mget`` body line.

The production domain runs with ``rest.action.multi.allow_explicit_index=false`` (Amazon OpenSearch Service
"advanced options", https://docs.aws.amazon.com/opensearch-service/latest/developerguide/ac.html#ac-advanced),
so that an IAM policy scoped to index paths cannot be bypassed by naming another index in a request body. With
it OpenSearch refuses the WHOLE request with 400 "explicit index in bulk is not allowed", even when the
``_index`` equals the URL's. The stand-in accepts explicit indices; the strict proxy (``support.fault_proxy``)
refuses them as the domain does, and every test of tests/indexer and tests/ops writes through it.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest
from opensearchpy import OpenSearch
from ops.traffic import Table

from indexer.batch import Runtime, process_batch
from indexer.ops.audit import AuditOptions, audit
from indexer.ops.backfill import BackfillOptions, backfill
from indexer.ops.purge import purge_tombstones
from indexer.ops.reindex import ReindexOptions, reindex
from indexer.ops.target import Target, open_target, settings_from
from support.fault_proxy import EXPLICIT_INDEX_REFUSAL, FaultProxy, Recorded
from support.streams import LambdaContext

DAY = 86400
SHARD_START = 820400000000000001192334  # shaped like a shard start in AWS's DynamoDB Streams examples


@pytest.fixture
def proxy(opensearch_url: str) -> Iterator[FaultProxy]:
    with FaultProxy(opensearch_url) as running:  # strict and recording
        yield running


def post(url: str, body: bytes) -> tuple[int, dict[str, Any]]:
    request = urllib.request.Request(
        url, data=body, method="POST", headers={"Content-Type": "application/x-ndjson"}
    )
    try:
        with urllib.request.urlopen(request) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_conformance_the_strict_proxy_refuses_explicit_indices_as_the_domain_does(
    proxy: FaultProxy, unique_name: str
) -> None:
    explicit = f'{{"index":{{"_index":"{unique_name}","_id":"a"}}}}\n{{"n":1}}\n'.encode()
    assert post(f"{proxy.url}/{unique_name}/_bulk", explicit) == (400, EXPLICIT_INDEX_REFUSAL)
    mget = json.dumps({"docs": [{"_index": unique_name, "_id": "a"}]}).encode()
    assert post(f"{proxy.url}/{unique_name}/_mget", mget) == (400, EXPLICIT_INDEX_REFUSAL)
    status, _ = post(f"{proxy.url}/_bulk", b'{"index":{"_id":"a"}}\n{"n":1}\n')
    assert status == 403  # the root path is outside an index-scoped IAM policy
    status, answer = post(f"{proxy.url}/{unique_name}/_bulk", b'{"index":{"_id":"a"}}\n{"n":1}\n')
    assert (status, answer["errors"]) == (200, False)
    assert len(proxy.explicit_index_refusals) == 3


def record(name: str, position: int, book_id: str, created_at: float, counter: int | None) -> dict[str, Any]:
    image: dict[str, Any] = {"id": {"S": book_id}, "title": {"S": f"t{position}"}}
    if counter is not None:
        image["version"] = {"N": str(counter)}
    body: dict[str, Any] = {
        "Keys": {"id": {"S": book_id}},
        "SequenceNumber": str(SHARD_START + position * 10**20 + position),
        "ApproximateCreationDateTime": float(int(created_at)),
        "StreamViewType": "NEW_AND_OLD_IMAGES",
        ("OldImage" if name == "REMOVE" else "NewImage"): image,
    }
    return {"eventName": name, "eventSource": "aws:dynamodb", "dynamodb": body}


def body_lines(request: Recorded) -> list[dict[str, Any]]:
    """The metadata a _bulk/_mget request names: bulk action lines, or the mget body."""
    if request.is_bulk:
        return [meta for action in request.bulk_actions() for meta in action.values()]
    body = json.loads(request.body)
    return [body, *body.get("docs", [])]


def writes(proxy: FaultProxy, since: int) -> list[Recorded]:
    return [r for r in proxy.requests[since:] if urlsplit(r.path).path.endswith(("/_bulk", "/_mget"))]


def check_step(proxy: FaultProxy, since: int, expected_index: str, through_alias: bool) -> None:
    """The step sent bulk requests, all to /<expected_index>/_bulk, none refused, no _index anywhere; those
    through the alias with ``require_alias=true`` (a lost alias fails instead of becoming an index), those
    into a concrete index without it."""
    requests = writes(proxy, since)
    bulk_paths = {urlsplit(r.path).path for r in requests if r.is_bulk}
    assert bulk_paths == {f"/{expected_index}/_bulk"}
    queries = {urlsplit(r.path).query for r in requests if r.is_bulk}
    assert queries == ({"require_alias=true"} if through_alias else {""})
    assert all("_index" not in line for r in requests for line in body_lines(r))
    assert all(r.status == 200 for r in requests)
    assert proxy.explicit_index_refusals == []


def test_every_writer_sends_its_index_in_the_url_only(
    env: dict[str, str],
    table: Table,
    proxy: FaultProxy,
    moto_endpoint: str,
    search: OpenSearch,
) -> None:
    alias = env["OPENSEARCH_INDEX"]
    now = time.time()

    mark = len(proxy.requests)  # the Lambda's batch, through the alias; with and without a counter
    runtime = Runtime.from_env({**env, "OPENSEARCH_ENDPOINT": proxy.url})
    records = [
        record("INSERT", 0, "b-old", now - 3 * DAY - 5, 1),
        record("REMOVE", 1, "b-old", now - 3 * DAY, 1),
        record("INSERT", 2, "b-plain", now - 60, None),  # no counter: the sequence guard's mget
    ]
    assert process_batch({"Records": records}, LambdaContext(60), runtime) == {"batchItemFailures": []}
    check_step(proxy, mark, alias, through_alias=True)
    assert any(urlsplit(r.path).path == f"/{alias}/_mget" for r in writes(proxy, mark))

    target: Target = open_target(
        settings_from(env, opensearch_endpoint=proxy.url), table.name, dynamodb_endpoint=moto_endpoint
    )
    table.seed(5)
    mark = len(proxy.requests)  # backfill (ops/writer), through the alias
    assert backfill(target, BackfillOptions(segments=1)).ok
    check_step(proxy, mark, alias, through_alias=True)

    table.dynamodb.delete_item(TableName=table.name, Key={"id": {"S": "b00001"}})  # no stream consumer
    mark = len(proxy.requests)  # audit --repair (ops/repair), into the audited index
    result = audit(target, AuditOptions(segments=1, recheck_after=0, repair=True))
    assert result.repair is not None
    assert result.repair.indexed >= 1
    check_step(proxy, mark, alias, through_alias=True)

    concrete = runtime.index
    mark = len(proxy.requests)  # purge-tombstones, into the concrete index (never the root /_bulk)
    purged = purge_tombstones(target, 2 * DAY)
    assert (purged.found, purged.purged) == (1, 1)
    check_step(proxy, mark, concrete, through_alias=False)

    mark = len(proxy.requests)  # reindex: backfill and catch-up into the new concrete index
    swapped = reindex(target, ReindexOptions(segments=1, recheck_after=0))
    check_step(proxy, mark, swapped.new_index, through_alias=False)
    search.indices.refresh(index=alias)
    assert search.count(index=alias)["count"] == 4  # the table's items: b00001 deleted, b-plain never there
