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

Retrying a write is safe where the tools write: every document write is conditional (a repeated one answers
409, which they read as "newer data is there" and decide again), and alias and settings changes set a state
rather than apply a delta. ``_bulk`` goes past the transport (``indexer.bulk``) and is not affected.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass
from typing import Any

from opensearchpy import OpenSearch, Transport
from opensearchpy.exceptions import ConnectionError as TransportConnectionError
from opensearchpy.exceptions import SSLError, TransportError

from indexer.bulk import RETRYABLE_STATUSES
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
    sleep = staticmethod(time.sleep)
    rng = random.Random()

    def perform_request(self, method: str, url: str, *args: Any, **kwargs: Any) -> Any:
        attempt = 1
        while True:
            try:
                return super().perform_request(method, url, *args, **kwargs)
            except TransportError as exc:
                if attempt >= self.backoff.attempts or not transient(exc):
                    raise
                self.sleep(self.backoff.delay(attempt, self.rng))
                attempt += 1


def patient(client: OpenSearch, settings: Settings) -> OpenSearch:
    """``client`` (built with ``transport_class=PatientTransport``) retrying by the RETRY_* settings."""
    transport = client.transport
    if not isinstance(transport, PatientTransport):
        raise TypeError("the client was not built with PatientTransport")
    transport.backoff = Backoff.of(settings)
    return client
