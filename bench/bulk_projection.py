"""The projection of a distributed bulk load on AWS (issue 18, "Measure"): the wall time and the cost of
backfilling a large table, computed from ``bench.bulk_load``'s measured per-worker figures, AWS's documented
limits and prices, and assumptions stated one by one.

Every AWS figure is a ``Cited`` value: the number, the page it was read on (found with the search tool) and
the sentence quoted. Two prices could not be read on an AWS page: AWS's pricing pages for S3 requests and
DynamoDB exports show their prices in the browser, and the stored copies lack them; those carry
``verified=False``, name where the figure comes from instead, and the report marks them. What AWS does not
document (how fast a data node indexes, how many files an export writes, how long it takes) is a
``Scenario`` field with a default, listed in ``assumptions``.

The model, per the state machine (``modules/bulk-load/state_machine.asl.json``) and the export handler:

- a child (one file at a time, one ``_bulk`` in flight) spends, per item, its CPU time scaled to the vCPU
  share Lambda gives its memory, plus the time it waits for OpenSearch and S3 (measured with one worker);
- the Map runs ``min(MaxConcurrency, files, Lambda's concurrency quota)`` children; MaxConcurrency is the
  bulk-load module's ``data nodes x concurrency_per_data_node``;
- the domain indexes at most ``docs/s per data node x min(data nodes, shard copies) / copies per document``
  (every document is written to its primary and each replica; a copy lives on one node);
- the load runs at the lower of the two; every child is billed for the whole load (an upper bound: a
  throttled child waits in a Wait state, which Lambda does not bill).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from typing import Any


@dataclass(frozen=True)
class Cited:
    value: float
    unit: str
    url: str
    quote: str
    verified: bool = True  # False: not readable on the AWS page as stored here; check it before relying on it


LAMBDA_PRICING = "https://docs.aws.amazon.com/whitepapers/latest/how-aws-pricing-works/lambda.html"
AWS: dict[str, Cited] = {
    "lambda_mb_per_vcpu": Cited(
        1769, "MB of function memory per vCPU",
        "https://docs.aws.amazon.com/lambda/latest/dg/resource-model.html",
        "At 1,769 MB, a function has the equivalent of one vCPU (one vCPU-second of credits per second)."),
    "lambda_concurrency": Cited(
        1000, "concurrent executions, the default quota per Region",
        "https://docs.aws.amazon.com/lambda/latest/dg/limits.html",
        "Concurrent executions | 1,000 | Tens of thousands"),
    "map_concurrency": Cited(
        10_000, "child workflow executions a Distributed Map runs at once",
        "https://docs.aws.amazon.com/ja_jp/step-functions/latest/dg/state-map-distributed.md",
        "指定しない場合、Step Functions は 10,000 件の子ワークフローを並列で実行します。 "
        "(If you do not specify it, Step Functions runs 10,000 child workflows in parallel: the page's "
        "Japanese copy, as stored here.)"),
    "export_files_per_partition": Cited(
        1, "data file per partition, at least",
        "https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/S3DataExport.Output.html",
        "The export creates at least 1 file per partition."),
    "bytes_per_gb": Cited(
        1024**3, "bytes in DynamoDB's GB",
        "https://docs.amazonaws.cn/en_us/amazondynamodb/latest/developerguide/Constraints.md",
        "All size measurements in DynamoDB use binary-based units. DynamoDB denotes 1 KB = 1024 bytes, "
        "1 MB = 1024 KB, 1 GB = 1024 MB"),
    "lambda_gb_second": Cited(
        0.00001667, "USD per GB-second (us-east-1, x86)", LAMBDA_PRICING,
        "$0.00001667 for every GB-second used thereafter."),
    "lambda_request": Cited(
        0.0000002, "USD per request", LAMBDA_PRICING,
        "$0.20 per 1 million requests thereafter, or $0.0000002 per request."),
    "state_transition": Cited(
        0.000025, "USD per state transition (Standard; us-east-1 and eu-west-1 alike)",
        "https://aws.amazon.com/step-functions/pricing/",
        "$0.025 per 1,000 state transitions ... Step Functions counts a state transition each time a step of "
        "your workflow is executed. You are charged for the total number of state transitions across all "
        "your state machines, including retries."),
    "child_execution_transitions": Cited(
        1, "state transition per child workflow execution a Distributed Map starts",
        "https://docs.aws.amazon.com/ja_jp/step-functions/latest/dg/concepts-transitions.html",
        "Map 状態を分散モードで使用すると、分散マップ状態が開始された子ワークフロー実行ごとに "
        "1 つの状態遷移に対して課金されます。 "
        "(A Map state in Distributed mode is charged one state transition for each child workflow execution "
        "it starts: the page's Japanese copy, as stored here.)"),
    "export_gb": Cited(
        0.10, "USD per GB of table (us-east-1)", "https://aws.amazon.com/dynamodb/pricing/on-demand/",
        "not readable in the stored copy of AWS's page (its prices render in the browser); $0.10 is what a "
        "third-party summary of DynamoDB's pricing found here says: 'Data Export to Amazon S3: $0.10 per GB'",
        verified=False),
    "s3_put": Cited(
        0.005 / 1000, "USD per PUT request (S3 Standard, us-east-1)", "https://aws.amazon.com/s3/pricing/",
        "not readable in the stored copy of AWS's page (its prices render in the browser); $0.005 per 1,000 "
        "is the example a third-party explanation of that page uses (cloudkaramchari.com, 'Understanding per "
        "1000 PUT COPY POST or LIST Requests in Amazon S3 Pricing')", verified=False),
    "s3_get": Cited(
        0.0004 / 1000, "USD per GET request (S3 Standard, us-east-1)", "https://aws.amazon.com/s3/pricing/",
        "not readable in the stored copy of AWS's page (its prices render in the browser) nor found on any "
        "page here for us-east-1: an assumption (an infracost run shown on zenn.dev prices another Region's "
        "GETs at $0.00037 per 1,000 beside PUTs at $0.0047)", verified=False),
}  # fmt: skip


@dataclass(frozen=True)
class Measured:
    """What the benchmark measured that the projection needs (one worker's runs, medians)."""

    worker_cpu_us_per_item: float  # the child's own CPU per item
    worker_wait_us_per_item: float  # its busy wall time minus its CPU per item: waiting on OpenSearch and S3
    item_bytes: float  # mean item size as DynamoDB sizes items
    s3_gets_per_item: float
    s3_puts_per_item: float
    scan_items_per_s: float  # today's scan backfill, same items, same run

    def __post_init__(self) -> None:
        _check_positive(self, zero_ok={"worker_wait_us_per_item", "s3_gets_per_item", "s3_puts_per_item"})


@dataclass(frozen=True)
class Scenario:
    """The deployment projected. Defaults: live/prod (3 data nodes of r7g.large.search), the bulk-load
    module's defaults (2 children per data node, 1,024 MB), the shipped index (index.json: 1 shard,
    ``auto_expand_replicas`` 0-1, so 1 replica on 3 nodes) and the CLI's export polling."""

    items: int = 100_000_000
    instance_type: str = "r7g.large.search"
    data_nodes: int = 3
    concurrency_per_data_node: int = 2
    memory_mb: int = 1024
    primary_shards: int = 1
    replicas: int = 1
    docs_per_s_per_data_node: float = 5_000.0  # assumed: AWS documents no indexing rate per instance type
    export_files: int = 1_000  # assumed: AWS documents at least one per partition, not how many
    work_seconds: float = 300.0  # BULK_LOAD_WORK_SECONDS' default: a child answers partial after this
    export_minutes: float = 60.0  # assumed: AWS documents no export duration
    export_poll_seconds: float = 60.0  # the CLI's --export-poll-seconds default

    def __post_init__(self) -> None:
        _check_positive(self, zero_ok={"replicas"})

    @property
    def max_concurrency(self) -> int:
        """The bulk-load module's MaxConcurrency: data nodes x children per data node."""
        return self.data_nodes * self.concurrency_per_data_node


def _check_positive(values: Any, zero_ok: set[str]) -> None:
    for spec in fields(values):
        value = getattr(values, spec.name)
        if isinstance(value, int | float) and (value < 0 or (value == 0 and spec.name not in zero_ok)):
            kind = "0 or more" if spec.name in zero_ok else "more than 0"
            raise ValueError(f"{spec.name} must be {kind}, got {value}")


def project(measured: Measured, scenario: Scenario) -> dict[str, Any]:
    """Wall time and cost of loading ``scenario.items`` items; every intermediate figure is kept."""
    s = scenario
    concurrency = min(
        s.max_concurrency,
        s.export_files,
        int(AWS["map_concurrency"].value),
        int(AWS["lambda_concurrency"].value),
    )
    vcpu_share = min(1.0, s.memory_mb / AWS["lambda_mb_per_vcpu"].value)  # one thread uses one vCPU at most
    child_us_per_item = measured.worker_cpu_us_per_item / vcpu_share + measured.worker_wait_us_per_item
    child_items_per_s = 1e6 / child_us_per_item
    cpu_bound_items_per_s = 1e6 * vcpu_share / measured.worker_cpu_us_per_item  # a child that never waits
    workers_items_per_s = concurrency * child_items_per_s
    copies = 1 + s.replicas
    domain_items_per_s = s.docs_per_s_per_data_node * min(s.data_nodes, s.primary_shards * copies) / copies
    items_per_s = min(workers_items_per_s, domain_items_per_s)
    load_seconds = s.items / items_per_s
    child_seconds = concurrency * load_seconds  # every child billed for the whole load: an upper bound
    invocations = math.ceil(child_seconds / s.work_seconds) + s.export_files  # each file ends on a short one
    polls = max(1, math.ceil(s.export_minutes * 60 / s.export_poll_seconds))
    # The ASL: HaveExport, Export, (WaitForExport, DescribeExport, ExportDone) per poll, Prepare, Files,
    # AfterFiles, Done; per child: its start, LoadFile + FileDone per invocation, FilePause before each
    # further invocation, FileLoaded.
    parent_transitions = 2 + 3 * polls + 4
    child_transitions = s.export_files * AWS["child_execution_transitions"].value + 3 * invocations
    transitions = parent_transitions + child_transitions
    table_gb = s.items * measured.item_bytes / AWS["bytes_per_gb"].value
    gb_seconds = child_seconds * s.memory_mb / 1024
    s3_gets = s.items * measured.s3_gets_per_item
    s3_puts = s.items * measured.s3_puts_per_item
    cost = {
        "export": table_gb * AWS["export_gb"].value,
        "lambda": gb_seconds * AWS["lambda_gb_second"].value + invocations * AWS["lambda_request"].value,
        "step_functions": transitions * AWS["state_transition"].value,
        "s3_requests": s3_puts * AWS["s3_put"].value + s3_gets * AWS["s3_get"].value,
    }
    return {
        "scenario": asdict(s),
        "measured": asdict(measured),
        "max_concurrency": s.max_concurrency,
        "concurrency": concurrency,
        "vcpu_share": round(vcpu_share, 3),
        "child_us_per_item": round(child_us_per_item, 1),
        "child_items_per_s": round(child_items_per_s, 1),
        "child_cpu_bound_items_per_s": round(cpu_bound_items_per_s, 1),
        "workers_items_per_s": round(workers_items_per_s, 1),
        "domain_items_per_s": round(domain_items_per_s, 1),
        "items_per_s": round(items_per_s, 1),
        "limit": "domain" if domain_items_per_s < workers_items_per_s else "workers",
        "children_to_reach_domain": math.ceil(domain_items_per_s / child_items_per_s),
        "load_hours": round(load_seconds / 3600, 2),
        "scan_hours": round(s.items / measured.scan_items_per_s / 3600, 2),
        "table_gb": round(table_gb, 2),
        "lambda_gb_seconds": round(gb_seconds),
        "lambda_invocations": invocations,
        "state_transitions": round(transitions),
        "s3_gets": round(s3_gets),
        "s3_puts": round(s3_puts),
        "cost_usd": {name: round(value, 2) for name, value in cost.items()},
        "total_usd": round(sum(cost.values()), 2),
        "aws": {name: asdict(cited) for name, cited in AWS.items()},
        "assumptions": assumptions(measured, s),
    }


def assumptions(measured: Measured, s: Scenario) -> list[str]:
    """What the projection takes for granted, each with its number."""
    writers = min(s.data_nodes, s.primary_shards * (1 + s.replicas))
    return [
        f"The domain indexes {s.docs_per_s_per_data_node:,.0f} documents a second per data node "
        f"({s.instance_type}), counting every copy (primary and replicas) as a document. AWS documents no "
        "indexing rate per instance type; measure it (CloudWatch IndexingRate during a dedicated window) "
        "and pass it with --docs-per-node.",
        f"The index has {s.primary_shards} primary shard(s) and {s.replicas} replica(s) (index.json: one "
        f"shard, auto_expand_replicas 0-1 on {s.data_nodes} nodes), so at most {writers} node(s) take this "
        "index's writes, whatever MaxConcurrency is.",
        f"A child on Lambda spends its measured CPU per item ({measured.worker_cpu_us_per_item:,.1f} µs "
        f"here) divided by the vCPU share of {s.memory_mb} MB, and waits per item as long as one worker "
        f"waited here for the OpenSearch stand-in and moto's S3 ({measured.worker_wait_us_per_item:,.1f} "
        "µs): this machine's core counts as one Lambda vCPU, and a domain answers a _bulk in the time the "
        "stand-in took on this machine's shared cores (AWS documents no _bulk latency; a child that never "
        "waited would reach the CPU-bound rate shown beside).",
        f"The export writes {s.export_files:,} data files (at least one per partition, AWS says; it does "
        "not say how many); with fewer files than MaxConcurrency, the Map runs fewer children.",
        f"The export takes {s.export_minutes:g} minutes, polled every {s.export_poll_seconds:g} s: it is in "
        "the state transitions, not in the wall time (AWS documents no export duration).",
        f"Items are {measured.item_bytes:,.0f} bytes as DynamoDB sizes them (the benchmark's books), and "
        "the export is billed on that table size; S3 requests per item are the ones the benchmark's "
        "children made (files of a few thousand items here: per-file requests weigh more than with large "
        "files).",
        "Lambda bills every child for the whole load (an upper bound: a child that answers throttled waits "
        "in a Wait state, unbilled), at the us-east-1 x86 list price; no free tier; the domain's own hours "
        "and the export's S3 storage until the lifecycle rule expires it are not counted.",
    ]


def markdown(projection: Mapping[str, Any]) -> list[str]:
    """The report's section for a projection stored by the benchmark."""
    p, s = projection, projection["scenario"]
    cost = p["cost_usd"]
    lines = [
        f"## Projection: {s['items']:,} items on AWS (issue 18)",
        "",
        f"Computed by `bench.bulk_projection` from the measured figures above, for {s['data_nodes']} data "
        f"nodes of {s['instance_type']} and MaxConcurrency {p['max_concurrency']} ({s['data_nodes']} x "
        f"{s['concurrency_per_data_node']} children per data node, the bulk-load module's rule), export "
        f"function memory {s['memory_mb']} MB.",
        "",
        "| Figure | Value | How |",
        "|---|---:|---|",
        f"| Wall time of the load | {p['load_hours']:,.2f} h | {s['items']:,} items at "
        f"{p['items_per_s']:,.0f} items/s; the limit is the **{p['limit']}** |",
        f"| Workers' capacity | {p['workers_items_per_s']:,.0f} items/s | {p['concurrency']} children x "
        f"{p['child_items_per_s']:,.0f} items/s ({p['child_us_per_item']:,.1f} µs an item at a vCPU share of "
        f"{p['vcpu_share']:g}; {p['child_cpu_bound_items_per_s']:,.0f} items/s if it never waited) |",
        f"| Domain's capacity (assumed) | {p['domain_items_per_s']:,.0f} items/s | "
        f"{p['children_to_reach_domain']} children reach it; more only add 429s |",
        f"| Scan backfill from one machine, same items | {p['scan_hours']:,.2f} h | at its measured rate, "
        "reading the table's capacity |",
        f"| Export | ${cost['export']:,.2f} | {p['table_gb']:,.2f} GB of table |",
        f"| Lambda | ${cost['lambda']:,.2f} | {p['lambda_gb_seconds']:,} GB-s, {p['lambda_invocations']:,} "
        "invocations |",
        f"| Step Functions (Standard) | ${cost['step_functions']:,.2f} | {p['state_transitions']:,} state "
        "transitions |",
        f"| S3 requests | ${cost['s3_requests']:,.2f} | {p['s3_puts']:,} PUT, {p['s3_gets']:,} GET |",
        f"| **Total** | **${p['total_usd']:,.2f}** | the domain's hours not included |",
        "",
        "Assumptions:",
        "",
        *[f"- {text}" for text in p["assumptions"]],
        "",
        "AWS figures used (each read on the page named; **unverified** ones could not be read on an AWS page "
        "here and must be checked there before the figure is relied on):",
        "",
    ]
    for name, cited in p["aws"].items():
        mark = "" if cited["verified"] else " **unverified**"
        value = plain_number(cited["value"])
        lines.append(f'- `{name}` = {value} {cited["unit"]}{mark}: "{cited["quote"]}" ({cited["url"]})')
    return lines


def plain_number(value: float) -> str:
    """A figure as a price list writes it: 1,073,741,824 or 0.00001667, never 1.07e+09."""
    if float(value).is_integer():
        return f"{int(value):,}"
    return f"{value:.12f}".rstrip("0")
