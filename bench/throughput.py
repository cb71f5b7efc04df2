"""Indexer throughput (records/s) against the same OpenSearch: ours against the public example's pattern.

Both contenders get the same 10,000 mixed INSERT/MODIFY/REMOVE stream records in the same order, one after
the other against the same server, each into its own fresh index:

- ours: ``indexer.batch.process_event`` over Lambda events of ``--batch-size`` records (one ``_bulk`` per
  batch, external versions, the shipped mapping behind an alias);
- baseline: the public example's loop, one request per record with ``refresh=true``: ``index`` of the raw
  DynamoDB-JSON ``NewImage`` for INSERT/MODIFY, ``delete`` for REMOVE. It gets a keep-alive client (the
  example opens a new connection per record), so the baseline here is the faster, charitable variant.

Each contender's index must end equal to the table the records describe (ids and titles), otherwise the
benchmark fails instead of reporting a number. Run alone: ``.venv/bin/python -m bench.throughput``.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import time
from typing import Any

from opensearchpy import NotFoundError, OpenSearch, helpers

from bench import records, results, servers

NAME = "throughput"


def client_for(url: str) -> OpenSearch:
    return OpenSearch(hosts=[url], timeout=60, http_compress=False)


def run_baseline(url: str, workload: records.Workload, index: str) -> float:
    """The public example's loop; returns the elapsed seconds."""
    client = client_for(url)
    started = time.perf_counter()
    for record in workload.records:
        doc_id = record["dynamodb"]["Keys"]["id"]["S"]
        if record["eventName"] == "REMOVE":
            with contextlib.suppress(NotFoundError):
                client.delete(index=index, id=doc_id, refresh=True)
        else:
            client.index(index=index, id=doc_id, body=record["dynamodb"]["NewImage"], refresh=True)
    return time.perf_counter() - started


def server_ceiling(url: str, workload: records.Workload, index: str, count: int = 3000) -> float:
    """Documents/s the server ingests through plain ``_bulk`` of ready documents: the ceiling for anyone."""
    from boto3.dynamodb.types import TypeDeserializer

    from bench.backfill import plain

    deserializer = TypeDeserializer()
    images = [
        record["dynamodb"]["NewImage"] for record in workload.records if "NewImage" in record["dynamodb"]
    ]
    documents = [
        {name: plain(deserializer.deserialize(value)) for name, value in image.items()}
        for image in images[:count]
    ]
    actions = [{"_index": index, "_id": f"c{n}", "_source": doc} for n, doc in enumerate(documents)]
    started = time.perf_counter()
    helpers.bulk(client_for(url), actions, chunk_size=500)
    return len(actions) / (time.perf_counter() - started)


def configure_indexer(url: str, alias: str) -> None:
    """The indexer reads its settings from the environment at cold start, as in Lambda."""
    os.environ.update(
        {
            "OPENSEARCH_ENDPOINT": url,
            "OPENSEARCH_INDEX": alias,
            "OPENSEARCH_AUTH": "none",
            "AWS_REGION": records.REGION,
            "AWS_DEFAULT_REGION": records.REGION,
            "LOG_LEVEL": os.environ.get("BENCH_INDEXER_LOG_LEVEL", "WARNING"),
        }
    )


def run_ours(url: str, workload: records.Workload, alias: str, batch_size: int) -> float:
    """``process_event`` over Lambda-sized batches; returns the elapsed seconds."""
    configure_indexer(url, alias)
    from indexer.batch import process_event

    context = records.FakeContext()
    started = time.perf_counter()
    for event in records.batches(workload.records, batch_size):
        response = process_event(event, context)
        if response.get("batchItemFailures"):
            raise AssertionError(f"the indexer reported failures on a healthy server: {response}")
    return time.perf_counter() - started


def indexed_titles(url: str, index: str) -> dict[str, Any]:
    client = client_for(url)
    client.indices.refresh(index=index)
    found: dict[str, Any] = {}
    response = client.search(
        index=index, body={"query": {"match_all": {}}, "size": 10_000, "_source": ["title"]}
    )
    for hit in response["hits"]["hits"]:
        found[hit["_id"]] = hit["_source"].get("title")
    return found


def check_index(url: str, index: str, workload: records.Workload, raw: bool) -> None:
    """The index must hold exactly the table's items, each with its latest title."""
    expected = {
        item_id: item["title"] if raw else item["title"]["S"]
        for item_id, item in workload.final_items.items()
    }
    if len(expected) >= 10_000:
        raise ValueError("the check reads at most 10,000 documents: generate fewer live items")
    found = indexed_titles(url, index)
    missing = expected.keys() - found.keys()
    extra = found.keys() - expected.keys()
    wrong = [item_id for item_id in expected.keys() & found.keys() if found[item_id] != expected[item_id]]
    if missing or extra or wrong:
        raise AssertionError(
            f"{index}: {len(missing)} missing, {len(extra)} not in the table, {len(wrong)} with an old title"
        )


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=10_000)
    parser.add_argument("--batch-size", type=int, default=100, help="records per Lambda event (ours)")
    args = parser.parse_args(argv)

    workload = records.generate(args.records)
    with servers.opensearch() as url:
        suffix = time.strftime("%H%M%S")
        alias, baseline_index = f"bench-ours-{suffix}", f"bench-baseline-{suffix}"
        ours_s = run_ours(url, workload, alias, args.batch_size)
        check_index(url, alias, workload, raw=False)
        baseline_s = run_baseline(url, workload, baseline_index)
        check_index(url, baseline_index, workload, raw=True)
        ceiling = server_ceiling(url, workload, f"bench-ceiling-{suffix}")
        opensearch_kind = "external" if os.environ.get("BENCH_OPENSEARCH_URL") else "osmem-server"

    ours_rps = args.records / ours_s
    baseline_rps = args.records / baseline_s
    figures = {
        "records": args.records,
        "mix": workload.counts,
        "live_items_at_end": len(workload.final_items),
        "batch_size": args.batch_size,
        "opensearch": opensearch_kind,
        "ours_seconds": round(ours_s, 3),
        "ours_records_per_s": round(ours_rps, 1),
        "baseline_seconds": round(baseline_s, 3),
        "baseline_records_per_s": round(baseline_rps, 1),
        "ratio": round(ours_rps / baseline_rps, 2),
        "server_bulk_ceiling_docs_per_s": round(ceiling, 1),
    }
    results.save(NAME, figures)
    return figures


if __name__ == "__main__":
    main()
