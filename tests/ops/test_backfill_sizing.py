"""Backfill bulk sizing: ``--bulk-actions`` actions per ``_bulk`` request, ``BULK_MAX_BYTES`` still the cap.

AWS's advice for bulk ingestion is to size bulk requests by measurement, starting at a few MiB and growing
while throughput improves, and to stay under the domain's HTTP payload limit (10 MiB on some instance types):
"How can I improve the indexing performance on my Amazon OpenSearch Service cluster?",
https://aws.amazon.com/premiumsupport/knowledge-center/opensearch-indexing-performance/ and the Amazon
OpenSearch Service Lens, "AOSPERF06-BP02 Evaluate bulk request size",
https://docs.aws.amazon.com/wellarchitected/latest/amazon-opensearch-service-lens/aosperf06-bp02.html.
So the count is the backfill's own measured knob, and the byte cap (5 MiB by default) always holds.
"""

from __future__ import annotations

import io
import os
from contextlib import redirect_stderr, redirect_stdout
from typing import Any

import pytest
from ops.traffic import around_bulk_requests

from indexer.index_setup import ensure_index
from indexer.ops.__main__ import EXIT_USAGE, main
from indexer.ops.backfill import DEFAULT_BULK_ACTIONS, BackfillOptions, backfill
from indexer.ops.target import Target, open_target, settings_from
from support import index_oracle


def _record_bulks(target: Target) -> list[dict[str, int]]:
    """Wraps the target's OpenSearch client: per _bulk request, its actions (answered) and body bytes."""
    requests: list[dict[str, int]] = []

    def recording(body: bytes, answer: dict[str, Any]) -> None:
        requests.append({"actions": len(answer["items"]), "bytes": len(body)})

    around_bulk_requests(target.search, after=recording)
    return requests


def test_each_bulk_request_carries_bulk_actions_actions_whatever_bulk_max_actions_says(
    env: dict[str, str], table: Any, moto_endpoint: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BULK_MAX_ACTIONS", "7")  # the stream's, copied from the Lambda: not the backfill's
    target = open_target(settings_from(os.environ), table.name, dynamodb_endpoint=moto_endpoint)
    table.seed(250)
    ensure_index(target.search, target.settings)
    requests = _record_bulks(target)

    result = backfill(target, BackfillOptions(segments=1, bulk_actions=100))

    assert result.ok, result.reasons
    assert [r["actions"] for r in requests] == [100, 100, 50]  # one 1 MB scan page, three requests
    assert index_oracle.judge_target(target).clean


def test_bulk_max_bytes_still_caps_a_request_of_many_large_items(
    env: dict[str, str], table: Any, moto_endpoint: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    cap = 64 * 1024
    monkeypatch.setenv("BULK_MAX_BYTES", str(cap))
    target = open_target(settings_from(os.environ), table.name, dynamodb_endpoint=moto_endpoint)
    with table.resource.batch_writer() as writer:
        for n in range(60):  # 60 items of ~8 KB: about 480 KB, far over one 64 KiB request
            writer.put_item(Item={**table.book(f"big{n:03d}", n), "title": f"{n} " + "x" * 8000})
    ensure_index(target.search, target.settings)
    requests = _record_bulks(target)

    result = backfill(target, BackfillOptions(segments=1, bulk_actions=DEFAULT_BULK_ACTIONS))

    assert result.ok, result.reasons
    assert len(requests) > 5
    assert all(r["bytes"] <= cap for r in requests), requests
    assert sum(r["actions"] for r in requests) == 60
    assert index_oracle.judge_target(target).clean


def test_the_default_sizing_is_the_measured_one_and_a_bad_bulk_actions_names_the_flag(
    env: dict[str, str], table: Any, moto_endpoint: str
) -> None:
    assert BackfillOptions().bulk_actions == DEFAULT_BULK_ACTIONS
    out, err = io.StringIO(), io.StringIO()
    argv = ["backfill", "--table", table.name, "--dynamodb-endpoint", moto_endpoint, "--bulk-actions", "0"]
    with redirect_stdout(out), redirect_stderr(err):
        code = main(argv, environ=dict(os.environ))
    assert code == EXIT_USAGE
    assert "--bulk-actions must be 1 to 10000, got 0" in err.getvalue()
