"""A table export in S3 laid out as DynamoDB writes one, for tests that drive the export handler directly.

"DynamoDB table export output format" (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/
S3DataExport.Output.html): ``<prefix>/AWSDynamoDB/<ExportId>/manifest-summary.json`` (one object),
``manifest-files.json`` (JSON lines: itemCount, md5Checksum, etag, dataFileS3Key), and gzipped data files of
``{"Item": <DynamoDB JSON>}`` lines, "at least 1 file per partition", each holding items "from that particular
partition's hashed keyspace" (here: a hash of the partition key picks the file), binary values as base64
text. The table is read with a consistent scan: the export is the table at that moment.

``ExportingClient`` wraps a DynamoDB client so ``describe_export`` answers for these exports as DynamoDB does
(``ExportManifest`` naming the summary), for the handler's ``prepare``. The local stack's moto gets the same
layout from ``books_local``'s fill-in, inside moto; these tests drive the handler without a state machine.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
import time
import uuid
from datetime import UTC, datetime
from typing import Any

ACCOUNT, REGION = "123456789012", "us-east-1"


def export_table(
    dynamodb: Any, s3: Any, table: str, bucket: str, prefix: str, files: int = 3, at: float | None = None
) -> dict[str, Any]:
    """Writes the export (of the table now, stamped ``at``, default now); returns its ExportDescription
    (COMPLETED)."""
    exported_at = datetime.fromtimestamp(time.time() if at is None else at, tz=UTC)
    description = dynamodb.describe_table(TableName=table)["Table"]
    partition_key = next(k["AttributeName"] for k in description["KeySchema"] if k["KeyType"] == "HASH")
    lines: list[list[str]] = [[] for _ in range(files)]
    for page in dynamodb.get_paginator("scan").paginate(TableName=table, ConsistentRead=True):
        for item in page["Items"]:
            lines[shard_of(item[partition_key], files)].append(export_line(json.dumps(_jsonable(item))))
    return write_export(s3, bucket, prefix, description["TableArn"], lines, exported_at)


def shard_of(partition_value: Any, files: int) -> int:
    """The data file an item goes to: a hash of its partition key, as a partition's hashed keyspace."""
    return int(hashlib.md5(json.dumps(_jsonable(partition_value)).encode()).hexdigest(), 16) % files


def export_line(item_json: str) -> str:
    """One data file line for an item given as DynamoDB JSON text (binary values as base64 text)."""
    return '{"Item":' + item_json + "}"


def write_export(
    s3: Any,
    bucket: str,
    prefix: str,
    table_arn: str,
    files: list[list[str]],
    exported_at: datetime | None = None,
) -> dict[str, Any]:
    """Writes ``files`` (each a list of ``export_line`` lines) as the data files of one export stamped
    ``exported_at`` (default now), with its two manifests; returns its ExportDescription (COMPLETED)."""
    if exported_at is None:
        exported_at = datetime.now(tz=UTC)
    export_id = f"{uuid.uuid4().int % 10**14:014d}-{uuid.uuid4().hex[:8]}"
    base = f"{prefix}/AWSDynamoDB/{export_id}"
    entries = []
    for shard_lines in files:
        body = gzip.compress(("\n".join(shard_lines) + ("\n" if shard_lines else "")).encode())
        key = f"{base}/data/{uuid.uuid4().hex[:26]}.json.gz"
        etag = s3.put_object(Bucket=bucket, Key=key, Body=body)["ETag"].strip('"')
        md5 = base64.b64encode(hashlib.md5(body).digest()).decode()
        entries.append(
            {"itemCount": len(shard_lines), "md5Checksum": md5, "etag": etag, "dataFileS3Key": key}
        )
    files_key = f"{base}/manifest-files.json"
    s3.put_object(Bucket=bucket, Key=files_key, Body="".join(json.dumps(e) + "\n" for e in entries).encode())
    export_arn = f"{table_arn}/export/{export_id}"
    summary = {
        "version": "2020-06-30",
        "exportArn": export_arn,
        "tableArn": table_arn,
        "exportTime": exported_at.strftime("%Y-%m-%dT%H:%M:%S.") + f"{exported_at.microsecond // 1000:03d}Z",
        "s3Bucket": bucket,
        "s3Prefix": prefix,
        "manifestFilesS3Key": files_key,
        "itemCount": sum(e["itemCount"] for e in entries),
        "outputFormat": "DYNAMODB_JSON",
    }
    summary_key = f"{base}/manifest-summary.json"
    s3.put_object(Bucket=bucket, Key=summary_key, Body=json.dumps(summary).encode())
    return {
        "ExportArn": export_arn,
        "ExportStatus": "COMPLETED",
        "TableArn": table_arn,
        "S3Bucket": bucket,
        "S3Prefix": prefix,
        "ExportManifest": summary_key,
        "ExportFormat": "DYNAMODB_JSON",
        "ExportTime": exported_at,
        "ItemCount": summary["itemCount"],
    }


class ExportingClient:
    """A DynamoDB client whose ``describe_export`` knows the exports ``export_table`` wrote."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self.exports: dict[str, dict[str, Any]] = {}

    def describe_export(self, ExportArn: str) -> dict[str, Any]:
        return {"ExportDescription": self.exports[ExportArn]}

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)


def _jsonable(value: Any) -> Any:
    """boto3's DynamoDB JSON (binary as bytes) as an export writes it (binary as base64 text)."""
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    if isinstance(value, bytes | bytearray):
        return base64.b64encode(bytes(value)).decode()
    return value
