"""``python -m indexer.ops <command>``: backfill, replay-dlq, reindex, audit, purge-tombstones, bulk-load
(runbook: docs/operations.md).

Settings come from the indexer's environment variables (OPENSEARCH_ENDPOINT, OPENSEARCH_INDEX,
OPENSEARCH_AUTH, TABLE_PARTITION_KEY, INDEX_INCLUDE_ATTRIBUTES, DOCUMENT_HOOK, ...); flags override the
endpoints, the alias and the table. Progress goes to stderr, the result as one JSON object to stdout.
Exit codes: 0 done and clean, 1 failures or differences found, 2 bad settings or flags, 130 interrupted.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from opensearchpy import TransportError

from indexer.errors import IndexerError
from indexer.logs import LOGGER_NAME, JsonFormatter
from indexer.ops.bulk_load_cli import add_parser as add_bulk_load_parser
from indexer.ops.checkpoint import CheckpointError
from indexer.ops.entity_targets import entities_of, for_entity
from indexer.ops.target import Target, open_target, settings_from

EXIT_OK, EXIT_DIFFERENT, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


def main(argv: Sequence[str] | None = None, environ: dict[str, str] | None = None) -> int:
    environ = dict(os.environ if environ is None else environ)
    args = _parser(environ).parse_args(argv)
    stop = threading.Event()
    previous = _stop_on_signals(stop)
    try:
        settings = settings_from(environ, opensearch_endpoint=args.opensearch_endpoint, index=args.index)
        _log_to_stderr(settings.log_level)
        target = open_target(settings, args.table, dynamodb_endpoint=args.dynamodb_endpoint)
        if args.entity is not None:
            target = for_entity(target, entities_of(target, args.entity)[0])
        result, code = args.run(target, args, stop)
    except (IndexerError, CheckpointError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except (BotoCoreError, ClientError, TransportError) as exc:
        print(f"error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return EXIT_DIFFERENT
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    print(json.dumps(result, default=str, sort_keys=True))
    return EXIT_INTERRUPTED if stop.is_set() and code == EXIT_DIFFERENT else code


def _log_to_stderr(level: str) -> None:
    """The indexer's JSON log lines (per batch, per failed record) on stderr: stdout carries the result."""
    logger = logging.getLogger(LOGGER_NAME)
    logger.setLevel(level)
    if not any(isinstance(h, _StderrHandler) for h in logger.handlers):
        handler = _StderrHandler()
        handler.setFormatter(JsonFormatter())
        logger.addHandler(handler)
    logger.propagate = False


class _StderrHandler(logging.StreamHandler):
    """Writes to whatever sys.stderr is at emit time (tests replace it)."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    def emit(self, record: logging.LogRecord) -> None:
        self.stream = sys.stderr
        super().emit(record)


def _stop_on_signals(stop: threading.Event) -> dict[int, Any]:
    """SIGINT/SIGTERM: finish the pages in flight, save the checkpoint, exit 130 (a second one kills)."""

    def handle(signum: int, _frame: Any) -> None:
        if stop.is_set():
            raise KeyboardInterrupt
        stop.set()
        print(f"signal {signum}: stopping after the pages in flight", file=sys.stderr)

    if threading.current_thread() is not threading.main_thread():
        return {}
    return {signum: signal.signal(signum, handle) for signum in (signal.SIGINT, signal.SIGTERM)}


def _parser(environ: dict[str, str]) -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--table",
        default=environ.get("TABLE_NAME"),
        help="DynamoDB table (default: $TABLE_NAME)",
    )
    common.add_argument("--index", help="alias the stream writes to (default: $OPENSEARCH_INDEX or books)")
    common.add_argument("--opensearch-endpoint", help="override $OPENSEARCH_ENDPOINT")
    common.add_argument(
        "--dynamodb-endpoint",
        default=environ.get("DYNAMODB_ENDPOINT"),
        help="DynamoDB and DynamoDB Streams endpoint, e.g. the local stack's moto (default: AWS; "
        "$DYNAMODB_ENDPOINT)",
    )
    common.add_argument(
        "--entity",
        help="with ENTITY_CONFIG: work on this entity only (default: each in turn; reindex needs one)",
    )

    scanning = argparse.ArgumentParser(add_help=False)
    scanning.add_argument("--segments", type=int, default=4, help="parallel scan segments (default 4)")
    scanning.add_argument("--workers", type=int, help="threads (default: min(segments, 4))")
    scanning.add_argument(
        "--rate", type=float, help="read capacity units per second for the whole scan (default: unbounded)"
    )
    scanning.add_argument("--page-size", type=int, help="items per Scan page (default: 1 MB pages)")
    scanning.add_argument(
        "--consistent-read", action="store_true", help="strongly consistent scan (twice the read capacity)"
    )

    parser = argparse.ArgumentParser(prog="python -m indexer.ops", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True, metavar="command")

    backfill = commands.add_parser(
        "backfill", parents=[common, scanning], help="index every existing item (resumable)"
    )
    backfill.add_argument(
        "--checkpoint",
        type=Path,
        help="checkpoint file; an existing one is resumed (default: no checkpoint)",
    )
    backfill.add_argument("--into", help="write into this concrete index instead of the alias")
    backfill.add_argument(
        "--bulk-actions",
        type=int,
        default=None,
        help="actions per _bulk request (default 2000, measured; BULK_MAX_BYTES still caps each request)",
    )
    backfill.set_defaults(run=_run_backfill)

    replay = commands.add_parser(
        "replay-dlq", parents=[common], help="re-index dead-lettered stream batches, delete replayed messages"
    )
    replay.add_argument(
        "--queue-url",
        default=environ.get("DEAD_LETTER_QUEUE_URL"),
        help="the on-failure SQS queue (default: $DEAD_LETTER_QUEUE_URL; the lambda module's "
        "dead_letter_queue_url output)",
    )
    replay.add_argument("--sqs-endpoint", help="SQS endpoint (default: --dynamodb-endpoint, else AWS)")
    replay.add_argument(
        "--source",
        choices=("stream", "table"),
        default="stream",
        help="index the stream records themselves (default) or the table's current items for their keys",
    )
    replay.add_argument("--max-messages", type=int, help="stop after this many messages (default: all)")
    replay.add_argument("--wait-seconds", type=int, default=1, help="SQS long-poll seconds (default 1)")
    replay.add_argument(
        "--settle-seconds",
        type=float,
        default=90.0,
        help="keep receiving this long while receives bring nothing new but the queue still reports "
        "messages (its counts are approximate; default 90)",
    )
    replay.add_argument(
        "--visibility-timeout", type=int, default=300, help="seconds a received message stays hidden"
    )
    replay.add_argument(
        "--drop-gone",
        action="store_true",
        help="delete messages whose records the stream no longer holds (after `audit --repair`)",
    )
    replay.add_argument(
        "--window-attribute",
        help="for ranges the stream no longer holds: re-index items whose ATTRIBUTE (epoch s or ms, e.g. "
        "updatedAt) lies within the batch's arrival times (inserts/updates only; one table scan)",
    )
    replay.add_argument(
        "--window-margin", type=float, default=60.0, help="seconds added on both sides of each window"
    )
    replay.set_defaults(run=_run_replay)

    reindex = commands.add_parser(
        "reindex",
        parents=[common, scanning],
        help="new index with the shipped mapping, backfill, atomic alias swap, catch-up",
    )
    reindex.add_argument("--new-index", help="name of the new index (default: <alias>-v<N+1>)")
    reindex.add_argument("--checkpoint", type=Path, help="checkpoint for the backfill phase (resumable)")
    reindex.add_argument(
        "--recheck-after",
        type=float,
        default=5.0,
        help="seconds before the second tombstone copy and before the catch-up confirms differences "
        "(default 5)",
    )
    reindex.add_argument("--delete-old", action="store_true", help="delete the old index after success")
    reindex.set_defaults(run=_run_reindex)

    audit = commands.add_parser(
        "audit", parents=[common, scanning], help="compare table and index; non-zero exit when they differ"
    )
    audit.add_argument("--repair", action="store_true", help="index missing/stale documents, delete orphans")
    audit.add_argument("--of", dest="audit_index", help="audit this concrete index instead of the alias")
    audit.add_argument(
        "--recheck-after",
        type=float,
        default=5.0,
        help="seconds to let in-flight stream batches land before confirming candidates (default 5)",
    )
    audit.add_argument(
        "--sample-segments",
        type=int,
        help="sample mode: scan only this many random segments of --segments and check those items",
    )
    audit.add_argument(
        "--sample-documents",
        type=int,
        default=1000,
        help="sample mode: random index documents checked for orphans (default 1000)",
    )
    audit.add_argument("--seed", type=int, help="random seed for the sample (to repeat one)")
    audit.add_argument("--max-examples", type=int, default=20, help="ids listed per kind (default 20)")
    audit.set_defaults(run=_run_audit)

    purge = commands.add_parser(
        "purge-tombstones",
        parents=[common],
        help="delete tombstone documents older than the stream's retention (deletes are tombstones)",
    )
    purge.add_argument(
        "--older-than",
        default="48h",
        help="age of the delete (its stream record's time), at least 24h: 48h, 2d, 172800s (default 48h)",
    )
    purge.add_argument(
        "--of", dest="purge_index", help="purge this concrete index (default: all behind the alias)"
    )
    purge.add_argument(
        "--bulk-load-bucket",
        default=environ.get("BULK_LOAD_BUCKET"),
        help="hold the cutoff at the export time of every bulk-load run in this bucket that can still write "
        "(default: $BULK_LOAD_BUCKET)",
    )
    purge.set_defaults(run=_run_purge)
    add_bulk_load_parser(commands, common, environ)
    return parser


def _run_backfill(target: Target, args: argparse.Namespace, stop: threading.Event) -> tuple[dict, int]:
    from indexer.index_setup import ensure_index
    from indexer.ops.backfill import DEFAULT_BULK_ACTIONS, BackfillOptions, backfill

    if args.into:
        pass
    elif target.settings.entity_config is None:
        ensure_index(target.search, target.settings)  # as the Lambda does at a cold start
    else:
        for entity in entities_of(target, target.entity and target.entity.name):
            ensure_index(target.search, for_entity(target, entity).settings)

    options = BackfillOptions(
        segments=args.segments,
        bulk_actions=DEFAULT_BULK_ACTIONS if args.bulk_actions is None else args.bulk_actions,
        workers=args.workers,
        rate=args.rate,
        page_size=args.page_size,
        checkpoint=args.checkpoint,
        index=args.into,
        consistent_read=args.consistent_read,
    )
    result = backfill(target, options, stop=stop)
    sizing = {"segments": options.segments, "bulk_actions": options.bulk_actions}
    output = {"command": "backfill", **sizing, **result.summary, "failures": result.reasons}
    if result.interrupted:
        output["interrupted"] = True
        return output, EXIT_INTERRUPTED
    return output, EXIT_OK if result.ok else EXIT_DIFFERENT


def _run_replay(target: Target, args: argparse.Namespace, stop: threading.Event) -> tuple[dict, int]:
    from indexer.ops.dlq import ReplayOptions, replay_dlq

    if not args.queue_url:
        raise ValueError("--queue-url (or DEAD_LETTER_QUEUE_URL): the on-failure SQS queue is required")
    sqs = target.client("sqs", args.sqs_endpoint or args.dynamodb_endpoint)
    options = ReplayOptions(
        queue_url=args.queue_url,
        source=args.source,
        max_messages=args.max_messages,
        wait_seconds=args.wait_seconds,
        visibility_timeout=args.visibility_timeout,
        drop_gone=args.drop_gone,
        window_attribute=args.window_attribute,
        window_margin=args.window_margin,
        settle_seconds=args.settle_seconds,
    )
    result = replay_dlq(target, sqs, options, stop=stop)
    for message in result.messages:
        if message.status != "replayed":
            print(f"{message.message_id}: {message.status}: {message.reason}", file=sys.stderr)
    if result.unreached:
        print(
            f"the queue still reports {result.unreached} message(s) this run could not receive in "
            f"--settle-seconds {args.settle_seconds:g}; run replay-dlq again",
            file=sys.stderr,
        )
    return result.summary(), EXIT_OK if result.ok else EXIT_DIFFERENT


def _run_reindex(target: Target, args: argparse.Namespace, stop: threading.Event) -> tuple[dict, int]:
    from indexer.ops.reindex import ReindexOptions, reindex

    options = ReindexOptions(
        new_index=args.new_index,
        segments=args.segments,
        workers=args.workers,
        rate=args.rate,
        page_size=args.page_size,
        checkpoint=args.checkpoint,
        recheck_after=args.recheck_after,
        delete_old=args.delete_old,
    )
    if target.settings.entity_config is not None and target.entity is None:
        entities = entities_of(target, None)
        if len(entities) > 1:
            names = ", ".join(entity.name for entity in entities)
            raise ValueError(f"--entity: reindex rebuilds one entity's index at a time; name one of {names}")
        target = for_entity(target, entities[0])
    result = reindex(target, options, stop=stop)
    if result.ok and not stop.is_set():
        return result.summary(), EXIT_OK
    rerun = f"python -m indexer.ops reindex --new-index {result.new_index}"
    if args.checkpoint and not result.swapped:
        rerun += f" --checkpoint {args.checkpoint}"
    output = {**result.summary(), "resume": rerun}  # before the swap: resumes the fill; after: finishes
    if stop.is_set():  # even if every phase had finished: --delete-old was not carried out
        return {**output, "interrupted": True}, EXIT_INTERRUPTED
    return output, EXIT_DIFFERENT


def _run_audit(target: Target, args: argparse.Namespace, stop: threading.Event) -> tuple[dict, int]:
    from indexer.ops.audit import AuditOptions, audit

    options = AuditOptions(
        segments=args.segments,
        workers=args.workers,
        rate=args.rate,
        page_size=args.page_size,
        consistent_read=args.consistent_read,
        index=args.audit_index,
        sample_segments=args.sample_segments,
        sample_documents=args.sample_documents,
        seed=args.seed,
        recheck_after=args.recheck_after,
        repair=args.repair,
        max_examples=args.max_examples,
    )
    if target.settings.entity_config is not None and target.entity is None:  # each entity in turn
        results = {
            e.name: audit(for_entity(target, e), options, stop=stop) for e in entities_of(target, None)
        }
        output = {
            "command": "audit",
            "entities": {name: result.summary(args.max_examples) for name, result in results.items()},
            "clean": all(result.clean for result in results.values()),
        }
        code = EXIT_OK if output["clean"] else EXIT_DIFFERENT
    else:
        result = audit(target, options, stop=stop)
        output, code = result.summary(args.max_examples), EXIT_OK if result.clean else EXIT_DIFFERENT
    if stop.is_set():
        return {**output, "interrupted": True}, EXIT_INTERRUPTED
    return output, code


def _run_purge(target: Target, args: argparse.Namespace, stop: threading.Event) -> tuple[dict, int]:
    from indexer.ops.purge import parse_age, purge_tombstones

    bulk_load = None
    if args.bulk_load_bucket:
        bulk_load = (target.client("s3", args.dynamodb_endpoint), args.bulk_load_bucket)
    if target.settings.entity_config is not None and target.entity is None and not args.purge_index:
        results = [
            purge_tombstones(for_entity(target, entity), parse_age(args.older_than), bulk_load=bulk_load)
            for entity in entities_of(target, None)
        ]
        output = {"command": "purge-tombstones", "entities": [result.summary() for result in results]}
        return output, EXIT_OK if not any(result.failed for result in results) else EXIT_DIFFERENT
    result = purge_tombstones(target, parse_age(args.older_than), index=args.purge_index, bulk_load=bulk_load)
    return result.summary(), EXIT_OK if not result.failed else EXIT_DIFFERENT


if __name__ == "__main__":
    sys.exit(main())
