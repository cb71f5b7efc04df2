"""The local stack's DynamoDB export (``books_local.aws_fill_ins.dynamodb_export``), read exactly as AWS
documents an export, on a moto started as ``make up`` starts it.

Every assertion is a sentence of "DynamoDB table export output format"
(https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/S3DataExport.Output.html, "the output
format" below), of "Requesting a table export in DynamoDB"
(https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/S3DataExport_Requesting.html) or of the
ExportTableToPointInTime / DescribeExport API reference
(https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_ExportTableToPointInTime.html,
https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_DescribeExport.html). The oracle for the
data is the table itself, read with a consistent Scan.
"""

from __future__ import annotations

import base64
import datetime as dt
import gzip
import hashlib
import json
import re
import uuid
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from support import fill_in_moto

PARTITIONS = 4


@pytest.fixture(scope="module")
def endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    log = tmp_path_factory.mktemp("fill-in-exports") / "moto.log"
    with fill_in_moto.running(log, ["--export-partitions", str(PARTITIONS)]) as moto:
        yield moto.endpoint


def client(endpoint: str, service: str) -> Any:
    return boto3.client(
        service,
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="t",
        aws_secret_access_key="t",
    )


@pytest.fixture
def names() -> tuple[str, str]:
    suffix = uuid.uuid4().hex[:10]
    return f"books-{suffix}", f"exports-{suffix}"


def make_table(endpoint: str, table: str, *, pitr: bool = True, sort_key: bool = False) -> str:
    dynamodb = client(endpoint, "dynamodb")
    schema = [{"AttributeName": "pk", "KeyType": "HASH"}]
    attributes = [{"AttributeName": "pk", "AttributeType": "S"}]
    if sort_key:
        schema.append({"AttributeName": "sk", "KeyType": "RANGE"})
        attributes.append({"AttributeName": "sk", "AttributeType": "N"})
    arn = dynamodb.create_table(
        TableName=table, KeySchema=schema, AttributeDefinitions=attributes, BillingMode="PAY_PER_REQUEST"
    )["TableDescription"]["TableArn"]
    if pitr:
        dynamodb.update_continuous_backups(
            TableName=table, PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True}
        )
    return arn


def put_items(endpoint: str, table: str, count: int, *, sort_keys: int = 0) -> None:
    resource = boto3.resource(
        "dynamodb",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="t",
        aws_secret_access_key="t",
    ).Table(table)
    with resource.batch_writer() as batch:
        for n in range(count):
            item: dict[str, Any] = {
                "pk": f"book-{n}",
                "title": f"Title {n} ✓",
                "year": Decimal(1900 + n),
                "price": Decimal("12.3456789012345678901234567890123456"),  # 38 significant digits
                "cover": bytes([n % 256, 0, 255]),
                "tags": {"a", f"t{n}"},
                "meta": {"nested": [Decimal(n), "x", None, True]},
            }
            for sk in range(sort_keys or 1):
                batch.put_item(Item={**item, "sk": Decimal(sk)} if sort_keys else item)


def scan(endpoint: str, table: str) -> list[dict[str, Any]]:
    pages = client(endpoint, "dynamodb").get_paginator("scan").paginate(TableName=table, ConsistentRead=True)
    return [item for page in pages for item in page["Items"]]


def wait_completed(dynamodb: Any, arn: str, bound: int = 20) -> dict[str, Any]:
    for _ in range(bound):
        description = dynamodb.describe_export(ExportArn=arn)["ExportDescription"]
        if description["ExportStatus"] != "IN_PROGRESS":
            return description
    raise AssertionError(f"{arn} still IN_PROGRESS after {bound} DescribeExport calls")


def read_export(
    s3: Any, bucket: str, description: dict[str, Any]
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The summary manifest (ExportManifest names it) and the files manifest (JSON lines) it names."""
    summary = json.loads(s3.get_object(Bucket=bucket, Key=description["ExportManifest"])["Body"].read())
    body = s3.get_object(Bucket=bucket, Key=summary["manifestFilesS3Key"])["Body"].read().decode()
    assert body.endswith("\n"), "JSON lines: every line ends with a newline"
    files = [json.loads(line) for line in body.splitlines()]
    return summary, files


def data_lines(s3: Any, bucket: str, key: str) -> list[dict[str, Any]]:
    text = gzip.decompress(s3.get_object(Bucket=bucket, Key=key)["Body"].read()).decode()
    return [json.loads(line) for line in text.splitlines() if line]


def start_export(endpoint: str, table_arn: str, bucket: str, prefix: str, **extra: Any) -> dict[str, Any]:
    return client(endpoint, "dynamodb").export_table_to_point_in_time(
        TableArn=table_arn, S3Bucket=bucket, S3Prefix=prefix, ExportFormat="DYNAMODB_JSON", **extra
    )["ExportDescription"]


def test_an_export_is_laid_out_and_described_as_aws_documents_it(
    endpoint: str, names: tuple[str, str]
) -> None:
    table, bucket = names
    table_arn = make_table(endpoint, table)
    put_items(endpoint, table, 60)
    s3, dynamodb = client(endpoint, "s3"), client(endpoint, "dynamodb")
    s3.create_bucket(Bucket=bucket)
    before = dt.datetime.now(dt.UTC)
    started = start_export(endpoint, table_arn, bucket, "runs/r1", ClientToken="r1")
    after = dt.datetime.now(dt.UTC)

    # ExportArn: "arn:aws:dynamodb:us-east-1:123456789012:table/ProductCatalog/export/01234567890123-a1b2c3d4"
    # (the output format's summary example).
    match = re.fullmatch(rf"{re.escape(table_arn)}/export/(\d{{14}}-[0-9a-f]{{8}})", started["ExportArn"])
    assert match, started["ExportArn"]
    export_id = match.group(1)
    assert started["ExportStatus"] == "IN_PROGRESS"
    assert before - dt.timedelta(seconds=1) <= started["ExportTime"] <= after + dt.timedelta(seconds=1)
    assert started["ClientToken"] == "r1"
    # "DynamoDB also creates an empty file named _started in the same directory as the manifest files";
    # nothing else exists while the export runs.
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]]
    assert keys == [f"runs/r1/AWSDynamoDB/{export_id}/_started"]
    assert s3.get_object(Bucket=bucket, Key=keys[0])["ContentLength"] == 0

    polled = dynamodb.describe_export(ExportArn=started["ExportArn"])["ExportDescription"]
    assert polled["ExportStatus"] == "IN_PROGRESS"  # a caller's wait loop runs at least once
    description = wait_completed(dynamodb, started["ExportArn"])
    assert description["ExportStatus"] == "COMPLETED"
    assert description["ExportManifest"] == f"runs/r1/AWSDynamoDB/{export_id}/manifest-summary.json"
    assert description["ExportTime"] == started["ExportTime"]
    assert description["StartTime"] <= description["EndTime"]
    assert (description["ExportFormat"], description["ExportType"]) == ("DYNAMODB_JSON", "FULL_EXPORT")
    assert description["ItemCount"] == 60
    assert (description["S3Bucket"], description["S3Prefix"]) == (bucket, "runs/r1")

    # The manifests: "export-prefix/AWSDynamoDB/ExportId/manifest-summary.json ... manifest-files.json", each
    # with its checksum file.
    base = f"runs/r1/AWSDynamoDB/{export_id}"
    keys = {o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]}
    for name in (
        "manifest-summary.json",
        "manifest-summary.checksum",
        "manifest-files.json",
        "manifest-files.checksum",
    ):
        assert f"{base}/{name}" in keys, name
    summary, files = read_export(s3, bucket, description)
    assert summary == {
        "version": "2020-06-30",
        "exportArn": started["ExportArn"],
        "startTime": summary["startTime"],
        "endTime": summary["endTime"],
        "tableArn": table_arn,
        "tableId": summary["tableId"],
        "exportTime": summary["exportTime"],
        "s3Bucket": bucket,
        "s3Prefix": "runs/r1",
        "s3SseAlgorithm": "AES256",
        "s3SseKmsKeyId": None,
        "manifestFilesS3Key": f"{base}/manifest-files.json",
        "billedSizeBytes": summary["billedSizeBytes"],
        "itemCount": 60,
        "outputFormat": "DYNAMODB_JSON",
    }
    iso = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z"  # "2020-11-04T07:28:34.028Z"
    assert all(re.fullmatch(iso, summary[k]) for k in ("startTime", "endTime", "exportTime"))
    assert dt.datetime.fromisoformat(summary["exportTime"]) == description["ExportTime"].replace(
        microsecond=description["ExportTime"].microsecond // 1000 * 1000
    )
    assert re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", summary["tableId"])

    # The files manifest: one line per data file, "itemCount", "md5Checksum", "etag", "dataFileS3Key".
    # "The export creates at least 1 file per partition": several files here (one per emulated partition),
    # data/<name>.json.gz under the export's directory.
    assert len(files) == PARTITIONS
    exported: list[dict[str, Any]] = []
    for entry in files:
        assert set(entry) == {"itemCount", "md5Checksum", "etag", "dataFileS3Key"}
        assert re.fullmatch(rf"{base}/data/[a-z2-7]{{26}}\.json\.gz", entry["dataFileS3Key"]), entry
        raw = s3.get_object(Bucket=bucket, Key=entry["dataFileS3Key"])["Body"].read()
        assert entry["md5Checksum"] == base64.b64encode(hashlib.md5(raw).digest()).decode()
        head = s3.head_object(Bucket=bucket, Key=entry["dataFileS3Key"])
        assert entry["etag"] == head["ETag"].strip('"')
        lines = data_lines(s3, bucket, entry["dataFileS3Key"])
        assert len(lines) == entry["itemCount"]
        # "A table export in DynamoDB JSON format consists of multiple Item objects", one per line.
        assert all(set(line) == {"Item"} for line in lines)
        exported.extend(line["Item"] for line in lines)
    assert sum(entry["itemCount"] for entry in files) == summary["itemCount"]
    assert sum(entry["itemCount"] > 0 for entry in files) >= 2, "the Map needs several children"
    # Exactly the table's items, in DynamoDB JSON (binary as base64, numbers as DynamoDB's digits).
    table_items = scan(endpoint, table)
    for item in table_items:
        item["cover"] = {"B": base64.b64encode(item["cover"]["B"]).decode()}
    key = lambda item: item["pk"]["S"]  # noqa: E731
    assert sorted(exported, key=key) == sorted(table_items, key=key)


def test_items_of_one_partition_key_share_a_file(endpoint: str, names: tuple[str, str]) -> None:
    """ "All of the items in each file are from that particular partition's hashed keyspace": an item
    collection (one partition key, many sort keys) never spans two files."""
    table, bucket = names
    table_arn = make_table(endpoint, table, sort_key=True)
    put_items(endpoint, table, 12, sort_keys=5)
    s3, dynamodb = client(endpoint, "s3"), client(endpoint, "dynamodb")
    s3.create_bucket(Bucket=bucket)
    description = wait_completed(dynamodb, start_export(endpoint, table_arn, bucket, "p")["ExportArn"])
    _, files = read_export(s3, bucket, description)
    home: dict[str, str] = {}
    for entry in files:
        for line in data_lines(s3, bucket, entry["dataFileS3Key"]):
            assert home.setdefault(line["Item"]["pk"]["S"], entry["dataFileS3Key"]) == entry["dataFileS3Key"]
    assert len(home) == 12


def test_an_empty_table_exports_an_empty_file_per_partition(endpoint: str, names: tuple[str, str]) -> None:
    """ "For partitions that are empty, your export request will create an empty file."""
    table, bucket = names
    table_arn = make_table(endpoint, table)
    s3, dynamodb = client(endpoint, "s3"), client(endpoint, "dynamodb")
    s3.create_bucket(Bucket=bucket)
    description = wait_completed(dynamodb, start_export(endpoint, table_arn, bucket, "empty")["ExportArn"])
    summary, files = read_export(s3, bucket, description)
    assert summary["itemCount"] == 0
    assert description["ItemCount"] == 0
    assert [entry["itemCount"] for entry in files] == [0] * PARTITIONS
    assert all(data_lines(s3, bucket, entry["dataFileS3Key"]) == [] for entry in files)


def test_the_export_is_the_table_at_the_request_not_at_completion(
    endpoint: str, names: tuple[str, str]
) -> None:
    """ExportTableToPointInTime exports "a snapshot of the table's state at this point in time"
    (ExportTime): writes after the request are not in it, whenever the export completes."""
    table, bucket = names
    table_arn = make_table(endpoint, table)
    put_items(endpoint, table, 10)
    s3, dynamodb = client(endpoint, "s3"), client(endpoint, "dynamodb")
    s3.create_bucket(Bucket=bucket)
    arn = start_export(endpoint, table_arn, bucket, "snap")["ExportArn"]
    dynamodb.put_item(TableName=table, Item={"pk": {"S": "after-the-export"}})
    dynamodb.delete_item(TableName=table, Key={"pk": {"S": "book-3"}})
    description = wait_completed(dynamodb, arn)
    _, files = read_export(s3, bucket, description)
    keys = {line["Item"]["pk"]["S"] for e in files for line in data_lines(s3, bucket, e["dataFileS3Key"])}
    assert keys == {f"book-{n}" for n in range(10)}


def test_an_export_without_pitr_is_refused(endpoint: str, names: tuple[str, str]) -> None:
    """ "If you request an export for a table that doesn't have PITR enabled, your request will fail with an
    exception message: An error occurred (PointInTimeRecoveryUnavailableException) when calling the
    ExportTableToPointInTime operation: Point in time recovery is not enabled for table 'my-dynamodb-table'"
    (Requesting a table export in DynamoDB, Prerequisites)."""
    table, bucket = names
    table_arn = make_table(endpoint, table, pitr=False)
    client(endpoint, "s3").create_bucket(Bucket=bucket)
    with pytest.raises(ClientError) as raised:
        start_export(endpoint, table_arn, bucket, "nopitr")
    assert raised.value.response["Error"]["Code"] == "PointInTimeRecoveryUnavailableException"
    assert (
        raised.value.response["Error"]["Message"]
        == f"Point in time recovery is not enabled for table '{table}'"
    )


def test_a_client_token_makes_the_request_idempotent(endpoint: str, names: tuple[str, str]) -> None:
    """ClientToken: "multiple identical calls have the same effect as one single call"; the same token with
    other parameters is a conflict (ExportTableToPointInTime, Request Parameters and Errors)."""
    table, bucket = names
    table_arn = make_table(endpoint, table)
    client(endpoint, "s3").create_bucket(Bucket=bucket)
    first = start_export(endpoint, table_arn, bucket, "idem", ClientToken="run-7")
    again = start_export(endpoint, table_arn, bucket, "idem", ClientToken="run-7")
    assert again["ExportArn"] == first["ExportArn"]
    listed = client(endpoint, "dynamodb").list_exports(TableArn=table_arn)["ExportSummaries"]
    assert [summary["ExportArn"] for summary in listed] == [first["ExportArn"]]
    with pytest.raises(ClientError) as raised:
        start_export(endpoint, table_arn, bucket, "another-prefix", ClientToken="run-7")
    assert raised.value.response["Error"]["Code"] == "ExportConflictException"


def test_unknown_exports_and_tables_are_not_found(endpoint: str, names: tuple[str, str]) -> None:
    table, bucket = names
    table_arn = make_table(endpoint, table)
    with pytest.raises(ClientError) as raised:
        client(endpoint, "dynamodb").describe_export(ExportArn=f"{table_arn}/export/01234567890123-a1b2c3d4")
    assert raised.value.response["Error"]["Code"] == "ExportNotFoundException"
    with pytest.raises(ClientError) as raised:
        start_export(endpoint, f"{table_arn}-missing", bucket, "x")
    assert raised.value.response["Error"]["Code"] == "TableNotFoundException"


def test_an_export_into_a_missing_bucket_fails(endpoint: str, names: tuple[str, str]) -> None:
    table, bucket = names
    table_arn = make_table(endpoint, table)
    dynamodb = client(endpoint, "dynamodb")
    description = wait_completed(dynamodb, start_export(endpoint, table_arn, bucket, "nobucket")["ExportArn"])
    assert description["ExportStatus"] == "FAILED"
    assert description["FailureCode"] == "S3NoSuchBucket"
    assert "ExportManifest" not in description


def test_moto_alone_writes_no_manifests() -> None:
    """What the fill-in is for: plain moto 5.2.5 writes one data file, no manifest and a malformed ARN (run
    on moto without the fill-ins: this test fails the day moto does it right and the fill-in can go)."""
    from moto import mock_aws

    with mock_aws():
        dynamodb, s3 = (
            boto3.client("dynamodb", region_name="us-east-1"),
            boto3.client("s3", region_name="us-east-1"),
        )
        arn = dynamodb.create_table(
            TableName="t",
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )["TableDescription"]["TableArn"]
        dynamodb.update_continuous_backups(
            TableName="t", PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True}
        )
        dynamodb.put_item(TableName="t", Item={"pk": {"S": "a"}})
        s3.create_bucket(Bucket="plain-moto")
        export = dynamodb.export_table_to_point_in_time(TableArn=arn, S3Bucket="plain-moto", S3Prefix="p")
        description = dynamodb.describe_export(ExportArn=export["ExportDescription"]["ExportArn"])[
            "ExportDescription"
        ]
        keys = [o["Key"] for o in s3.list_objects_v2(Bucket="plain-moto")["Contents"]]
    assert "ExportManifest" not in description
    assert not re.fullmatch(
        r"arn:aws:dynamodb:[^:]+:\d{12}:table/t/export/\d{14}-[0-9a-f]{8}", description["ExportArn"]
    )
    assert not any(key.endswith("manifest-files.json") for key in keys)
