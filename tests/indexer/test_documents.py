"""Projection and the document hook, alone and end to end."""

from __future__ import annotations

from typing import Any

import pytest

from indexer.batch import Runtime, process_batch
from indexer.changes import Change
from indexer.documents import build_action, load_hook, project
from indexer.errors import HookError
from indexer.settings import Settings
from support.stream_records import LambdaContext, lambda_event, record

IMAGE = {"id": "b1", "title": "Dune", "author": "Herbert", "ssn": "123", "notes": "internal"}


def settings(**fields: Any) -> Settings:
    return Settings(opensearch_endpoint="http://localhost:9200", opensearch_index="books", **fields)


def change(kind: str = "upsert", image: dict[str, Any] | None = None) -> Change:
    return Change("b1", {"id": "b1"}, kind, image, 42, "7", 1.7e9)  # type: ignore[arg-type]


def test_include_then_exclude() -> None:
    assert project(IMAGE, settings()) == IMAGE
    assert project(IMAGE, settings(exclude_attributes=("ssn", "notes"))) == {
        "id": "b1",
        "title": "Dune",
        "author": "Herbert",
    }
    assert project(IMAGE, settings(include_attributes=("title", "missing"))) == {"title": "Dune"}
    assert project(IMAGE, settings(include_attributes=("title", "ssn"), exclude_attributes=("notes",))) == {
        "title": "Dune",
        "ssn": "123",
    }


def test_actions_carry_the_external_version() -> None:
    assert build_action(change(image=IMAGE), settings(exclude_attributes=("ssn",)), None) == {
        "_op_type": "index",
        "_id": "b1",
        "version": 42,
        "version_type": "external_gte",
        "_source": {
            "id": "b1",
            "title": "Dune",
            "author": "Herbert",
            "notes": "internal",
        },
    }
    assert build_action(change("delete"), settings(), None) == {  # a tombstone document (tombstones.py)
        "_op_type": "index",
        "_id": "b1",
        "version": 42,
        "version_type": "external_gte",
        "_source": {"indexer_tombstone": True, "indexer_deleted_at": 1_700_000_000},
    }
    assert build_action(change(image=None), settings(), None) is None


def test_hook_enriches_and_none_turns_into_a_versioned_delete() -> None:
    hook = load_hook("book_hooks:enrich")
    action = build_action(change(image=IMAGE), settings(), hook)
    assert action is not None
    assert action["_source"]["title_sort"] == "dune"
    assert action["_source"]["indexed_version"] == 42
    draft = build_action(change(image={**IMAGE, "status": "draft"}), settings(), hook)
    assert draft == {
        "_op_type": "index",
        "_id": "b1",
        "version": 42,
        "version_type": "external_gte",
        "_source": {"indexer_tombstone": True, "indexer_deleted_at": 1_700_000_000},
    }


def test_hook_sees_only_the_projected_document() -> None:
    seen: list[dict[str, Any]] = []

    def spy(document: dict[str, Any], _change: Change) -> dict[str, Any]:
        seen.append(dict(document))
        return document

    build_action(change(image=IMAGE), settings(exclude_attributes=("ssn",)), spy)
    assert "ssn" not in seen[0]


@pytest.mark.parametrize(
    ("spec", "message"),
    [("book_hooks:explode", "raised KeyError"), ("book_hooks:not_a_dict", "returned list")],
)
def test_a_failing_hook_raises_hook_error(spec: str, message: str) -> None:
    with pytest.raises(HookError, match=message):
        build_action(change(image=IMAGE), settings(), load_hook(spec))


def test_a_hook_returning_unserializable_values_raises_hook_error() -> None:
    with pytest.raises(HookError, match="not JSON-serializable"):
        build_action(change(image=IMAGE), settings(), lambda doc, _c: {**doc, "bad": object()})


@pytest.mark.parametrize("number", [float("nan"), float("inf"), float("-inf")])
def test_a_hook_returning_a_number_json_cannot_carry_fails_instead_of_writing_null(number: float) -> None:
    """orjson writes NaN and infinities as null; the hook's document is refused before it gets that far."""
    with pytest.raises(HookError, match="not JSON-serializable"):
        build_action(change(image=IMAGE), settings(), lambda doc, _c: {**doc, "score": number})


def test_projection_and_hook_end_to_end(env: dict[str, str], docs: Any, unique_name: str) -> None:
    runtime = Runtime.from_env(
        {**env, "INDEX_EXCLUDE_ATTRIBUTES": "ssn,notes", "DOCUMENT_HOOK": "book_hooks:enrich"}
    )
    image = {"id": {"S": "b1"}, "title": {"S": "Dune"}, "ssn": {"S": "123-45"}, "notes": {"S": "x"}}
    first = record("INSERT", {"id": {"S": "b1"}}, 1, image, 1.7e9)
    assert process_batch(lambda_event([first]), LambdaContext(), runtime) == {"batchItemFailures": []}
    (document,) = docs(unique_name).values()
    assert set(document) == {"id", "title", "title_sort", "indexed_version"}
    draft = record("MODIFY", {"id": {"S": "b1"}}, 2, {**image, "status": {"S": "draft"}}, 1.7e9)
    assert process_batch(lambda_event([draft]), LambdaContext(), runtime) == {"batchItemFailures": []}
    assert docs(unique_name) == {}
