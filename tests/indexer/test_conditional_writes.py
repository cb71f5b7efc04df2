"""What the folded rebuild relies on in OpenSearch, checked on the stand-in through the bulk writer.

``indexer.rebuild`` writes a folded document only if nothing was written to it since it was read:
- OpenSearch's Index Document API: ``if_seq_no`` "Only perform the index operation if the document has the
  specified sequence number", ``if_primary_term`` likewise for the primary term, and ``op_type=create``
  creates the document only if it does not exist
  (https://docs.opensearch.org/latest/api-reference/document-apis/index-document/); the Bulk API takes the
  same per-action metadata (https://docs.opensearch.org/latest/api-reference/document-apis/bulk/); a refused
  condition is a ``version_conflict_engine_exception`` with status 409 (the stand-in says so word for word);
- every write to a document, a tombstone included, moves its ``_seq_no`` forward (sequence numbers are
  assigned per operation by the primary shard and only grow: Elasticsearch's "Optimistic concurrency
  control", the mechanism OpenSearch kept), so a reader that saw an older ``_seq_no`` can never write;
- GET and multi-get return ``_seq_no`` and ``_primary_term`` of found documents
  (https://docs.opensearch.org/latest/api-reference/document-apis/get-documents/).
A condition on a document that does not exist (purged meanwhile) is refused too: the rebuild then reads again.
"""

from __future__ import annotations

from opensearchpy import OpenSearch

from indexer.bulk import write_actions
from indexer.deadline import Deadline
from indexer.rebuild import read_seq_nos
from indexer.settings import Settings


def test_conditional_bulk_writes_refuse_anything_but_the_read_state(
    env: dict[str, str], search: OpenSearch
) -> None:
    settings = Settings.from_env(env)
    index = f"{settings.opensearch_index}-v1"
    search.indices.create(index=index)
    search.indices.put_alias(index=index, name=settings.opensearch_index)
    deadline = Deadline.unbounded()

    def write(*actions: dict) -> list[str]:
        return [r.outcome for r in write_actions(search, list(actions), settings, deadline)]  # type: ignore[arg-type]

    assert write({"_op_type": "create", "_id": "a", "_source": {"v": 1}}) == ["indexed"]
    assert write({"_op_type": "create", "_id": "a", "_source": {"v": 2}}) == ["conflict"]  # exists
    found = read_seq_nos(search, settings.opensearch_index, ["a", "missing"], deadline, settings)
    assert found["missing"] == (None, index)  # absent: no position, and the concrete index that answered
    (seq_no, term), answered = found["a"]
    assert answered == index
    stale = {
        "_op_type": "index",
        "_id": "a",
        "_source": {"v": 3},
        "if_seq_no": seq_no,
        "if_primary_term": term,
    }
    assert write(stale) == ["indexed"]
    assert write(stale) == ["conflict"]  # the same read, used twice: the first write moved _seq_no on
    [((later, _), _)] = read_seq_nos(search, settings.opensearch_index, ["a"], deadline, settings).values()
    assert later > seq_no
    gone = {"_op_type": "index", "_id": "b", "_source": {"v": 1}, "if_seq_no": 0, "if_primary_term": 1}
    assert write(gone) == ["conflict"]  # a condition on a document that does not exist
    assert search.get(index=index, id="a")["_source"] == {"v": 3}
