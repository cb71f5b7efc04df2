"""The bulk-load benchmark's own logic: the projection's arithmetic against figures worked out by hand, the
AWS figures it cites, its defaults against the deployment they describe, the medians and ratios it reads
from its runs, its export and S3 metering against moto, and how the report renders it (or its absence).
The benchmark itself runs with ``make bench``; each of its runs checks the index and every file's checkpoint.
"""

from __future__ import annotations

import copy
import json
import re
import sys
import uuid
from pathlib import Path
from typing import Any

import boto3
import pytest

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import bulk_projection, report  # noqa: E402
from bench.bulk_load import TABLE, cpu_delta, projection, summarise, write_bench_export  # noqa: E402
from bench.bulk_projection import AWS, Measured, Scenario, project  # noqa: E402
from bench.bulk_workers import S3Meter  # noqa: E402
from bench.read_units import item_size  # noqa: E402
from bench.scan_responder import Table  # noqa: E402
from indexer.ops.export_children import DEFAULT_WORK_SECONDS  # noqa: E402
from indexer.ops.export_files import data_files, read_items, read_summary  # noqa: E402

MEASURED = Measured(
    worker_cpu_us_per_item=100.0,
    worker_wait_us_per_item=400.0,
    item_bytes=1024.0,
    s3_gets_per_item=0.002,
    s3_puts_per_item=0.0015,
    scan_items_per_s=1000.0,
)
# A child's vCPU share is 1 at 1,769 MB, so it spends 100 + 400 µs an item: 2,000 items/s.
SCENARIO = Scenario(items=100_000_000, memory_mb=1769, export_files=10)

# ---- the projection's arithmetic --------------------------------------------------------------------------


def test_a_domain_bound_load_worked_out_by_hand() -> None:
    p = project(MEASURED, SCENARIO)
    assert (p["max_concurrency"], p["concurrency"]) == (6, 6)  # 3 data nodes x 2 children
    assert p["child_items_per_s"] == 2000.0
    assert p["child_cpu_bound_items_per_s"] == 10_000.0
    assert p["workers_items_per_s"] == 12_000.0
    # 1 shard + 1 replica on 3 nodes: 2 nodes hold a copy, each document is written twice: 5,000 x 2 / 2.
    assert p["domain_items_per_s"] == 5000.0
    assert (p["items_per_s"], p["limit"], p["children_to_reach_domain"]) == (5000.0, "domain", 3)
    assert p["load_hours"] == 5.56  # 100 million / 5,000 = 20,000 s
    assert p["scan_hours"] == 27.78  # 100 million / 1,000 a second
    # 6 children billed 20,000 s each: 120,000 s, at 1,769 MB = 207,304.7 GB-s; 400 invocations of 300 s,
    # plus one short last one per file.
    assert (p["lambda_gb_seconds"], p["lambda_invocations"]) == (207_305, 410)
    # Parent: HaveExport, Export, 60 polls x 3, Prepare, Files, AfterFiles, Done = 186; children: 10 starts
    # + 3 x 410.
    assert p["state_transitions"] == 186 + 10 + 3 * 410
    assert (p["table_gb"], p["s3_gets"], p["s3_puts"]) == (95.37, 200_000, 150_000)
    assert p["cost_usd"] == {"export": 9.54, "lambda": 3.46, "step_functions": 0.04, "s3_requests": 0.83}
    assert p["total_usd"] == 13.86


def test_below_1769_mb_a_child_gets_a_share_of_a_vcpu_and_spends_longer_on_its_cpu() -> None:
    p = project(MEASURED, Scenario(memory_mb=1024))
    assert p["vcpu_share"] == round(1024 / 1769, 3)
    assert p["child_us_per_item"] == round(100 * 1769 / 1024 + 400, 1)  # 572.8 µs
    assert project(MEASURED, Scenario(memory_mb=3538))["child_us_per_item"] == 500.0  # one thread, one vCPU


def test_a_fast_domain_leaves_the_workers_as_the_limit() -> None:
    p = project(MEASURED, Scenario(memory_mb=1769, docs_per_s_per_data_node=1e6))
    assert (p["items_per_s"], p["limit"]) == (12_000.0, "workers")


def test_the_map_runs_no_more_children_than_the_export_has_files() -> None:
    assert project(MEASURED, Scenario(export_files=4))["concurrency"] == 4
    wide = Scenario(data_nodes=600, concurrency_per_data_node=2, export_files=5000)
    assert project(MEASURED, wide)["concurrency"] == 1000  # Lambda's default concurrency quota


@pytest.mark.parametrize(
    ("shards", "replicas", "nodes", "writers"),
    [(1, 1, 3, 1.0), (1, 0, 3, 1.0), (3, 1, 3, 1.5), (6, 1, 3, 1.5), (1, 2, 3, 1.0), (2, 0, 1, 1.0)],
)
def test_the_domain_writes_as_many_copies_at_once_as_nodes_hold_them(
    shards, replicas, nodes, writers
) -> None:
    scenario = Scenario(
        primary_shards=shards, replicas=replicas, data_nodes=nodes, docs_per_s_per_data_node=1000
    )
    assert project(MEASURED, scenario)["domain_items_per_s"] == writers * 1000


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("items", 0, "items must be more than 0, got 0"),
        ("data_nodes", -1, "data_nodes must be more than 0, got -1"),
        ("docs_per_s_per_data_node", 0.0, "docs_per_s_per_data_node must be more than 0"),
        ("replicas", -1, "replicas must be 0 or more, got -1"),
    ],
)
def test_a_scenario_out_of_range_is_refused_by_name(field: str, value: float, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Scenario(**{field: value})
    Scenario(replicas=0)  # no replica is a valid domain


def test_measured_figures_out_of_range_are_refused_by_name() -> None:
    with pytest.raises(ValueError, match="worker_cpu_us_per_item must be more than 0"):
        Measured(0.0, 1.0, 1.0, 0.0, 0.0, 1.0)
    with pytest.raises(ValueError, match="worker_wait_us_per_item must be 0 or more"):
        Measured(1.0, -1.0, 1.0, 0.0, 0.0, 1.0)


# ---- what it cites and what it assumes ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "in_quote"),
    [
        ("lambda_mb_per_vcpu", "At 1,769 MB, a function has the equivalent of one vCPU"),
        ("lambda_concurrency", "Concurrent executions | 1,000"),
        ("map_concurrency", "10,000"),
        ("export_files_per_partition", "at least 1 file per partition"),
        ("bytes_per_gb", "1 GB = 1024 MB"),
        ("lambda_gb_second", "$0.00001667 for every GB-second"),
        ("lambda_request", "$0.0000002 per request"),
        ("state_transition", "$0.025 per 1,000 state transitions"),
        ("child_execution_transitions", "子ワークフロー実行ごとに 1 つの状態遷移"),
    ],
)
def test_every_verified_aws_figure_is_quoted_from_an_aws_page(name: str, in_quote: str) -> None:
    cited = AWS[name]
    assert cited.verified
    assert in_quote in cited.quote
    assert re.match(r"https://(docs\.aws\.amazon\.com|aws\.amazon\.com|docs\.amazonaws\.cn)/", cited.url)


def test_the_prices_not_read_on_an_aws_page_say_so() -> None:
    unverified = {name for name, cited in AWS.items() if not cited.verified}
    assert unverified == {"export_gb", "s3_put", "s3_get"}
    for name in unverified:
        assert "not readable" in AWS[name].quote


def test_the_default_scenario_is_the_deployment_it_names() -> None:
    """live/prod's domain, the shipped index's shards and replicas, the handler's work budget and the CLI's
    polling: when one changes, the projection's defaults must follow."""
    prod = (ROOT / "live" / "prod" / "env.hcl").read_text()
    opensearch = re.search(r"opensearch\s*=\s*\{(.*)\}", prod)
    assert opensearch is not None
    assert f'instance_type = "{Scenario.instance_type}"' in opensearch.group(1)
    assert f"instance_count = {Scenario.data_nodes}," in opensearch.group(1)
    index = json.loads((ROOT / "artifacts/update_indices/lambda/indexer/index.json").read_text())["settings"]
    assert index["index"]["number_of_shards"] == Scenario.primary_shards
    most = int(index["index"]["auto_expand_replicas"].split("-")[1])
    assert Scenario.replicas == min(most, Scenario.data_nodes - 1)
    assert Scenario.work_seconds == DEFAULT_WORK_SECONDS
    cli = (ROOT / "artifacts/update_indices/lambda/indexer/ops/bulk_load_cli.py").read_text()
    assert f'"--export-poll-seconds", type=int, default={Scenario.export_poll_seconds:g}' in cli


def test_every_assumption_states_its_number() -> None:
    texts = bulk_projection.assumptions(MEASURED, SCENARIO)
    joined = " ".join(texts)
    for figure in ("5,000 documents a second", "1 primary shard(s) and 1 replica(s)", "100.0 µs", "400.0 µs",
                   "10 data files", "60 minutes", "1,024 bytes"):  # fmt: skip
        assert figure in joined


# ---- reading the runs --------------------------------------------------------------------------------------

ITEMS = 1000


def bulk_run(workers: int, seconds: float, cpu: float = 0.1, requests: dict[str, int] | None = None) -> dict:
    return {
        "workers": workers,
        "seconds": seconds,
        "prepare_seconds": 0.1,
        "files": 4,
        "invocations": 4,
        "throttled": 0,
        "worker_cpu_seconds": cpu,
        "worker_busy_seconds": seconds * workers,
        "s3_seconds": 0.05 * seconds * workers,
        "s3_requests": requests or {"GetObject": 8, "PutObject": 12},
        "server_cpu": {"opensearch": 0.5, "moto": 0.02},
    }


def scan_run(rate: float) -> dict[str, Any]:
    return {"seconds": ITEMS / rate + 1.0, "reported_items_per_s": rate, "segments": 4, "cpu_seconds": 0.3,
            "server_cpu": {"opensearch": 0.4}}  # fmt: skip


BULK = {
    1: [bulk_run(1, 1.0, cpu=0.10), bulk_run(1, 2.0, cpu=0.12), bulk_run(1, 1.25, cpu=0.11)],
    2: [bulk_run(2, 0.8), bulk_run(2, 1.0), bulk_run(2, 0.5)],
}
SCAN = [scan_run(400.0), scan_run(600.0), scan_run(500.0)]


def test_figures_are_medians_of_the_rounds_and_ratios_of_the_medians() -> None:
    f = summarise(ITEMS, BULK, SCAN)
    one, two = f["scaling"]
    assert (one["items_per_s"], one["efficiency"]) == (800.0, 1.0)  # runs of 1,000, 500 and 800 items/s
    assert (two["items_per_s"], two["items_per_s_per_worker"]) == (1250.0, 625.0)  # 1,250, 1,000, 2,000
    assert two["efficiency"] == 0.781  # 1,250 / (2 x 800)
    assert f["scan_items_per_s"] == 500.0  # the CLI's own rates
    assert (f["one_worker_over_scan"], f["best_over_scan"], f["best_workers"]) == (1.6, 2.5, 2)
    assert f["worker_cpu_us_per_item"] == 110.0  # 100, 120, 110 µs
    assert f["worker_wait_us_per_item"] == 1140.0  # busy 1,250 µs - CPU 110 µs at the median run
    assert one["opensearch_cpu_us_per_item"] == 500.0
    assert one["s3_share"] == 0.05
    assert f["s3_requests_per_1000_items"] == {"GetObject": 8.0, "PutObject": 12.0}


def test_runs_of_one_export_that_made_other_s3_requests_fail_the_benchmark() -> None:
    odd = copy.deepcopy(BULK)
    odd[2][1] = bulk_run(2, 1.0, requests={"GetObject": 9, "PutObject": 12})
    with pytest.raises(AssertionError, match="S3 requests differ"):
        summarise(ITEMS, odd, SCAN)


def test_a_scan_that_reported_no_rate_fails_the_benchmark() -> None:
    with pytest.raises(AssertionError, match="reported no rate"):
        summarise(ITEMS, BULK, [{**scan_run(1.0), "reported_items_per_s": None}])


def test_server_cpu_is_what_each_server_used_during_the_run() -> None:
    assert cpu_delta({"opensearch": 1.0}, {"opensearch": 3.5, "moto": 0.25}) == {
        "moto": 0.25,
        "opensearch": 2.5,
    }


# ---- against moto: the export the children read, the S3 requests they make -------------------------------


def test_the_benchmark_export_is_read_back_by_the_handler_as_the_same_items(moto_endpoint: str) -> None:
    s3 = boto3.client("s3", endpoint_url=moto_endpoint, region_name="us-east-1")
    bucket = f"bulk-{uuid.uuid4().hex[:10]}"
    s3.create_bucket(Bucket=bucket)
    table_arn = f"arn:aws:dynamodb:us-east-1:123456789012:table/{TABLE}"
    description, item_bytes = write_bench_export(s3, bucket, table_arn, items=50, files=3)
    summary = read_summary(s3, bucket, description["ExportManifest"], table_arn=table_arn)
    files = data_files(s3, summary, description["ExportManifest"])
    read = [item for f in files for _, item in read_items(s3, bucket, f)]
    expected = [json.loads(encoded) for encoded in Table(TABLE, 50).encoded]
    assert len(files) == 3
    assert all(f.items > 0 for f in files)
    assert sorted(read, key=lambda item: item["id"]["S"]) == expected
    assert item_bytes == sum(item_size(item) for item in expected) / 50


def test_the_s3_meter_counts_every_call_of_clients_made_from_its_session(moto_endpoint: str) -> None:
    session = boto3.session.Session(region_name="us-east-1")
    meter = S3Meter()
    meter.attach(session)
    s3 = session.client("s3", endpoint_url=moto_endpoint)  # made after attach, as the handler makes its own
    bucket = f"meter-{uuid.uuid4().hex[:10]}"
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="a", Body=b"1")
    s3.get_object(Bucket=bucket, Key="a")["Body"].read()
    with pytest.raises(s3.exceptions.NoSuchKey):  # a child's first checkpoint read finds none
        s3.get_object(Bucket=bucket, Key="missing")
    requests, seconds = meter.take()
    assert requests == {"CreateBucket": 1, "PutObject": 1, "GetObject": 2}
    assert seconds > 0
    assert meter.take() == ({}, 0.0)


# ---- the report --------------------------------------------------------------------------------------------


def figures_for_the_report() -> dict[str, Any]:
    """A complete result as the benchmark assembles it, from its own functions."""
    figures: dict[str, Any] = {
        "items": ITEMS,
        "files": 4,
        "page_items": 1000,
        "bulk_actions": 500,
        "rounds": 3,
        "s3": "moto server process (moto 5.2.5)",
        "opensearch": "osmem-server 0.1.6",
        "item_bytes": 262.9,
        "export_write_seconds": 0.4,
        "worker_cold_start_seconds": 0.3,
        **summarise(ITEMS, BULK, SCAN),
    }
    figures["projection"] = projection(figures, Scenario())
    return figures


def stored(figures: dict[str, Any] | None) -> dict[str, Any]:
    from test_bench_report import STORED, result

    found = copy.deepcopy(STORED)
    if figures is not None:
        found["bulk_load"] = result("bulk_load", figures)
    return found


def test_the_report_renders_every_bulk_load_figure_and_the_projection() -> None:
    figures = figures_for_the_report()
    text = report.render(stored(figures))
    assert "| Bulk load (export file children), 1 worker | 800 items/s (800 a worker) |" in text
    assert "| Bulk load (export file children), 2 workers | 1,250 items/s (625 a worker) | 78% of 2 x" in text
    assert "| Scan backfill (`indexer.ops backfill`), the same items in the same run | 500 items/s |" in text
    assert "| Bulk load / scan backfill | 1.6x (1 worker), 2.5x (2 workers) |" in text
    assert (
        "| Bulk load (export, distributed): `" not in text
    )  # every key the renderer reads, the bench writes
    p = figures["projection"]
    assert "## Projection: 100,000,000 items on AWS (issue 18)" in text
    assert f"| **Total** | **${p['total_usd']:,.2f}** |" in text
    assert f"the limit is the **{p['limit']}**" in text
    cited = [line for line in text.splitlines() if line.startswith("- `")]
    assert len(cited) == len(bulk_projection.AWS)
    assert sum("**unverified**" in line for line in cited) == 3
    assert "- `lambda_gb_second` = 0.00001667 USD per GB-second" in text  # as the price list writes it
    assert "- `bytes_per_gb` = 1,073,741,824 bytes" in text
    assert "**Bulk load**: the export handler's file children" in text  # the method


def test_a_report_without_bulk_load_results_says_not_measured_and_a_partial_one_lists_its_figures() -> None:
    text = report.render(stored(None))
    (missing,) = [line for line in text.splitlines() if line.startswith("Not measured in this report:")]
    assert "`bulk_load`" in missing
    assert "## Projection:" not in text
    partial = report.render(stored({"items": 10, "projection": {"scenario": {}}}))
    assert "| Bulk load (export, distributed): `items` | 10 | figure as stored |" in partial
    assert "The bulk-load projection is stored in a shape this renderer does not know." in partial
