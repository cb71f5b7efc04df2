"""The OpenSearch client: SigV4 with credentials resolved per request, basic auth, or none.

Nothing is resolved at import. For SigV4 the client holds the boto3 session's credentials object and
requests-aws4auth asks it for frozen credentials on every request (``refreshable_credentials``), so
refreshable credentials (assumed roles, container and instance credentials) rotate under a long-lived
client instead of expiring hours after a cold start.
"""

from __future__ import annotations

from typing import Any

import boto3
from opensearchpy import OpenSearch, RequestsHttpConnection
from requests_aws4auth import AWS4Auth

from indexer.errors import SettingsError
from indexer.exact_json import ExactJSONSerializer
from indexer.settings import Settings


def make_client(settings: Settings, session: boto3.session.Session | None = None) -> OpenSearch:
    """A client for OPENSEARCH_ENDPOINT; the transport never retries (the bulk writer does, in time) and
    writes Decimals exactly (``exact_json``)."""
    return OpenSearch(
        hosts=[settings.opensearch_endpoint],
        http_auth=_auth(settings, session),
        connection_class=RequestsHttpConnection,
        use_ssl=settings.opensearch_endpoint.startswith("https://"),
        verify_certs=True,
        timeout=settings.request_timeout_seconds,
        max_retries=0,
        retry_on_timeout=False,
        http_compress=False,
        pool_maxsize=4,
        serializer=ExactJSONSerializer(),  # DynamoDB's decimals go into _source digit for digit
    )


def _auth(settings: Settings, session: boto3.session.Session | None) -> Any:
    if settings.opensearch_auth == "none":
        return None
    if settings.opensearch_auth == "basic":
        return (settings.opensearch_username, settings.opensearch_password)
    session = session or boto3.session.Session()
    credentials = session.get_credentials()
    if credentials is None:
        raise SettingsError(
            "OPENSEARCH_AUTH=sigv4: no AWS credentials found (Lambda provides them through its role; "
            "locally set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or use OPENSEARCH_AUTH=none)"
        )
    return AWS4Auth(
        region=settings.aws_region,
        service=settings.opensearch_service,
        refreshable_credentials=credentials,
    )
