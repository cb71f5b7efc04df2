"""What every command works on: the indexer's settings, the table, and clients for DynamoDB and OpenSearch.

Settings come from the same environment variables as the Lambda (``Settings.from_env``), so the tool
projects and versions documents exactly as the stream path does; command-line flags only override the
endpoints, the alias and the table name.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import boto3
from botocore.config import Config
from opensearchpy import OpenSearch

from indexer.changes import plain_item
from indexer.client import make_client
from indexer.documents import Hook, load_hook
from indexer.entities import Entity
from indexer.errors import RecordError, SettingsError
from indexer.keys import KeySchema
from indexer.ops.patient_transport import PatientTransport, patient
from indexer.routing import rule_of
from indexer.settings import Settings

# Scans are long-running; let botocore back off on throttling rather than fail the segment.
BOTO_CONFIG = Config(retries={"max_attempts": 10, "mode": "adaptive"}, max_pool_connections=32)


@dataclass(frozen=True)
class Target:
    settings: Settings
    table: str
    dynamodb: Any  # boto3 DynamoDB client
    search: OpenSearch
    hook: Hook | None
    session: boto3.session.Session
    dynamodb_endpoint: str | None = None
    entity: Entity | None = None  # with ENTITY_CONFIG: the entity this target works on (``entity_targets``)

    @property
    def keys(self) -> KeySchema:
        return self.settings.keys

    def owns(self, item: Mapping[str, Any]) -> bool:
        """Whether a scanned DynamoDB-JSON item belongs to this target: every item without ENTITY_CONFIG;
        with it, the items whose rule is the target's entity's (or any entity's when none is selected).
        An item that cannot be decoded is kept, so the caller reports it as it always did; one that meets two
        rules belongs to none (the stream fails its records, naming both rules)."""
        config = self.settings.entity_config
        if config is None:
            return True
        try:
            row = plain_item(item)
        except RecordError:
            return True
        try:
            rule = rule_of(row, config, self.keys)
        except RecordError:
            return False
        return rule is not None and (self.entity is None or rule.entity is self.entity)

    @property
    def alias(self) -> str:
        return self.settings.opensearch_index

    def streams(self) -> Any:
        """A DynamoDB Streams client (same endpoint override as DynamoDB: the local stack serves both)."""
        return self.session.client("dynamodbstreams", endpoint_url=self.dynamodb_endpoint, config=BOTO_CONFIG)

    def client(self, service: str, endpoint: str | None = None) -> Any:
        return self.session.client(service, endpoint_url=endpoint, config=BOTO_CONFIG)


def settings_from(
    environ: Mapping[str, str] = os.environ,
    *,
    opensearch_endpoint: str | None = None,
    index: str | None = None,
) -> Settings:
    """The indexer's Settings from the environment, with the command line's overrides, validated alike."""
    env = dict(environ)
    if opensearch_endpoint:
        env["OPENSEARCH_ENDPOINT"] = opensearch_endpoint
    if index:
        env["OPENSEARCH_INDEX"] = index
    return Settings.from_env(env)


def open_target(
    settings: Settings,
    table: str | None,
    *,
    dynamodb_endpoint: str | None = None,
    search: OpenSearch | None = None,
    check_keys: bool = True,
) -> Target:
    """Clients for ``table`` and the cluster; checks the table's keys against TABLE_PARTITION_KEY/SORT_KEY."""
    if not table:
        raise SettingsError("--table (or TABLE_NAME): the DynamoDB table to read is required")
    session = boto3.session.Session(region_name=settings.aws_region)
    dynamodb = session.client("dynamodb", endpoint_url=dynamodb_endpoint, config=BOTO_CONFIG)
    target = Target(
        settings=settings,
        table=table,
        dynamodb=dynamodb,
        search=search or ops_client(settings, session),
        hook=load_hook(settings.document_hook),
        session=session,
        dynamodb_endpoint=dynamodb_endpoint,
    )
    if check_keys:
        check_key_schema(target)
    return target


def ops_client(settings: Settings, session: boto3.session.Session | None = None) -> OpenSearch:
    """The operations tools' client: the stream Lambda's, each single request retried on transient
    failures with backoff (``patient_transport``)."""
    return patient(make_client(settings, session, transport_class=PatientTransport), settings)


def check_key_schema(target: Target) -> None:
    """Document ids come from TABLE_PARTITION_KEY/TABLE_SORT_KEY; they must be the table's real keys."""
    schema = target.dynamodb.describe_table(TableName=target.table)["Table"]["KeySchema"]
    actual = {k["KeyType"]: k["AttributeName"] for k in schema}
    expected = {"HASH": target.keys.partition_key}
    if target.keys.sort_key:
        expected["RANGE"] = target.keys.sort_key
    if actual != expected:
        raise SettingsError(
            f"TABLE_PARTITION_KEY/TABLE_SORT_KEY: table {target.table!r} is keyed by "
            f"{actual.get('HASH')!r}/{actual.get('RANGE')!r}, settings say "
            f"{expected.get('HASH')!r}/{expected.get('RANGE')!r}; set them as the stream Lambda has them"
        )
