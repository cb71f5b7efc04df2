"""Bootstrap: the index behind its alias, created from ``index.json`` (shipped in the package) when missing.

The alias (OPENSEARCH_INDEX) points at a versioned index, ``<alias>-v1`` at first, so a reindex can build
``<alias>-v2`` and swap the alias without downtime. Deletes are tombstone documents (``tombstones``), kept
on disk, so a late older update never resurrects a deleted document, across restarts too. The only real
deletes are ``purge-tombstones``'s, of tombstones older than the stream's retention; ``index.json`` sets
``index.gc_deletes`` to 1 h, which covers a record still in flight when it expired (see ``ops.purge``)
without keeping every purged id in the version map for days. The alias carries the filter that hides
tombstones from every search, and an existing alias without it gets it at the next cold start. Called once per
cold start.

An index created by an older release lacks parts of the shipped mapping; a cold start that finds one missing
adds it (``PUT /<index>/_mapping``, allowed on a live index, under the path ``<alias>-*`` that the Lambda's
grant covers; ``mapping_upgrade``): the reserved fields, the dynamic templates, ``date_detection: false`` and
the ``ignore_above`` caps of keyword fields. A put-mapping request replaces the index's whole
``dynamic_templates`` list, so the shipped templates are merged into the index's own by name: templates an
operator added stay. Fields an index already maps keep their type (only a reindex changes that): a field that
date detection already mapped as ``date`` stays one. Without the alias filter, tombstones would show up in
searches as empty hits, so a concrete index named OPENSEARCH_INDEX, or CREATE_INDEX=false with an alias that
lacks the filter, fails the cold start naming the setting.
"""

from __future__ import annotations

import copy
import json
import logging
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any

from opensearchpy import OpenSearch
from opensearchpy.exceptions import NotFoundError, RequestError

from indexer.errors import IndexSetupError, SettingsError
from indexer.settings import Settings
from indexer.tombstones import ALIAS_FILTER, RESERVED_FIELDS

INDEX_FILE = Path(__file__).with_name("index.json")
log = logging.getLogger("indexer")


@cache
def _index_file() -> dict[str, Any]:
    return json.loads(INDEX_FILE.read_text())


def index_body(properties: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """A fresh copy of the shipped settings and mapping (``index.json``), with ``properties`` (an entity's
    ``mappings.properties`` from ENTITY_CONFIG, e.g. a ``nested`` child field) over the shipped ones."""
    body = copy.deepcopy(_index_file())
    if properties:
        body["mappings"]["properties"].update(copy.deepcopy(dict(properties)))
    return body


def versioned_index_name(alias: str, version: int = 1) -> str:
    return f"{alias}-v{version}"


def alias_body(write_index: bool = True) -> dict[str, Any]:
    """The alias's definition: the write index, with the filter that hides tombstones from searches."""
    return {"is_write_index": write_index, "filter": copy.deepcopy(ALIAS_FILTER)}


def mapping_upgrade(
    mappings: dict[str, Any], properties: Mapping[str, Any] | None = None
) -> dict[str, Any] | None:
    """The put-mapping body that brings an existing index's mappings (as ``GET /<index>`` shows them) up to
    the shipped ones where that is allowed on a live index; None when nothing is missing.

    - the reserved fields' mappings, and the shipped fields the index does not map yet;
    - the shipped dynamic templates, merged by name into the index's list (the request replaces the whole
      list: an operator's templates are kept in place, a shipped one is replaced where it differs, appended
      where it is missing);
    - ``date_detection: false``, so a new string field that looks like a date is not mapped as ``date`` and
      then refuses every later value that is not one;
    - the ``ignore_above`` of keyword fields the shipped mapping caps, where the index maps them as the
      same keyword without the cap (Lucene refuses a term over 32,766 bytes; ``ignore_above`` is updatable).
    """
    shipped = index_body(properties)["mappings"]
    properties = mappings.get("properties", {})
    body: dict[str, Any] = {}
    wanted = {
        name: mapping
        for name, mapping in shipped["properties"].items()
        if _upgradable(name, mapping, properties.get(name))
    }
    if wanted:
        body["properties"] = wanted
    current = list(mappings.get("dynamic_templates") or [])
    templates = _merged_templates(current, shipped["dynamic_templates"])
    if templates != current:
        body["dynamic_templates"] = templates
    if shipped["date_detection"] is False and mappings.get("date_detection") not in (False, "false"):
        body["date_detection"] = False
    return body or None


def _upgradable(name: str, shipped: dict[str, Any], current: dict[str, Any] | None) -> bool:
    """Whether a shipped property can be put on the index as it is: a reserved field, a field the index does
    not map yet (nothing to conflict with), or the same keyword without the shipped ``ignore_above``."""
    if current == shipped:
        return False
    return name in RESERVED_FIELDS or current is None or current == _uncapped(shipped)


def _uncapped(mapping: dict[str, Any]) -> dict[str, Any] | None:
    """A keyword mapping without its ``ignore_above`` (None for any other mapping)."""
    if mapping.get("type") != "keyword" or "ignore_above" not in mapping:
        return None
    return {name: value for name, value in mapping.items() if name != "ignore_above"}


def _merged_templates(current: list[dict[str, Any]], shipped: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``current`` with each shipped template (a one-entry ``{name: definition}``) replacing the one of the
    same name in place, or appended when there is none."""
    merged = [dict(entry) for entry in current]
    for entry in shipped:
        name = next(iter(entry))
        position = next((i for i, existing in enumerate(merged) if name in existing), None)
        if position is None:
            merged.append(entry)
        else:
            merged[position] = entry
    return merged


def upgrade_mapping(client: OpenSearch, index: str, body: dict[str, Any]) -> None:
    """Put ``mapping_upgrade``'s body on an index an older release created."""
    try:
        client.indices.put_mapping(index=index, body=body)
    except RequestError as exc:
        raise IndexSetupError(f"cannot add the indexer's mappings to index {index!r}: {exc.error}") from exc


def _alias_definition(answer: dict[str, Any], alias: str, index: str) -> dict[str, Any]:
    return dict(answer.get(index, {}).get("aliases", {}).get(alias, {}))


def write_index_of(answer: dict[str, Any], alias: str) -> str | None:
    """The index the alias writes to, from an answer keyed by index with each one's ``aliases`` (as both
    ``GET /<alias>`` and ``GET /<alias>/_alias`` give it); the name itself when it is a concrete index."""
    holders = sorted(name for name, info in answer.items() if alias in info.get("aliases", {}))
    if not holders:
        return alias if alias in answer else None
    writers = [name for name in holders if answer[name]["aliases"][alias].get("is_write_index")]
    if len(writers) == 1:
        return writers[0]
    if len(holders) == 1:
        return holders[0]
    raise IndexSetupError(f"alias {alias!r} points at {holders} with no single write index")


def alias_target(client: OpenSearch, alias: str) -> str | None:
    """The index the alias writes to; the name itself when it is a concrete index; None when neither exists.

    Asks ``GET /<alias>/_alias``, a path under the alias name, so an IAM policy scoped to ``<alias>*``
    paths suffices.
    """
    try:
        answer = client.indices.get_alias(index=alias)
    except NotFoundError:
        return None
    return write_index_of(answer, alias)


def _get(client: OpenSearch, alias: str, aliases_only: bool) -> dict[str, Any]:
    """``GET /<alias>`` (every index the name resolves to, with its aliases, mappings and settings:
    https://docs.opensearch.org/latest/api-reference/index-apis/get-index/) or, ``aliases_only``,
    ``GET /<alias>/_alias``; {} when nothing answers to the name. One request, under the alias's own path."""
    try:
        if aliases_only:
            return dict(client.indices.get_alias(index=alias))
        return dict(client.indices.get(index=alias))
    except NotFoundError:
        return {}


def ensure_index(client: OpenSearch, settings: Settings) -> str:
    """The name of the index the alias writes to, creating ``<alias>-v1`` behind the alias when missing.

    An existing index gets the alias filter and the shipped mapping additions where it lacks them. With
    CREATE_INDEX=false nothing is changed, only checked: the alias must exist with its filter. Requests: one
    ``GET`` for an index that is up to date (the usual cold start), plus one ``PUT`` per missing part; two
    (``GET`` 404, ``PUT`` the index with its alias) for a new deployment. A concrete index named like the
    alias is refused (SettingsError naming OPENSEARCH_INDEX). Concurrent cold starts may race; the loser uses
    the winner's index.
    """
    alias = settings.opensearch_index
    # One request tells all a cold start needs; CREATE_INDEX=false only reads the aliases it may check.
    answer = _get(client, alias, aliases_only=not settings.create_index)
    target = write_index_of(answer, alias)
    if target == alias:
        raise SettingsError(
            f"OPENSEARCH_INDEX: {alias!r} is a concrete index, not an alias; the indexer needs an alias with "
            "the tombstone filter (run `python -m indexer.ops reindex` from a new alias name, or point "
            "OPENSEARCH_INDEX at an alias)"
        )
    definition = {} if target is None else _alias_definition(answer, alias, target)
    if not settings.create_index:
        if target is None or definition.get("filter") != ALIAS_FILTER:
            raise SettingsError(
                f"CREATE_INDEX=false: alias {alias!r} is missing or lacks the tombstone filter, so deletes "
                "would show up in searches; set CREATE_INDEX=true for one cold start or add the filter"
            )
        return target
    if target is not None:
        if definition.get("filter") != ALIAS_FILTER:  # an alias made by older code
            body = alias_body(bool(definition.get("is_write_index", True)))
            client.indices.put_alias(index=target, name=alias, body=body)
            log.info("added the tombstone filter to alias %s on %s", alias, target)
        upgrade = mapping_upgrade(answer[target].get("mappings", {}), settings.index_properties)
        if upgrade is not None:  # an index of an older release
            upgrade_mapping(client, target, upgrade)
        return target
    name = versioned_index_name(alias)
    body = index_body(settings.index_properties)
    body["aliases"] = {alias: alias_body()}
    try:
        client.indices.create(index=name, body=body)
    except RequestError as exc:
        if exc.error != "resource_already_exists_exception":
            raise IndexSetupError(f"cannot create index {name!r}: {exc.error}") from exc
        target = alias_target(client, alias)  # another cold start won the race, or the alias was removed
        if target is not None:
            return target
        client.indices.put_alias(index=name, name=alias, body=alias_body())
    log.info("created index %s behind alias %s", name, alias)
    return name
