"""Auth on the wire (SigV4 with rotating credentials, basic, none) and the index bootstrap per cold start."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from opensearchpy import OpenSearch

from indexer import batch
from indexer.batch import Runtime, process_batch
from indexer.errors import SettingsError
from indexer.index_setup import ensure_index, index_body
from indexer.settings import Settings
from indexer.tombstones import ALIAS_FILTER, RESERVED_FIELDS
from support.fault_proxy import FaultProxy
from support.stream_records import LambdaContext, lambda_event, record

LAMBDA_DIR = Path(__file__).resolve().parents[2] / "artifacts" / "update_indices" / "lambda"


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
    assert index_settings["gc_deletes"] == index_body()["settings"]["index"]["gc_deletes"] == "1h"
    # one replica where there is a second node, none on a single-node (dev) domain: green either way
    assert index_settings["auto_expand_replicas"] == "0-1"
    # slow logs are published only for requests over a threshold, and every threshold is off by default
    assert index_settings["search"]["slowlog"]["threshold"]["query"]["warn"] == "5s"
    assert index_settings["indexing"]["slowlog"]["threshold"]["index"]["warn"] == "5s"
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
        ("GET", f"/{env['OPENSEARCH_INDEX']}"),
        ("PUT", f"/{env['OPENSEARCH_INDEX']}-v1"),
    ]
    assert {r.path for r in proxy.bulk_requests()} == {f"/{env['OPENSEARCH_INDEX']}/_bulk?require_alias=true"}
    assert len(proxy.bulk_requests()) == 3


def test_create_index_false_only_checks_the_alias_and_its_filter(
    env: dict[str, str], proxy: FaultProxy, search: OpenSearch, unique_name: str
) -> None:
    no_create = {**env, "OPENSEARCH_ENDPOINT": proxy.url, "CREATE_INDEX": "false"}
    with pytest.raises(SettingsError, match="CREATE_INDEX=false"):  # no alias at all
        Runtime.from_env(no_create)
    search.indices.create(index=f"{unique_name}-v1", body={"aliases": {unique_name: {}}})  # no filter
    with pytest.raises(SettingsError, match=r"CREATE_INDEX=false.*tombstone filter"):
        Runtime.from_env(no_create)
    search.indices.put_alias(index=f"{unique_name}-v1", name=unique_name, body={"filter": ALIAS_FILTER})
    assert Runtime.from_env(no_create).index == f"{unique_name}-v1"
    assert {r.method for r in proxy.requests} == {"GET"}  # checked, never changed


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


def test_a_concrete_index_named_like_the_alias_fails_the_cold_start_naming_the_setting(
    env: dict[str, str], search: OpenSearch, unique_name: str
) -> None:
    """Without an alias there is no tombstone filter: deletes would show up in searches as empty hits."""
    search.indices.create(index=unique_name, body=index_body())
    for create in ("true", "false"):
        with pytest.raises(SettingsError, match="OPENSEARCH_INDEX"):
            Runtime.from_env({**env, "CREATE_INDEX": create})


PREVIOUS_INDEX = Path(__file__).with_name(
    "index_of_the_previous_release.json"
)  # git show fe7ee35:.../index.json


def test_an_index_of_the_previous_release_is_upgraded_at_cold_start(
    env: dict[str, str], proxy: FaultProxy, search: OpenSearch, docs: Any, unique_name: str
) -> None:
    index = f"{unique_name}-v1"
    old = json.loads(PREVIOUS_INDEX.read_text())
    search.indices.create(index=index, body={**old, "aliases": {unique_name: {"is_write_index": True}}})
    runtime = Runtime.from_env({**env, "OPENSEARCH_ENDPOINT": proxy.url})
    assert runtime.index == index
    assert ("PUT", f"/{index}/_mapping") in [(r.method, r.path) for r in proxy.requests]  # within <alias>-*
    mapping = search.indices.get_mapping(index=index)[index]["mappings"]
    assert {name: mapping["properties"][name]["type"] for name in RESERVED_FIELDS} == {
        "indexer_tombstone": "boolean",
        "indexer_deleted_at": "date",
        "indexer_sequence": "keyword",
    }
    templates = [next(iter(t)) for t in mapping["dynamic_templates"]]
    assert templates == ["whole_numbers_as_double", "decimals_as_double"]
    events = [
        one_insert("b1", 1),
        one_insert("b2", 2),
        lambda_event([record("REMOVE", {"id": {"S": "b1"}}, 3)]),
    ]
    for event in events:
        assert process_batch(event, LambdaContext(), runtime) == {"batchItemFailures": []}
    assert list(docs(unique_name)) == ["b2"]  # the delete is a tombstone, hidden by the alias's new filter
    before = len(proxy.requests)
    assert Runtime.from_env({**env, "OPENSEARCH_ENDPOINT": proxy.url}).index == index  # a second cold start
    assert [(r.method, r.path) for r in proxy.requests[before:]] == [("GET", f"/{unique_name}")]  # no upgrade


def test_a_cold_start_against_an_index_that_is_up_to_date_makes_one_request(
    env: dict[str, str], proxy: FaultProxy, unique_name: str
) -> None:
    """Every container pays its cold start's requests before the first batch: ``GET /<alias>`` tells the
    write index, its alias filter and its mappings at once (Get index API:
    https://docs.opensearch.org/latest/api-reference/index-apis/get-index/), so nothing else is asked
    or re-sent when the index is as this release ships it."""
    Runtime.from_env(env)  # the deployment's first cold start creates it
    for create in ("true", "false"):
        before = len(proxy.requests)
        runtime = Runtime.from_env({**env, "OPENSEARCH_ENDPOINT": proxy.url, "CREATE_INDEX": create})
        assert runtime.index == f"{unique_name}-v1"
        path = f"/{unique_name}" if create == "true" else f"/{unique_name}/_alias"
        assert [(r.method, r.path) for r in proxy.requests[before:]] == [("GET", path)]


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


LAMBDA_KEYS = {  # as Lambda sets them: https://docs.aws.amazon.com/lambda/latest/dg/configuration-envvars.html
    "AWS_ACCESS_KEY_ID": "ASIALAMBDAROLEKEY001",
    "AWS_SECRET_ACCESS_KEY": "secret-of-the-role",
    "AWS_SESSION_TOKEN": "token-of-the-role",
}


def test_sigv4_signs_with_the_keys_lambda_puts_in_the_environment(
    env: dict[str, str],
    proxy: FaultProxy,
    credential_server: CredentialServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Lambda's execution role reaches the function as AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and
    AWS_SESSION_TOKEN ("Defined runtime environment variables"); they come first in botocore's chain
    too, so they win over the container endpoint that is also configured here."""
    for name, value in LAMBDA_KEYS.items():
        monkeypatch.setenv(name, value)  # the client reads them from the process environment, as in Lambda
    runtime = Runtime.from_env({**env, "OPENSEARCH_ENDPOINT": proxy.url, "OPENSEARCH_AUTH": "sigv4"})
    assert process_batch(one_insert("b1", 1), LambdaContext(), runtime) == {"batchItemFailures": []}
    request = proxy.bulk_requests()[-1]
    assert "Credential=ASIALAMBDAROLEKEY001/" in request.header("Authorization")
    assert "/us-east-1/es/aws4_request" in request.header("Authorization")
    assert request.header("X-Amz-Security-Token") == "token-of-the-role"


def test_a_lambda_cold_start_imports_no_aws_sdk_for_its_credentials() -> None:
    """Importing boto3 (s3transfer and all) or botocore's session costs a cold start 20-100 ms; with the
    keys Lambda sets, the client needs neither."""
    code = (
        "import sys\n"
        "from indexer.client import make_client\n"
        "from indexer.settings import Settings\n"
        "settings = Settings.from_env({'OPENSEARCH_ENDPOINT': 'https://search.example:443',"
        " 'OPENSEARCH_AUTH': 'sigv4', 'OPENSEARCH_INDEX': 'books', 'AWS_REGION': 'eu-west-1'})\n"
        "auth = make_client(settings).transport.connection_pool.connections[0].session.auth\n"
        "keys = auth.refreshable_credentials.get_frozen_credentials()\n"
        "assert (keys.access_key, keys.token) == ('ASIALAMBDAROLEKEY001', 'token-of-the-role')\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('boto3', 'botocore', 's3transfer')))\n"
    )
    environment = {
        "PATH": os.environ["PATH"],
        "PYTHONPATH": str(LAMBDA_DIR),
        "AWS_REGION": "eu-west-1",
        **LAMBDA_KEYS,
    }
    done = subprocess.run(
        [sys.executable, "-c", code], env=environment, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


class ForwardProxyRecorder:
    """An HTTP forward proxy that forwards nothing: it records each request line and answers OpenSearch's
    root document, so a test sees whether (and for which URL) the client went through a proxy."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                outer.lines.append(self.requestline)
                body = json.dumps({"version": {"number": "2.19.1", "distribution": "opensearch"}}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def forward_proxy(monkeypatch: pytest.MonkeyPatch) -> Iterator[ForwardProxyRecorder]:
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)
    recorder = ForwardProxyRecorder()
    yield recorder
    recorder.close()


def test_the_proxy_in_the_environment_at_cold_start_is_used_for_every_request(
    env: dict[str, str], forward_proxy: ForwardProxyRecorder, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The environment is read once, at cold start, as requests would read it (a Lambda function's
    environment does not change under a running execution environment): the proxy it names is used, and a
    later change of the process's variables changes nothing."""
    from indexer.client import make_client

    monkeypatch.setenv("HTTP_PROXY", forward_proxy.url)
    endpoint = "http://search.books.internal:9200"
    client = make_client(Settings.from_env({**env, "OPENSEARCH_ENDPOINT": endpoint}))
    monkeypatch.delenv("HTTP_PROXY")
    monkeypatch.setenv("NO_PROXY", "search.books.internal")
    client.info()
    client.info()
    assert forward_proxy.lines == [f"GET {endpoint}/ HTTP/1.1"] * 2


def test_no_proxy_in_the_environment_at_cold_start_bypasses_the_proxy(
    env: dict[str, str], forward_proxy: ForwardProxyRecorder, monkeypatch: pytest.MonkeyPatch
) -> None:
    from indexer.client import make_client

    endpoint = ForwardProxyRecorder()  # stands in for OpenSearch, reached directly
    try:
        monkeypatch.setenv("HTTP_PROXY", forward_proxy.url)
        monkeypatch.setenv("NO_PROXY", "127.0.0.1")
        client = make_client(Settings.from_env({**env, "OPENSEARCH_ENDPOINT": endpoint.url}))
        client.info()
        assert forward_proxy.lines == []
        assert endpoint.lines == ["GET / HTTP/1.1"]
    finally:
        endpoint.close()


def test_the_environment_credentials_never_show_their_secret_in_a_repr() -> None:
    from indexer.client import EnvironmentCredentials

    keys = {"AWS_ACCESS_KEY_ID": "AKIDEXAMPLE", "AWS_SECRET_ACCESS_KEY": "s3cr3t-value"}
    credentials = EnvironmentCredentials.from_env({**keys, "AWS_SESSION_TOKEN": "tok3n"})
    assert credentials is not None
    assert credentials.secret_key == "s3cr3t-value"
    assert "AKIDEXAMPLE" in repr(credentials)
    assert "s3cr3t-value" not in repr(credentials)
    assert "tok3n" not in repr(credentials)
