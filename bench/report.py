"""Renders docs/benchmarks.md and README.md's figures from the stored results: no number is typed in.

``.venv/bin/python -m bench.report`` (``make bench`` runs it after the benchmarks) merges the result files of
``.cache/bench/results`` into docs/benchmarks.json and renders docs/benchmarks.md and the block of README.md
between ``<!-- bench:begin -->`` and ``<!-- bench:end -->`` from that file alone; without results under
``.cache`` it re-renders from docs/benchmarks.json. tests/test_bench_report.py checks that both are exactly
what this renders from docs/benchmarks.json, so a figure edited by hand fails it.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Mapping
from typing import Any

from bench import ROOT, bulk_projection, goals, results

REPORT = ROOT / "docs" / "benchmarks.md"
RESULTS_JSON = ROOT / "docs" / "benchmarks.json"
README = ROOT / "README.md"
BEGIN, END = "<!-- bench:begin -->", "<!-- bench:end -->"
CHART = "benchmarks-latency.png"

Row = tuple[str, str, str]


def _throughput(f: dict[str, Any]) -> list[Row]:
    runs = f"median of {f['rounds']} interleaved rounds after a warm-up"
    return [
        (f"Indexer throughput, ours (`process_event`, batches of {f['batch_size']})",
         f"{f['ours_records_per_s']:,.0f} records/s",
         f"{f['records']:,} records a round ({f['mix']['INSERT']:,} INSERT, {f['mix']['MODIFY']:,} MODIFY, "
         f"{f['mix']['REMOVE']:,} REMOVE); {runs}"),
        ("Indexer throughput, baseline (one request + `refresh=true` per record)",
         f"{f['baseline_records_per_s']:,.0f} records/s", runs),
        ("Throughput ratio, ours / baseline", f"{f['ratio']}x", f"same server ({f['opensearch']}), {runs}"),
        ("Server ceiling: the same writes, pre-serialised, over one keep-alive connection",
         f"{f['server_bulk_ceiling_docs_per_s']:,.0f} docs/s",
         f"{f.get('ceiling_definition', 'ours minus the writer')}; {runs}"),
        ("Ours as a share of the ceiling", f"{f['share_of_ceiling']:.0%}", "measured in the same rounds"),
        *([("Plain `_bulk` of ready documents (the earlier ceiling, for comparison)",
            f"{f['plain_ceiling_docs_per_s']:,.0f} docs/s",
            f"{f['ceiling_chunk']} actions a request, dynamic mapping, no versions, deletes as `delete`; "
            f"ours is {f['share_of_plain_ceiling']:.0%} of it")]
          if "plain_ceiling_docs_per_s" in f else []),
    ]  # fmt: skip


def _cpu(f: dict[str, Any]) -> list[Row]:
    return [
        ("Indexer CPU per record, whole path (instant responder)", f"{f['cpu_us_per_record']} µs",
         f"{f['records_per_cpu_second']:,} records per CPU second; median of {f['rounds']} interleaved "
         f"rounds after a warm-up (lowest {f.get('cpu_us_per_record_min', '?')} µs)"),
        ("Indexer CPU per record, decode + project only", f"{f['decode_project_cpu_us_per_record']} µs",
         "no serialisation, no HTTP"),
    ]  # fmt: skip


def _folding(f: dict[str, Any]) -> list[Row]:
    runs = f"median of {f['rounds']} interleaved rounds after a warm-up"
    mix = f["mix"]
    workload = (
        f"{f['records']:,} stream records of an orders single-table design ({f['order_records']:,} on "
        f"orders, {f['customer_records']:,} on customers; {mix['INSERT']:,} INSERT, {mix['MODIFY']:,} "
        f"MODIFY, {mix['REMOVE']:,} REMOVE), batches of {f['batch_size']}"
    )
    return [
        ("Folding: table reads per changed record (the indexer's tally)",
         f"{f['query_pages_per_record']:.3f} Query pages",
         f"{f['rebuilt_per_record']:.3f} folded documents rebuilt per record, "
         f"{f['query_pages_per_rebuild']:.2f} pages a rebuild (one strongly consistent Query of the "
         f"partition per touched order per batch); {workload}"),
        ("Folding: read capacity units per changed record, as DynamoDB charges them",
         f"{f['read_units_dynamodb_per_record']:.3f} RCU",
         f"computed from the items of every Query page by DynamoDB's documented rules "
         f"({f['read_units_dynamodb_per_query']:.2f} a Query; partitions of {f['query_bytes_median']:,} "
         f"bytes median, {f['query_bytes_max']:,} max, {f['queries_over_4kb']} Queries over 4 KB)"),
        ("Folding: read capacity units per changed record, as moto reports them",
         f"{f['read_units_moto_per_record']:.3f} RCU",
         f"the indexer's tally of ReturnConsumedCapacity: moto answers 1.0 a Query whatever its size, "
         f"so it differs from DynamoDB's charge on {f['moto_pages_disagreeing_with_dynamodb']} of "
         f"{f['query_pages']} pages"),
        ("Folding: CPU per record, folded / flat", f"{f['folded_cpu_us_per_record']} µs / "
         f"{f['flat_cpu_us_per_record']} µs",
         f"the same records through `process_batch`; folded is {f['folded_cpu_over_flat']}x flat, of which "
         f"{f['folded_read_cpu_us_per_record']} µs a record is boto3's side of the Queries; {runs}"),
        ("Folding: CPU per record as a ratio to a naive decode of the same records",
         f"flat {f['flat_cpu_ratio_to_decode']}x, folded {f['folded_cpu_ratio_to_decode']}x",
         f"naive decode (boto3's `TypeDeserializer` on each record's images, nothing else) "
         f"{f['decode_cpu_us_per_record']} µs a record in the same rounds; {runs}"),
        ("Folding: records/s, folded / flat",
         f"{f['folded_records_per_s']:,.0f} / {f['flat_records_per_s']:,.0f}",
         f"folded is {f['folded_share_of_flat_records_per_s']:.1%} of flat; {f['opensearch']}, the table "
         f"on a {f['dynamodb']} ({f['moto_partition_read_ms_median']} ms a partition read, "
         f"{f['folded_wall_share_in_reads']:.0%} of the folded wall time); {runs}"),
    ]  # fmt: skip


def _latency(f: dict[str, Any]) -> list[Row]:
    return [
        ("Local stack: API 201 → searchable, p50", f"{f['p50_ms']:.0f} ms", f"{f['writes']} writes"),
        ("Local stack: API 201 → searchable, p95", f"{f['p95_ms']:.0f} ms", f"max {f['max_ms']:.0f} ms"),
        ("Local stack: API 201 → searchable, p99", f"{f['p99_ms']:.0f} ms", f"poll every {f['poll_ms']} ms"),
    ]


def _backfill(f: dict[str, Any]) -> list[Row]:
    return [
        ("Backfill, ours (`indexer.ops backfill`)", f"{f['ours_items_per_s']:,.0f} items/s",
         f"{f['items']:,} items in {f['ours_seconds']} s, {f['segments']} segments"),
        ("Backfill, naive scan + one index request per item", f"{f['naive_items_per_s']:,.0f} items/s",
         f"{f['naive_items']:,} items in {f['naive_seconds']} s"),
        ("Backfill ratio, ours / naive", f"{f['ratio']}x", f"scan source: {f['scan_source']}"),
    ]  # fmt: skip


def _bulk_load(f: dict[str, Any]) -> list[Row]:
    runs = f"median of {f['rounds']} interleaved rounds after a warm-up"
    rows: list[Row] = [
        (
            f"Bulk load (export file children), {s['workers']} worker{'s' if s['workers'] > 1 else ''}",
            f"{s['items_per_s']:,.0f} items/s ({s['items_per_s_per_worker']:,.0f} a worker)",
            f"{s['efficiency']:.0%} of {s['workers']} x one worker's rate; CPU an item: workers "
            f"{s['worker_cpu_us_per_item']} µs, OpenSearch stand-in {s['opensearch_cpu_us_per_item']} µs, "
            f"moto {s['moto_cpu_us_per_item']} µs; S3 calls {s['s3_share']:.0%} of the children's time; "
            f"{runs}",
        )
        for s in f["scaling"]
    ]
    requests = ", ".join(f"{name} {value:g}" for name, value in f["s3_requests_per_1000_items"].items())
    projection = f["projection"]
    return [
        *rows,
        ("Scan backfill (`indexer.ops backfill`), the same items in the same run",
         f"{f['scan_items_per_s']:,.0f} items/s",
         f"the CLI's own rate ({f['scan_end_to_end_items_per_s']:,.0f} items/s from process start to exit), "
         f"{f['scan_segments']} segments; {runs}"),
        ("Bulk load / scan backfill", f"{f['one_worker_over_scan']}x (1 worker), {f['best_over_scan']}x "
         f"({f['best_workers']} workers)",
         f"{f['items']:,} items in {f['files']} export files (pages of {f['page_items']:,}, `_bulk` of "
         f"{f['bulk_actions']} actions), S3 on a {f['s3']}, {f['opensearch']}"),
        ("Bulk load: S3 requests per 1,000 items", requests,
         f"a child's checkpoint read and data file GET, a checkpoint PUT per page and a final one; not in "
         f"the rates: the workers' cold start ({f['worker_cold_start_seconds']} s) and prepare "
         f"({f['prepare_seconds']} s)"),
        (f"Projection: {projection['scenario']['items']:,} items on AWS, MaxConcurrency "
         f"{projection['max_concurrency']}",
         f"{projection['load_hours']:,.2f} h, ${projection['total_usd']:,.2f}",
         f"the limit is the {projection['limit']}; assumptions and AWS figures in the section below"),
    ]  # fmt: skip


def _cold_start(f: dict[str, Any]) -> list[Row]:
    rows: list[Row] = []
    if "host_cold_start_ms_median" in f:
        rows.append(
            ("Cold start, host: `import function` + first `Runtime` build",
             f"{f['host_cold_start_ms_median']} ms",
             f"import {f.get('host_cold_start_import_ms_median', '?')} ms + runtime "
             f"{f.get('host_cold_start_runtime_ms_median', '?')} ms (medians), max "
             f"{f.get('host_cold_start_ms_max', '?')} ms; {f.get('cold_start_conditions', '')}")
        )  # fmt: skip
    return [
        *rows,
        ("Handler cold import (`import function`), host", f"{f['host_import_ms_median']} ms",
         f"median of {f['runs']} fresh interpreters; min {f.get('host_import_ms_min', '?')} ms, "
         f"max {f['host_import_ms_max']} ms"),
        ("Handler cold import, inside the image", f"{f['image_import_ms_median']} ms",
         f"median of {f['runs']} containers; min {f.get('image_import_ms_min', '?')} ms, "
         f"max {f['image_import_ms_max']} ms"),
        ("Indexer image size", f"{f['image_size_mb']} MB",
         f"base {f['base_image']} {f['base_image_size_mb']} MB, indexer adds {f['added_by_indexer_mb']} MB"),
    ]  # fmt: skip


SECTIONS: dict[str, tuple[str, Callable[[dict[str, Any]], list[Row]], str]] = {
    "throughput": ("Throughput", _throughput, "bench.throughput"),
    "cpu": ("CPU floor", _cpu, "bench.cpu"),
    "folding": ("Single-table folding", _folding, "bench.folding"),
    "latency": ("Local stack latency", _latency, "bench.latency"),
    "backfill": ("Backfill", _backfill, "bench.backfill"),
    "bulk_load": ("Bulk load (export, distributed)", _bulk_load, "bench.bulk_load"),
    "cold_start": ("Cold start and image", _cold_start, "bench.cold_start"),
}

METHOD = """\
## How each number is measured

- **Throughput**: the same generated stream records (real Lambda shape: `eventName`, `Keys`,
  `NewImage`/`OldImage`, AWS-shaped `SequenceNumber`s about 10^20 apart, whole-second
  `ApproximateCreationDateTime`; books shaped exactly as the API's POST stores them), mixed
  INSERT/MODIFY/REMOVE, against one OpenSearch server (an
  `osmem-server` process unless `BENCH_OPENSEARCH_URL` names another). Ours: `indexer.batch.process_event`
  over Lambda events of 100 records. Baseline: the public example's loop, one `index` of the raw DynamoDB
  JSON or one `delete` per record with `refresh=true`, given a keep-alive client (the example opens a new
  connection per record, so the real baseline is slower still). After each run the index must hold exactly the
  table's items with their latest titles, or the benchmark fails. The stand-in makes writes visible without a
  refresh, so `refresh=true` costs it far less than it costs OpenSearch: the ratio understates the gap.
  The contenders (ours, baseline, the ceiling and the plain-documents ceiling) run once per round in a
  rotating order, one warm-up round is discarded, and each figure is the median of the measured rounds
  (per-round figures are in the result file), so load that drifts during a run falls on all of them alike.
- **CPU floor**: the same records through `process_event` against an HTTP responder in another process that
  acknowledges every `_bulk` action at once; `time.process_time()` of the indexer process, median of 5 rounds
  after a warm-up. The second figure times `decode_record` + `build_action` alone.
- **Single-table folding**: an orders single-table design (`bench.orders`: orders placed with their line
  items and payment, updated, shipped, changed, deleted whole or by their root row; customers' profiles with a
  version counter; every write changes its row, as DynamoDB writes no stream record for one that does not,
  and moto does) is written to a streamed table on a moto server, and its stream records, in events of 100,
  go through `process_batch` twice, with the design's `ENTITY_CONFIG` (folded: every order a batch touched
  is rebuilt once from a strongly consistent Query of its partition and written with compare-and-set) and
  without it (flat: one document per row), and through a naive decode (boto3's `TypeDeserializer` on each
  record's images). After every run each index must equal the independent oracle's rebuild of the table.
  Table reads are the indexer's own tally (its `batch` log lines) of a first, unmeasured pass, checked against
  every Query page its client saw; one rebuild per touched order per batch is checked too. moto reports 1.0
  read unit for every Query, so the units DynamoDB would charge are computed from the pages' items by AWS's
  documented rules ("DynamoDB item sizes and formats"; "DynamoDB read and write operations": a Query's items
  totalled and rounded up to 4 KB, one unit per 4 KB strongly consistent), and both are shown. CPU is
  `time.process_time()` of the process (the indexer with boto3's and opensearch-py's client side); the three
  run once per round in a rotating order, each figure the median of 5 rounds, each ratio the median of the
  per-round ratios. The CPU ratios to the naive decode carry across machines where microseconds do not; the
  folded records/s is bound by moto's Query, which walks the whole table.
- **Local stack latency**: `make up`'s stack (started by the benchmark on free ports); concurrent clients
  each POST a book with a unique word in its title and poll `GET /search?q=<word>` until its id appears.
  The figure includes up to one poll interval of the client, the stream runner's shard polling (at most 4
  GetRecords a second per shard, Lambda's documented base rate, so never fresher than AWS) and the event
  source mapping's batching window (read from the Terraform configuration; 0 by default, Lambda's own
  default for streams: invoke on the poll that read the records).
- **Backfill**: `python -m indexer.ops backfill` (4 segments) against a naive script (sequential scan, one
  `index` request per item, no refresh), both reading one generated table from `bench.scan_responder`, an
  in-memory DynamoDB Scan endpoint: moto's Scan re-walks the table for every page (about 500 items/s at
  20,000 items) and would make both contenders measure moto. The naive script is timed over a prefix of
  the table (its per-item rate is flat); each index must end with exactly the items written.
- **The ceiling**: the server's cost of the very writes ours makes, with the writer's own cost taken out.
  Before the rounds, ours runs once and its `_bulk` bodies (same ids, documents, tombstones, versions and
  chunks of 100, as Lambda hands them over) are captured with each item's status; the ceiling contender
  replays those bytes over one keep-alive `http.client` connection into an index created as the indexer
  creates it, and every item must get the status it got first. So ours / ceiling is exactly the share of
  the time the server works, and the gap is the indexer's own time per batch (decode, project, serialise,
  HTTP client). The earlier ceiling, a plain `_bulk` of the changes as ready documents (500 a request,
  dynamic mapping, no versions, deletes as `delete`), is kept for comparison: it does less work per document
  than any correct writer can (no versions, no tombstones, no shipped mapping, five times fewer requests),
  so it is not a bound for this indexer. On a real cluster the server's share of the time is smaller, and
  the indexer's own CPU (the CPU floor above) weighs more.
- **Bulk load**: the export handler's file children (`export_function.handler`, action `file`: one
  data file, pages of 1,000 items, a checkpoint in S3 after each) over an export of the backfill benchmark's
  books, written once per run as DynamoDB lays one out (manifest-summary.json, manifest-files.json, gzipped
  data files, items placed by a hash of their key) into S3 on a moto server process (a child makes a few S3
  requests per file and one per page; the share of the children's time in S3 calls is reported, so a slow
  S3 would show). `prepare` runs as the state machine's first Lambda step; then W worker processes, each an
  execution environment of the function (spawned, warmed once, cold start reported apart), take the files
  from one queue and invoke each file's child until `done`, as the Distributed Map and its Choice state do;
  the time runs from the first file handed out to the last worker's report. The scan backfill
  (`indexer.ops backfill`, as in **Backfill**) reads the same items from `bench.scan_responder`; its own
  reported rate is compared. All write to one OpenSearch stand-in, each run into a fresh index that must
  end with every item; the CPU the stand-in and moto used in each run is read from /proc, because on a
  machine of few cores they share the CPUs with the workers and bound the scaling. The projection to AWS is
  computed by `bench.bulk_projection` from the one-worker figures; its assumptions and the AWS figures it
  uses are listed with it.
- **Cold start**: in fresh interpreters on the host, `import function` and then the first
  `Runtime.from_env()` (settings, client, hook, the index check's request), as Lambda runs it: SigV4 with
  the keys in the environment, against an OpenSearch stand-in whose index exists; also
  `python -X importtime -c "import function"` on the host and inside the built image (cumulative time for the
  module, without interpreter start-up); image size from `docker image inspect`, what each package adds
  from `du` inside the image.
"""


def provenance(stored: goals.Results) -> list[str]:
    """One commit per report: say which commit and tree were measured, and loudly when not one clean one."""
    commits = sorted({str(r["machine"].get("commit", "unknown")) for r in stored.values()})
    dirty = [name for name, r in stored.items() if r.get("clean_tree") is not True]
    if len(commits) == 1 and not dirty:
        return [f"All figures come from one commit, `{commits[0]}`, measured with a clean working tree."]
    per_run = "; ".join(
        f"{name}: `{r['machine'].get('commit', 'unknown')}` "
        + {True: "clean", False: "DIRTY"}.get(r.get("clean_tree"), "tree state not recorded")
        for name, r in stored.items()
    )
    problems = []
    if len(commits) > 1:
        problems.append(f"the results come from {len(commits)} different commits")
    if dirty:
        problems.append("some were measured from a dirty or unrecorded working tree")
    return [
        f"> **WARNING: this is not one commit's report: {' and '.join(problems)}.** Figures measured at "
        "different commits or from uncommitted code cannot be compared with each other; re-run `make bench` "
        f"on a clean checkout. Per benchmark: {per_run}."
    ]


def goals_table(stored: goals.Results) -> list[str]:
    lines = ["| Goal | Target | Measured | Result | Why |", "|---|---:|---:|---|---|"]
    for verdict in goals.verdicts(stored):
        goal = verdict.goal
        if verdict.value is None:
            measured = goals.NOT_MEASURED
        else:
            measured = goals.fmt(verdict.value, goal.unit) + f" (`{goal.benchmark}.{verdict.key}`)"
        if verdict.extra:
            measured += f"; {verdict.extra}"
        result = "**met**" if verdict.met else f"**{verdict.status}**"
        lines.append(
            f"| {goal.name}: {goal.measures} | {goals.target_text(goal)} | {measured} | {result} | "
            f"{verdict.why} |"
        )
    return lines


def _section_rows(name: str, figures: Mapping[str, Any]) -> list[Row]:
    """A benchmark's detail rows; figures a renderer does not know yet are listed as they are, never fatal."""
    try:
        return SECTIONS[name][1](dict(figures))
    except (KeyError, TypeError, ValueError):
        return [
            (f"{SECTIONS[name][0]}: `{key}`", f"{value}", "figure as stored")
            for key, value in figures.items()
            if isinstance(value, int | float | str) and key != "why"
        ]


def render(stored: goals.Results) -> str:
    lines = ["# Benchmarks", ""]
    lines.append(
        "Generated by `make bench` (`bench/`); every figure below is read from a measurement made by a run "
        "(`.cache/bench/results/*.json`), none is typed in. Re-run a single benchmark with "
        "`.venv/bin/python -m bench.<name>`, then `.venv/bin/python -m bench.report`."
    )
    lines.append("")
    if not stored:
        lines.append("No results yet: run `make bench`.")
        return "\n".join(lines) + "\n"
    lines += [*provenance(stored), "", "## Goals (issue 12)", "", *goals_table(stored), ""]
    any_result = next(iter(stored.values()))
    machine = any_result["machine"]
    versions = ", ".join(f"{name} {version}" for name, version in machine["versions"].items())
    lines += [
        "## Machine",
        "",
        f"- CPU: {machine['cpu_model']}, {machine['nproc']} cores available (nproc)",
        f"- Memory: {machine['memory_gib']} GiB",
        f"- Kernel: {machine['kernel']}",
        f"- Versions: {versions}",
        f"- Commit(s) measured: {', '.join(sorted({r['machine']['commit'] for r in stored.values()}))}",
        "",
        "## Results",
        "",
        "| Measurement | Result | Conditions |",
        "|---|---:|---|",
    ]
    missing = []
    for name in SECTIONS:
        if name not in stored:
            missing.append(name)
            continue
        for measurement, value, conditions in _section_rows(name, stored[name]["figures"]):
            lines.append(f"| {measurement} | {value} | {conditions} |")
    lines.append("")
    when = "; ".join(f"{name} {r['measured_at']}" for name, r in stored.items())
    lines.append(f"Measured at: {when}.")
    loads = [
        f"{name} {r['load_average'][0]}/{r['load_average'][1]}"
        for name, r in stored.items()
        if "load_average" in r
    ]
    if loads:
        lines.append("")
        lines.append(
            f"Load average (1 min/5 min) when each ended, on {machine['nproc']} cores: "
            + "; ".join(loads)
            + ". "
            "A load above the core count means other work shared the CPUs and the figures are pessimistic."
        )
    if missing:
        lines.append("")
        lines.append("Not measured in this report: " + ", ".join(f"`{name}`" for name in missing) + ".")
    profile_top = stored.get("cpu", {}).get("figures", {}).get("profile_top")
    if profile_top:
        text = profile_top if isinstance(profile_top, str) else "\n".join(map(str, profile_top))
        lines += ["", "## Where the CPU goes (`cpu.profile_top`)", "", "```", text.rstrip(), "```"]
    if "latency" in stored:
        lines += ["", f"![Latency from the API's 201 to searchable]({CHART})"]
    projection = stored.get("bulk_load", {}).get("figures", {}).get("projection")
    if isinstance(projection, Mapping):
        try:
            lines += ["", *bulk_projection.markdown(projection)]
        except (KeyError, TypeError, ValueError):
            lines += ["", "The bulk-load projection is stored in a shape this renderer does not know."]
    notes = [note for r in stored.values() for note in r.get("notes", [])]
    if notes:
        lines += ["", "## Notes from the runs", ""] + [f"- {note}" for note in notes]
    lines += ["", METHOD]
    return "\n".join(lines).rstrip() + "\n"


def readme_block(stored: goals.Results) -> str:
    """README.md's figures: the goals table and where it comes from, between the markers."""
    lines = [
        BEGIN,
        "<!-- Generated by `python -m bench.report` from docs/benchmarks.json; edits here are overwritten "
        "and fail tests/test_bench_report.py. -->",
    ]
    if not stored:
        lines += ["", "Not measured yet: run `make bench`.", "", END]
        return "\n".join(lines)
    when = sorted(r["measured_at"] for r in stored.values())
    loads = ", ".join(f"{name} {r['load_average'][0]}" for name, r in stored.items() if "load_average" in r)
    nproc = next(iter(stored.values()))["machine"]["nproc"]
    lines += ["", *provenance(stored), ""]
    lines += goals_table(stored)
    lines += [
        "",
        f"Measured {when[0]} to {when[-1]} on {nproc} cores (1-minute load when each ended: {loads}). "
        "Details, method and chart: [docs/benchmarks.md](docs/benchmarks.md).",
        END,
    ]
    return "\n".join(lines)


def with_readme_block(readme: str, stored: goals.Results) -> str:
    start, stop = readme.find(BEGIN), readme.find(END)
    if start < 0 or stop < start:
        raise SystemExit(f"README.md lacks the {BEGIN} ... {END} block the report is written into")
    return readme[:start] + readme_block(stored) + readme[stop + len(END) :]


def load_committed() -> dict[str, dict[str, Any]]:
    return json.loads(RESULTS_JSON.read_text()) if RESULTS_JSON.is_file() else {}


def main(argv: list[str] | None = None) -> None:
    """Merge .cache's results into docs/benchmarks.json (when there are any), then render from that file."""
    argv = sys.argv[1:] if argv is None else argv
    fresh = {} if "--from-json" in argv else results.load_all()
    if fresh:
        RESULTS_JSON.parent.mkdir(parents=True, exist_ok=True)
        RESULTS_JSON.write_text(json.dumps(fresh, indent=2, sort_keys=True, ensure_ascii=False) + "\n")
        print(f"wrote {RESULTS_JSON.relative_to(ROOT)} from {', '.join(sorted(fresh))}")
    stored = load_committed()
    REPORT.write_text(render(stored))
    README.write_text(with_readme_block(README.read_text(), stored))
    print(f"wrote {REPORT.relative_to(ROOT)} and README.md's {BEGIN} block")


if __name__ == "__main__":
    main()
