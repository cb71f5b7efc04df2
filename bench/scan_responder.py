"""A read-only DynamoDB endpoint serving one generated table fast: DescribeTable, Scan and GetItem.

Run as ``python -m bench.scan_responder PORT TABLE ITEMS``. The backfill benchmark reads its items from here
rather than from moto, because moto's Scan walks the whole table from the start for every page (about 500
items/s at 20,000 items, slower as the table grows): against moto both contenders would measure moto.
Pages follow DynamoDB's rules: 1 MB or ``Limit``, ``Segment``/``TotalSegments``, ``ExclusiveStartKey`` →
``LastEvaluatedKey`` (also on a page that Limit or 1 MB ended exactly at the end of a segment, as DynamoDB
does and moto does not), ``ConsumedCapacity`` at 4 KB per unit, halved for eventually consistent reads.
Item JSON is encoded once up front, so the responder costs little per page.
"""

from __future__ import annotations

import json
import random
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from bench.records import book_item

PAGE_BYTES = 1024 * 1024
SEED = 1123


def item_id(number: int) -> str:
    return f"book-{number:06d}"


class Table:
    def __init__(self, name: str, count: int) -> None:
        rng = random.Random(SEED)
        self.name = name
        self.count = count
        self.encoded = [json.dumps(book_item(rng, item_id(n)), separators=(",", ":")) for n in range(count)]

    def describe(self) -> dict[str, Any]:
        return {
            "Table": {
                "TableName": self.name,
                "TableStatus": "ACTIVE",
                "ItemCount": self.count,
                "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}],
                "AttributeDefinitions": [{"AttributeName": "id", "AttributeType": "S"}],
                "BillingModeSummary": {"BillingMode": "PAY_PER_REQUEST"},
            }
        }

    def scan(self, request: dict[str, Any]) -> bytes:
        segment = int(request.get("Segment", 0))
        total = int(request.get("TotalSegments", 1))
        limit = int(request.get("Limit", 0)) or None
        start = request.get("ExclusiveStartKey")
        number = segment if start is None else int(start["id"]["S"].removeprefix("book-")) + total
        chunk: list[str] = []
        size = 0
        while number < self.count and size < PAGE_BYTES and (limit is None or len(chunk) < limit):
            chunk.append(self.encoded[number])
            size += len(self.encoded[number])
            number += total
        units = size / 4096 * (1.0 if request.get("ConsistentRead") else 0.5)
        tail: dict[str, Any] = {
            "Count": len(chunk),
            "ScannedCount": len(chunk),
            "ConsumedCapacity": {"TableName": self.name, "CapacityUnits": round(units, 1)},
        }
        # As DynamoDB: a page ended by Limit or by 1 MB carries a LastEvaluatedKey even when nothing is left
        # (the next page is then empty); only an empty LastEvaluatedKey ends the scan (API Reference, Scan).
        full = size >= PAGE_BYTES or (limit is not None and len(chunk) == limit)
        if number < self.count or (full and chunk):
            tail["LastEvaluatedKey"] = {"id": {"S": item_id(number - total)}}
        return ('{"Items":[' + ",".join(chunk) + "]," + json.dumps(tail)[1:]).encode()

    def get_item(self, request: dict[str, Any]) -> dict[str, Any]:
        number = int(request["Key"]["id"]["S"].removeprefix("book-"))
        return {"Item": json.loads(self.encoded[number])} if 0 <= number < self.count else {}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    table: Table

    def log_message(self, format: str, *args: Any) -> None:
        return

    def _answer(self, body: bytes, status: int = 200) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/x-amz-json-1.0")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:  # readiness probe
        self._answer(b"{}")

    def do_POST(self) -> None:
        request = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
        operation = self.headers.get("X-Amz-Target", "").rsplit(".", 1)[-1]
        if request.get("TableName") not in (None, self.table.name):
            error = {"__type": "com.amazonaws.dynamodb.v20120810#ResourceNotFoundException", "message": "no"}
            self._answer(json.dumps(error).encode(), 400)
        elif operation == "Scan":
            self._answer(self.table.scan(request))
        elif operation == "DescribeTable":
            self._answer(json.dumps(self.table.describe()).encode())
        elif operation == "GetItem":
            self._answer(json.dumps(self.table.get_item(request)).encode())
        else:
            error = {"__type": "com.amazon.coral.service#UnknownOperationException", "message": operation}
            self._answer(json.dumps(error).encode(), 400)


def main() -> None:
    port, name, count = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
    Handler.table = Table(name, count)
    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    server.serve_forever()


if __name__ == "__main__":
    main()
