"""Settings: defaults, and a clear error naming the variable for each bad value."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from indexer.batch import Runtime, process_batch
from indexer.documents import load_hook
from indexer.errors import SettingsError
from indexer.settings import Settings
from support.streams import LambdaContext, StreamReader

BASE = {"OPENSEARCH_ENDPOINT": "https://search.example.com", "AWS_REGION": "eu-west-1"}


def test_defaults() -> None:
    settings = Settings.from_env(BASE)
    assert settings == Settings(opensearch_endpoint="https://search.example.com", aws_region="eu-west-1")
    assert (settings.opensearch_index, settings.opensearch_auth, settings.opensearch_service) == (
        "books",
        "sigv4",
        "es",
    )
    assert (settings.bulk_max_bytes, settings.bulk_max_actions) == (5 * 1024 * 1024, 500)
    assert (settings.keys.partition_key, settings.keys.sort_key) == ("id", None)
    assert settings.create_index is True


def test_every_variable_is_read() -> None:
    settings = Settings.from_env(
        {
            "OPENSEARCH_ENDPOINT": "http://localhost:9200/",
            "OPENSEARCH_INDEX": "books-test",
            "OPENSEARCH_AUTH": "BASIC",
            "OPENSEARCH_USERNAME": "admin",
            "OPENSEARCH_PASSWORD": "s3cret",
            "OPENSEARCH_SERVICE": "aoss",
            "AWS_REGION": "us-west-2",
            "TABLE_PARTITION_KEY": "author",
            "TABLE_SORT_KEY": "title",
            "INDEX_INCLUDE_ATTRIBUTES": "author, title,title,year",
            "INDEX_EXCLUDE_ATTRIBUTES": "secret",
            "DOCUMENT_HOOK": "my.hooks:enrich",
            "BULK_MAX_BYTES": "1048576",
            "BULK_MAX_ACTIONS": "100",
            "RETRY_MAX_ATTEMPTS": "4",
            "RETRY_INITIAL_BACKOFF_SECONDS": "0.1",
            "RETRY_MAX_BACKOFF_SECONDS": "2",
            "RETRY_DEADLINE_MARGIN_SECONDS": "1.5",
            "REQUEST_TIMEOUT_SECONDS": "9",
            "CREATE_INDEX": "false",
            "LOG_LEVEL": "debug",
        }
    )
    assert settings == Settings(
        opensearch_endpoint="http://localhost:9200",
        opensearch_index="books-test",
        opensearch_auth="basic",
        opensearch_username="admin",
        opensearch_password="s3cret",
        opensearch_service="aoss",
        aws_region="us-west-2",
        table_partition_key="author",
        table_sort_key="title",
        include_attributes=("author", "title", "year"),
        exclude_attributes=("secret",),
        document_hook="my.hooks:enrich",
        bulk_max_bytes=1048576,
        bulk_max_actions=100,
        retry_max_attempts=4,
        retry_initial_backoff_seconds=0.1,
        retry_max_backoff_seconds=2.0,
        retry_deadline_margin_seconds=1.5,
        request_timeout_seconds=9.0,
        create_index=False,
        log_level="DEBUG",
    )
    assert "s3cret" not in repr(settings)


@pytest.mark.parametrize(
    ("overrides", "variable", "hint"),
    [
        ({"OPENSEARCH_ENDPOINT": ""}, "OPENSEARCH_ENDPOINT", "required"),
        ({"OPENSEARCH_ENDPOINT": "search.example.com"}, "OPENSEARCH_ENDPOINT", "https://search.example.com"),
        ({"OPENSEARCH_ENDPOINT": "ftp://x"}, "OPENSEARCH_ENDPOINT", "http(s)://host"),
        ({"OPENSEARCH_ENDPOINT": "https://x/books"}, "OPENSEARCH_ENDPOINT", "path"),
        ({"OPENSEARCH_ENDPOINT": "https://x:99999"}, "OPENSEARCH_ENDPOINT", "port"),
        ({"OPENSEARCH_INDEX": "Books"}, "OPENSEARCH_INDEX", "lowercase"),
        ({"OPENSEARCH_INDEX": "_books"}, "OPENSEARCH_INDEX", "must not start"),
        ({"OPENSEARCH_AUTH": "iam"}, "OPENSEARCH_AUTH", "sigv4, basic, none"),
        ({"OPENSEARCH_AUTH": "basic"}, "OPENSEARCH_USERNAME and OPENSEARCH_PASSWORD", "required"),
        ({"OPENSEARCH_SERVICE": "opensearch"}, "OPENSEARCH_SERVICE", "es, aoss"),
        ({"AWS_REGION": ""}, "AWS_REGION", "sigv4"),
        ({"TABLE_SORT_KEY": "id"}, "TABLE_SORT_KEY", "differ"),
        ({"INDEX_INCLUDE_ATTRIBUTES": " , "}, "INDEX_INCLUDE_ATTRIBUTES", "comma-separated"),
        (
            {"INDEX_INCLUDE_ATTRIBUTES": "a,b", "INDEX_EXCLUDE_ATTRIBUTES": "b"},
            "INDEX_EXCLUDE_ATTRIBUTES",
            "b",
        ),
        ({"DOCUMENT_HOOK": "hooks.enrich"}, "DOCUMENT_HOOK", "module.path:function"),
        ({"BULK_MAX_BYTES": "5MB"}, "BULK_MAX_BYTES", "integer"),
        ({"BULK_MAX_BYTES": "10"}, "BULK_MAX_BYTES", "1024 to"),
        ({"BULK_MAX_ACTIONS": "0"}, "BULK_MAX_ACTIONS", "1 to 10000"),
        ({"RETRY_MAX_ATTEMPTS": "many"}, "RETRY_MAX_ATTEMPTS", "integer"),
        ({"RETRY_INITIAL_BACKOFF_SECONDS": "nan"}, "RETRY_INITIAL_BACKOFF_SECONDS", "out of range"),
        ({"RETRY_MAX_BACKOFF_SECONDS": "0.01"}, "RETRY_MAX_BACKOFF_SECONDS", "RETRY_INITIAL_BACKOFF_SECONDS"),
        ({"RETRY_DEADLINE_MARGIN_SECONDS": "-1"}, "RETRY_DEADLINE_MARGIN_SECONDS", "out of range"),
        ({"REQUEST_TIMEOUT_SECONDS": "soon"}, "REQUEST_TIMEOUT_SECONDS", "number"),
        ({"CREATE_INDEX": "maybe"}, "CREATE_INDEX", "true or false"),
        ({"LOG_LEVEL": "LOUD"}, "LOG_LEVEL", "DEBUG, INFO"),
    ],
)
def test_a_bad_setting_names_the_variable_and_what_would_be_right(
    overrides: dict[str, str], variable: str, hint: str
) -> None:
    env = {**BASE, **overrides}
    with pytest.raises(SettingsError) as raised:
        Settings.from_env(env)
    message = str(raised.value)
    assert message.startswith(variable), message
    assert hint in message, message


@pytest.mark.parametrize(
    ("spec", "hint"),
    [
        ("no_such_module_here:enrich", "cannot import module 'no_such_module_here'"),
        ("book_hooks:missing", "module 'book_hooks' has no function 'missing'"),
        ("book_hooks:not_callable", "module 'book_hooks' has no function 'not_callable'"),
    ],
)
def test_a_hook_that_cannot_be_loaded_names_document_hook(spec: str, hint: str) -> None:
    with pytest.raises(SettingsError, match=f"^DOCUMENT_HOOK: {hint}"):
        load_hook(spec)


# --- clear cold-start errors ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "error"),
    [
        ("raise RuntimeError('no config file')\n", "RuntimeError: no config file"),
        ("x = 1 / 0\n", "ZeroDivisionError"),
        ("def broken(:\n", "SyntaxError"),
    ],
    ids=["runtime-error", "zero-division", "syntax-error"],
)
def test_any_exception_while_importing_the_hook_names_document_hook(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, source: str, error: str
) -> None:
    name = f"hook_{tmp_path.name.replace('-', '_')}"
    (tmp_path / f"{name}.py").write_text(source)
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(SettingsError, match=f"^DOCUMENT_HOOK: cannot import module '{name}': ") as raised:
        load_hook(f"{name}:enrich")
    assert error in str(raised.value)


def test_variables_with_the_indexers_prefixes_that_it_does_not_read_are_kept_as_unknown() -> None:
    env = {**BASE, "BULK_MAX_BYTE": "1048576", "RETRY_MAX_ATTEMPT": "3", "HOME": "/root", "AWS_REGION": "x"}
    assert Settings.from_env(env).unknown_variables == ("BULK_MAX_BYTE", "RETRY_MAX_ATTEMPT")
    assert Settings.from_env(BASE).unknown_variables == ()


def test_a_misspelt_variable_is_warned_about_once_with_the_name_it_resembles(
    env: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    misspelt = {**env, "BULK_MAX_BYTE": "1048576"}
    Runtime.from_env(misspelt)
    Runtime.from_env(misspelt)  # a second cold start in the same process: no second warning
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    warnings = [line for line in lines if line["level"] == "WARNING" and "BULK_MAX_BYTE" in line["message"]]
    assert len(warnings) == 1
    assert "did you mean BULK_MAX_BYTES?" in warnings[0]["message"]
    assert warnings[0]["variables"] == ["BULK_MAX_BYTE"]


def test_a_keys_only_stream_fails_the_first_invocation_naming_the_setting(
    env: dict[str, str], dynamo: tuple[Any, Any], unique_name: str
) -> None:
    """The view type is in every record: dynamodb.StreamViewType
    (https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_streams_StreamRecord.html)."""
    dynamodb, streams = dynamo
    answer = dynamodb.create_table(
        TableName=unique_name,
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "KEYS_ONLY"},
    )
    dynamodb.put_item(TableName=unique_name, Item={"id": {"S": "b1"}, "title": {"S": "Dune"}})
    event = StreamReader(streams, answer["TableDescription"]["LatestStreamArn"]).event()
    assert event["Records"]
    runtime = Runtime.from_env(env)
    with pytest.raises(
        SettingsError, match=r"^StreamViewType KEYS_ONLY: the indexer needs NEW_AND_OLD_IMAGES"
    ):
        process_batch(event, LambdaContext(), runtime)
