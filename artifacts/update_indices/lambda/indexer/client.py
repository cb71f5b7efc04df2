"""The OpenSearch client: SigV4 with credentials resolved per request, basic auth, or none.

Nothing is resolved at import, and a Lambda cold start imports no AWS SDK at all: Lambda hands the execution
role's keys to the function as AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN ("Defined
runtime environment variables", https://docs.aws.amazon.com/lambda/latest/dg/configuration-envvars.html),
the first source of botocore's own chain, so those are read directly (importing boto3 or botocore for it
adds its import to every cold start). Everywhere else (no keys in the environment: container or instance
credentials, profiles, SSO, or keys that carry AWS_CREDENTIAL_EXPIRATION) botocore's default chain resolves
them, imported only then. Either way requests-aws4auth asks the credentials object for frozen credentials on
every request (``refreshable_credentials``), so refreshable credentials (assumed roles, container and
instance credentials) rotate under a long-lived client instead of expiring hours after a cold start.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from opensearchpy import OpenSearch, RequestsHttpConnection, Transport
from requests_aws4auth import AWS4Auth

from indexer.errors import SettingsError
from indexer.exact_json import ExactJSONSerializer
from indexer.settings import Settings

if TYPE_CHECKING:
    import boto3


@dataclass(frozen=True)
class EnvironmentCredentials:
    """Keys from the environment, in the shape requests-aws4auth asks for (``get_frozen_credentials``)."""

    access_key: str
    secret_key: str = field(repr=False)  # never in a traceback or a log line
    token: str | None = field(default=None, repr=False)

    def get_frozen_credentials(self) -> EnvironmentCredentials:
        return self

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> EnvironmentCredentials | None:
        """The keys Lambda sets, or None where botocore's chain must decide (no keys, or expiring ones)."""
        access_key = environ.get("AWS_ACCESS_KEY_ID")
        secret_key = environ.get("AWS_SECRET_ACCESS_KEY")
        if not access_key or not secret_key or environ.get("AWS_CREDENTIAL_EXPIRATION"):
            return None
        return cls(access_key, secret_key, environ.get("AWS_SESSION_TOKEN") or None)


def make_client(
    settings: Settings,
    session: boto3.session.Session | None = None,
    environ: Mapping[str, str] | None = None,
    *,
    transport_class: type[Transport] = Transport,
) -> OpenSearch:
    """A client for OPENSEARCH_ENDPOINT; the transport never retries (the bulk writer does, in time) and
    writes Decimals exactly (``exact_json``). ``session``, when given (the ops commands), resolves the SigV4
    credentials; otherwise ``environ`` (default ``os.environ``) and then botocore's default chain. The
    operations tools pass their own ``transport_class`` (``ops.patient_transport``)."""
    client = OpenSearch(
        transport_class=transport_class,
        hosts=[settings.opensearch_endpoint],
        http_auth=_auth(settings, session, environ),
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
    for connection in client.transport.connection_pool.connections:
        resolve_environment_once(connection)
    return client


def resolve_environment_once(connection: Any) -> None:
    """Read the proxy and CA-bundle variables (HTTPS_PROXY, NO_PROXY, REQUESTS_CA_BUNDLE, ...) once, when the
    client is built, instead of on every request.

    opensearch-py asks requests to merge the environment's settings into every request, and requests then
    walks the whole environment twice (proxy lookup and bypass) per request: about 3 us per record in
    ``bench.cpu``. A Lambda function's environment is fixed for the life of its execution environment, so
    the settings are resolved here, exactly as requests would resolve them for the endpoint, stored on the
    session, and the per-request lookup is turned off (``trust_env=False``). Not kept: a ``~/.netrc`` login
    for an endpoint without auth, which requests would otherwise read from disk on every request.
    """
    session = getattr(connection, "session", None)
    if session is None:
        return
    resolved = session.merge_environment_settings(connection.base_url, {}, None, None, None)
    session.proxies = dict(resolved["proxies"])
    session.verify = resolved["verify"]
    session.trust_env = False


def sigv4_credentials(
    session: boto3.session.Session | None = None, environ: Mapping[str, str] | None = None
) -> Any:
    """A credentials object with ``get_frozen_credentials()``: the session's, the environment's, or
    botocore's default chain's (refreshable where the source is)."""
    if session is not None:
        credentials = session.get_credentials()
    else:
        credentials = EnvironmentCredentials.from_env(os.environ if environ is None else environ)
        if credentials is None:
            import botocore.session  # only outside Lambda's environment keys: a heavy import

            credentials = botocore.session.get_session().get_credentials()
    if credentials is None:
        raise SettingsError(
            "OPENSEARCH_AUTH=sigv4: no AWS credentials found (Lambda provides them through its role; "
            "locally set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or use OPENSEARCH_AUTH=none)"
        )
    return credentials


def _auth(
    settings: Settings, session: boto3.session.Session | None, environ: Mapping[str, str] | None
) -> Any:
    if settings.opensearch_auth == "none":
        return None
    if settings.opensearch_auth == "basic":
        return (settings.opensearch_username, settings.opensearch_password)
    return AWS4Auth(
        region=settings.aws_region,
        service=settings.opensearch_service,
        refreshable_credentials=sigv4_credentials(session, environ),
    )
