"""Renders docs/benchmarks.md from the stored results: every number in it comes from a measurement file.

Run alone: ``.venv/bin/python -m bench.report`` (``make bench`` runs it after the benchmarks).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bench import ROOT, results

REPORT = ROOT / "docs" / "benchmarks.md"
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
        ("Server ceiling: plain `_bulk` of the same changes as ready documents",
         f"{f['server_bulk_ceiling_docs_per_s']:,.0f} docs/s",
         f"{f['ceiling_chunk']} actions a request, no versions, no decoding; {runs}"),
        ("Ours as a share of the ceiling", f"{f['share_of_ceiling']:.0%}", "measured in the same rounds"),
    ]  # fmt: skip


def _cpu(f: dict[str, Any]) -> list[Row]:
    return [
        ("Indexer CPU per record, whole path (instant responder)", f"{f['cpu_us_per_record']} µs",
         f"{f['records_per_cpu_second']:,} records per CPU second; best of {f['rounds']}"),
        ("Indexer CPU per record, decode + project only", f"{f['decode_project_cpu_us_per_record']} µs",
         "no serialisation, no HTTP"),
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


def _cold_start(f: dict[str, Any]) -> list[Row]:
    return [
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
    "latency": ("Local stack latency", _latency, "bench.latency"),
    "backfill": ("Backfill", _backfill, "bench.backfill"),
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
  The three contenders (ours, baseline, ceiling) run once per round in a rotating order, one warm-up round
  is discarded, and each figure is the median of the measured rounds (per-round figures are in the result
  file), so load that drifts during a run falls on all three alike.
- **CPU floor**: the same records through `process_event` against an HTTP responder in another process that
  acknowledges every `_bulk` action at once; `time.process_time()` of the indexer process, best of 3 rounds
  after a warm-up. The second figure times `decode_record` + `build_action` alone.
- **Local stack latency**: `make up`'s stack (started by the benchmark on free ports); concurrent clients
  each POST a book with a unique word in its title and poll `GET /search?q=<word>` until its id appears.
  The figure includes up to one poll interval, the stream runner's shard polling and the event source
  mapping's batching window (read from the Terraform configuration), which sets its floor.
- **Backfill**: `python -m indexer.ops backfill` (4 segments) against a naive script (sequential scan, one
  `index` request per item, no refresh), both reading one generated table from `bench.scan_responder`, an
  in-memory DynamoDB Scan endpoint: moto's Scan re-walks the table for every page (about 500 items/s at
  20,000 items) and would make both contenders measure moto. The naive script is timed over a prefix of
  the table (its per-item rate is flat); each index must end with exactly the items written.
- **The stand-in's ceiling**: the server-ceiling row is what osmem-server ingests through plain `_bulk` of
  ready documents (it spends most of its time per numeric and text field). Ours runs at or near that
  ceiling, so on this server the indexer's own speed is hidden; the CPU floor above is the indexer's own
  cost. On a real OpenSearch cluster both contenders would run faster, and the per-request + refresh
  baseline would fall further behind (a refresh there costs far more than on the stand-in).
- **Cold start**: `python -X importtime -c "import function"` in fresh interpreters (cumulative time for the
  module, without interpreter start-up), on the host and inside the built image; image size from
  `docker image inspect`.
"""


def render() -> str:
    stored = results.load_all()
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
    for name, (_title, rows, _module) in SECTIONS.items():
        if name not in stored:
            missing.append(name)
            continue
        for measurement, value, conditions in rows(stored[name]["figures"]):
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
    if "latency" in stored:
        lines += ["", f"![Latency from the API's 201 to searchable]({CHART})"]
    notes = [note for r in stored.values() for note in r.get("notes", [])]
    if notes:
        lines += ["", "## Notes from the runs", ""] + [f"- {note}" for note in notes]
    lines += ["", METHOD]
    return "\n".join(lines).rstrip() + "\n"


def main() -> None:
    REPORT.parent.mkdir(parents=True, exist_ok=True)
    REPORT.write_text(render())
    print(f"wrote {REPORT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
