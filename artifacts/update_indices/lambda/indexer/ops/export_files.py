"""A DynamoDB export in S3, read as AWS documents it ("DynamoDB table export output format",
https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/S3DataExport.Output.html):

- ``<prefix>/AWSDynamoDB/<ExportId>/manifest-summary.json``: one JSON object (``exportArn``, ``tableArn``,
  ``exportTime``, ``itemCount``, ``outputFormat``, ``manifestFilesS3Key``, ...);
- ``manifest-files.json``: JSON lines, one per data file (``itemCount``, ``md5Checksum``, ``etag``,
  ``dataFileS3Key``);
- the data files: gzipped JSON lines, one ``{"Item": {<DynamoDB JSON>}}`` per item (``DYNAMODB_JSON``).

Everything is read as a stream (a data file is never held in memory whole) and checked against what the
manifests promise: a summary for another table or format, a files manifest whose counts do not add up to
the summary's, or a data file with more or fewer items than its line says is an ``ExportError``, never a
silent partial load.
"""

from __future__ import annotations

import gzip
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any


class ExportError(ValueError):
    """The export is not what its manifests say (or not one this tool can read)."""


@dataclass(frozen=True)
class DataFile:
    key: str  # the data file's S3 key
    items: int  # itemCount from manifest-files.json
    md5: str | None = None

    def as_json(self) -> dict[str, Any]:
        return {"key": self.key, "items": self.items, "md5": self.md5}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> DataFile:
        return cls(str(data["key"]), int(data["items"]), data.get("md5"))


@dataclass(frozen=True)
class ExportSummary:
    export_arn: str
    table_arn: str
    export_time: str | None
    item_count: int
    bucket: str
    files_key: str


def read_summary(s3: Any, bucket: str, summary_key: str, *, table_arn: str) -> ExportSummary:
    """manifest-summary.json, checked: this table's, DynamoDB JSON, a files manifest named."""
    summary = json.loads(_get(s3, bucket, summary_key))
    if summary.get("tableArn") != table_arn:
        raise ExportError(
            f"export {summary.get('exportArn')} is of table {summary.get('tableArn')}, not {table_arn}"
        )
    if summary.get("outputFormat", "DYNAMODB_JSON") != "DYNAMODB_JSON":
        raise ExportError(f"export format {summary.get('outputFormat')}: only DYNAMODB_JSON is read")
    files_key = summary.get("manifestFilesS3Key")
    if not files_key:
        raise ExportError(f"{summary_key} names no manifestFilesS3Key")
    return ExportSummary(
        export_arn=summary["exportArn"],
        table_arn=summary["tableArn"],
        export_time=summary.get("exportTime"),
        item_count=int(summary.get("itemCount", 0)),
        bucket=summary.get("s3Bucket") or bucket,
        files_key=_beside(summary_key, files_key),
    )


def data_files(s3: Any, summary: ExportSummary, summary_key: str) -> list[DataFile]:
    """The data files manifest-files.json lists; ExportError when their counts miss the summary's."""
    files: list[DataFile] = []
    for number, line in enumerate(_get(s3, summary.bucket, summary.files_key).splitlines(), start=1):
        if not line.strip():
            continue
        try:
            entry = json.loads(line)
            files.append(
                DataFile(
                    _beside(summary_key, entry["dataFileS3Key"]),
                    int(entry["itemCount"]),
                    entry.get("md5Checksum"),
                )
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise ExportError(
                f"{summary.files_key} line {number} is not a files manifest entry: {exc}"
            ) from exc
    total = sum(f.items for f in files)
    if total != summary.item_count:
        raise ExportError(
            f"{summary.files_key} lists {total} items in {len(files)} files, "
            f"the summary says {summary.item_count}"
        )
    return files


def read_items(
    s3: Any, bucket: str, data_file: DataFile, start: int = 0
) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number from 0, DynamoDB-JSON item) of every item from line ``start`` on, streamed; ExportError
    when the file holds another number of items than its manifest line says."""
    body = s3.get_object(Bucket=bucket, Key=data_file.key)["Body"]
    count = 0
    with gzip.GzipFile(fileobj=body) as unzipped:
        for raw in io.TextIOWrapper(unzipped, encoding="utf-8"):
            if not raw.strip():
                continue
            number, count = count, count + 1
            if number < start:
                continue
            try:
                item = json.loads(raw)["Item"]
            except (ValueError, KeyError, TypeError) as exc:
                raise ExportError(f"{data_file.key} item {count} is not an exported item: {exc}") from exc
            yield number, item
    if count != data_file.items:
        raise ExportError(f"{data_file.key} holds {count} items, its manifest line says {data_file.items}")


def _get(s3: Any, bucket: str, key: str) -> str:
    return s3.get_object(Bucket=bucket, Key=key)["Body"].read().decode("utf-8")


def _beside(summary_key: str, key: str) -> str:
    """A manifest's key as stored: AWS's manifests name keys from the bucket's root, the documentation's
    example names them without the export prefix; both are resolved against the summary's location."""
    marker = "AWSDynamoDB/"
    if key.startswith(marker) and not summary_key.startswith(marker):
        prefix = summary_key.split(marker, 1)[0]
        return prefix + key
    return key
