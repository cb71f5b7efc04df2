"""audit: each planted difference (missing, stale, orphaned) is found, --repair clears it; exit codes."""

from __future__ import annotations

import json
import os
from typing import Any

import pytest
from opensearchpy import OpenSearch, helpers

from indexer import batch
from indexer.index_setup import ensure_index
from indexer.ops.__main__ import main
from indexer.ops.audit import AuditOptions, audit
from indexer.ops.backfill import BackfillOptions, backfill
from indexer.ops.target import Target, open_target, settings_from
from support.streams import LambdaContext


@pytest.fixture
def planted(target: Target, table: Any, search: OpenSearch) -> dict[str, str]:
    """300 items indexed, then one document deleted, one altered and one added behind the table's back."""
    table.seed(300)
    ensure_index(target.search, target.settings)
    assert backfill(target, BackfillOptions(segments=2)).ok
    alias = target.alias
    version = search.get(index=alias, id="b00010")["_version"]
    search.delete(index=alias, id="b00010", params={"version": version, "version_type": "external_gte"})
    stale = search.get(index=alias, id="b00020")
    altered = {**stale["_source"], "title": "not what the table says"}
    search.index(
        index=alias,
        id="b00020",
        body=altered,
        params={"version": stale["_version"], "version_type": "external_gte"},
    )
    search.index(
        index=alias, id="ghost", body={"id": "ghost"}, params={"version": 1, "version_type": "external"}
    )
    return {"missing": "b00010", "stale": "b00020", "orphaned": "ghost"}


def run(capsys: pytest.CaptureFixture[str], moto_endpoint: str, *args: str) -> tuple[int, dict[str, Any]]:
    code = main(["audit", "--dynamodb-endpoint", moto_endpoint, "--recheck-after", "0", *args])
    return code, json.loads(capsys.readouterr().out)


def test_audit_finds_each_planted_difference_and_repair_clears_them(
    planted: dict[str, str], moto_endpoint: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, found = run(capsys, moto_endpoint)
    assert code == 1
    assert {kind: found[f"{kind}_examples"] for kind in planted} == {k: [v] for k, v in planted.items()}
    assert found["table_items"] == 300
    assert found["index_documents"] == 300  # 299 real + the orphan

    code, repaired = run(capsys, moto_endpoint, "--repair")
    assert code == 1  # differences were found (and repaired): still worth an alert
    assert repaired["repaired"] == 3
    assert repaired["repair_failed"] == 0

    code, clean = run(capsys, moto_endpoint)
    assert code == 0
    assert clean["clean"] is True
    assert clean["missing"] == clean["stale"] == clean["orphaned"] == 0


def test_sample_audit_states_its_coverage_and_finds_differences_in_it(
    planted: dict[str, str], moto_endpoint: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, partial = run(capsys, moto_endpoint, "--segments", "8", "--sample-segments", "2", "--seed", "3")
    assert partial["mode"] == "sample"
    assert len(partial["sample"]["segments"]) == 2
    assert partial["sample"]["share_of_table"] == 0.25
    assert partial["table_items"] < 300

    code, everything = run(capsys, moto_endpoint, "--segments", "4", "--sample-segments", "4")
    assert code == 1
    assert {kind: everything[f"{kind}_examples"] for kind in planted} == {k: [v] for k, v in planted.items()}


def test_bad_settings_exit_2_with_the_variable_named(
    env: dict[str, str],
    moto_endpoint: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("OPENSEARCH_AUTH", "kerberos")
    assert main(["audit", "--dynamodb-endpoint", moto_endpoint]) == 2
    assert "OPENSEARCH_AUTH" in capsys.readouterr().err


def test_hooked_documents_are_backfilled_skipped_and_audited_like_the_stream_path(
    env: dict[str, str],
    table: Any,
    moto_endpoint: str,
    search: OpenSearch,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DOCUMENT_HOOK", "ops.ops_hooks:stamp")
    hooked = open_target(settings_from(os.environ), table.name, dynamodb_endpoint=moto_endpoint)
    ids = table.seed(40)
    for doc_id in ids[:5]:
        table.resource.put_item(Item={**table.book(doc_id, 0), "status": "draft"})
    reader = table.reader()
    ensure_index(hooked.search, hooked.settings)

    filled = backfill(hooked, BackfillOptions(segments=2))
    table.resource.put_item(Item=table.book(ids[10], 10, edition=5))
    batch.process_event({"Records": reader.read()}, LambdaContext(60))  # the stream path, same hook

    assert filled.summary["skipped"] == 5
    assert search.get(index=hooked.alias, id=ids[11])["_source"]["indexed_version"] == 2  # 2 * counter 1
    assert search.get(index=hooked.alias, id=ids[10])["_source"]["indexed_version"] == 10  # 2 * counter 5
    assert audit(hooked, AuditOptions(recheck_after=0)).clean
    doc = search.get(index=hooked.alias, id=ids[20])
    search.index(
        index=hooked.alias,
        id=ids[20],
        body={**doc["_source"], "title": "changed behind the table's back"},
        params={"version": doc["_version"], "version_type": "external_gte"},
    )
    found = audit(hooked, AuditOptions(recheck_after=0, repair=True))
    assert found.summary()["stale_examples"] == [ids[20]]
    assert audit(hooked, AuditOptions(recheck_after=0)).clean


def test_sample_mode_counts_every_index_document_beyond_ten_thousand(
    target: Target, table: Any, search: OpenSearch
) -> None:
    """A search counts hits exactly only up to 10,000 unless it asks for ``track_total_hits: true``; beyond,
    the total is a lower bound (``"relation": "gte"``). OpenSearch's Search API
    (https://docs.opensearch.org/latest/api-reference/search-apis/search/), ``track_total_hits``: "When
    true, the exact number of hits is returned at the cost of some performance. [...] Default is 10,000
    hits." The stand-in caps alike, so the sample's stated coverage is checked against the true count."""
    table.seed(5)
    ensure_index(target.search, target.settings)
    assert backfill(target, BackfillOptions(segments=1)).ok
    planted = ({"_index": target.alias, "_id": f"extra-{n}", "_source": {"n": n}} for n in range(10_050))
    helpers.bulk(search, planted, chunk_size=5000)
    search.indices.refresh(index=target.alias)

    found = audit(
        target, AuditOptions(segments=4, sample_segments=1, sample_documents=10, seed=1, recheck_after=0)
    )

    assert found.sample is not None
    assert found.sample["index_documents_sampled"] == 10
    assert found.sample["index_documents_total"] == 10_055
