"""The operations tools' transport: a single request that fails transiently is sent again, after a backoff.

The stream Lambda's client never retries in its transport (``indexer.client``: the bulk writer retries in
time, inside the invocation's deadline). The operations tools (the CLI and the bulk-load state machine's
children) make many single requests besides ``_bulk`` (searches over a point in time, realtime mgets,
refreshes, cluster health, alias and settings changes); without a retry, one dropped connection or one 429
among the hundreds of requests of a slice fails the whole Lambda task, and a domain under load (a blue/green
deployment, a node restart) answers some of them that way. Retried here, as the bulk writer retries items:
429 and 5xx answers (502, 503, 504: opensearch-py's defaults; 429 and 500 too, the bulk writer's
``RETRYABLE_STATUSES``), dropped connections and timeouts, up to RETRY_MAX_ATTEMPTS in all, with exponential
backoff and full jitter between RETRY_INITIAL_BACKOFF_SECONDS and RETRY_MAX_BACKOFF_SECONDS.

Not retried, because a retry after a lost answer would do harm: a scroll's next page (``/_search/scroll``:
the server moved the scroll on, so the retry would return the page after and skip one, "Subsequent scroll
requests return only the next batch of hits", https://docs.opensearch.org/latest/api-reference/search-apis/
scroll/), an alias change (``POST /_aliases``: remove + add answers 404 once done), an index creation or
deletion (``PUT``/``DELETE /<index>``: 400 or 404 once done) and ``_bulk`` (the bulk writer retries items
itself; purge counts its conditional deletes). What else the tools send is a read (opening a point in time
or a scroll again only holds one more context until its keep-alive ends), a conditional write (a repeated
one answers 409, which they read as "newer data is there" and decide again), or sets a state (settings,
refresh). A new kind of request must be judged here.

Retries never run past the invocation: the bulk-load handler gives the transport a deadline
(``bound_retries``), and a retry is not started when its backoff plus a request's timeout would pass it.
"""

from __future__ import annotations

import random
import time
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from opensearchpy import OpenSearch, Transport
from opensearchpy.exceptions import ConnectionError as TransportConnectionError
from opensearchpy.exceptions import SSLError, TransportError

from indexer.bulk import RETRYABLE_STATUSES
from indexer.deadline import Deadline
from indexer.settings import Settings


@dataclass(frozen=True)
class Backoff:
    attempts: int = 6
    initial_seconds: float = 0.2
    max_seconds: float = 5.0

    @classmethod
    def of(cls, settings: Settings) -> Backoff:
        return cls(
            settings.retry_max_attempts,
            settings.retry_initial_backoff_seconds,
            settings.retry_max_backoff_seconds,
        )

    def delay(self, attempt: int, rng: random.Random) -> float:
        """Full jitter: uniform between 0 and the capped exponential bound of this attempt (1-based)."""
        return rng.uniform(0, min(self.max_seconds, self.initial_seconds * 2 ** (attempt - 1)))


def transient(error: TransportError) -> bool:
    """A dropped connection or a timeout (both ``ConnectionError`` in opensearch-py; not a TLS failure), 429
    or a 5xx."""
    if isinstance(error, SSLError):
        return False
    return isinstance(error, TransportConnectionError) or error.status_code in RETRYABLE_STATUSES


class PatientTransport(Transport):
    """opensearch-py's Transport (``max_retries=0``), each request retried on transient failures."""

    backoff = Backoff()
    deadline = Deadline.unbounded()
    sleep = staticmethod(time.sleep)
    rng = random.Random()

    def perform_request(
        self,
        method: str,
        url: str,
        params: Mapping[str, Any] | None = None,
        body: Any = None,
        timeout: float | None = None,
        ignore: Collection[int] = (),
        headers: Mapping[str, str] | None = None,
    ) -> Any:
        attempt = 1
        while True:
            try:  # a copy each time: the transport pops request_timeout and ignore out of the params
                return super().perform_request(
                    method, url, dict(params) if params is not None else None, body, timeout, ignore, headers
                )
            except TransportError as exc:
                if attempt >= self.backoff.attempts or not transient(exc) or not repeatable(method, url):
                    raise
                delay = self.backoff.delay(attempt, self.rng)
                if self.deadline.remaining() < delay + _timeout(self, params, timeout):
                    raise
                self.sleep(delay)
                attempt += 1


def repeatable(method: str, url: str) -> bool:
    """Whether the request may be sent again after an answer that was lost (see the module's docstring)."""
    path = urlsplit(url).path.rstrip("/")
    if path.endswith(("/_search/scroll", "/_bulk")) or path in ("/_aliases", "/_bulk"):
        return False
    return not (method in ("PUT", "DELETE") and path.count("/") == 1 and not path.startswith("/_"))


def _timeout(transport: Transport, params: Mapping[str, Any] | None, timeout: float | None) -> float:
    """How long the next attempt may take: the call's own timeout, else the connection's."""
    given = timeout or (params or {}).get("request_timeout")
    if given:
        return float(given)
    return float(getattr(transport.get_connection(), "timeout", 10))


def patient(client: OpenSearch, settings: Settings) -> OpenSearch:
    """``client`` (built with ``transport_class=PatientTransport``) retrying by the RETRY_* settings."""
    transport = client.transport
    if not isinstance(transport, PatientTransport):
        raise TypeError("the client was not built with PatientTransport")
    transport.backoff = Backoff.of(settings)
    return client


def bound_retries(client: OpenSearch, deadline: Deadline) -> None:
    """No retry of this client's requests starts when it could not end before ``deadline``."""
    if isinstance(client.transport, PatientTransport):
        client.transport.deadline = deadline
