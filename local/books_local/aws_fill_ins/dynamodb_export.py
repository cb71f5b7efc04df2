"""DynamoDB's ExportTableToPointInTime and DescribeExport, written as AWS documents them.

moto's export writes one ``.gz`` data file and no manifests, answers COMPLETED at once and returns a malformed
``ExportArn`` (``...table/arn:...table/t/import/<id>``) without ``ExportManifest`` or ``ExportTime``. This one
follows "DynamoDB table export output format"
(https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/S3DataExport.Output.html):

* ``<prefix>/AWSDynamoDB/<ExportId>/_started`` at once (the bucket is writable and the export has begun);
  data files and manifests only when the export completes, so nothing can read a half-written export;
* ``data/<26 base32 characters>.json.gz``: one ``{"Item": {...}}`` (DynamoDB JSON) per line, gzipped. "The
  export creates at least 1 file per partition. For partitions that are empty, your export request will create
  an empty file. All of the items in each file are from that particular partition's hashed keyspace": the
  items are spread over ``partitions`` files by an MD5 hash of their partition key, so a Distributed Map over
  the files has several children and an item collection never spans two files;
* ``manifest-files.json`` (JSON lines: ``itemCount``, ``md5Checksum`` = base64 MD5 of the data object,
  ``etag`` = the object's S3 ETag, ``dataFileS3Key``) and ``manifest-summary.json`` (the documented fields,
  ``manifestFilesS3Key`` included). Keys are whole object keys, the export prefix included, as AWS writes
  them (the documentation's example has an empty prefix); each manifest has a ``.checksum`` next to it, whose
  content AWS does not document (here: the base64 MD5 of the manifest);
* ``ExportArn`` ``arn:aws:dynamodb:<region>:<account>:table/<name>/export/<ExportId>`` with an ExportId of
  14 digits (milliseconds) and 8 hex characters, as the documented example has; ``ExportManifest``,
  ``ExportTime`` (the snapshot's time), ``StartTime``/``EndTime``, ``ClientToken``, ``ItemCount``,
  ``BilledSizeBytes``;
* the export is a snapshot of the table at the request (writes after it are not in it), and DescribeExport
  answers ``IN_PROGRESS`` ``in_progress_polls`` times before ``COMPLETED``, so a caller's wait loop runs;
* refusals as the API reference lists them: PITR off (``PointInTimeRecoveryUnavailableException``), an
  unknown table (``TableNotFoundException``), an unknown export (``ExportNotFoundException``), a reused
  ``ClientToken`` with other parameters (``ExportConflictException``; the same parameters return the same
  export, as AWS's 8-hour idempotency does), an unsupported ``ExportFormat``.

What it cannot do: export a past time (moto keeps no history), so an ``ExportTime`` more than a few seconds
before the request is refused with a ValidationException that says so; ``ION`` output and incremental exports
are refused too (the bulk load uses neither).
"""

from __future__ import annotations

import base64
import datetime as dt
import gzip
import hashlib
import json
import secrets
import threading
from dataclasses import dataclass, field
from typing import Any

from moto.core.exceptions import JsonRESTError
from moto.core.utils import iso_8601_datetime_with_milliseconds
from moto.dynamodb.exceptions import (
    MockValidationException,
    PointInTimeRecoveryUnavailable,
    TableNotFoundException,
)
from moto.dynamodb.models.utilities import dynamo_json_dump

DEFAULT_PARTITIONS = 4
DEFAULT_IN_PROGRESS_POLLS = 1
SUMMARY_VERSION = "2020-06-30"
# How far before the request an ExportTime may lie: a snapshot of "now" is all moto can take.
EXPORT_TIME_TOLERANCE_SECONDS = 5.0
_PREFIX = "com.amazonaws.dynamodb.v20120810#"


class ExportNotFoundException(JsonRESTError):
    def __init__(self, arn: str) -> None:
        super().__init__(_PREFIX + "ExportNotFoundException", f"Export not found: {arn}")


class ExportConflictException(JsonRESTError):
    def __init__(self, message: str) -> None:
        super().__init__(_PREFIX + "ExportConflictException", message)


@dataclass(frozen=True)
class ExportSettings:
    """How the filled-in export behaves: files per export (its "partitions") and IN_PROGRESS polls."""

    partitions: int = DEFAULT_PARTITIONS
    in_progress_polls: int = DEFAULT_IN_PROGRESS_POLLS


@dataclass
class Export:
    """One export: the snapshot taken at the request, written to S3 when it completes."""

    arn: str
    export_id: str
    table: Any
    table_id: str
    bucket: str
    bucket_owner: str
    prefix: str
    client_token: str
    export_time: dt.datetime
    start_time: dt.datetime
    request: dict[str, Any]
    items: list[tuple[bytes, str]]  # (partition key digest, DynamoDB JSON line)
    settings: ExportSettings
    account_id: str
    partition: str
    status: str = "IN_PROGRESS"
    end_time: dt.datetime | None = None
    polls: int = 0
    item_count: int = 0
    billed_size_bytes: int = 0
    failure_code: str | None = None
    failure_message: str | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def base(self) -> str:
        return (
            f"{self.prefix}/AWSDynamoDB/{self.export_id}" if self.prefix else f"AWSDynamoDB/{self.export_id}"
        )

    @property
    def manifest_key(self) -> str:
        return f"{self.base}/manifest-summary.json"

    def describe(self) -> dict[str, Any]:
        description: dict[str, Any] = {
            "ExportArn": self.arn,
            "ExportStatus": self.status,
            "StartTime": self.start_time.timestamp(),
            "TableArn": self.table.table_arn,
            "TableId": self.table_id,
            "ExportTime": self.export_time.timestamp(),
            "ClientToken": self.client_token,
            "S3Bucket": self.bucket,
            "S3BucketOwner": self.bucket_owner,
            "S3Prefix": self.prefix,
            "S3SseAlgorithm": "AES256",
            "ExportFormat": "DYNAMODB_JSON",
            "ExportType": "FULL_EXPORT",
        }
        if self.status == "COMPLETED":
            description.update(
                EndTime=self.end_time.timestamp() if self.end_time else None,
                ExportManifest=self.manifest_key,
                ItemCount=self.item_count,
                BilledSizeBytes=self.billed_size_bytes,
            )
        if self.status == "FAILED":
            description.update(FailureCode=self.failure_code, FailureMessage=self.failure_message)
        return description


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _iso(moment: dt.datetime) -> str:
    return iso_8601_datetime_with_milliseconds(moment.replace(tzinfo=None))


def _object_name() -> str:
    """A data file's name: 26 lowercase base32 characters, as in the documented example."""
    return base64.b32encode(secrets.token_bytes(16)).decode().lower().rstrip("=")[:26]


class ExportService:
    """The filled-in exports of one moto process (every account and region)."""

    def __init__(self, settings: ExportSettings) -> None:
        self.settings = settings
        self.exports: dict[str, Export] = {}
        self._by_token: dict[tuple[str, str], Export] = {}
        self._lock = threading.Lock()

    # ---- ExportTableToPointInTime ---------------------------------------------------------------------

    def start(self, backend: Any, body: dict[str, Any]) -> Export:
        table_arn = body.get("TableArn") or ""
        bucket = body.get("S3Bucket") or ""
        if not bucket:
            raise MockValidationException(
                "1 validation error detected: Value null at 's3Bucket' failed to satisfy constraint: "
                "Member must not be null"
            )
        export_format = body.get("ExportFormat", "DYNAMODB_JSON")
        if export_format != "DYNAMODB_JSON":
            raise MockValidationException(
                f"ExportFormat {export_format!r} is not emulated locally (books_local.aws_fill_ins): "
                "use DYNAMODB_JSON"
            )
        if body.get("ExportType", "FULL_EXPORT") != "FULL_EXPORT":
            raise MockValidationException(
                "incremental exports are not emulated locally: use ExportType FULL_EXPORT"
            )
        table = next((t for t in backend.tables.values() if t.table_arn == table_arn), None)
        if table is None:
            raise TableNotFoundException(name=table_arn)
        pitr = table.continuous_backups["PointInTimeRecoveryDescription"]["PointInTimeRecoveryStatus"]
        if pitr != "ENABLED":
            raise PointInTimeRecoveryUnavailable(name=table.name)
        requested = _now()
        export_time = requested
        if body.get("ExportTime") is not None:
            export_time = dt.datetime.fromtimestamp(float(body["ExportTime"]), tz=dt.UTC)
            if export_time > requested:
                raise JsonRESTError(
                    _PREFIX + "InvalidExportTimeException", "ExportTime cannot be in the future"
                )
            if (requested - export_time).total_seconds() > EXPORT_TIME_TOLERANCE_SECONDS:
                raise MockValidationException(
                    "ExportTime in the past is not emulated locally (moto keeps no history of the table): "
                    "omit ExportTime to export the table as it is now"
                )
        token = body.get("ClientToken") or secrets.token_hex(16)
        identity = {
            k: body.get(k)
            for k in ("TableArn", "S3Bucket", "S3Prefix", "S3BucketOwner", "ExportFormat", "ExportType")
        }
        with self._lock:
            previous = self._by_token.get((table_arn, token))
            if previous is not None:
                if previous.request != identity:
                    raise ExportConflictException(
                        f"ClientToken {token!r} was used for an export with other parameters; reuse the same "
                        "parameters or use another ClientToken"
                    )
                return previous
            export = self._snapshot(backend, table, body, identity, token, export_time, requested)
            self._by_token[(table_arn, token)] = export
            self.exports[export.arn] = export
        self._put(export, "_started", b"")
        return export

    def _snapshot(
        self,
        backend: Any,
        table: Any,
        body: dict[str, Any],
        identity: dict[str, Any],
        token: str,
        export_time: dt.datetime,
        requested: dt.datetime,
    ) -> Export:
        export_id = f"{int(requested.timestamp() * 1000):014d}-{secrets.token_hex(4)}"
        arn = f"{table.table_arn}/export/{export_id}"
        items = []
        for item in table.all_items():
            line = dynamo_json_dump(item.to_json(root_attr_name="Item"))
            key = json.dumps(item.hash_key.to_json(), sort_keys=True).encode()
            items.append((hashlib.md5(key).digest(), line))
        return Export(
            arn=arn,
            export_id=export_id,
            table=table,
            table_id=_table_id(table),
            bucket=body["S3Bucket"],
            bucket_owner=body.get("S3BucketOwner") or backend.account_id,
            prefix=(body.get("S3Prefix") or "").strip("/"),
            client_token=token,
            export_time=export_time,
            start_time=requested,
            request=identity,
            items=items,
            settings=self.settings,
            account_id=body.get("S3BucketOwner") or backend.account_id,
            partition=table.table_arn.split(":")[1],
        )

    # ---- DescribeExport -------------------------------------------------------------------------------

    def describe(self, arn: str) -> Export:
        export = self.exports.get(arn)
        if export is None:
            raise ExportNotFoundException(arn)
        with export.lock:
            if export.status == "IN_PROGRESS":
                export.polls += 1
                if export.polls > export.settings.in_progress_polls:
                    self._complete(export)
        return export

    def list_for(self, table_arn: str) -> list[Export]:
        return [export for export in self.exports.values() if export.table.table_arn == table_arn]

    # ---- writing the export ---------------------------------------------------------------------------

    def _s3(self, export: Export) -> Any:
        from moto.s3.models import s3_backends

        return s3_backends[export.account_id][export.partition]

    def _put(self, export: Export, name: str, body: bytes) -> Any:
        s3 = self._s3(export)
        if export.bucket not in s3.buckets:
            export.status, export.failure_code = "FAILED", "S3NoSuchBucket"
            export.failure_message = "The specified bucket does not exist"
            return None
        return s3.put_object(bucket_name=export.bucket, key_name=f"{export.base}/{name}", value=body)

    def _complete(self, export: Export) -> None:
        files: list[list[str]] = [[] for _ in range(max(1, export.settings.partitions))]
        for digest, line in export.items:
            files[int.from_bytes(digest[:8], "big") % len(files)].append(line)
        manifest_lines = []
        for lines in files:
            content = "".join(f"{line}\n" for line in lines).encode()
            data = gzip.compress(content, mtime=0)
            name = f"data/{_object_name()}.json.gz"
            stored = self._put(export, name, data)
            if stored is None:
                return
            export.billed_size_bytes += len(content)
            manifest_lines.append(
                json.dumps(
                    {
                        "itemCount": len(lines),
                        "md5Checksum": base64.b64encode(hashlib.md5(data).digest()).decode(),
                        "etag": stored.etag.strip('"'),
                        "dataFileS3Key": f"{export.base}/{name}",
                    },
                    separators=(",", ":"),
                )
            )
        export.item_count = len(export.items)
        export.end_time = _now()
        files_manifest = "".join(f"{line}\n" for line in manifest_lines).encode()
        summary = json.dumps(
            {
                "version": SUMMARY_VERSION,
                "exportArn": export.arn,
                "startTime": _iso(export.start_time),
                "endTime": _iso(export.end_time),
                "tableArn": export.table.table_arn,
                "tableId": export.table_id,
                "exportTime": _iso(export.export_time),
                "s3Bucket": export.bucket,
                "s3Prefix": export.prefix or None,
                "s3SseAlgorithm": "AES256",
                "s3SseKmsKeyId": None,
                "manifestFilesS3Key": f"{export.base}/manifest-files.json",
                "billedSizeBytes": export.billed_size_bytes,
                "itemCount": export.item_count,
                "outputFormat": "DYNAMODB_JSON",
            }
        ).encode()
        for name, body in (("manifest-files", files_manifest), ("manifest-summary", summary)):
            self._put(export, f"{name}.json", body)
            self._put(export, f"{name}.checksum", base64.b64encode(hashlib.md5(body).digest()))
        export.items = []  # written: the snapshot is no longer needed
        export.status = "COMPLETED"


def _table_id(table: Any) -> str:
    """A stable table id (moto keeps none): a UUID-shaped digest of the table's ARN and creation time."""
    digest = hashlib.sha256(f"{table.table_arn}{table.created_at}".encode()).hexdigest()
    return f"{digest[:8]}-{digest[8:12]}-{digest[12:16]}-{digest[16:20]}-{digest[20:32]}"


def install(settings: ExportSettings) -> ExportService:
    """Replaces moto's export operations (in this process) with the ones above."""
    from moto.dynamodb.responses import DynamoHandler

    service = ExportService(settings)

    def export_table_to_point_in_time(self: Any) -> str:
        export = service.start(self.dynamodb_backend, self.body)
        return dynamo_json_dump({"ExportDescription": export.describe()})

    def describe_export(self: Any) -> str:
        export = service.describe(self.body.get("ExportArn") or "")
        return dynamo_json_dump({"ExportDescription": export.describe()})

    def list_exports(self: Any) -> str:
        exports = service.list_for(self.body.get("TableArn") or "")
        summaries = [
            {"ExportArn": e.arn, "ExportStatus": e.status, "ExportType": "FULL_EXPORT"} for e in exports
        ]
        return dynamo_json_dump({"ExportSummaries": summaries})

    DynamoHandler.export_table_to_point_in_time = export_table_to_point_in_time
    DynamoHandler.describe_export = describe_export
    DynamoHandler.list_exports = list_exports
    return service
