"""Indexer throughput (records/s) against the same OpenSearch: ours against the public example's pattern.

Both contenders get the same 10,000 mixed INSERT/MODIFY/REMOVE stream records in the same order, one after
the other against the same server, each into its own fresh index:

- ours: ``indexer.batch.process_event`` over Lambda events of ``--batch-size`` records (one ``_bulk`` per
  batch, external versions, the shipped mapping behind an alias);
- baseline: the public example's loop, one request per record with ``refresh=true``: ``index`` of the raw
  DynamoDB-JSON ``NewImage`` for INSERT/MODIFY, ``delete`` for REMOVE. It gets a keep-alive client (the
  example opens a new connection per record), so the baseline here is the faster, charitable variant.

Each contender's index must end equal to the table the records describe (ids and titles), otherwise the
benchmark fails instead of reporting a number.

The server's ceiling is the server's cost of THE SAME WRITES the indexer makes, with the writer's own cost
taken out: before the timed rounds, the exact ``_bulk`` bodies ours sends for the workload are captured once
(same ids, documents and tombstones, same versions, same chunks: one request per Lambda batch), and the
``ceiling`` contender POSTs those pre-serialised bytes to ``/<fresh alias>/_bulk`` over one keep-alive
``http.client`` connection, into an index created exactly as the indexer creates it (shipped mapping behind
the alias); every item must get the status it got when captured. ``share_of_ceiling`` is ours against it.
The older, looser figure is kept beside it as ``plain_ceiling``: the same changes as ready documents
without versions, 500 per request, into an index with dynamic mapping (``share_of_plain_ceiling``).

Fairness: one warm-up round that is not counted, then ``--rounds`` (at least 5) measured rounds; within a
round the four contenders run in an order that rotates from round to round, each into a fresh index, so
drift in the machine's load falls on all of them alike. Every figure reported is the median over the measured
rounds; the per-round figures are kept in the result file. Run alone:
``.venv/bin/python -m bench.throughput``.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import statistics
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from opensearchpy import NotFoundError, OpenSearch, helpers

from bench import records, results, servers

NAME = "throughput"
CEILING_DEFINITION = (
    "the server's time for the exact _bulk bodies the indexer sent for this workload (captured once: same "
    "ids, documents, tombstones, versions and chunks), replayed as pre-serialised bytes over one keep-alive "
    "connection into an index created as the indexer creates it"
)


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


def ceiling_actions(workload: records.Workload) -> list[dict[str, Any]]:
    """The workload's changes as ready ``_bulk`` actions: what any writer must at least send."""
    from boto3.dynamodb.types import TypeDeserializer

    from bench.backfill import plain

    deserializer = TypeDeserializer()
    actions: list[dict[str, Any]] = []
    for record in workload.records:
        doc_id = record["dynamodb"]["Keys"]["id"]["S"]
        if record["eventName"] == "REMOVE":
            actions.append({"_op_type": "delete", "_id": doc_id})
        else:
            image = record["dynamodb"]["NewImage"]
            doc = {name: plain(deserializer.deserialize(value)) for name, value in image.items()}
            actions.append({"_op_type": "index", "_id": doc_id, "_source": doc})
    return actions


@dataclass(frozen=True)
class CapturedWrites:
    """The ``_bulk`` bodies ours sent for the workload, in order, and the item statuses each got."""

    bodies: list[bytes]
    statuses: list[list[int]]


def capture_writes(url: str, workload: records.Workload, alias: str, batch_size: int) -> CapturedWrites:
    """Run ours once into ``alias`` and keep every ``_bulk`` body it sent, byte for byte (recorded on the
    client's connection, where ``indexer.bulk`` sends them)."""
    configure_indexer(url, alias)
    from indexer.batch import get_runtime, process_event, reset_runtime

    reset_runtime()
    connection = get_runtime().client.transport.get_connection()  # the only one: a single host
    bodies: list[bytes] = []
    statuses: list[list[int]] = []
    send = connection.perform_request

    def recording(method: str, path: str, *args: Any, **kwargs: Any) -> Any:
        status, headers, raw = send(method, path, *args, **kwargs)
        if urlsplit(path).path.endswith("/_bulk"):  # alias writes carry ?require_alias=true
            bodies.append(bytes(kwargs["body"]))
            answer = json.loads(raw)
            statuses.append([next(iter(item.values()))["status"] for item in answer["items"]])
        return status, headers, raw

    connection.perform_request = recording  # type: ignore[method-assign]
    try:
        context = records.FakeContext()
        for event in records.batches(workload.records, batch_size):
            if process_event(event, context).get("batchItemFailures"):
                raise AssertionError("the indexer reported failures while its writes were captured")
    finally:
        reset_runtime()
    return CapturedWrites(bodies, statuses)


def create_like_the_indexer(url: str, alias: str) -> None:
    """The index the indexer would create for ``alias``: shipped settings and mapping, the filtered alias."""
    from indexer.index_setup import alias_body, index_body, versioned_index_name

    body = index_body()
    body["aliases"] = {alias: alias_body()}
    client_for(url).indices.create(index=versioned_index_name(alias), body=body)


def run_ceiling(url: str, captured: CapturedWrites, alias: str) -> float:
    """Seconds for the server to take the captured bodies over one keep-alive connection (see the module)."""
    create_like_the_indexer(url, alias)
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port)
    headers = {"Content-Type": "application/json"}
    answers: list[bytes] = []
    started = time.perf_counter()
    for body in captured.bodies:
        connection.request(
            "POST", f"/{alias}/_bulk?require_alias=true", body=body, headers=headers
        )  # as ours
        response = connection.getresponse()
        answers.append(response.read())
        if response.status != 200:
            raise AssertionError(f"the ceiling run got HTTP {response.status}")
    elapsed = time.perf_counter() - started
    connection.close()
    for answer, expected in zip(answers, captured.statuses, strict=True):
        got = [next(iter(item.values()))["status"] for item in json.loads(answer)["items"]]
        if got != expected:
            raise AssertionError(f"the ceiling's replay got statuses {got}, the indexer got {expected}")
    return elapsed


def run_plain_ceiling(url: str, actions: list[dict[str, Any]], index: str, chunk_size: int) -> float:
    """Seconds for a plain ``_bulk`` of ready documents, no versions, dynamic mapping (the older figure)."""
    client = client_for(url)
    client.indices.create(index=index)
    started = time.perf_counter()
    for ok, item in helpers.streaming_bulk(
        client, actions, index=index, chunk_size=chunk_size, raise_on_error=False
    ):
        if not ok and item.get("delete", {}).get("status") != 404:
            raise AssertionError(f"the ceiling run failed an item: {item}")
    return time.perf_counter() - started


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
    """``process_event`` over Lambda-sized batches into a fresh alias; returns the elapsed seconds.

    The runtime (settings, client, index creation) is built before the clock starts, as a warm container's is.
    """
    configure_indexer(url, alias)
    from indexer.batch import get_runtime, process_event, reset_runtime

    reset_runtime()
    get_runtime()
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


CONTENDERS = ("ours", "baseline", "ceiling", "plain_ceiling")


def run_round(
    url: str,
    workload: records.Workload,
    writes: tuple[CapturedWrites, list[dict[str, Any]]],
    sizes: tuple[int, int],
    label: str,
    turn: int,
) -> dict[str, float]:
    """One round: every contender once, in an order rotated by ``turn``, each checked against the table."""
    shift = turn % len(CONTENDERS)
    order = CONTENDERS[shift:] + CONTENDERS[:shift]
    captured, actions = writes
    batch_size, ceiling_chunk = sizes
    seconds: dict[str, float] = {}
    for contender in order:
        index = f"bench-{contender}-{label}"
        if contender == "ours":
            seconds[contender] = run_ours(url, workload, index, batch_size)
            check_index(url, index, workload, raw=False)
        elif contender == "baseline":
            seconds[contender] = run_baseline(url, workload, index)
            check_index(url, index, workload, raw=True)
        elif contender == "ceiling":
            seconds[contender] = run_ceiling(url, captured, index)
            check_index(url, index, workload, raw=False)
        else:
            seconds[contender] = run_plain_ceiling(url, actions, index, ceiling_chunk)
        client_for(url).indices.delete(index=f"{index}*", ignore_unavailable=True)
    return seconds


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=3_000, help="stream records per round")
    parser.add_argument("--batch-size", type=int, default=100, help="records per Lambda event (ours)")
    parser.add_argument(
        "--ceiling-chunk", type=int, default=500, help="actions per _bulk request of the plain ceiling run"
    )
    parser.add_argument("--rounds", type=int, default=5, help="measured rounds after one warm-up (>= 5)")
    args = parser.parse_args(argv)
    if args.rounds < 5:
        parser.error("--rounds must be at least 5: figures are medians of at least 5 runs")

    workload = records.generate(args.records)
    actions = ceiling_actions(workload)
    rounds: list[dict[str, float]] = []
    with servers.opensearch() as url:
        sizes = (args.batch_size, args.ceiling_chunk)
        captured = capture_writes(url, workload, "bench-capture", args.batch_size)
        client_for(url).indices.delete(index="bench-capture*", ignore_unavailable=True)
        writes = (captured, actions)
        run_round(url, workload, writes, sizes, "warmup", 0)
        for turn in range(args.rounds):
            rounds.append(run_round(url, workload, writes, sizes, f"r{turn}", turn))
        opensearch_kind = "external" if os.environ.get("BENCH_OPENSEARCH_URL") else "osmem-server"

    rates = {c: [args.records / r[c] for r in rounds] for c in CONTENDERS}
    median = {c: statistics.median(values) for c, values in rates.items()}

    def per_round(top: str, bottom: str) -> list[float]:
        return [a / b for a, b in zip(rates[top], rates[bottom], strict=True)]

    figures = {
        "records": args.records,
        "mix": workload.counts,
        "live_items_at_end": len(workload.final_items),
        "batch_size": args.batch_size,
        "ceiling_chunk": args.ceiling_chunk,
        "opensearch": opensearch_kind,
        "rounds": args.rounds,
        "ours_records_per_s": round(median["ours"], 1),
        "baseline_records_per_s": round(median["baseline"], 1),
        "server_bulk_ceiling_docs_per_s": round(median["ceiling"], 1),
        "ratio": round(statistics.median(per_round("ours", "baseline")), 2),
        "share_of_ceiling": round(statistics.median(per_round("ours", "ceiling")), 3),
        "ceiling_definition": CEILING_DEFINITION,
        "ceiling_requests": len(captured.bodies),
        "plain_ceiling_docs_per_s": round(median["plain_ceiling"], 1),
        "share_of_plain_ceiling": round(statistics.median(per_round("ours", "plain_ceiling")), 3),
        "per_round_records_per_s": {c: [round(v, 1) for v in values] for c, values in rates.items()},
    }
    shares = per_round("ours", "ceiling")
    gap_ms = (args.batch_size / median["ours"] - args.batch_size / median["ceiling"]) * 1000
    figures["why"] = {
        "share_of_ceiling": (
            f"per round {min(shares):.1%} to {max(shares):.1%}; the gap is {gap_ms:.1f} ms a batch of "
            f"{args.batch_size} against {args.batch_size / median['ceiling'] * 1000:.1f} ms of the server's, "
            "the indexer's own time (decode, project, serialise, HTTP client: bench.cpu) while the server "
            "waits: Lambda hands a shard's batches over one at a time, so the two cannot overlap"
        )
    }
    results.save(NAME, figures)
    return figures


if __name__ == "__main__":
    main()
