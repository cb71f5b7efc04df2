"""The folding benchmark's own logic: its workload, the checks on the indexer's tally, the medians it reports,
and how the report renders it (or its absence). The benchmark itself runs with ``make bench``; each of its
runs checks every index against the oracle."""

from __future__ import annotations

import copy
import json
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import orders, report  # noqa: E402
from bench.folding import Run, Workload, naive_decode, notes, summarise, workload_figures  # noqa: E402
from bench.folding_reads import (  # noqa: E402
    MeteredQueries,
    QueryPage,
    ReadFigures,
    batch_lines,
    read_figures,
    touched_orders,
)
from support.stream_records import record  # noqa: E402
from support.streams import StreamReader, clients, create_streamed_table  # noqa: E402

# ---- the workload -----------------------------------------------------------------------------------------


def replay(plan: list[orders.Operation]) -> tuple[dict[tuple[str, str], dict[str, Any]], int]:
    """The table the plan leaves and the stream records it makes, checking that each write makes exactly one
    record on DynamoDB: an update or a delete only of a row that exists (deleting a missing row writes no
    record), and every update changes its row ("If you perform a PutItem or UpdateItem operation that does
    not change any data in an item, DynamoDB Streams does not write a stream record for that operation":
    https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Streams.html)."""
    table: dict[tuple[str, str], dict[str, Any]] = {}
    written = 0
    for operation in plan:
        for row in operation:
            key = (row.key["PK"]["S"], row.key["SK"]["S"])
            if row.kind == "put":
                assert table.get(key) != {**row.key, **row.attributes}, f"a put that changes nothing: {row}"
                table[key] = {**row.key, **row.attributes}
            else:
                assert key in table, f"{row.kind} of a row that is not there: {key}"
                if row.kind == "update":
                    changed = {**table[key], **row.attributes}
                    assert changed != table[key], f"an update that changes nothing: {row}"
                    table[key] = changed
                else:
                    del table[key]
            written += 1
    return table, written


def test_the_plan_is_the_same_for_a_seed_and_writes_at_least_the_records_asked_for() -> None:
    plan = orders.plan(500)
    assert plan == orders.plan(500)
    assert plan != orders.plan(500, seed=7)
    _, written = replay(plan)
    assert 500 <= written < 500 + max(len(operation) for operation in plan)


def test_every_write_of_the_plan_makes_exactly_one_stream_record() -> None:
    table, written = replay(orders.plan(2000))
    assert written == sum(len(operation) for operation in orders.plan(2000))
    assert any(sort.startswith("ITEM#") for _, sort in table)


def test_the_plan_has_what_the_benchmark_claims() -> None:
    plan = orders.plan(2000)
    placed = [op for op in plan if op[0].kind == "put" and op[0].key["SK"] == op[0].key["PK"] and len(op) > 1]
    assert any(len(op) >= 12 for op in placed), "bulk orders of 10 to 30 line items"
    whole = [op for op in plan if len(op) > 1 and all(row.kind == "delete" for row in op)]
    assert whole, "orders deleted whole"
    roots_only = [
        op for op in plan if len(op) == 1 and op[0].kind == "delete" and op[0].key["SK"] == op[0].key["PK"]
    ]
    assert roots_only, "root rows deleted with their children left behind"


def test_a_customer_profile_carries_a_version_one_higher_on_every_write() -> None:
    seen: dict[str, int] = {}
    for operation in orders.plan(2000):
        for row in operation:
            if row.key["PK"]["S"].startswith("CUSTOMER#"):
                version = int(row.attributes["version"]["N"])
                assert version == seen.get(row.key["PK"]["S"], 0) + 1
                seen[row.key["PK"]["S"]] = version
    assert seen


def test_moto_writes_a_stream_record_for_a_write_that_changes_nothing(moto_endpoint: str) -> None:
    """DynamoDB writes none ("If you perform a PutItem or UpdateItem operation that does not change any data
    in an item, DynamoDB Streams does not write a stream record for that operation":
    https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Streams.html); moto does. So the plan
    never writes such a change (the replay above checks it), and its records are the same on both. If moto
    starts following DynamoDB, this fails and the note in ``Shop._update`` goes."""
    dynamodb, streams = clients(moto_endpoint)
    table = f"noop-{uuid.uuid4().hex[:10]}"
    arn = create_streamed_table(dynamodb, table, ("PK", "S"), ("SK", "S"))
    item = {"PK": {"S": "ORDER#1"}, "SK": {"S": "ORDER#1"}, "status": {"S": "paid"}}
    dynamodb.put_item(TableName=table, Item=item)
    dynamodb.put_item(TableName=table, Item=item)  # the same item again
    dynamodb.update_item(
        TableName=table,
        Key={"PK": item["PK"], "SK": item["SK"]},
        UpdateExpression="SET #s = :s",
        ExpressionAttributeNames={"#s": "status"},
        ExpressionAttributeValues={":s": {"S": "paid"}},  # the value it has
    )
    assert [r["eventName"] for r in StreamReader(streams, arn).read()] == ["INSERT", "MODIFY", "MODIFY"]


class RecordingDynamoDB:
    """Records the requests ``orders.write`` makes (pure logic: no table behind it)."""

    def __init__(self, unprocessed: dict[str, Any] | None = None) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.unprocessed = unprocessed or {}

    def __getattr__(self, name: str) -> Any:
        def call(**request: Any) -> dict[str, Any]:
            self.calls.append((name, request))
            return {"UnprocessedItems": self.unprocessed} if name == "batch_write_item" else {}

        return call


def test_rows_written_together_go_in_batches_of_at_most_25_and_single_rows_one_request_each() -> None:
    placed = tuple(
        orders.Write("put", orders.key("ORDER#1", f"ITEM#{n:02d}"), {"line": {"N": str(n)}})
        for n in range(30)
    )
    client = RecordingDynamoDB()
    orders.write(client, "t", placed)
    assert [name for name, _ in client.calls] == ["batch_write_item", "batch_write_item"]
    assert [len(request["RequestItems"]["t"]) for _, request in client.calls] == [25, 5]

    client = RecordingDynamoDB()
    orders.write(
        client, "t", (orders.Write("update", orders.key("ORDER#1", "ORDER#1"), {"status": {"S": "x"}}),)
    )
    ((name, request),) = client.calls
    assert name == "update_item"
    assert request["UpdateExpression"] == "SET #a0 = :v0"
    assert request["ExpressionAttributeNames"] == {"#a0": "status"}

    with pytest.raises(RuntimeError, match="unprocessed"):
        orders.write(RecordingDynamoDB(unprocessed={"t": [{}]}), "t", placed)


# ---- the tally and the pages ------------------------------------------------------------------------------


def event(*partitions: str) -> dict[str, Any]:
    keys = [{"PK": {"S": pk}, "SK": {"S": "X"}} for pk in partitions]
    return {"Records": [record("MODIFY", key, n, {**key}) for n, key in enumerate(keys)]}


def test_a_batch_must_rebuild_its_distinct_orders_and_never_a_customer() -> None:
    assert touched_orders(event("ORDER#1", "ORDER#1", "ORDER#2", "CUSTOMER#1")) == 2
    assert touched_orders(event("CUSTOMER#1")) == 0


def test_only_the_indexers_batch_lines_are_read_from_what_it_printed() -> None:
    printed = "\n".join(
        [
            json.dumps({"message": "batch", "records": 3}),
            "not json",
            json.dumps({"message": "record failed"}),
            json.dumps([1, 2]),
            json.dumps({"message": "batch", "records": 4}),
        ]
    )
    assert [line["records"] for line in batch_lines(printed)] == [3, 4]


def line(records: int, rebuilt: int, pages: int, units: float, conflicts: int = 0) -> dict[str, Any]:
    return {
        "message": "batch",
        "records": records,
        "rebuilt": rebuilt,
        "conflicts": conflicts,
        "table_reads": pages,
        "read_units": units,
    }


PAGES = [QueryPage([5000], 1.0, True), QueryPage([100, 200], 1.0, True), QueryPage([9000, 9000], 1.0, True)]


def test_read_figures_sum_the_tally_and_price_the_pages_by_dynamodbs_rules() -> None:
    figures = read_figures([line(60, 2, 2, 2.0), line(40, 1, 1, 1.0)], PAGES, [2, 1]).figures()
    assert figures["rebuilt"] == 3
    assert figures["query_pages_per_record"] == 0.03
    assert figures["read_units_moto_per_record"] == 0.03
    assert figures["read_units_dynamodb_per_record"] == round((2 + 1 + 5) / 100, 4)  # 5000 B, 300 B, 18000 B
    assert figures["moto_pages_disagreeing_with_dynamodb"] == 2
    assert figures["queries_over_4kb"] == 2
    assert figures["query_bytes_max"] == 18000


@pytest.mark.parametrize(
    ("lines", "pages", "expected", "error"),
    [
        ([line(60, 2, 2, 2.0)], PAGES[:2], [2, 1], "1 batch log lines for 2 batches"),
        ([line(60, 2, 2, 2.0), line(40, 2, 1, 1.0)], PAGES, [2, 1], "rebuilds per batch"),
        ([line(60, 2, 2, 2.0, conflicts=1), line(40, 1, 1, 1.0)], PAGES, [2, 1], "1 conflicts"),
        ([line(60, 2, 2, 2.0), line(40, 1, 1, 1.0)], PAGES[:2], [2, 1], "the client saw 2 pages"),
        ([line(60, 2, 2, 2.0), line(40, 1, 1, 3.0)], PAGES, [2, 1], "5.0 units"),
        (
            [line(60, 2, 2, 2.0), line(40, 1, 1, 1.0)],
            [*PAGES[:2], QueryPage([1], 1.0, False)],
            [2, 1],
            "without ConsistentRead",
        ),
    ],
)
def test_read_figures_fail_when_the_tally_and_the_wire_disagree(lines, pages, expected, error) -> None:
    with pytest.raises(AssertionError, match=error):
        read_figures(lines, pages, expected)


def test_metered_queries_pass_the_answer_on_and_keep_each_pages_item_sizes() -> None:
    answer = {"Items": [{"PK": {"S": "ORDER#1"}}], "ConsumedCapacity": {"CapacityUnits": 1.0}}

    class Client:
        def query(self, **request: Any) -> dict[str, Any]:
            return answer

    metered = MeteredQueries(Client())
    assert metered.query(TableName="t", ConsistentRead=True) is answer
    assert metered.pages == [QueryPage([2 + 7], 1.0, True)]


def test_the_naive_decode_decodes_both_images_of_every_record() -> None:
    class Counting(dict):
        reads = 0

        def items(self):  # type: ignore[override]
            Counting.reads += 1
            return super().items()

    image = Counting({"PK": {"S": "ORDER#1"}})
    records = [{"dynamodb": {"NewImage": image, "OldImage": image}}, {"dynamodb": {"OldImage": image}}]
    naive_decode(records)
    assert Counting.reads == 3


# ---- medians and the report -------------------------------------------------------------------------------


def rounds_of(folded: list[float], flat: list[float], decode: list[float]) -> list[dict[str, Run]]:
    return [
        {
            "folded": Run(cpu=a, wall=a * 10, read_cpu=a / 2, read_walls=(a, a)),
            "flat": Run(cpu=b, wall=b * 10),
            "decode": Run(cpu=c, wall=c),
        }
        for a, b, c in zip(folded, flat, decode, strict=True)
    ]


def test_ratios_are_the_median_of_the_per_round_ratios_not_a_ratio_of_medians() -> None:
    rounds = rounds_of([2, 4, 6, 8, 10], [1, 4, 1, 8, 1], [1, 1, 1, 1, 1])
    figures = summarise(rounds, 1_000_000)
    assert figures["folded_cpu_over_flat"] == 2.0  # per round 2, 1, 6, 1, 10; medians alone would say 6
    assert figures["folded_cpu_us_per_record"] == 6.0  # 6 s of CPU for a million records
    assert figures["folded_cpu_ratio_to_decode"] == 6.0
    assert figures["flat_cpu_ratio_to_decode"] == 1.0
    assert figures["folded_read_cpu_us_per_record"] == 3.0
    assert figures["per_round"]["flat"]["cpu_us_per_record"] == [1.0, 4.0, 1.0, 8.0, 1.0]


def figures_for_the_report() -> dict[str, Any]:
    """A complete result as the benchmark assembles it, from its own functions."""
    records = [record("INSERT", {"PK": {"S": "ORDER#1"}, "SK": {"S": "ORDER#1"}}, n, {}) for n in range(90)]
    records += [
        record("MODIFY", {"PK": {"S": "CUSTOMER#1"}, "SK": {"S": "PROFILE"}}, n, {}) for n in range(10)
    ]
    workload = Workload([], records, rows=[{}] * 40, operations=70, several_row_operations=9)
    reads = read_figures([line(60, 2, 2, 2.0), line(40, 1, 1, 1.0)], PAGES, [2, 1])
    figures = {
        **workload_figures(workload, 100, 5),
        "opensearch": "osmem-server",
        "dynamodb": "moto server",
        **reads.figures(),
        **summarise(rounds_of([2, 4, 6, 8, 10], [1, 4, 1, 8, 1], [1, 1, 1, 1, 1]), 100),
    }
    assert isinstance(reads, ReadFigures)
    return figures


def stored(figures: dict[str, Any] | None) -> dict[str, Any]:
    from test_bench_report import STORED, result

    found = copy.deepcopy(STORED)
    if figures is not None:
        found["folding"] = result("folding", figures)
    return found


def test_the_report_renders_every_folding_figure_from_the_result() -> None:
    figures = figures_for_the_report()
    text = report.render(stored(figures))
    pages = f"{figures['query_pages_per_record']:.3f} Query pages"
    assert f"| Folding: table reads per changed record (the indexer's tally) | {pages} |" in text
    assert f"| {figures['read_units_dynamodb_per_record']:.3f} RCU |" in text
    assert f"| {figures['folded_cpu_us_per_record']} µs / {figures['flat_cpu_us_per_record']} µs |" in text
    assert (
        f"| flat {figures['flat_cpu_ratio_to_decode']}x, folded {figures['folded_cpu_ratio_to_decode']}x |"
        in text
    )
    assert "| Single-table folding: `" not in text  # every key the renderer reads, the benchmark writes
    assert "on 2 of 3 pages" in text
    assert "**Single-table folding**" in text  # the method


def test_a_report_without_folding_results_says_not_measured_and_a_partial_one_lists_its_figures() -> None:
    text = report.render(stored(None))
    (missing,) = [line for line in text.splitlines() if line.startswith("Not measured in this report:")]
    assert "`folding`" in missing
    assert "| Folding:" not in text
    partial = report.render(stored({"records": 10, "folded_cpu_us_per_record": 5.0}))
    assert "| Single-table folding: `folded_cpu_us_per_record` | 5.0 | figure as stored |" in partial


def test_the_notes_say_what_moto_means_for_the_figures() -> None:
    text = " ".join(notes(figures_for_the_report()))
    assert "walking every item of the table (40 rows here)" in text
    assert "they differ on 2 of 3 Query pages" in text
