"""The distributed bulk-load path (issue 18, "Measure"): items/s of the export's file children per worker, the
scaling from 1 to N local workers against one OpenSearch server, today's scan backfill over the same items in
the same run, and a projection of a 100-million-item backfill on AWS (``bench.bulk_projection``).

The items are the scan backfill benchmark's books (``bench.scan_responder.Table``: the same generator, the
same seed, the same DynamoDB JSON), ``--items`` of them. They are written once per run as a DynamoDB export
laid out as AWS documents it (``support.table_exports``: manifest-summary.json, manifest-files.json and
``--files`` gzipped data files, each item in the file its partition key hashes to) into S3 on a **moto
server**: a process of its own, reached over HTTP as the children reach S3. moto's S3 is kept because it
does not dominate: a child makes a few requests per file and one checkpoint PUT per page of 1,000 items, and
each run reports the share of the children's time spent in S3 calls (``s3_share``), so a slow S3 would show.
(The scan benchmark replaced moto's DynamoDB because its Scan re-walks the table for every page.)

Contenders, against one OpenSearch (an osmem-server process unless ``BENCH_OPENSEARCH_URL`` names another):

- ``bulk`` with W workers, for each W of ``--workers``: ``prepare`` (the state machine's first Lambda step:
  manifests checked, files list written, index ensured) runs in this process, then W worker processes
  (``bench.bulk_workers``: each an execution environment of ``export_function.handler``, warmed once) take
  the export's files from one queue and run each file child until ``done``; timed from the first file handed
  out to the last worker's report (the workers' cold starts are reported apart);
- ``scan``: ``python -m indexer.ops backfill`` as ``bench.backfill`` runs it, against the same items served
  by ``bench.scan_responder``, timed from the process's start to its exit.

Every run writes into a fresh index that must end with exactly ``--items`` documents, and every file's
checkpoint must say done with no failure, or the benchmark fails. One warm-up run of the widest ``bulk`` and
of ``scan`` is discarded; then ``--rounds`` rounds, the contenders in an order that rotates from round to
round; each figure is the median over the rounds. Each run also records the CPU seconds the OpenSearch
stand-in and moto used (from /proc), since on a machine of few cores they share the CPUs with the workers.
Run alone: ``.venv/bin/python -m bench.bulk_load [--items N] [--files N] [--workers 1,2,4] [--rounds N]``.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import resource
import statistics
import time
import uuid
from collections import Counter
from typing import Any

from bench import backfill, bulk_projection, results, servers
from bench.bulk_workers import WorkerPool, WorkerReport
from bench.read_units import item_size
from bench.scan_responder import Table
from indexer.ops.bulk_load import handle
from indexer.ops.export_children import PAGE
from indexer.ops.run_store import RunStore
from indexer.ops.target import Target, open_target, settings_from
from support.stream_records import LambdaContext
from support.table_exports import ExportingClient, export_line, shard_of, write_export

NAME = "bulk_load"
TABLE = backfill.TABLE
ALIAS = "bulkbench"
BUCKET = "bulk-load-bench"
SERVER_KINDS = {"osmem-server": "opensearch", "moto.server": "moto", "bench.scan_responder": "scan_source"}


@dataclasses.dataclass
class Bench:
    """One benchmark run's servers, export and clients."""

    items: int
    moto_url: str
    opensearch_url: str
    scan_url: str
    target: Target  # this process's: prepare, checks
    export_arn: str
    env: dict[str, str]

    def bulk(self, pool: WorkerPool, workers: int) -> dict[str, Any]:
        run = f"bench-{workers}w-{uuid.uuid4().hex[:8]}"
        started = time.perf_counter()
        event = {"action": "prepare", "run": run, "mode": "backfill", "entity": None, "repair": False}
        prepared = handle(
            {**event, "export_arn": self.export_arn}, LambdaContext(900), target=self.target, bucket=BUCKET
        )
        prepare_seconds = time.perf_counter() - started
        store = RunStore(self.target.client("s3", self.moto_url), BUCKET, run)
        files = store.get(prepared["files_key"].removeprefix(f"runs/{run}/"))
        before = server_cpu()
        seconds, reports = pool.run(run, files, workers)
        used = cpu_delta(before, server_cpu())
        self._check(store, reports)
        return bulk_record(workers, seconds, prepare_seconds, reports, used)

    def scan(self, label: str) -> dict[str, Any]:
        before, children = server_cpu(), resource.getrusage(resource.RUSAGE_CHILDREN)
        seconds, summary = backfill.checked_ours(self.scan_url, self.opensearch_url, label, self.items)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        return {
            "seconds": seconds,
            "reported_items_per_s": summary.get("items_per_second"),
            "segments": summary.get("segments"),
            "cpu_seconds": (after.ru_utime + after.ru_stime) - (children.ru_utime + children.ru_stime),
            "server_cpu": cpu_delta(before, server_cpu()),
        }

    def _check(self, store: RunStore, reports: list[WorkerReport]) -> None:
        indexed = backfill.count(self.opensearch_url, ALIAS)
        states = store.children("files")
        scanned = sum(report.scanned for report in reports)
        done = all(state.done and not state.failed_keys for state in states)
        failed = sum(state.counts.get("failed", 0) for state in states)
        if indexed != self.items or scanned != self.items or not done or failed:
            raise AssertionError(
                f"bulk load: index holds {indexed}, children read {scanned}, {self.items} wanted; "
                f"all files done without failures: {done and not failed}"
            )
        backfill.delete(self.opensearch_url, ALIAS)  # prepare creates it again for the next run


def bulk_record(
    workers: int, seconds: float, prepare_seconds: float, reports: list[WorkerReport], used: dict[str, float]
) -> dict[str, Any]:
    """One bulk run's figures, summed over its workers."""
    requests: Counter[str] = Counter()
    for report in reports:
        requests.update(report.s3_requests)
    return {
        "workers": workers,
        "seconds": seconds,
        "prepare_seconds": prepare_seconds,
        "files": sum(r.files for r in reports),
        "invocations": sum(r.invocations for r in reports),
        "throttled": sum(r.throttled for r in reports),
        "worker_cpu_seconds": sum(r.cpu_seconds for r in reports),
        "worker_busy_seconds": sum(r.busy_seconds for r in reports),
        "s3_seconds": sum(r.s3_seconds for r in reports),
        "s3_requests": dict(sorted(requests.items())),
        "server_cpu": used,
    }


def server_cpu() -> dict[str, float]:
    """CPU seconds (user + system) so far of the servers this process started, by kind, from /proc."""
    ticks = os.sysconf("SC_CLK_TCK")
    used: dict[str, float] = {}
    for pid in _descendants(os.getpid()):
        try:
            command = open(f"/proc/{pid}/cmdline", "rb").read().replace(b"\0", b" ").decode()  # noqa: SIM115
            stat = open(f"/proc/{pid}/stat").read()  # noqa: SIM115
        except OSError:
            continue
        kind = next((kind for marker, kind in SERVER_KINDS.items() if marker in command), None)
        if kind is not None:
            utime, stime = stat.rsplit(")", 1)[1].split()[11:13]  # fields 14 and 15 of proc(5)
            used[kind] = used.get(kind, 0.0) + (int(utime) + int(stime)) / ticks
    return used


def _descendants(pid: int) -> list[int]:
    found: list[int] = []
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return found
    for task in tasks:
        try:
            children = open(f"/proc/{pid}/task/{task}/children").read().split()  # noqa: SIM115
        except OSError:
            continue
        for child in map(int, children):
            found += [child, *_descendants(child)]
    return found


def cpu_delta(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
    return {kind: round(after[kind] - before.get(kind, 0.0), 3) for kind in sorted(after)}


def write_bench_export(
    s3: Any, bucket: str, table_arn: str, items: int, files: int
) -> tuple[dict[str, Any], float]:
    """The scan benchmark's items as one export in S3; its description and the items' mean DynamoDB size."""
    table = Table(TABLE, items)
    lines: list[list[str]] = [[] for _ in range(files)]
    size = 0
    for encoded in table.encoded:
        item = json.loads(encoded)
        size += item_size(item)
        lines[shard_of(item["id"], files)].append(export_line(encoded))
    return write_export(s3, bucket, "export", table_arn, lines), size / items


def median(values: list[float]) -> float:
    return float(statistics.median(values))


def summarise(
    items: int, bulk: dict[int, list[dict[str, Any]]], scan: list[dict[str, Any]]
) -> dict[str, Any]:
    """The figures of the rounds: medians per worker count and of the scan, ratios to one worker and to the
    scan, and what the projection needs (from the fewest workers' runs)."""
    widths = sorted(bulk)
    rate = {w: median([items / run["seconds"] for run in bulk[w]]) for w in widths}
    # The CLI's own rate (its scan, from the first page to the last write) against the children's (from the
    # first file handed out): neither counts its interpreter's start-up; the end-to-end rate is kept beside.
    scan_rate = median([float(run["reported_items_per_s"] or 0.0) for run in scan])
    if scan_rate <= 0:
        raise AssertionError(f"the scan backfill reported no rate: {scan}")

    def per_item_us(w: int, key: str) -> float:
        return round(median([run[key] / items * 1e6 for run in bulk[w]]), 1)

    def server_us(runs: list[dict[str, Any]], kind: str) -> float:
        return round(median([run["server_cpu"].get(kind, 0.0) / items * 1e6 for run in runs]), 1)

    scaling = [
        {
            "workers": w,
            "items_per_s": round(rate[w], 1),
            "items_per_s_per_worker": round(rate[w] / w, 1),
            "efficiency": round(rate[w] / (w * rate[widths[0]] / widths[0]), 3),
            "worker_cpu_us_per_item": per_item_us(w, "worker_cpu_seconds"),
            "opensearch_cpu_us_per_item": server_us(bulk[w], "opensearch"),
            "moto_cpu_us_per_item": server_us(bulk[w], "moto"),
            "s3_share": round(median([run["s3_seconds"] / run["worker_busy_seconds"] for run in bulk[w]]), 3),
            "runs_items_per_s": [round(items / run["seconds"], 1) for run in bulk[w]],
        }
        for w in widths
    ]
    first = bulk[widths[0]]
    requests = first[0]["s3_requests"]
    if any(run["s3_requests"] != requests for w in widths for run in bulk[w]):
        raise AssertionError("S3 requests differ between runs of the same export: the children are not alike")
    cpu = median([run["worker_cpu_seconds"] / items * 1e6 for run in first])
    wait = median([(run["worker_busy_seconds"] - run["worker_cpu_seconds"]) / items * 1e6 for run in first])
    return {
        "scaling": scaling,
        "one_worker_items_per_s": round(rate[widths[0]] / widths[0], 1),
        "best_items_per_s": round(max(rate.values()), 1),
        "best_workers": max(widths, key=lambda w: rate[w]),
        "scan_items_per_s": round(scan_rate, 1),
        "scan_end_to_end_items_per_s": round(median([items / run["seconds"] for run in scan]), 1),
        "scan_segments": scan[0]["segments"],
        "scan_cli_cpu_us_per_item": round(median([run["cpu_seconds"] / items * 1e6 for run in scan]), 1),
        "scan_opensearch_cpu_us_per_item": server_us(scan, "opensearch"),
        "scan_runs_items_per_s": [run["reported_items_per_s"] for run in scan],
        "one_worker_over_scan": round(rate[widths[0]] / widths[0] / scan_rate, 2),
        "best_over_scan": round(max(rate.values()) / scan_rate, 2),
        "prepare_seconds": round(median([run["prepare_seconds"] for w in widths for run in bulk[w]]), 3),
        "invocations_per_run": first[0]["invocations"],
        "throttled": sum(run["throttled"] for w in widths for run in bulk[w]),
        "s3_requests_per_1000_items": {name: round(n / items * 1000, 3) for name, n in requests.items()},
        "worker_cpu_us_per_item": round(cpu, 1),
        "worker_wait_us_per_item": round(wait, 1),
    }


def projection(figures: dict[str, Any], scenario: bulk_projection.Scenario) -> dict[str, Any]:
    per_1000 = figures["s3_requests_per_1000_items"]
    measured = bulk_projection.Measured(
        worker_cpu_us_per_item=figures["worker_cpu_us_per_item"],
        worker_wait_us_per_item=max(0.0, figures["worker_wait_us_per_item"]),
        item_bytes=figures["item_bytes"],
        s3_gets_per_item=per_1000.get("GetObject", 0.0) / 1000,
        s3_puts_per_item=per_1000.get("PutObject", 0.0) / 1000,
        scan_items_per_s=figures["scan_items_per_s"],
    )
    return bulk_projection.project(measured, scenario)


def notes(figures: dict[str, Any]) -> list[str]:
    widest = figures["scaling"][-1]
    return [
        f"Bulk load: {figures['items']:,} items in {figures['files']} export files on moto's S3, file "
        f"children in {', '.join(str(s['workers']) for s in figures['scaling'])} worker processes and the "
        f"scan backfill over the same items, median of {figures['rounds']} interleaved rounds after a "
        f"warm-up. The machine has {results.machine()['nproc']} cores shared by the workers, the OpenSearch "
        f"stand-in and moto: at {widest['workers']} workers the stand-in used "
        f"{widest['opensearch_cpu_us_per_item']} µs and moto {widest['moto_cpu_us_per_item']} µs of CPU an "
        "item beside the workers' own, so the scaling here is the machine's, not the design's; the "
        "per-worker figures and the CPU per item are what the projection carries to AWS.",
    ]


def _numbers(text: str) -> list[int]:
    return sorted({int(part) for part in text.split(",") if part.strip()})


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--items",
        type=int,
        default=8_000,
        help="items of the export (default 8,000: 14 loads of them fit the ~3 minutes make bench allows)",
    )
    parser.add_argument("--files", type=int, default=4, help="data files of the export (default 4)")
    parser.add_argument("--workers", type=_numbers, default=[1, 2, 4], help="worker counts (default 1,2,4)")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds (median; default 3)")
    defaults = bulk_projection.Scenario()
    parser.add_argument("--project-items", type=int, default=defaults.items)
    parser.add_argument("--data-nodes", type=int, default=defaults.data_nodes)
    parser.add_argument("--per-data-node", type=int, default=defaults.concurrency_per_data_node)
    parser.add_argument("--memory-mb", type=int, default=defaults.memory_mb)
    parser.add_argument("--docs-per-node", type=float, default=defaults.docs_per_s_per_data_node)
    parser.add_argument("--export-files", type=int, default=defaults.export_files)
    args = parser.parse_args(argv)
    if args.items < args.files or args.rounds < 1 or not args.workers or args.workers[0] < 1:
        parser.error("--items must be at least --files, --rounds at least 1, --workers 1 or more each")
    scenario = dataclasses.replace(
        defaults,
        items=args.project_items,
        data_nodes=args.data_nodes,
        concurrency_per_data_node=args.per_data_node,
        memory_mb=args.memory_mb,
        docs_per_s_per_data_node=args.docs_per_node,
        export_files=args.export_files,
    )

    with (
        servers.moto() as moto_url,
        servers.opensearch() as opensearch_url,
        servers.scan_responder(TABLE, args.items) as scan_url,
    ):
        bench, item_bytes, export_seconds = setup(moto_url, opensearch_url, scan_url, args.items, args.files)
        bulk: dict[int, list[dict[str, Any]]] = {w: [] for w in args.workers}
        scan: list[dict[str, Any]] = []
        with WorkerPool(max(args.workers), bench.env) as pool:
            bench.bulk(pool, max(args.workers))  # warm-ups, not counted
            bench.scan("warmup-scan")
            contenders: list[int | None] = [*args.workers, None]
            for round_number in range(args.rounds):
                turn = round_number % len(contenders)
                for workers in contenders[turn:] + contenders[:turn]:
                    if workers is None:
                        scan.append(bench.scan(f"scan-{round_number}"))
                    else:
                        bulk[workers].append(bench.bulk(pool, workers))
            cold_starts = pool.cold_starts

    figures: dict[str, Any] = {
        "items": args.items,
        "files": args.files,
        "page_items": PAGE,
        "bulk_actions": bench.target.settings.bulk_max_actions,
        "rounds": args.rounds,
        "s3": "moto server process (moto " + results.machine()["versions"].get("moto", "?") + ")",
        "opensearch": "osmem-server " + servers.osmem_version()
        if not os.environ.get("BENCH_OPENSEARCH_URL")
        else "BENCH_OPENSEARCH_URL",
        "item_bytes": round(item_bytes, 1),
        "export_write_seconds": round(export_seconds, 2),
        "worker_cold_start_seconds": round(median(cold_starts), 2),
        **summarise(args.items, bulk, scan),
    }
    figures["projection"] = projection(figures, scenario)
    figures["runs"] = {"bulk": {str(w): runs for w, runs in bulk.items()}, "scan": scan}
    results.save(NAME, figures, notes(figures))
    return figures


def setup(
    moto_url: str, opensearch_url: str, scan_url: str, items: int, files: int
) -> tuple[Bench, float, float]:
    """The table (keys only: a backfill's file child reads no table) and bucket on moto, the export written
    once, this process's target, and the export function's environment for the workers."""
    env = {
        **backfill.FAKE_AWS,
        "AWS_ENDPOINT_URL": moto_url,
        "OPENSEARCH_ENDPOINT": opensearch_url,
        "OPENSEARCH_INDEX": ALIAS,
        "OPENSEARCH_AUTH": "none",
        "TABLE_NAME": TABLE,
        "BULK_LOAD_BUCKET": BUCKET,
        "LOG_LEVEL": "WARNING",
    }
    os.environ.update(backfill.FAKE_AWS)  # this process's boto3 session: fake keys for moto (own interpreter)
    settings = settings_from({**os.environ, **env})
    target = open_target(settings, TABLE, dynamodb_endpoint=moto_url, check_keys=False)
    target.dynamodb.create_table(
        TableName=TABLE,
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        BillingMode="PAY_PER_REQUEST",
    )
    table_arn = target.dynamodb.describe_table(TableName=TABLE)["Table"]["TableArn"]
    s3 = target.client("s3", moto_url)
    s3.create_bucket(Bucket=BUCKET)
    started = time.perf_counter()
    description, item_bytes = write_bench_export(s3, BUCKET, table_arn, items, files)
    export_seconds = time.perf_counter() - started
    exporting = ExportingClient(target.dynamodb)
    exporting.exports[description["ExportArn"]] = description
    target = dataclasses.replace(target, dynamodb=exporting)
    bench = Bench(items, moto_url, opensearch_url, scan_url, target, description["ExportArn"], env)
    return bench, item_bytes, export_seconds


if __name__ == "__main__":
    main()
