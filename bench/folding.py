"""The cost of folding: the same single-table stream records through the folding path and the flat path.

An orders workload (``bench.orders``: orders placed with their rows, updated, shipped, deleted; customers'
profiles; ``--records`` rows written) is written to a streamed table on a moto server, and its stream's
records, in Lambda events of ``--batch-size``, are fed in this process to three contenders:

- ``folded``: ``process_batch`` with ENTITY_CONFIG (``support.single_table.entity_config``): each batch
  rebuilds every order it touched once, from a strongly consistent Query of the order's partition on moto,
  and writes it with compare-and-set; customers are flat documents with their versions;
- ``flat``: ``process_batch`` without ENTITY_CONFIG: one document per row (the sequence guard for rows
  without a ``version``), the flat indexer's path as it is;
- ``decode``: a naive decode of the same records, boto3's ``TypeDeserializer`` applied per record to its
  ``NewImage`` and ``OldImage``, nothing else: the yardstick of the CPU ratios, which carry across machines
  where absolute microseconds do not.

Both paths write to one OpenSearch (an osmem-server process unless ``BENCH_OPENSEARCH_URL`` names another),
each run into fresh indices, and after every run each index must equal what the independent oracle
(``support.folding_oracle``) rebuilds from the table, or the benchmark fails instead of reporting.

Table reads come from the indexer's own tally: a first, unmeasured pass logs at INFO and its ``batch`` lines
are summed, checked against every Query page the client saw, and priced by DynamoDB's documented rules
(``bench.folding_reads``, ``bench.read_units``): moto answers 1.0 unit for every Query, whatever its size.

Fairness: that pass and one run of ``flat`` and ``decode`` warm up; then ``--rounds`` (at least 5) measured
rounds, the three contenders in an order that rotates from round to round; every figure is the median over
the rounds, every ratio the median of the per-round ratios. CPU is ``time.process_time()`` of this process:
the indexer with boto3's side of each Query and opensearch-py's side of each request; moto and OpenSearch
run in processes of their own. Run alone: ``.venv/bin/python -m bench.folding``.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import statistics
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from boto3.dynamodb.types import TypeDeserializer
from opensearchpy import OpenSearch

from bench import orders, records, results, servers
from bench.folding_reads import MeteredQueries, ReadFigures, batch_lines, read_figures, touched_orders
from indexer.batch import Runtime, process_batch
from indexer.collection_reads import TableCollections
from support.folding_oracle import expected_documents, table_rows
from support.index_oracle import judge, served_documents
from support.single_table import PARTITION_KEY, SORT_KEY, entity_config
from support.stream_records import batches
from support.streams import StreamReader, clients, create_streamed_table

NAME = "folding"
TABLE = "orders"
CONTENDERS = ("folded", "flat", "decode")
DECODE_PASSES = 5
FAKE_AWS = {"AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench"}


@dataclass(frozen=True)
class Workload:
    events: list[dict[str, Any]]
    stream_records: list[dict[str, Any]]
    rows: list[dict[str, Any]]  # the table at the end, decoded by boto3 (the oracle's consistent scan)
    operations: int
    several_row_operations: int  # orders placed or deleted whole

    @property
    def mix(self) -> dict[str, int]:
        counts = {"INSERT": 0, "MODIFY": 0, "REMOVE": 0}
        for record in self.stream_records:
            counts[record["eventName"]] += 1
        return counts


@dataclass
class TimedReader:
    """The indexer's reader, timing each partition read (this process's CPU, and wall) for the breakdown;
    four clock calls a read, far below a microsecond a record."""

    inner: Any
    cpu: float = 0.0
    wall: list[float] = field(default_factory=list)

    def read(self, partition_attribute: Mapping[str, Any], deadline: Any = None) -> Any:
        """The inner read, whose pages are fetched as the fold consumes its rows: the time spent fetching
        them (inside each ``next``) is the read's."""
        cpu, wall = time.process_time(), time.perf_counter()
        collection = self.inner.read(partition_attribute, deadline)
        spent = [time.process_time() - cpu, time.perf_counter() - wall]
        collection.rows = self._timed(collection.rows, spent)
        return collection

    def _timed(self, rows: Iterator[Any], spent: list[float]) -> Iterator[Any]:
        try:
            while True:
                cpu, wall = time.process_time(), time.perf_counter()
                try:
                    row = next(rows)
                except StopIteration:
                    return
                finally:
                    spent[0] += time.process_time() - cpu
                    spent[1] += time.perf_counter() - wall
                yield row
        finally:
            self.cpu += spent[0]
            self.wall.append(spent[1])


@dataclass(frozen=True)
class Run:
    cpu: float
    wall: float
    read_cpu: float = 0.0
    read_walls: tuple[float, ...] = ()


def naive_decode(stream_records: list[dict[str, Any]]) -> None:
    """boto3's TypeDeserializer per record on its images, nothing else."""
    deserialize = TypeDeserializer().deserialize
    for record in stream_records:
        body = record["dynamodb"]
        for name in ("NewImage", "OldImage"):
            image = body.get(name)
            if image:
                {attribute: deserialize(value) for attribute, value in image.items()}


def build_workload(moto_url: str, records_wanted: int, batch_size: int) -> Workload:
    """Write the planned operations to a streamed table on moto; read back its stream and its rows."""
    plan = orders.plan(records_wanted)
    dynamodb, streams = clients(moto_url)
    arn = create_streamed_table(dynamodb, TABLE, (PARTITION_KEY, "S"), (SORT_KEY, "S"))
    for operation in plan:
        orders.write(dynamodb, TABLE, operation)
    stream_records = StreamReader(streams, arn).read()
    written = sum(len(operation) for operation in plan)
    if len(stream_records) != written:
        raise AssertionError(f"{written} rows written, {len(stream_records)} stream records")
    return Workload(
        events=list(batches(stream_records, batch_size)),
        stream_records=stream_records,
        rows=table_rows(dynamodb, TABLE),
        operations=len(plan),
        several_row_operations=sum(1 for operation in plan if len(operation) > 1),
    )


@dataclass
class Bench:
    search_url: str
    workload: Workload
    reader: TableCollections | None = None  # the folded path's reader, kept as a warm container keeps it

    def env(self, alias: str, log_level: str | None = None) -> dict[str, str]:
        return {
            "OPENSEARCH_ENDPOINT": self.search_url,
            "OPENSEARCH_AUTH": "none",
            "OPENSEARCH_INDEX": alias,
            "AWS_REGION": records.REGION,
            "TABLE_PARTITION_KEY": PARTITION_KEY,
            "TABLE_SORT_KEY": SORT_KEY,
            "LOG_LEVEL": log_level or os.environ.get("BENCH_INDEXER_LOG_LEVEL", "WARNING"),
        }

    def folded_runtime(self, prefix: str, log_level: str | None = None) -> Runtime:
        environ = {
            **self.env(f"{prefix}-orders", log_level),
            "TABLE_NAME": TABLE,
            "ENTITY_CONFIG": json.dumps(entity_config(prefix)),
        }
        runtime = Runtime.from_env(environ)
        if (
            self.reader is None
        ):  # the indexer's own reader and client, made once, as a warm container has them
            self.reader = runtime.folder().reader  # type: ignore[assignment]
            assert isinstance(self.reader, TableCollections)
            list(self.reader.read({"S": "WARM#UP"}).rows)  # makes the client: an empty partition
        runtime.reader = self.reader
        return runtime

    def feed(self, runtime: Runtime) -> tuple[float, float]:
        """CPU and wall seconds of ``process_batch`` over every event (the runtime built beforehand)."""
        context = records.FakeContext()
        cpu, wall = time.process_time(), time.perf_counter()
        for event in self.workload.events:
            response = process_batch(event, context, runtime)
            if response["batchItemFailures"]:
                raise AssertionError(f"the indexer reported failures on healthy servers: {response}")
        return time.process_time() - cpu, time.perf_counter() - wall

    def check(self, config: Mapping[str, Any]) -> None:
        """Every index of ``config`` serves exactly the oracle's rebuild of the table; then it is deleted."""
        expected = expected_documents(self.workload.rows, config, PARTITION_KEY, SORT_KEY)
        for alias, documents in expected.items():
            verdict = judge(documents, served_documents(self.search_url, alias))
            if not verdict.clean:
                raise AssertionError(f"{alias} differs from the table's rebuild: {verdict}")
        client = OpenSearch(hosts=[self.search_url], timeout=60)
        for alias in expected:
            client.indices.delete(index=f"{alias}*", ignore_unavailable=True)

    def folded(self, label: str) -> Run:
        prefix = f"bench-folded-{label}"
        runtime = self.folded_runtime(prefix)
        timed = TimedReader(runtime.reader)
        runtime.reader = timed
        cpu, wall = self.feed(runtime)
        self.check(entity_config(prefix))
        return Run(cpu, wall, timed.cpu, tuple(timed.wall))

    def flat(self, label: str) -> Run:
        alias = f"bench-flat-{label}"
        runtime = Runtime.from_env(self.env(alias))
        cpu, wall = self.feed(runtime)
        self.check({"entities": [{"name": "row", "match": {}, "index": alias}]})  # one document per row
        return Run(cpu, wall)

    def decode(self, label: str) -> Run:
        """The naive decode, ``DECODE_PASSES`` times over (a pass takes a few tens of milliseconds, short
        enough for one scheduling hiccup to show): the time of one pass."""
        cpu, wall = time.process_time(), time.perf_counter()
        for _ in range(DECODE_PASSES):
            naive_decode(self.workload.stream_records)
        return Run((time.process_time() - cpu) / DECODE_PASSES, (time.perf_counter() - wall) / DECODE_PASSES)

    def tally_pass(self) -> ReadFigures:
        """The folded path once, logging at INFO: its batch lines and every Query page it read."""
        prefix = "bench-folded-tally"
        printed = io.StringIO()
        with contextlib.redirect_stdout(printed):  # the indexer's JSON log lines
            runtime = self.folded_runtime(prefix, log_level="INFO")
            assert self.reader is not None
            metered = MeteredQueries(self.reader.client)
            self.reader.client = metered
            try:
                self.feed(runtime)
            finally:
                self.reader.client = metered.client
        self.check(entity_config(prefix))
        expected = [touched_orders(event) for event in self.workload.events]
        return read_figures(batch_lines(printed.getvalue()), metered.pages, expected)

    def round(self, label: str, turn: int) -> dict[str, Run]:
        shift = turn % len(CONTENDERS)
        order = CONTENDERS[shift:] + CONTENDERS[:shift]
        return {name: getattr(self, name)(label) for name in order}


def median(values: list[float]) -> float:
    return statistics.median(values)


def summarise(rounds: list[dict[str, Run]], records_count: int) -> dict[str, Any]:
    """The measured figures: medians over the rounds, ratios the medians of per-round ratios."""

    def cpu_us(name: str) -> float:
        return median([r[name].cpu for r in rounds]) / records_count * 1e6

    def rate(name: str) -> float:
        return median([records_count / r[name].wall for r in rounds])

    def ratio(top: str, bottom: str, of: str = "cpu") -> float:
        return median([getattr(r[top], of) / getattr(r[bottom], of) for r in rounds])

    read_walls = [wall for r in rounds for wall in r["folded"].read_walls]
    return {
        "decode_cpu_us_per_record": round(cpu_us("decode"), 2),
        "flat_cpu_us_per_record": round(cpu_us("flat"), 1),
        "folded_cpu_us_per_record": round(cpu_us("folded"), 1),
        "flat_cpu_ratio_to_decode": round(ratio("flat", "decode"), 1),
        "folded_cpu_ratio_to_decode": round(ratio("folded", "decode"), 1),
        "folded_cpu_over_flat": round(ratio("folded", "flat"), 2),
        "folded_read_cpu_us_per_record": round(
            median([r["folded"].read_cpu for r in rounds]) / records_count * 1e6, 1
        ),
        "flat_records_per_s": round(rate("flat"), 1),
        "folded_records_per_s": round(rate("folded"), 1),
        "folded_share_of_flat_records_per_s": round(
            median([r["flat"].wall / r["folded"].wall for r in rounds]), 3
        ),
        "moto_partition_read_ms_median": round(median(read_walls) * 1000, 2) if read_walls else 0.0,
        "folded_wall_share_in_reads": round(
            median([sum(r["folded"].read_walls) / r["folded"].wall for r in rounds]), 3
        ),
        "per_round": {
            name: {
                "cpu_us_per_record": [round(r[name].cpu / records_count * 1e6, 1) for r in rounds],
                "records_per_s": [round(records_count / r[name].wall, 1) for r in rounds],
            }
            for name in CONTENDERS
        },
    }


def workload_figures(workload: Workload, batch_size: int, rounds: int) -> dict[str, Any]:
    """What was fed: records by kind and by entity, the operations behind them, the table at the end."""
    count = len(workload.stream_records)
    order_records = sum(
        1 for r in workload.stream_records if r["dynamodb"]["Keys"][PARTITION_KEY]["S"].startswith("ORDER#")
    )
    return {
        "records": count,
        "batch_size": batch_size,
        "rounds": rounds,
        "mix": workload.mix,
        "order_records": order_records,
        "customer_records": count - order_records,
        "operations": workload.operations,
        "several_row_operations": workload.several_row_operations,
        "rows_at_end": len(workload.rows),
    }


def notes(figures: Mapping[str, Any]) -> list[str]:
    """What the absolute figures mean here: computed from the figures, never typed in."""
    return [
        f"folding: the folded path's table reads go to a moto server on this machine, "
        f"{figures['moto_partition_read_ms_median']} ms (median, wall) a partition read, "
        f"{figures['folded_wall_share_in_reads']:.0%} of the folded path's wall time. moto answers a Query "
        f"by walking every item of the table ({figures['rows_at_end']:,} rows here) where DynamoDB reads "
        "only the partition, so the folded records/s measures moto's Query as much as the indexer; on AWS "
        "it follows DynamoDB's Query latency instead. The CPU per record includes boto3's side of those "
        f"reads ({figures['folded_read_cpu_us_per_record']} µs a record: request, signing, sending, parsing, "
        "decoding the rows), which a Lambda pays alike.",
        "folding: read units are reported twice: `read_units_moto_per_record` is the indexer's tally "
        "(ReturnConsumedCapacity as moto answers it: 1.0 a Query whatever its size), "
        "`read_units_dynamodb_per_record` is what DynamoDB would charge for the same Query pages by its "
        "documented rules (item sizes; a page's items totalled and rounded up to 4 KB; one unit per 4 KB, "
        f"strongly consistent); they differ on {figures['moto_pages_disagreeing_with_dynamodb']} of "
        f"{figures['query_pages']} Query pages.",
    ]


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=1_500, help="rows written, one stream record each")
    parser.add_argument("--batch-size", type=int, default=100, help="records per Lambda event")
    parser.add_argument("--rounds", type=int, default=5, help="measured rounds after the warm-up (>= 5)")
    args = parser.parse_args(argv)
    if args.rounds < 5:
        parser.error("--rounds must be at least 5: figures are medians of at least 5 runs")

    os.environ.update({**FAKE_AWS, "AWS_REGION": records.REGION, "AWS_DEFAULT_REGION": records.REGION})
    with servers.moto() as moto_url, servers.opensearch() as search_url:
        os.environ["AWS_ENDPOINT_URL_DYNAMODB"] = moto_url  # the indexer's own client reads moto's table
        workload = build_workload(moto_url, args.records, args.batch_size)
        bench = Bench(search_url, workload)
        reads = bench.tally_pass()  # also the folded path's warm-up
        bench.flat("warmup")
        bench.decode("warmup")
        rounds = [bench.round(f"r{turn}", turn) for turn in range(args.rounds)]
        opensearch_kind = "external" if os.environ.get("BENCH_OPENSEARCH_URL") else "osmem-server"

    figures = {
        **workload_figures(workload, args.batch_size, args.rounds),
        "opensearch": opensearch_kind,
        "dynamodb": "moto server",
        **reads.figures(),
        **summarise(rounds, len(workload.stream_records)),
    }
    results.save(NAME, figures, notes(figures))
    return figures


if __name__ == "__main__":
    main()
