"""Operations on a running deployment: ``python -m indexer.ops <command>``.

``backfill`` indexes the items that already exist, ``replay-dlq`` re-drives dead-lettered stream batches,
``reindex`` moves the alias to a fresh index without losing a write, ``audit`` compares table and index.
All of them build documents and write them through the same modules as the stream path
(``changes`` -> ``documents`` -> ``bulk``); ``docs/operations.md`` is the runbook.
"""
