"""Backfill items/s: the ops ``backfill`` command against a naive scan that indexes one item per request.

Both read the same generated table (50,000 books by default) from ``bench.scan_responder``, a fast
read-only DynamoDB endpoint (moto's Scan would be the bottleneck and both would measure moto), and write to
the same OpenSearch server, each into its own index:

- ours: ``python -m indexer.ops backfill`` as an operator runs it (parallel scan segments, documents built
  by the stream path's code, external snapshot versions, ``_bulk`` writes);
- naive: the one-off script public write-ups end with: one sequential scan, each item converted to plain
  JSON and written with its own ``index`` request (no refresh, the charitable variant).

Each index must end with exactly the table's item count, or the benchmark fails. The two contenders run
interleaved (ours, naive, ours, naive, ...) after a warm-up of each, and each figure is the median of
``--rounds`` runs, so a burst of other work on the machine skews both alike.

``--sweep`` first measures the backfill's sizing: every combination of ``--sweep-segments`` (parallel scan
segments, one thread each up to the client's pool) and ``--sweep-bulk-actions`` (actions per ``_bulk``
request), each point a short run of ``--sweep-items`` items, the points visited in a new shuffled order every
round, each point's figure the median of its rounds. The result is stored under ``sweep`` in backfill.json
(a later run without ``--sweep`` keeps the last sweep there); the CLI's defaults are what it showed best
(docs/operations.md, "Sizing").
Run alone: ``.venv/bin/python -m bench.backfill [--items N] [--naive-items N] [--rounds N] [--sweep]``.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import random
import statistics
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
    dynamodb_url: str,
    opensearch_url: str,
    alias: str,
    segments: int | None = None,
    bulk_actions: int | None = None,
) -> tuple[float, dict[str, Any]]:
    """One ``python -m indexer.ops backfill`` process, timed from its start to its exit (imports,
    DescribeTable and the index check included, as an operator waits for them); None: the CLI's default."""
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
    command += ["--dynamodb-endpoint", dynamodb_url]
    if segments is not None:
        command += ["--segments", str(segments)]
    if bulk_actions is not None:
        command += ["--bulk-actions", str(bulk_actions)]
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


def delete(opensearch_url: str, index: str) -> None:
    """Frees the stand-in's memory between runs (each run writes into its own index)."""
    OpenSearch(hosts=[opensearch_url], timeout=60).indices.delete(index=f"{index}*", ignore_unavailable=True)


def checked_ours(
    dynamodb_url: str, opensearch_url: str, name: str, items: int, **sizing: int | None
) -> tuple[float, dict[str, Any]]:
    """One backfill into a fresh alias, checked to hold exactly the table's items, then dropped."""
    seconds, summary = run_ours(dynamodb_url, opensearch_url, name, **sizing)
    indexed = count(opensearch_url, name)
    if indexed != items or summary.get("failed"):
        raise AssertionError(f"backfill indexed {indexed} of {items}: {summary}")
    delete(opensearch_url, name)
    return seconds, summary


def checked_naive(dynamodb_url: str, opensearch_url: str, name: str, limit: int) -> float:
    seconds, written = run_naive(dynamodb_url, opensearch_url, name, limit)
    indexed = count(opensearch_url, name)
    if indexed != written or written != limit:
        raise AssertionError(f"naive: wrote {written}, index holds {indexed}, wanted {limit}")
    delete(opensearch_url, name)
    return seconds


def sweep(
    segments: list[int], bulk_actions: list[int], items: int, rounds: int, seed: int = 12
) -> dict[str, Any]:
    """items/s of the backfill for every (segments, bulk actions) point; median of ``rounds`` shuffled,
    interleaved visits of all points, against one scan source and one OpenSearch."""
    points = list(itertools.product(segments, bulk_actions))
    runs: dict[tuple[int, int], list[float]] = {point: [] for point in points}
    rng = random.Random(seed)
    with servers.scan_responder(TABLE, items) as dynamodb_url, servers.opensearch() as opensearch_url:
        checked_ours(dynamodb_url, opensearch_url, "sweep-warmup", items)
        for round_number in range(rounds):
            order = points[:]
            rng.shuffle(order)
            for n, (segs, actions) in enumerate(order):
                name = f"sweep-{round_number}-{n}"
                seconds, _ = checked_ours(
                    dynamodb_url, opensearch_url, name, items, segments=segs, bulk_actions=actions
                )
                runs[(segs, actions)].append(items / seconds)
                print(
                    f"sweep: {segs} segments, {actions} actions: {items / seconds:.0f} items/s",
                    file=sys.stderr,
                )
    table = [
        {
            "segments": segs,
            "bulk_actions": actions,
            "items_per_s": round(statistics.median(runs[(segs, actions)]), 1),
            "runs": [round(rate, 1) for rate in runs[(segs, actions)]],
        }
        for segs, actions in points
    ]
    best = max(table, key=lambda point: point["items_per_s"])
    return {
        "measured_at": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "load_average": [round(value, 2) for value in os.getloadavg()[:2]],
        "commit": results.machine()["commit"],
        "items": items,
        "rounds": rounds,
        "points": table,
        "best": {"segments": best["segments"], "bulk_actions": best["bulk_actions"]},
    }


def previous_sweep() -> dict[str, Any] | None:
    """The sweep stored by an earlier ``--sweep`` run, kept when this run measures no new one."""
    path = results.RESULTS_DIR / f"{NAME}.json"
    try:
        return json.loads(path.read_text())["figures"].get("sweep")
    except (OSError, ValueError, KeyError, AttributeError):
        return None


def _numbers(text: str) -> list[int]:
    return [int(part) for part in text.split(",") if part.strip()]


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=50_000)
    parser.add_argument(
        "--naive-items",
        type=int,
        default=2_000,
        help="items the naive script is timed over per round (default 2,000: at one request per item the "
        "whole table would take over ten minutes on the stand-in; its per-item rate does not improve with "
        "size)",
    )
    parser.add_argument("--rounds", type=int, default=5, help="interleaved runs of each contender (median)")
    parser.add_argument("--segments", type=int, help="backfill --segments (default: the CLI's)")
    parser.add_argument("--bulk-actions", type=int, help="backfill --bulk-actions (default: the CLI's)")
    parser.add_argument("--sweep", action="store_true", help="measure segments x bulk actions first")
    parser.add_argument("--sweep-items", type=int, default=20_000)
    parser.add_argument("--sweep-rounds", type=int, default=3)
    parser.add_argument("--sweep-segments", type=_numbers, default=[1, 2, 4, 8])
    parser.add_argument("--sweep-bulk-actions", type=_numbers, default=[250, 500, 1000, 2000, 4000])
    args = parser.parse_args(argv)
    naive_limit = min(args.naive_items, args.items)

    swept = (
        sweep(args.sweep_segments, args.sweep_bulk_actions, args.sweep_items, args.sweep_rounds)
        if args.sweep
        else previous_sweep()
    )
    sizing = {"segments": args.segments, "bulk_actions": args.bulk_actions}
    ours: list[float] = []
    naive: list[float] = []
    summary: dict[str, Any] = {}
    with servers.scan_responder(TABLE, args.items) as dynamodb_url, servers.opensearch() as opensearch_url:
        checked_ours(dynamodb_url, opensearch_url, "warmup-ours", args.items, **sizing)
        checked_naive(dynamodb_url, opensearch_url, "warmup-naive", min(naive_limit, 200))
        for n in range(args.rounds):
            seconds, summary = checked_ours(dynamodb_url, opensearch_url, f"ours-{n}", args.items, **sizing)
            ours.append(seconds)
            naive.append(checked_naive(dynamodb_url, opensearch_url, f"naive-{n}", naive_limit))

    ours_s, naive_s = statistics.median(ours), statistics.median(naive)
    ours_rate = args.items / ours_s
    naive_rate = naive_limit / naive_s
    figures: dict[str, Any] = {
        "items": args.items,
        "segments": summary.get("segments", args.segments),
        "bulk_actions": summary.get("bulk_actions", args.bulk_actions),
        "rounds": args.rounds,
        "scan_source": "bench.scan_responder (in-memory DynamoDB Scan endpoint)",
        "ours_seconds": round(ours_s, 2),
        "ours_seconds_runs": [round(value, 2) for value in ours],
        "ours_items_per_s": round(ours_rate, 1),
        "ours_reported_items_per_s": summary.get("items_per_second"),
        "naive_items": naive_limit,
        "naive_seconds": round(naive_s, 2),
        "naive_seconds_runs": [round(value, 2) for value in naive],
        "naive_items_per_s": round(naive_rate, 1),
        "ratio": round(ours_rate / naive_rate, 2),
    }
    if swept is not None:
        figures["sweep"] = swept
    notes = [
        f"Backfill: median of {args.rounds} interleaved runs of each contender after a warm-up of each; "
        f"ours over all {args.items:,} items, the naive script over the first {naive_limit:,} per run "
        "(its rate is per item and flat; the full table would only take longer)."
    ]
    results.save(NAME, figures, notes)
    return figures


if __name__ == "__main__":
    main()
