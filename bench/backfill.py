"""Backfill items/s: the ops ``backfill`` command against a naive scan that indexes one item per request.

Both read the same generated table (100,000 books by default) from ``bench.scan_responder``, a fast
read-only DynamoDB endpoint (moto's Scan would be the bottleneck and both would measure moto), and write to
the same OpenSearch server, each into its own index:

- ours: ``python -m indexer.ops backfill`` as an operator runs it (parallel scan segments, documents built
  by the stream path's code, external snapshot versions, ``_bulk`` writes);
- naive: the one-off script public write-ups end with: one sequential scan, each item converted to plain
  JSON and written with its own ``index`` request (no refresh, the charitable variant).

Each index must end with exactly the table's item count, or the benchmark fails.
Run alone: ``.venv/bin/python -m bench.backfill [--items N] [--naive-items N]``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from decimal import Decimal
from typing import Any

import boto3
from boto3.dynamodb.types import TypeDeserializer
from opensearchpy import OpenSearch

from bench import LAMBDA_DIR, records, results, servers

NAME = "backfill"
TABLE = "books"
FAKE_AWS = {
    "AWS_ACCESS_KEY_ID": "bench",
    "AWS_SECRET_ACCESS_KEY": "bench",
    "AWS_REGION": records.REGION,
    "AWS_DEFAULT_REGION": records.REGION,
}


def run_ours(
    dynamodb_url: str, opensearch_url: str, alias: str, segments: int
) -> tuple[float, dict[str, Any]]:
    env = {
        **os.environ,
        **FAKE_AWS,
        "OPENSEARCH_ENDPOINT": opensearch_url,
        "OPENSEARCH_INDEX": alias,
        "OPENSEARCH_AUTH": "none",
        "LOG_LEVEL": "WARNING",
        "PYTHONPATH": str(LAMBDA_DIR),
    }
    command = [sys.executable, "-m", "indexer.ops", "backfill", "--table", TABLE]
    command += ["--dynamodb-endpoint", dynamodb_url, "--segments", str(segments)]
    started = time.perf_counter()
    done = subprocess.run(command, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"backfill exited {done.returncode}: {done.stderr[-2000:]}{done.stdout[-2000:]}")
    return elapsed, _summary(done.stdout)


def _summary(stdout: str) -> dict[str, Any]:
    for line in reversed(stdout.splitlines()):
        try:
            parsed = json.loads(line)
        except ValueError:
            continue
        if isinstance(parsed, dict) and parsed.get("command") == "backfill":
            return parsed
    try:
        parsed = json.loads(stdout)
    except ValueError as exc:
        raise RuntimeError(f"no backfill summary in its output: {stdout[-1000:]}") from exc
    return parsed


def plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, set):
        return sorted(plain(v) for v in value)
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


def run_naive(dynamodb_url: str, opensearch_url: str, index: str, limit: int) -> tuple[float, int]:
    """Sequential scan; one ``index`` request per item; stops after ``limit`` items."""
    dynamodb = boto3.client(
        "dynamodb",
        endpoint_url=dynamodb_url,
        region_name=records.REGION,
        aws_access_key_id="bench",
        aws_secret_access_key="bench",
    )
    search = OpenSearch(hosts=[opensearch_url], timeout=60)
    deserializer = TypeDeserializer()
    written = 0
    started = time.perf_counter()
    for page in dynamodb.get_paginator("scan").paginate(TableName=TABLE):
        for item in page["Items"]:
            document = {name: plain(deserializer.deserialize(value)) for name, value in item.items()}
            search.index(index=index, id=document["id"], body=document)
            written += 1
            if written >= limit:
                return time.perf_counter() - started, written
    return time.perf_counter() - started, written


def count(opensearch_url: str, index: str) -> int:
    search = OpenSearch(hosts=[opensearch_url], timeout=60)
    search.indices.refresh(index=index)
    return int(search.count(index=index)["count"])


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument(
        "--naive-items",
        type=int,
        default=5_000,
        help="items the naive script is timed over (default 5,000: at one request per item the whole "
        "table would take over ten minutes on the stand-in; its per-item rate does not improve with size)",
    )
    parser.add_argument("--segments", type=int, default=4)
    args = parser.parse_args(argv)
    naive_limit = min(args.naive_items, args.items)

    with servers.scan_responder(TABLE, args.items) as dynamodb_url, servers.opensearch() as opensearch_url:
        suffix = time.strftime("%H%M%S")
        alias, naive_index = f"bench-backfill-{suffix}", f"bench-naive-{suffix}"
        ours_s, summary = run_ours(dynamodb_url, opensearch_url, alias, args.segments)
        ours_count = count(opensearch_url, alias)
        if ours_count != args.items or summary.get("failed"):
            raise AssertionError(f"backfill indexed {ours_count} of {args.items}: {summary}")
        naive_s, naive_written = run_naive(dynamodb_url, opensearch_url, naive_index, naive_limit)
        naive_count = count(opensearch_url, naive_index)
        if naive_count != naive_written or naive_written != naive_limit:
            raise AssertionError(
                f"naive: wrote {naive_written}, index holds {naive_count}, wanted {naive_limit}"
            )

    ours_rate = args.items / ours_s
    naive_rate = naive_written / naive_s
    figures = {
        "items": args.items,
        "segments": args.segments,
        "scan_source": "bench.scan_responder (in-memory DynamoDB Scan endpoint)",
        "ours_seconds": round(ours_s, 2),
        "ours_items_per_s": round(ours_rate, 1),
        "ours_reported_items_per_s": summary.get("items_per_second"),
        "naive_items": naive_written,
        "naive_seconds": round(naive_s, 2),
        "naive_items_per_s": round(naive_rate, 1),
        "ratio": round(ours_rate / naive_rate, 2),
    }
    notes = []
    if naive_written < args.items:
        notes.append(
            f"Backfill: the naive script was timed over the first {naive_written:,} of {args.items:,} items "
            "(its rate is per item and flat; the full run would only take longer)."
        )
    results.save(NAME, figures, notes)
    return figures


if __name__ == "__main__":
    main()
