"""Every setting from one environment variable, validated once per cold start.

A wrong or missing value raises :class:`SettingsError` naming the variable and what would be right, so a
misconfigured function fails at its first invocation with a readable message instead of misbehaving later.
A variable that carries one of the indexer's prefixes but is not one of its variables (``BULK_MAX_BYTE``) is
kept in ``unknown_variables`` and warned about once per process (:func:`warn_unknown_variables`), with the
closest known name.
``artifacts/update_indices/README.md`` documents every variable.
"""

from __future__ import annotations

import difflib
import logging
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar
from urllib.parse import urlsplit

from indexer import logs
from indexer.entities import EntityConfig, parse_entity_config
from indexer.errors import SettingsError
from indexer.keys import KeySchema

AuthMode = Literal["sigv4", "basic", "none"]
Service = Literal["es", "aoss"]
AUTH_MODES: tuple[AuthMode, ...] = ("sigv4", "basic", "none")
SERVICES: tuple[Service, ...] = ("es", "aoss")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
MIB = 1024 * 1024

_INDEX_NAME = re.compile(r"^[a-z0-9][a-z0-9_.+-]{0,254}$")
_HOOK = re.compile(r"^[A-Za-z_][\w]*(\.[A-Za-z_][\w]*)*:[A-Za-z_][\w]*$")
_TRUE = {"true", "1", "yes", "on"}
_FALSE = {"false", "0", "no", "off"}

N = TypeVar("N", int, float)

VARIABLES = frozenset(
    {
        "OPENSEARCH_ENDPOINT",
        "OPENSEARCH_INDEX",
        "OPENSEARCH_AUTH",
        "OPENSEARCH_USERNAME",
        "OPENSEARCH_PASSWORD",
        "OPENSEARCH_SERVICE",
        "TABLE_PARTITION_KEY",
        "TABLE_SORT_KEY",
        "INDEX_INCLUDE_ATTRIBUTES",
        "INDEX_EXCLUDE_ATTRIBUTES",
        "DOCUMENT_HOOK",
        "BULK_MAX_BYTES",
        "BULK_MAX_ACTIONS",
        "RETRY_MAX_ATTEMPTS",
        "RETRY_INITIAL_BACKOFF_SECONDS",
        "RETRY_MAX_BACKOFF_SECONDS",
        "RETRY_DEADLINE_MARGIN_SECONDS",
        "REQUEST_TIMEOUT_SECONDS",
        "CREATE_INDEX",
        "LOG_LEVEL",
        "VERSION_ATTRIBUTE",
        "ENTITY_CONFIG",
        "TABLE_NAME",
    }
)
"""Every variable the indexer reads (besides AWS_REGION / AWS_DEFAULT_REGION)."""
PREFIXES = (
    "OPENSEARCH_",
    "INDEX_",
    "BULK_",
    "RETRY_",
    "TABLE_",
    "DOCUMENT_",
    "REQUEST_",
    "VERSION_",
    "ENTITY_",
    "CREATE_INDEX",
    "LOG_LEVEL",
)
"""Names with these prefixes are taken for the indexer's: an unknown one is most likely a misspelling."""
_warned: set[str] = set()


@dataclass(frozen=True)
class Settings:
    opensearch_endpoint: str
    opensearch_index: str = "books"
    opensearch_auth: AuthMode = "sigv4"
    opensearch_username: str | None = None
    opensearch_password: str | None = field(default=None, repr=False)  # never in logs or tracebacks
    opensearch_service: Service = "es"
    aws_region: str | None = None
    table_partition_key: str = "id"
    table_sort_key: str | None = None
    include_attributes: tuple[str, ...] | None = None  # None: every attribute
    exclude_attributes: tuple[str, ...] = ()
    document_hook: str | None = None
    version_attribute: str | None = "version"  # the items' write counter; None: order by sequence number
    bulk_max_bytes: int = 5 * MIB
    bulk_max_actions: int = 500
    retry_max_attempts: int = 6
    retry_initial_backoff_seconds: float = 0.2
    retry_max_backoff_seconds: float = 5.0
    retry_deadline_margin_seconds: float = 3.0
    request_timeout_seconds: float = 20.0
    create_index: bool = True
    log_level: str = "INFO"
    entity_config: EntityConfig | None = None  # ENTITY_CONFIG: single-table routing and folding (entities.py)
    table_name: str | None = None  # TABLE_NAME: the table folded documents are rebuilt from
    # An entity's mappings.properties (ENTITY_CONFIG), over the shipped index.json's when its index is made
    index_properties: dict[str, Any] | None = field(default=None, compare=False)
    unknown_variables: tuple[str, ...] = field(default=(), compare=False)  # e.g. ("BULK_MAX_BYTE",)

    @property
    def keys(self) -> KeySchema:
        return KeySchema(self.table_partition_key, self.table_sort_key)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> Settings:
        env = _Env(environ)
        auth = env.choice("OPENSEARCH_AUTH", AUTH_MODES, "sigv4")
        include = env.names("INDEX_INCLUDE_ATTRIBUTES")
        exclude = env.names("INDEX_EXCLUDE_ATTRIBUTES") or ()
        both = sorted(set(include or ()) & set(exclude))
        if both:
            raise SettingsError(
                f"INDEX_EXCLUDE_ATTRIBUTES: {', '.join(both)} also listed in INDEX_INCLUDE_ATTRIBUTES; "
                "name each attribute in at most one of the two lists"
            )
        partition_key = env.text("TABLE_PARTITION_KEY", "id")
        sort_key = env.optional("TABLE_SORT_KEY")
        if sort_key == partition_key:
            raise SettingsError(f"TABLE_SORT_KEY: must differ from TABLE_PARTITION_KEY ({partition_key!r})")
        entity_config = parse_entity_config(env.optional("ENTITY_CONFIG"), has_sort_key=sort_key is not None)
        table_name = env.optional("TABLE_NAME")
        if entity_config is not None and entity_config.folds and table_name is None:
            raise SettingsError(
                "TABLE_NAME: required when ENTITY_CONFIG folds documents (document_id: partition_key): the "
                "table whose partitions they are rebuilt from"
            )
        settings = cls(
            opensearch_endpoint=env.endpoint("OPENSEARCH_ENDPOINT"),
            opensearch_index=env.index_name("OPENSEARCH_INDEX", "books"),
            opensearch_auth=auth,
            opensearch_username=env.optional("OPENSEARCH_USERNAME"),
            opensearch_password=env.optional("OPENSEARCH_PASSWORD"),
            opensearch_service=env.choice("OPENSEARCH_SERVICE", SERVICES, "es"),
            aws_region=env.optional("AWS_REGION") or env.optional("AWS_DEFAULT_REGION"),
            table_partition_key=partition_key,
            table_sort_key=sort_key,
            include_attributes=include,
            exclude_attributes=exclude,
            document_hook=env.hook("DOCUMENT_HOOK"),
            version_attribute=_version_attribute(env.text("VERSION_ATTRIBUTE", "version")),
            bulk_max_bytes=env.number("BULK_MAX_BYTES", int, 5 * MIB, 1024, 100 * MIB),
            bulk_max_actions=env.number("BULK_MAX_ACTIONS", int, 500, 1, 10_000),
            retry_max_attempts=env.number("RETRY_MAX_ATTEMPTS", int, 6, 1, 100),
            retry_initial_backoff_seconds=env.number("RETRY_INITIAL_BACKOFF_SECONDS", float, 0.2, 0.001, 60),
            retry_max_backoff_seconds=env.number("RETRY_MAX_BACKOFF_SECONDS", float, 5.0, 0.001, 300),
            retry_deadline_margin_seconds=env.number("RETRY_DEADLINE_MARGIN_SECONDS", float, 3.0, 0, 600),
            request_timeout_seconds=env.number("REQUEST_TIMEOUT_SECONDS", float, 20.0, 0.1, 900),
            create_index=env.flag("CREATE_INDEX", True),
            log_level=env.choice("LOG_LEVEL", LOG_LEVELS, "INFO", normalize=str.upper),
            entity_config=entity_config,
            table_name=table_name,
            unknown_variables=tuple(
                sorted(name for name in environ if name.startswith(PREFIXES) and name not in VARIABLES)
            ),
        )
        if settings.retry_max_backoff_seconds < settings.retry_initial_backoff_seconds:
            raise SettingsError(
                "RETRY_MAX_BACKOFF_SECONDS: must be at least RETRY_INITIAL_BACKOFF_SECONDS "
                f"({settings.retry_initial_backoff_seconds:g})"
            )
        if auth == "basic" and not (settings.opensearch_username and settings.opensearch_password):
            raise SettingsError(
                "OPENSEARCH_USERNAME and OPENSEARCH_PASSWORD: both required with OPENSEARCH_AUTH=basic"
            )
        if auth == "sigv4" and not settings.aws_region:
            raise SettingsError(
                "AWS_REGION: required with OPENSEARCH_AUTH=sigv4 (Lambda sets it; e.g. eu-west-1)"
            )
        return settings


def warn_unknown_variables(settings: Settings) -> None:
    """One warning per process for variables with the indexer's prefixes that it does not read."""
    new = [name for name in settings.unknown_variables if name not in _warned]
    if not new:
        return
    _warned.update(new)
    hints = {name: difflib.get_close_matches(name, sorted(VARIABLES), n=1, cutoff=0.75) for name in new}
    logs.log_event(
        "unknown environment variables ignored: "
        + ", ".join(f"{n} (did you mean {h[0]}?)" if h else n for n, h in hints.items()),
        logging.WARNING,
        variables=new,
    )


def _version_attribute(value: str) -> str | None:
    """VERSION_ATTRIBUTE: the attribute every writer increments per modification; ``none``: no counter."""
    return None if value.lower() == "none" else value


class _Env:
    """Reads and checks one variable at a time; every error names the variable."""

    def __init__(self, environ: Mapping[str, str]) -> None:
        self._environ = environ

    def optional(self, name: str) -> str | None:
        value = self._environ.get(name, "").strip()
        return value or None

    def text(self, name: str, default: str) -> str:
        return self.optional(name) or default

    def choice(
        self,
        name: str,
        allowed: tuple[str, ...],
        default: str,
        normalize: Callable[[str], str] = str.lower,
    ) -> str:  # the Literal types above are the allowed tuples
        value = self.optional(name)
        if value is None:
            return default
        if normalize(value) not in allowed:
            raise SettingsError(f"{name}: {value!r} is not one of {', '.join(allowed)}")
        return normalize(value)

    def endpoint(self, name: str) -> str:
        value = self.optional(name)
        if value is None:
            raise SettingsError(f"{name}: required, e.g. https://search-books-abc.eu-west-1.es.amazonaws.com")
        if "://" not in value:
            raise SettingsError(f"{name}: {value!r} lacks a scheme; write https://{value}")
        parts = urlsplit(value)
        try:
            parts.port  # noqa: B018 - raises ValueError on a bad port
        except ValueError as exc:
            raise SettingsError(f"{name}: {value!r} has an invalid port") from exc
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise SettingsError(f"{name}: {value!r} must look like http(s)://host[:port]")
        if parts.path.strip("/") or parts.query or parts.fragment:
            raise SettingsError(
                f"{name}: {value!r} must not carry a path or query; give only http(s)://host[:port]"
            )
        return f"{parts.scheme}://{parts.netloc}"

    def index_name(self, name: str, default: str) -> str:
        value = self.text(name, default)
        if not _INDEX_NAME.match(value) or value in (".", ".."):
            raise SettingsError(
                f"{name}: {value!r} is not a valid index/alias name "
                "(lowercase letters, digits, '-', '_', '.', '+'; must not start with '-', '_' or '+')"
            )
        return value

    def names(self, name: str) -> tuple[str, ...] | None:
        value = self.optional(name)
        if value is None:
            return None
        names = tuple(dict.fromkeys(part.strip() for part in value.split(",") if part.strip()))
        if not names:
            raise SettingsError(
                f"{name}: {value!r} names no attribute; give a comma-separated list or unset it"
            )
        return names

    def hook(self, name: str) -> str | None:
        value = self.optional(name)
        if value is not None and not _HOOK.match(value):
            raise SettingsError(
                f"{name}: {value!r} must look like module.path:function, e.g. my_hooks:enrich"
            )
        return value

    def number(self, name: str, kind: type[N], default: N, low: N, high: N) -> N:
        value = self.optional(name)
        if value is None:
            return default
        try:
            number = kind(value)
        except ValueError:
            raise SettingsError(
                f"{name}: {value!r} is not {'an integer' if kind is int else 'a number'}"
            ) from None
        if not low <= number <= high:
            raise SettingsError(f"{name}: {value} is out of range; use {low:g} to {high:g}")
        return number

    def flag(self, name: str, default: bool) -> bool:
        value = self.optional(name)
        if value is None:
            return default
        if value.lower() in _TRUE:
            return True
        if value.lower() in _FALSE:
            return False
        raise SettingsError(f"{name}: {value!r} is not a boolean; use true or false")
