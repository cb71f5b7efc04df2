"""The export handler's actions (``export_function.handler``), one per state of the bulk-load state machine
(``modules/bulk-load/state_machine.asl.json``):

- ``prepare``: after the export completed: read its manifests (``export_files``, checked), write the data
  files as the file Map's items, and make the target ready: a backfill writes through the alias (created if
  missing, as the Lambda does); a reindex creates ``<alias>-v<N+1>`` from the shipped mapping with refresh
  off and no replicas (restored by ``swap``) and lists the old index's slices (the first reconcile pass); an
  audit lists the index's slices for the orphan check.
- ``file`` (``export_children``): one data file, page by page, checkpointed.
- ``swap`` (reindex, after each reconcile pass): after the first pass, the catch-up pass's slices; after the
  catch-up, restore refresh and replicas, wait for the new index to be green, check its document count
  against what the files wrote, copy the old index's tombstones, move the alias (one atomic ``_aliases``
  call, only if it still points at the old index), and list the last pass's slices; after that, ``next:
  done``. Why these passes make the swap exact: docs/bulk-load.md.
- ``slice`` (``slice_children``): one slice of an index: reindex: everything the stream wrote into the old
  index after the export is reconciled into the new one; audit: documents whose item is gone.

Every action answers ``{"status": "done"|"partial"|"throttled"|"waiting", "wait_seconds",
"counts"}``; the state machine loops on ``partial`` (the invocation's time is up; the next one resumes from
the checkpoint) and waits ``wait_seconds`` on ``throttled`` (OpenSearch kept answering 429, or a slice's
repairs failed: the run slows down instead of failing) and ``waiting`` (the new index is not green yet).
A file whose items keep failing, or a slice whose repairs failed ``STUCK_PASSES`` times in a row, raises
``ItemsFailed`` instead (the task fails, so a redrive runs it again), and prepare and every file child
raise ``ExportTooOld`` for an export older than ``export_age`` allows. Each action is idempotent: the state
machine's retries and a redrive repeat them safely.

The configuration is the stream Lambda's own environment (the same image, the same variables, so documents
come out exactly as the stream builds them) plus ``TABLE_NAME`` and ``BULK_LOAD_BUCKET``.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

from opensearchpy.exceptions import TransportError

from indexer.deadline import Deadline
from indexer.errors import IndexSetupError, SettingsError
from indexer.index_setup import alias_target, ensure_index, index_body
from indexer.ops.backfill import DEFAULT_BULK_ACTIONS, with_bulk_actions
from indexer.ops.entity_targets import entities_of, for_entity
from indexer.ops.export_age import OVERRIDE, check_export_age, export_epoch
from indexer.ops.export_files import data_files, read_summary
from indexer.ops.patient_transport import bound_retries
from indexer.ops.reindex import META, next_index_name, swap_alias
from indexer.ops.run_store import RunStore
from indexer.ops.target import Target, open_target, settings_from
from indexer.ops.tombstones_copy import copy_tombstones

SLICE_DOCUMENTS = 200_000  # documents per slice (a slice resumes across invocations: any size finishes)
MAX_SLICES = 1024  # OpenSearch's default index.max_slices_per_pit
PRE_SWAP_PASSES = 2  # the reconcile, then the catch-up; one more pass follows the swap
HEALTH_WAIT = "20s"  # one cluster-health wait for green (BULK_LOAD_HEALTH_WAIT); longer: the Wait state
HEALTH_REQUEST_SECONDS = 40
NOT_GREEN_WAIT_SECONDS = 30
RETRY_MARGIN_SECONDS = 60  # retries of single requests end this long before Lambda's timeout


@dataclass(frozen=True)
class Job:
    """What every action gets: the target (of the run's entity, if any), the S3 client, the run's store."""

    target: Target
    s3: Any
    store: RunStore
    mode: str
    event: Mapping[str, Any]
    now: Callable[[], float] = time.time  # the clock the export's age is judged by (injectable for tests)


@cache
def _base_target() -> Target:
    settings = settings_from(os.environ)
    table = os.environ.get("TABLE_NAME") or settings.table_name
    return open_target(settings, table)  # endpoints: boto3's own (AWS_ENDPOINT_URL_* where set)


def job(
    event: Mapping[str, Any],
    target: Target | None = None,
    bucket: str | None = None,
    clock: Callable[[], float] = time.time,
) -> Job:
    """The run's job from the event and the environment (``target``/``bucket``/``clock`` injectable for
    tests)."""
    base = target or _base_target()
    bucket = bucket or os.environ.get("BULK_LOAD_BUCKET")
    if not bucket:
        raise SettingsError("BULK_LOAD_BUCKET: the bucket the export and the run's checkpoints are in")
    mode = str(event.get("mode", "backfill"))
    if mode not in ("backfill", "reindex", "audit"):
        raise SettingsError(f"mode: {mode!r} is not backfill, reindex or audit")
    entity = event.get("entity")
    selected = base if entity is None else for_entity(base, entities_of(base, entity)[0])
    if mode != "backfill" and selected.settings.entity_config is not None and selected.entity is None:
        entities = entities_of(base, None)
        if len(entities) != 1:
            raise SettingsError(
                f"entity: a {mode} works on one entity's index; name one of the configured ones"
            )
        selected = for_entity(base, entities[0])
    s3 = base.client("s3", base.dynamodb_endpoint)  # the local stack's moto serves both
    # _bulk requests of a backfill's size (measured: docs/operations.md, "Sizing"), not a stream batch's
    selected = with_bulk_actions(selected, DEFAULT_BULK_ACTIONS)
    return Job(selected, s3, RunStore(s3, bucket, str(event["run"])), mode, event, clock)


def done(**extra: Any) -> dict[str, Any]:
    return {"status": "done", "wait_seconds": 0, "counts": {}, **extra}


def prepare(job: Job) -> dict[str, Any]:
    target, store = job.target, job.store
    description = target.dynamodb.describe_export(ExportArn=job.event["export_arn"])["ExportDescription"]
    table_arn = target.dynamodb.describe_table(TableName=target.table)["Table"]["TableArn"]
    summary_key = description["ExportManifest"]
    summary = read_summary(job.s3, description["S3Bucket"], summary_key, table_arn=table_arn)
    exported_at = export_epoch(description.get("ExportTime") or summary.export_time)
    allowed = bool(job.event.get(OVERRIDE))
    check_export_age(exported_at, job.now(), allowed=allowed, what=f"export_arn {summary.export_arn}")
    files = data_files(job.s3, summary, summary_key)
    files_key = store.put(
        "files.json", [{"n": n, **f.as_json(), "bucket": summary.bucket} for n, f in enumerate(files)]
    )
    run: dict[str, Any] = store.get("run.json") or {}
    run.update(mode=job.mode, entity=target.entity and target.entity.name, export=summary.export_arn)
    run.update(export_time=summary.export_time, export_epoch=exported_at, items=summary.item_count)
    run.update(files=len(files), **{OVERRIDE: allowed})
    slices_key = None
    if job.mode == "backfill":
        for settings in _indices(target):
            ensure_index(target.search, settings)
        index = None
    elif job.mode == "reindex":
        index = run.get("new_index") or _new_index(target, store.run)
        old = _meta(target, index)["reindexed_from"]
        run.update(new_index=index, old_index=old, passes=1, swapped=False)
        slices_key = _slices(job, old, {"old": old, "new": index, "pass": 1})
    else:
        index = target.alias
        slices_key = _slices(job, index, {"index": index})
    run["index"] = index
    store.put("run.json", run)
    return done(
        files_key=files_key,
        slices_key=slices_key,
        index=index,
        counts={"files": len(files), "items": summary.item_count},
    )


def swap(job: Job) -> dict[str, Any]:
    """After each reconcile pass (slices of the old index into the new one): the next pass's slices, or
    the new index restored, checked and swapped in (then one last pass), or ``next: done``."""
    target, store = job.target, job.store
    new = str(job.event["index"])
    meta = _meta(target, new)
    old, restore = meta["reindexed_from"], meta["restore"]
    run = store.get("run.json") or {}
    passes = int(run.get("passes", 1))
    fields = {"old": old, "new": new}
    if run.get("swapped"):
        return done(next="done", slices_key=None, index=new)
    if passes < PRE_SWAP_PASSES:  # the catch-up: what the stream wrote into the old index meanwhile
        slices_key = _slices(job, old, {**fields, "pass": passes + 1})
        store.put("run.json", {**run, "passes": passes + 1})
        return done(next="slices", slices_key=slices_key, index=new)
    client = target.search
    client.indices.put_settings(index=new, body={"index": restore})  # replicas first: green waits on them
    if not _green(client, new):
        return {
            "status": "waiting",
            "wait_seconds": NOT_GREEN_WAIT_SECONDS,
            "counts": {},
            "next": None,
            "slices_key": None,
            "index": new,
        }
    client.indices.refresh(index=new)
    _check_count(job, new, run)
    current = alias_target(client, target.alias)
    if current == old:
        copied = copy_tombstones(target, old, new)  # the deletes go live with the new index
        if not copied.ok:
            return {
                "status": "throttled",
                "wait_seconds": 30,
                "counts": copied.summary(),
                "next": None,
                "slices_key": None,
                "index": new,
            }
        swap_alias(client, target.alias, old, new)
    elif current != new:
        raise IndexSetupError(
            f"alias {target.alias!r} points at {current!r}, neither {old!r} nor {new!r}: not swapping"
        )
    slices_key = _slices(job, old, {**fields, "pass": passes + 1})  # writes made during the catch-up
    store.put("run.json", {**run, "passes": passes + 1, "swapped": True})
    return done(next="slices", slices_key=slices_key, index=new)


def _green(client: Any, index: str) -> bool:
    """Whether ``index`` is green (every replica assigned), waiting up to HEALTH_WAIT: cluster health
    answers ``timed_out: true`` (HTTP 408) when it is not, which is "not yet", never an error."""
    wait = os.environ.get("BULK_LOAD_HEALTH_WAIT", HEALTH_WAIT)
    try:
        health = client.transport.perform_request(  # ``timeout`` in params is the client's own
            "GET",
            f"/_cluster/health/{index}?wait_for_status=green&timeout={wait}",
            params={"request_timeout": HEALTH_REQUEST_SECONDS},
        )
    except TransportError as exc:
        if exc.status_code == 408:
            return False
        raise
    return not health.get("timed_out") and health.get("status") == "green"


def _check_count(job: Job, new: str, run: Mapping[str, Any]) -> None:
    """The new index holds at least every document the export's files wrote (documents are never removed:
    a delete is a tombstone); fewer means a load went wrong, and the alias must not move."""
    counts: dict[str, int] = {}
    for state in job.store.children("files"):
        for name in ("indexed", "conflicts"):
            counts[name] = counts.get(name, 0) + int(state.counts.get(name, 0))
    expected = counts.get("indexed", 0) + counts.get("conflicts", 0)
    held = int(job.target.search.count(index=new)["count"])
    if held < expected:
        raise IndexSetupError(
            f"index {new!r} holds {held} documents, fewer than the {expected} the export's files wrote "
            f"(export: {run.get('items')} items): not swapping; look for a failed load, then redrive"
        )


def _indices(target: Target) -> list[Any]:
    if target.settings.entity_config is None:
        return [target.settings]
    name = target.entity and target.entity.name
    return [for_entity(target, entity).settings for entity in entities_of(target, name)]


def _new_index(target: Target, run: str) -> str:
    """``<alias>-v<N+1>`` with the shipped mapping, refresh off and no replicas while it is loaded; its
    ``_meta`` records the old index and the settings ``swap`` restores (the old index's replicas)."""
    client, alias = target.search, target.alias
    old = alias_target(client, alias)
    if old is None:
        raise IndexSetupError(f"alias {alias!r} does not exist: nothing to reindex (run a backfill)")
    earlier = _created_by(client, alias, run)
    if earlier is not None:  # a retried prepare (the first attempt's answer was lost): the same index
        return earlier
    new = next_index_name(client, alias, old)
    old_settings = client.indices.get_settings(index=old)[old]["settings"]["index"]
    body = index_body(target.settings.index_properties)
    restore = {  # auto_expand_replicas governs number_of_replicas where set: both come back, in that order
        "refresh_interval": body["settings"]["index"].get("refresh_interval", "1s"),
        "auto_expand_replicas": old_settings.get("auto_expand_replicas", "false"),
        "number_of_replicas": int(old_settings.get("number_of_replicas", 1)),
    }
    body["settings"]["index"].update(
        refresh_interval="-1", number_of_replicas=0, auto_expand_replicas="false"
    )
    body["mappings"]["_meta"] = {META: {"reindexed_from": old, "run": run, "restore": restore}}
    client.indices.create(index=new, body=body)
    return new


def _created_by(client: Any, alias: str, run: str) -> str | None:
    """The ``<alias>-v<N>`` an earlier attempt of this run's prepare created (its ``_meta`` names the run)."""
    for name, body in sorted(client.indices.get_mapping(index=f"{alias}-v*").items()):
        if ((body.get("mappings") or {}).get("_meta") or {}).get(META, {}).get("run") == run:
            return str(name)
    return None


def _meta(target: Target, index: str) -> dict[str, Any]:
    mappings = target.search.indices.get_mapping(index=index)[index]["mappings"]
    meta = (mappings.get("_meta") or {}).get(META)
    if not meta or "reindexed_from" not in meta:
        raise IndexSetupError(f"index {index!r} records no reindex (its mapping's _meta lacks {META})")
    return meta


def _slices(job: Job, index: str, fields: dict[str, Any]) -> str:
    """The slices of ``index`` as the slice Map's items: ``slices`` from the run's input, else one per
    SLICE_DOCUMENTS documents, at most the index's ``max_slices_per_pit`` (a slice resumes across
    invocations, so a larger slice only takes more invocations)."""
    count = job.event.get("slices")
    if count is None:
        documents = int(job.target.search.count(index=index)["count"])
        count = min(_max_slices(job.target.search, index), math.ceil(documents / SLICE_DOCUMENTS))
    count = max(1, int(count))
    number = int(fields.get("pass", 1))
    name = "slices.json" if number == 1 else f"slices-p{number}.json"
    return job.store.put(name, [{"n": n, "max": count, **fields} for n in range(count)])


def _max_slices(client: Any, index: str) -> int:
    """``index.max_slices_per_pit`` of the index (an alias: of its indices, the smallest)."""
    found: list[int] = []
    answer = client.indices.get_settings(index=index, params={"include_defaults": "true"})
    for settings in answer.values():
        for part in ("settings", "defaults"):
            value = (settings.get(part) or {}).get("index", {}).get("max_slices_per_pit")
            if value:
                found.append(int(value))
                break
    return min(found, default=MAX_SLICES)


def handle(
    event: Mapping[str, Any],
    context: Any,
    *,
    target: Target | None = None,
    bucket: str | None = None,
    clock: Callable[[], float] = time.time,
) -> dict[str, Any]:
    """Run one action of the state machine (``event["action"]``); raises on what needs a person (a wrong
    setting, an export that is not what its manifests say): the state machine retries, then fails the run."""
    from indexer import logs
    from indexer.ops.export_children import load_file
    from indexer.ops.slice_children import check_slice

    actions = {
        "prepare": lambda j: prepare(j),
        "file": lambda j: load_file(j, context),
        "swap": lambda j: swap(j),
        "slice": lambda j: check_slice(j, context),
    }
    action = actions.get(str(event.get("action")))
    if action is None:
        raise SettingsError(f"action: {event.get('action')!r} is not one of {', '.join(actions)}")
    the_job = job(event, target, bucket, clock)
    logs.configure(the_job.target.settings.log_level)
    # no retry of a single request runs into Lambda's timeout (the children stop far earlier by themselves)
    bound_retries(the_job.target.search, Deadline.from_context(context, RETRY_MARGIN_SECONDS))
    answer = action(the_job)
    logs.log_event(
        "bulk-load",
        action=event["action"],
        run=event.get("run"),
        status=answer["status"],
        counts=answer.get("counts"),
    )
    return answer
