"""What one value or one lost alias must not do to the index: strings that look like dates, keyword values
over Lucene's term limit, templates an operator added, and writes that would silently create an index.

Each runs the stream Lambda's path (``process_batch``) against the OpenSearch stand-in through the strict
proxy (``support.fault_proxy``), which refuses what the stand-in would accept but OpenSearch does not.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from opensearchpy import OpenSearch

from indexer.batch import Runtime, process_batch
from indexer.bulk import write_actions
from indexer.deadline import Deadline
from indexer.documents import BulkAction
from indexer.index_setup import ensure_index, index_body
from indexer.tombstones import ALIAS_FILTER
from support.immense_terms import MAX_TERM_BYTES, immense_terms
from support.stream_records import LambdaContext, lambda_event, record

NO_FAILURES = {"batchItemFailures": []}
PREVIOUS_INDEX = Path(__file__).with_name("index_of_the_previous_release.json")
SAFE_KEYWORD_CHARACTERS = MAX_TERM_BYTES // 4  # a UTF-8 character takes at most 4 bytes: 8191
SHIPPED_TEMPLATES = ["whole_numbers_as_double", "decimals_as_double"]


def insert(position: int, book_id: str, **attributes: Any) -> dict[str, Any]:
    image = {"id": {"S": book_id}, **{name: {"S": value} for name, value in attributes.items()}}
    return record("INSERT", {"id": {"S": book_id}}, position, image)


def previous_release_index(search: OpenSearch, alias: str) -> str:
    """An index as an older release created it (no date_detection setting, isbn without a cap)."""
    index = f"{alias}-v1"
    old = json.loads(PREVIOUS_INDEX.read_text())
    search.indices.create(index=index, body={**old, "aliases": {alias: {"is_write_index": True}}})
    return index


def mappings_of(search: OpenSearch, index: str) -> dict[str, Any]:
    return search.indices.get_mapping(index=index)[index]["mappings"]


def test_a_string_seen_first_as_a_date_then_as_text_is_indexed_both_times(env: dict[str, str]) -> None:
    """Dynamic mapping's date detection maps a new string field that parses as a date as ``date`` ("If
    enabled (default), then new string fields are checked to see whether their contents match any of the
    date patterns specified in DynamicDateFormats", OpenSearch's TypeMapping.DateDetection,
    https://opensearch-project.github.io/opensearch-net/api/OpenSearch.Client.TypeMapping.html); every later
    "n/a" then fails with ``mapper_parsing_exception`` on every retry, until it is dead-lettered."""
    runtime = Runtime.from_env(env)
    first = process_batch(lambda_event([insert(1, "b1", released="2024-05-01")]), LambdaContext(), runtime)
    second = process_batch(lambda_event([insert(2, "b2", released="n/a")]), LambdaContext(), runtime)
    assert (first, second) == (NO_FAILURES, NO_FAILURES)


def test_an_index_of_an_older_release_stops_detecting_dates_and_caps_keywords_at_cold_start(
    env: dict[str, str], search: OpenSearch, unique_name: str
) -> None:
    """``date_detection`` and ``ignore_above`` are updatable on an existing index with the put-mapping API
    (the stand-in and OpenSearch alike), so an existing index gets both at the next cold start."""
    index = previous_release_index(search, unique_name)
    runtime = Runtime.from_env(env)
    mappings = mappings_of(search, index)
    assert mappings.get("date_detection") in (False, "false")
    assert mappings["properties"]["isbn"]["ignore_above"] == SAFE_KEYWORD_CHARACTERS
    events = [
        insert(1, "b1", released="2024-05-01"),
        insert(2, "b2", released="n/a", isbn="9" * (MAX_TERM_BYTES + 1)),
    ]
    for event in events:
        assert process_batch(lambda_event([event]), LambdaContext(), runtime) == NO_FAILURES


@pytest.mark.parametrize(
    ("characters", "indexed"),
    [("\U0001f4d6" * SAFE_KEYWORD_CHARACTERS, True), ("\U0001f4d6" * (SAFE_KEYWORD_CHARACTERS + 1), False)],
    ids=["8191-four-byte-characters", "8192-four-byte-characters"],
)
def test_a_keyword_value_over_the_term_limit_is_kept_in_source_but_not_indexed(
    env: dict[str, str], search: OpenSearch, unique_name: str, characters: str, indexed: bool
) -> None:
    """``isbn`` is a keyword: one term per value. 8191 characters of 4 bytes (32,764 bytes) fit Lucene's
    limit and are indexed; one more is over it, so ``ignore_above`` leaves it out of the index while the
    document is written (before, the record failed until it was dead-lettered)."""
    runtime = Runtime.from_env(env)
    answer = process_batch(lambda_event([insert(1, "b1", isbn=characters)]), LambdaContext(), runtime)
    assert answer == NO_FAILURES
    search.indices.refresh(index=unique_name)
    assert search.get(index=unique_name, id="b1")["_source"]["isbn"] == characters
    found = search.count(index=unique_name, body={"query": {"term": {"isbn": characters}}})["count"]
    assert found == (1 if indexed else 0)


def test_every_keyword_the_shipped_mapping_declares_is_capped_below_the_term_limit() -> None:
    """Conformance over ``index.json``: any keyword a release maps, or a dynamic template would map (and any a
    user adds there), must carry an ``ignore_above`` of at most 8191 characters; only the indexer's own
    40-digit ``indexer_sequence`` is bounded by construction."""
    mappings = index_body()["mappings"]
    keywords = _keywords(mappings["properties"], "")
    for entry in mappings["dynamic_templates"]:  # keywords a template would map
        ((name, template),) = entry.items()
        keywords.update(_keywords({f"dynamic_templates.{name}": template["mapping"]}, ""))
    uncapped = {
        name: mapping.get("ignore_above")
        for name, mapping in keywords.items()
        if name != "indexer_sequence"
        and not (mapping.get("ignore_above") and mapping["ignore_above"] <= SAFE_KEYWORD_CHARACTERS)
    }
    assert keywords
    assert uncapped == {}
    long_value = {name: "x" * (MAX_TERM_BYTES + 1) for name in ("isbn", "title", "author", "anything")}
    assert immense_terms(mappings, long_value) == []


def _keywords(properties: dict[str, Any], prefix: str) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for name, mapping in properties.items():
        if mapping.get("type") == "keyword":
            found[prefix + name] = mapping
        for sub, sub_mapping in (mapping.get("fields") or {}).items():
            if sub_mapping.get("type") == "keyword":
                found[f"{prefix}{name}.{sub}"] = sub_mapping
        found.update(_keywords(mapping.get("properties") or {}, f"{prefix}{name}."))
    return found


def test_the_strict_proxy_refuses_an_uncapped_keyword_term_as_opensearch_does(
    env: dict[str, str], search: OpenSearch, unique_name: str
) -> None:
    """The local part is as strict as OpenSearch: a keyword without a cap and a value of 32,767 bytes fail
    the record with OpenSearch's error (the stand-in alone would accept it)."""
    index = previous_release_index(search, unique_name)  # isbn: keyword, no ignore_above
    search.indices.put_alias(index=index, name=unique_name, body={"filter": ALIAS_FILTER})
    runtime = Runtime.from_env({**env, "CREATE_INDEX": "false"})  # only checks: the old mapping stays
    event = lambda_event([insert(7, "b7", isbn="9" * (MAX_TERM_BYTES + 1))])
    answer = process_batch(event, LambdaContext(), runtime)
    assert answer == {"batchItemFailures": [{"itemIdentifier": sequence_number(event)}]}
    assert search.count(index=index)["count"] == 0


def sequence_number(event: dict[str, Any]) -> str:
    return event["Records"][0]["dynamodb"]["SequenceNumber"]


def test_templates_an_operator_added_survive_every_cold_start(
    env: dict[str, str], search: OpenSearch, unique_name: str
) -> None:
    """A put-mapping request replaces the index's whole ``dynamic_templates`` list (OpenSearch keeps
    Elasticsearch's behaviour: https://github.com/elastic/elasticsearch/issues/30274 and #24853, "we began
    overwriting all dynamic templates during a 'put mappings' request"; the stand-in does the same). The cold
    start merges by template name: the operator's stay, the shipped ones are added or brought up to date."""
    index = previous_release_index(search, unique_name)
    theirs = {"strings_as_keywords": {"match": "*_code", "mapping": {"type": "keyword", "ignore_above": 64}}}
    outdated = {"whole_numbers_as_double": {"match_mapping_type": "long", "mapping": {"type": "float"}}}
    search.indices.put_mapping(index=index, body={"dynamic_templates": [theirs, outdated]})

    Runtime.from_env(env)
    Runtime.from_env(env)  # a second cold start

    templates = mappings_of(search, index)["dynamic_templates"]
    assert [next(iter(t)) for t in templates] == ["strings_as_keywords", *SHIPPED_TEMPLATES]
    assert templates[0] == theirs
    assert templates[1]["whole_numbers_as_double"]["mapping"] == {"type": "double"}


def test_a_lost_alias_fails_the_records_instead_of_creating_a_concrete_index(
    env: dict[str, str], search: OpenSearch, unique_name: str
) -> None:
    """With the alias gone (deleted with its index, or removed by hand) while a container is warm, a
    ``_bulk`` to the alias's name would auto-create a plain index of that name: no tombstone filter, the
    default mapping, and every later cold start failing on it. ``require_alias=true`` makes OpenSearch refuse
    each item instead (Bulk API, https://docs.opensearch.org/latest/api-reference/document-apis/bulk/:
    "require_alias: Set to true to require that all actions target an index alias rather than an index.")."""
    runtime = Runtime.from_env(env)
    assert (
        process_batch(lambda_event([insert(1, "b1", title="kept")]), LambdaContext(), runtime) == NO_FAILURES
    )
    search.indices.delete(index=runtime.index)

    event = lambda_event([insert(2, "b2", title="lost")])
    answer = process_batch(event, LambdaContext(), runtime)

    assert answer == {"batchItemFailures": [{"itemIdentifier": sequence_number(event)}]}
    assert not search.indices.exists(index=unique_name)


def test_writes_into_a_concrete_index_do_not_require_an_alias(
    env: dict[str, str], search: OpenSearch, unique_name: str
) -> None:
    """The operations tool writes into a concrete index by name (reindex's new index, ``backfill --into``):
    those requests must not carry ``require_alias``."""
    runtime = Runtime.from_env(env)
    concrete = f"{unique_name}-v9"
    search.indices.create(index=concrete, body=index_body())
    action: BulkAction = {"_op_type": "index", "_id": "c1", "_source": {"title": "direct"}}
    [result] = write_actions(runtime.client, [action], runtime.settings, Deadline.unbounded(), index=concrete)
    assert result.ok, result
    assert ensure_index(runtime.client, runtime.settings) == runtime.index
