"""``python -m indexer.ops bulk-load start|status|resume|redrive|abandon``: drive the bulk-load state machine
(``modules/bulk-load``) from a terminal; the run itself happens on AWS, so the terminal may close.

- ``start``: one execution named after the run; ``--mode backfill|reindex|audit``, ``--entity``, ``--repair``,
  ``--export-arn`` to reuse an export instead of taking a new one, ``--allow-old-export`` to load one older
  than the children accept (``export_age``). Follows the run (``--detach`` does not).
- ``status``: the run's state: the execution's, each Map run's (files and slices done, from
  ``DescribeMapRun``), the items done from the children's checkpoints, the rate and an ETA, as a progress bar
  on stderr and one JSON object on stdout.
- ``resume``: a new execution of the same run over the same export (``<run>-2``, ``-3``, ...): every child
  resumes from its checkpoint, so finished files are not read again. For a run whose execution can no longer
  be redriven (more than 14 days, a changed definition), or where ``RedriveExecution`` is not available.
- ``redrive``: ``RedriveExecution`` of the run's last execution: AWS restarts only what failed, from the
  failed state; the children resume from their checkpoints.
- ``abandon``: ``StopExecution``. Nothing is rolled back: a reindex that had not swapped leaves the alias
  where it was (delete the new index when you like); one that had swapped keeps the new index (its reconcile
  is what did not finish: resume it, or run ``audit --repair``).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import ClientError

from indexer.ops.run_store import RunStore
from indexer.ops.target import Target

REFRESH_SECONDS = 10.0
BAR = 30


def add_parser(commands: Any, common: argparse.ArgumentParser, environ: Mapping[str, str]) -> None:
    bulk = commands.add_parser(
        "bulk-load", parents=[common], help="backfill/reindex/audit from a DynamoDB export"
    )
    bulk.add_argument("action", choices=("start", "status", "resume", "redrive", "abandon"))
    # dest: ``run`` is the subcommand's dispatch function (set_defaults below), which --run would replace
    bulk.add_argument("--run", dest="run_name", help="the run's name (start: default bl-<UTC time>-<random>)")
    bulk.add_argument(
        "--state-machine-arn",
        default=environ.get("BULK_LOAD_STATE_MACHINE_ARN"),
        help="the bulk-load module's state_machine_arn (default: $BULK_LOAD_STATE_MACHINE_ARN)",
    )
    bulk.add_argument("--bucket", default=environ.get("BULK_LOAD_BUCKET"), help="default: $BULK_LOAD_BUCKET")
    bulk.add_argument(
        "--stepfunctions-endpoint",
        help="Step Functions and S3 endpoint (default: --dynamodb-endpoint, else AWS)",
    )
    bulk.add_argument("--mode", choices=("backfill", "reindex", "audit"), default="backfill")
    bulk.add_argument("--repair", action="store_true", help="audit: repair what is confirmed")
    bulk.add_argument(
        "--slices",
        type=int,
        help="reindex/audit: slices of the index (default: one per 200,000 documents, at most the index's "
        "max_slices_per_pit)",
    )
    bulk.add_argument("--export-arn", help="start: load this (completed) export instead of taking a new one")
    bulk.add_argument(
        "--allow-old-export",
        action="store_true",
        help="start/resume: load an export older than 23 h (refused otherwise: the stream's 24 h retention "
        "and purged tombstones; run purge-tombstones with --bulk-load-bucket meanwhile, docs/bulk-load.md)",
    )
    bulk.add_argument(
        "--export-poll-seconds", type=int, default=60, help="DescribeExport every N s (default 60)"
    )
    bulk.add_argument("--detach", action="store_true", help="start/resume/redrive: return without following")
    bulk.set_defaults(run=run)


def run(target: Target, args: argparse.Namespace, stop: Any) -> tuple[dict[str, Any], int]:
    if not args.state_machine_arn:
        raise ValueError(
            "--state-machine-arn (or BULK_LOAD_STATE_MACHINE_ARN): the bulk-load module's output"
        )
    if not args.bucket:
        raise ValueError("--bucket (or BULK_LOAD_BUCKET): the bulk-load module's bucket")
    endpoint = args.stepfunctions_endpoint or args.dynamodb_endpoint
    sfn = target.client("stepfunctions", endpoint)
    store = RunStore(target.client("s3", endpoint), args.bucket, args.run_name or _new_run())
    if args.action == "start":
        _start(sfn, args, store.run, args.run_name or store.run, args.export_arn, args.entity)
    elif args.action == "resume":
        _require_run(args)
        previous = _last_execution(sfn, args.state_machine_arn, store.run)
        prepared = store.get("run.json") or {}
        export = prepared.get("export") or _input(previous).get("export_arn")
        name = f"{store.run}-{_attempt(previous) + 1}"
        _start(
            sfn,
            args,
            store.run,
            name,
            export,
            _input(previous).get("entity"),
            mode=_input(previous).get("mode"),
        )
    elif args.action == "redrive":
        _require_run(args)
        sfn.redrive_execution(
            executionArn=_last_execution(sfn, args.state_machine_arn, store.run)["executionArn"]
        )
    elif args.action == "abandon":
        _require_run(args)
        arn = _last_execution(sfn, args.state_machine_arn, store.run)["executionArn"]
        sfn.stop_execution(executionArn=arn, error="Abandoned", cause="bulk-load abandon")
    else:
        _require_run(args)
    follow = args.action in ("start", "resume", "redrive", "status") and not args.detach
    status = _status(sfn, args.state_machine_arn, store, show=follow)
    while follow and args.action != "status" and status["status"] == "RUNNING" and not stop.is_set():
        stop.wait(REFRESH_SECONDS)
        status = _status(sfn, args.state_machine_arn, store, show=True, previous=status)
    print(file=sys.stderr)
    status.pop("_at", None)
    code = 0 if status["status"] in ("SUCCEEDED", "RUNNING") and not status.get("failed_children") else 1
    return {"command": "bulk-load", "action": args.action, **status}, code


def _new_run() -> str:
    return f"bl-{datetime.now(UTC):%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:6]}"


def _require_run(args: argparse.Namespace) -> None:
    if not args.run_name:
        raise ValueError(f"--run: which run to {args.action} (the name `bulk-load start` printed)")


def _start(
    sfn: Any,
    args: argparse.Namespace,
    run: str,
    name: str,
    export: str | None,
    entity: str | None,
    mode: str | None = None,
) -> None:
    payload = {
        "run": run,
        "mode": mode or args.mode,
        "entity": entity,
        "repair": bool(args.repair),
        "export_arn": export,
        "allow_old_export": bool(args.allow_old_export),
        "export_poll_seconds": args.export_poll_seconds,
        "prefix": f"runs/{run}",
        "slices": args.slices,
    }
    sfn.start_execution(stateMachineArn=args.state_machine_arn, name=name, input=json.dumps(payload))


def _execution_arn(state_machine_arn: str, name: str) -> str:
    return state_machine_arn.replace(":stateMachine:", ":execution:", 1) + f":{name}"


def _last_execution(sfn: Any, state_machine_arn: str, run: str) -> dict[str, Any]:
    """The run's newest execution: ``<run>``, ``<run>-2``, ... (resume numbers them)."""
    found = None
    for attempt in range(1, 100):
        name = run if attempt == 1 else f"{run}-{attempt}"
        try:
            found = sfn.describe_execution(executionArn=_execution_arn(state_machine_arn, name))
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "ExecutionDoesNotExist":
                raise
            break
    if found is None:
        raise ValueError(f"--run {run!r}: no execution of that name")
    return found


def _attempt(execution: Mapping[str, Any]) -> int:
    name = str(execution.get("name") or execution["executionArn"].rsplit(":", 1)[-1])
    suffix = name.rsplit("-", 1)[-1]
    return int(suffix) if suffix.isdigit() and len(suffix) < 3 else 1


def _input(execution: Mapping[str, Any]) -> dict[str, Any]:
    return json.loads(execution.get("input") or "{}")


def _status(
    sfn: Any,
    state_machine_arn: str,
    store: RunStore,
    *,
    show: bool,
    previous: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    execution = _last_execution(sfn, state_machine_arn, store.run)
    out: dict[str, Any] = {
        "run": store.run,
        "execution": execution["executionArn"],
        "status": execution["status"],
    }
    maps = []
    for entry in sfn.list_map_runs(executionArn=execution["executionArn"]).get("mapRuns", []):
        described = sfn.describe_map_run(mapRunArn=entry["mapRunArn"])
        counts = described["itemCounts"]
        maps.append(
            {
                "status": described["status"],
                "done": counts["succeeded"],
                "failed": counts["failed"],
                "total": counts["total"],
            }
        )
    out["map_runs"] = maps
    prepared = store.get("run.json") or {}
    states = store.children("files")
    items_done = sum(state.position for state in states)
    items = int(prepared.get("items") or 0)
    out.update(
        items=items,
        items_done=items_done,
        files=prepared.get("files"),
        files_done=sum(state.done for state in states),
        failed_children=sum(
            bool(state.failed_keys) for state in store.children("files") + store.children("slices")
        ),
    )
    now = time.monotonic()
    if previous is not None and now > previous["_at"]:
        rate = (items_done - previous["items_done"]) / (now - previous["_at"])
        out["items_per_second"] = round(rate, 1)
        if rate > 0 and items:
            out["eta_seconds"] = round((items - items_done) / rate)
    out["_at"] = now
    if show:
        share = items_done / items if items else 0.0
        filled = int(BAR * share)
        eta = f", ETA {out['eta_seconds']}s" if "eta_seconds" in out else ""
        rate_text = f", {out['items_per_second']:g} items/s" if "items_per_second" in out else ""
        print(
            f"\r[{'#' * filled}{'.' * (BAR - filled)}] {share:6.1%} {out['status'].lower()}: "
            f"files {out['files_done']}/{out['files'] or '?'}, "
            f"items {items_done}/{items or '?'}{rate_text}{eta}",
            end="",
            file=sys.stderr,
            flush=True,
        )
    return out
