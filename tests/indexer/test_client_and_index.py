"""Auth on the wire (SigV4 with rotating credentials, basic, none) and the index bootstrap per cold start."""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from opensearchpy import OpenSearch

from indexer import batch
from indexer.batch import Runtime, process_batch
from indexer.index_setup import ensure_index, index_body
from indexer.settings import Settings
from indexer.tombstones import ALIAS_FILTER, RESERVED_FIELDS
from support.fault_proxy import FaultProxy
from support.streams import LambdaContext, lambda_event, record


class CredentialServer:
    """A container-credentials endpoint (as ECS and SnapStart use) whose keys the test rotates at will."""

    def __init__(self) -> None:
        self.access_key = "AKIDFIRST"
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                body = json.dumps(
                    {
                        "AccessKeyId": outer.access_key,
                        "SecretAccessKey": f"secret-of-{outer.access_key}",
                        "Token": f"token-of-{outer.access_key}",
                        # inside botocore's mandatory refresh window: every use asks for fresh credentials
                        "Expiration": (datetime.now(UTC) + timedelta(minutes=5)).strftime(
                            "%Y-%m-%dT%H:%M:%SZ"
                        ),
                    }
                ).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/credentials"


@pytest.fixture
def credential_server(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> Iterator[CredentialServer]:
    server = CredentialServer()
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", server.url)
    yield server
    server.server.shutdown()
    server.server.server_close()


def one_insert(book_id: str, seq: int) -> dict[str, Any]:
    return lambda_event([record("INSERT", {"id": {"S": book_id}}, seq, {"id": {"S": book_id}})])


def test_sigv4_credentials_are_not_frozen(
    env: dict[str, str], proxy: FaultProxy, credential_server: CredentialServer, docs: Any, unique_name: str
) -> None:
    runtime = Runtime.from_env({**env, "OPENSEARCH_ENDPOINT": proxy.url, "OPENSEARCH_AUTH": "sigv4"})
    assert process_batch(one_insert("b1", 1), LambdaContext(), runtime) == {"batchItemFailures": []}
    credential_server.access_key = "AKIDSECOND"  # the role's credentials rotate under the warm container
    assert process_batch(one_insert("b2", 2), LambdaContext(), runtime) == {"batchItemFailures": []}

    first, second = proxy.bulk_requests()
    assert "Credential=AKIDFIRST/" in first.header("Authorization")
    assert first.header("X-Amz-Security-Token") == "token-of-AKIDFIRST"
    assert "Credential=AKIDSECOND/" in second.header("Authorization")
    assert "/us-east-1/es/aws4_request" in second.header("Authorization")
    assert second.header("X-Amz-Security-Token") == "token-of-AKIDSECOND"
    assert sorted(docs(unique_name)) == ["b1", "b2"]


def test_basic_and_no_auth_on_the_wire(env: dict[str, str], proxy: FaultProxy) -> None:
    basic = {"OPENSEARCH_AUTH": "basic", "OPENSEARCH_USERNAME": "indexer", "OPENSEARCH_PASSWORD": "pw"}
    runtime = Runtime.from_env({**env, "OPENSEARCH_ENDPOINT": proxy.url, **basic})
    process_batch(one_insert("b1", 1), LambdaContext(), runtime)
    assert (
        proxy.bulk_requests()[-1].header("Authorization")
        == "Basic " + base64.b64encode(b"indexer:pw").decode()
    )

    runtime = Runtime.from_env({**env, "OPENSEARCH_ENDPOINT": proxy.url})
    process_batch(one_insert("b2", 2), LambdaContext(), runtime)
    assert proxy.bulk_requests()[-1].header("Authorization") is None


def test_cold_start_creates_a_versioned_index_behind_the_alias(
    env: dict[str, str], search: OpenSearch, unique_name: str
) -> None:
    runtime = Runtime.from_env(env)
    assert runtime.index == f"{unique_name}-v1"
    aliases = search.indices.get_alias(name=unique_name)
    assert aliases == {
        f"{unique_name}-v1": {
            "aliases": {unique_name: {"is_write_index": True, "filter": ALIAS_FILTER}}  # hides tombstones
        }
    }
    index_settings = search.indices.get_settings(index=f"{unique_name}-v1")[f"{unique_name}-v1"]["settings"][
        "index"
    ]
    assert index_settings["gc_deletes"] == index_body()["settings"]["index"]["gc_deletes"] == "48h"
    mapping = search.indices.get_mapping(index=f"{unique_name}-v1")[f"{unique_name}-v1"]["mappings"]
    assert mapping["properties"]["title"]["type"] == "text"
    assert ensure_index(runtime.client, runtime.settings) == f"{unique_name}-v1"  # idempotent


def test_the_index_is_checked_once_per_container_not_per_batch(
    env: dict[str, str], proxy: FaultProxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in {**env, "OPENSEARCH_ENDPOINT": proxy.url}.items():
        monkeypatch.setenv(name, value)
    for seq in range(3):
        assert batch.process_event(one_insert(f"b{seq}", seq), LambdaContext()) == {"batchItemFailures": []}
    setup = [r for r in proxy.requests if not r.is_bulk and "/_mget" not in r.path]
    assert [(r.method, r.path) for r in setup] == [  # once per container, only under the alias's paths
        ("GET", f"/{env['OPENSEARCH_INDEX']}/_alias"),
        ("PUT", f"/{env['OPENSEARCH_INDEX']}-v1"),
    ]
    assert {r.path for r in proxy.bulk_requests()} == {f"/{env['OPENSEARCH_INDEX']}/_bulk"}
    assert len(proxy.bulk_requests()) == 3


def test_create_index_false_touches_nothing(env: dict[str, str], proxy: FaultProxy) -> None:
    runtime = Runtime.from_env({**env, "OPENSEARCH_ENDPOINT": proxy.url, "CREATE_INDEX": "false"})
    assert runtime.index == env["OPENSEARCH_INDEX"]
    assert proxy.requests == []


def test_an_existing_alias_is_used_as_it_is(
    env: dict[str, str], search: OpenSearch, unique_name: str
) -> None:
    search.indices.create(index=f"{unique_name}-v7", body={"aliases": {unique_name: {}}})
    settings = Settings.from_env(env)
    assert ensure_index(Runtime.from_env(env).client, settings) == f"{unique_name}-v7"


def test_a_versioned_index_without_its_alias_gets_the_alias(
    env: dict[str, str], search: OpenSearch, unique_name: str
) -> None:
    search.indices.create(index=f"{unique_name}-v1", body=index_body())  # e.g. the loser of a cold-start race
    assert Runtime.from_env(env).index == f"{unique_name}-v1"
    assert list(search.indices.get_alias(name=unique_name)) == [f"{unique_name}-v1"]


def test_a_concrete_index_named_like_the_alias_is_used_as_it_is(
    env: dict[str, str], search: OpenSearch, docs: Any, unique_name: str
) -> None:
    search.indices.create(index=unique_name, body=index_body())
    runtime = Runtime.from_env(env)
    assert runtime.index == unique_name
    assert process_batch(one_insert("b1", 1), LambdaContext(), runtime) == {"batchItemFailures": []}
    assert list(docs(unique_name)) == ["b1"]


def test_the_mapping_filters_no_source_so_decimals_stay_exact() -> None:
    """Any ``_source`` includes/excludes in a mapping makes OpenSearch store a source rebuilt from a parsed
    map (https://docs.opensearch.org/latest/mappings/metadata-fields/source/ : "includes"/"excludes" change
    what is stored), and a parsed JSON number is a Java double: ``1.50`` would come back as ``1.5``. The
    stand-in keeps the raw bytes either way, so the mapping itself is pinned: no source filter; the reserved
    fields are mapped explicitly (a boolean, a date, a keyword that keeps 40 digits) and kept in
    ``_source``."""
    mappings = index_body()["mappings"]
    assert not {"includes", "excludes"} & set(mappings.get("_source", {}))
    assert {name: mappings["properties"][name]["type"] for name in RESERVED_FIELDS} == {
        "indexer_tombstone": "boolean",
        "indexer_deleted_at": "date",
        "indexer_sequence": "keyword",
    }
