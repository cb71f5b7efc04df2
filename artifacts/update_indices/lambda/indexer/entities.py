"""The entity configuration of a single-table design: which rows are which entity, where each one goes.

``ENTITY_CONFIG`` is a JSON object, validated once per cold start; every error names the rule by its path
(``entities[0].children[1].max_children: ...``) and says what would be right. Without it the indexer is the
flat indexer it always was: one item, one document, in ``OPENSEARCH_INDEX``.

    {"entities": [
      {"name": "order", "match": {"partition_key_prefix": "ORDER#", "sort_key_prefix": "ORDER#"},
       "index": "orders",
       "document_id": "partition_key", "exclude": ["PK", "SK"],
       "children": [
         {"name": "line_item", "match": {"sort_key_prefix": "ITEM#"}, "field": "orderItems",
          "fold": "array", "order_by": "lineNumber", "max_children": 1000, "exclude": ["PK"]},
         {"name": "payment", "match": {"sort_key_prefix": "PAYMENT"}, "field": "payment",
          "fold": "section"}]},
      {"name": "customer", "match": {"attribute": "type", "equals": "customer"}, "index": "customers"}]}

- ``match``: every condition given must hold: ``partition_key_prefix`` and ``sort_key_prefix`` (string keys
  only), ``attribute`` + ``equals`` (the row's attribute equals this JSON scalar). A child also has its
  parent's ``partition_key_prefix`` unless it names its own (its rows are in the parent's partition). A row
  that matches no rule is not indexed. Two rules that some row could both match are refused at cold start,
  naming both (prefixes of the same key that are not prefixes of each other, or one attribute with two
  values, tell rules apart), so a row never belongs to two.
- ``document_id``: ``key`` (default): one document per item, id from the item's key, written with the item's
  own version exactly as the flat indexer writes it; ``partition_key``: one document per item collection (all
  rows sharing a partition key), rebuilt from a consistent Query of the partition at every change
  (``rebuild``). Children need ``partition_key``: they live in their parent's partition.
- ``children``: rows of the parent's partition folded into the parent's document, under ``field``:
  ``fold: array`` (a list, ordered by ``order_by``, default the table's sort key, ``descending`` reverses) or
  ``fold: section`` (one object; a second matching row is a reported failure, never an overwrite).
  ``max_children`` (default 1000, 1 for a section) bounds the list: more rows fail the document's records,
  so the bound is reported, never a silent drop. A child field replaces a parent attribute of the same name.
- ``include``/``exclude``: top-level attributes of the rows, as ``INDEX_INCLUDE_ATTRIBUTES``/
  ``INDEX_EXCLUDE_ATTRIBUTES`` for the flat indexer; ``INDEX_EXCLUDE_ATTRIBUTES`` applies to every entity and
  child as well, so a sensitive attribute never reaches any index.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from indexer.errors import SettingsError
from indexer.keys import RAW_ID_FIELD

DocumentId = Literal["key", "partition_key"]
Fold = Literal["array", "section"]
DEFAULT_MAX_CHILDREN = 1000
MAX_CHILDREN = 100_000
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]{0,63}$")
_INDEX = re.compile(r"^[a-z0-9][a-z0-9_.+-]{0,254}$")
_FIELD = re.compile(r"^[^.\s][^.]{0,254}$")  # a top-level document field: no dots (they would nest)
_MATCH_KEYS = frozenset({"partition_key_prefix", "sort_key_prefix", "attribute", "equals"})
_ENTITY_KEYS = frozenset(
    {"name", "match", "index", "document_id", "include", "exclude", "children", "mappings"}
)
_CHILD_KEYS = frozenset(
    {"name", "match", "field", "fold", "order_by", "descending", "max_children", "include", "exclude"}
)


@dataclass(frozen=True)
class Match:
    """The conditions a row must meet (all of them)."""

    partition_key_prefix: str | None = None
    sort_key_prefix: str | None = None
    attribute: str | None = None
    equals: Any = None

    @property
    def uses_attributes(self) -> bool:
        return self.attribute is not None

    def matches(self, row: Mapping[str, Any], partition_key: str, sort_key: str | None) -> bool:
        if self.partition_key_prefix is not None and not _starts(
            row.get(partition_key), self.partition_key_prefix
        ):
            return False
        if self.sort_key_prefix is not None and (
            sort_key is None or not _starts(row.get(sort_key), self.sort_key_prefix)
        ):
            return False
        if self.attribute is not None:
            if self.attribute not in row:
                return False
            value = row[self.attribute]
            return type(value) is type(self.equals) and value == self.equals  # True is not 1
        return True

    def describe(self) -> str:
        parts = [f"{name}={value!r}" for name, value in vars(self).items() if value is not None]
        return ", ".join(parts)


@dataclass(frozen=True, eq=False)  # identity: one configuration per process, hashed per record
class Child:
    name: str
    path: str  # "entities[0].children[1]", for messages
    match: Match
    field: str
    fold: Fold = "array"
    order_by: str | None = None  # None: the table's sort key
    descending: bool = False
    max_children: int = DEFAULT_MAX_CHILDREN
    include: tuple[str, ...] | None = None
    exclude: tuple[str, ...] = ()


@dataclass(frozen=True, eq=False)
class Entity:
    name: str
    path: str  # "entities[0]"
    match: Match
    index: str
    document_id: DocumentId = "key"
    include: tuple[str, ...] | None = None
    exclude: tuple[str, ...] = ()
    children: tuple[Child, ...] = ()
    mappings: dict[str, Any] | None = None  # mappings.properties for the entity's index (over index.json's)

    @property
    def folded(self) -> bool:
        """Whether its documents are rebuilt from the partition (``document_id: partition_key``)."""
        return self.document_id == "partition_key"


@dataclass(frozen=True, eq=False)
class Rule:
    """One way a row can belong to an entity: as its root row (``child`` None) or as one of its children."""

    entity: Entity
    child: Child | None
    match: Match

    @property
    def path(self) -> str:
        return self.child.path if self.child is not None else self.entity.path


@dataclass(frozen=True)
class EntityConfig:
    entities: tuple[Entity, ...]
    rules: tuple[Rule, ...] = field(default=(), compare=False)

    @property
    def uses_attributes(self) -> bool:
        """Whether any rule reads an attribute besides the key (then old images are decoded for routing)."""
        return any(rule.match.uses_attributes for rule in self.rules)

    @property
    def folds(self) -> bool:
        """Whether any entity is rebuilt from its partition (the function then needs dynamodb:Query)."""
        return any(entity.folded for entity in self.entities)

    @property
    def indices(self) -> tuple[str, ...]:
        return tuple(entity.index for entity in self.entities)


def parse_entity_config(text: str | None, *, has_sort_key: bool) -> EntityConfig | None:
    """ENTITY_CONFIG's JSON as an EntityConfig (None when unset); SettingsError naming the rule otherwise."""
    if text is None or not text.strip():
        return None
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise SettingsError(f"ENTITY_CONFIG: not valid JSON ({exc})") from None
    if not isinstance(data, dict) or set(data) != {"entities"}:
        raise SettingsError('ENTITY_CONFIG: must be a JSON object {"entities": [...]} and nothing else')
    raw = data["entities"]
    if not isinstance(raw, list) or not raw:
        raise SettingsError("ENTITY_CONFIG: entities must be a non-empty list")
    entities = tuple(_entity(item, f"entities[{n}]", has_sort_key) for n, item in enumerate(raw))
    _unique([e.name for e in entities], "name", [e.path for e in entities])
    _unique([e.index for e in entities], "index", [e.path for e in entities])
    rules: list[Rule] = []
    for entity in entities:
        rules.append(Rule(entity, None, entity.match))
        rules.extend(Rule(entity, child, _inherited(child.match, entity.match)) for child in entity.children)
    for number, rule in enumerate(rules):
        for other in rules[:number]:
            if _may_overlap(rule.match, other.match):
                raise SettingsError(
                    f"ENTITY_CONFIG: {rule.path}.match ({rule.match.describe()}) and {other.path}.match "
                    f"({other.match.describe()}) can both match one row; add a condition that tells them "
                    "apart (e.g. a partition_key_prefix on both, or the same attribute with different values)"
                )
    return EntityConfig(entities, tuple(rules))


def _inherited(child: Match, parent: Match) -> Match:
    """A child's rule: its own conditions, and its parent's partition key prefix where it names none (its
    rows are in its parent's partition, so they share its partition key)."""
    if child.partition_key_prefix is not None or parent.partition_key_prefix is None:
        return child
    return Match(parent.partition_key_prefix, child.sort_key_prefix, child.attribute, child.equals)


def _may_overlap(one: Match, other: Match) -> bool:
    """Whether some row could meet both rules (checked at cold start, so a row never meets two)."""

    def compatible(a: str | None, b: str | None) -> bool:
        return a is None or b is None or a.startswith(b) or b.startswith(a)

    if not compatible(one.partition_key_prefix, other.partition_key_prefix):
        return False
    if not compatible(one.sort_key_prefix, other.sort_key_prefix):
        return False
    same_attribute = one.attribute is not None and one.attribute == other.attribute
    return not (same_attribute and (type(one.equals), one.equals) != (type(other.equals), other.equals))


def _entity(data: Any, path: str, has_sort_key: bool) -> Entity:
    _object(data, path, _ENTITY_KEYS, required=("name", "match", "index"))
    name = _text(data["name"], f"{path}.name", _NAME, "a name of letters, digits, '_' or '-'")
    index = _text(
        data["index"],
        f"{path}.index",
        _INDEX,
        "a valid alias name (lowercase letters, digits, '-', '_', '.', '+'; not starting with -, _ or +)",
    )
    document_id = data.get("document_id", "key")
    if document_id not in ("key", "partition_key"):
        raise SettingsError(f"ENTITY_CONFIG: {path}.document_id: {document_id!r} is not key or partition_key")
    children_data = data.get("children", [])
    if not isinstance(children_data, list):
        raise SettingsError(f"ENTITY_CONFIG: {path}.children must be a list")
    children = tuple(
        _child(item, f"{path}.children[{n}]", has_sort_key) for n, item in enumerate(children_data)
    )
    if children and document_id != "partition_key":
        raise SettingsError(
            f"ENTITY_CONFIG: {path}.document_id must be partition_key for an entity with children "
            "(its children are the rows of its partition)"
        )
    _unique([c.name for c in children], "name", [c.path for c in children])
    _unique([c.field for c in children], "field", [c.path for c in children])
    include = _names(data.get("include"), f"{path}.include")
    for child in children:
        if include is not None and child.field in include:
            raise SettingsError(
                f"ENTITY_CONFIG: {child.path}.field {child.field!r} is also in {path}.include; the child "
                "field would replace that attribute: rename one"
            )
    return Entity(
        name=name,
        path=path,
        match=_match(data["match"], f"{path}.match", has_sort_key),
        index=index,
        document_id=document_id,
        include=include,
        exclude=_names(data.get("exclude"), f"{path}.exclude") or (),
        children=children,
        mappings=_mappings(data.get("mappings"), f"{path}.mappings"),
    )


def _child(data: Any, path: str, has_sort_key: bool) -> Child:
    _object(data, path, _CHILD_KEYS, required=("name", "match", "field"))
    fold = data.get("fold", "array")
    if fold not in ("array", "section"):
        raise SettingsError(f"ENTITY_CONFIG: {path}.fold: {fold!r} is not array or section")
    default_max = 1 if fold == "section" else DEFAULT_MAX_CHILDREN
    max_children = data.get("max_children", default_max)
    if (
        isinstance(max_children, bool)
        or not isinstance(max_children, int)
        or not 1 <= max_children <= MAX_CHILDREN
    ):
        raise SettingsError(
            f"ENTITY_CONFIG: {path}.max_children: {max_children!r} is not a whole number from 1 to "
            f"{MAX_CHILDREN}"
        )
    if fold == "section" and max_children != 1:
        raise SettingsError(
            f"ENTITY_CONFIG: {path}.max_children must be 1 for a section (use fold: array for more)"
        )
    order_by = data.get("order_by")
    if order_by is not None and (not isinstance(order_by, str) or not order_by):
        raise SettingsError(f"ENTITY_CONFIG: {path}.order_by must be an attribute name")
    if order_by is None and not has_sort_key:
        raise SettingsError(
            f"ENTITY_CONFIG: {path}.order_by is required: the table has no sort key to order by"
        )
    descending = data.get("descending", False)
    if not isinstance(descending, bool):
        raise SettingsError(f"ENTITY_CONFIG: {path}.descending must be true or false")
    return Child(
        name=_text(data["name"], f"{path}.name", _NAME, "a name of letters, digits, '_' or '-'"),
        path=path,
        match=_match(data["match"], f"{path}.match", has_sort_key),
        field=_field(data["field"], f"{path}.field"),
        fold=fold,
        order_by=order_by,
        descending=descending,
        max_children=max_children,
        include=_names(data.get("include"), f"{path}.include"),
        exclude=_names(data.get("exclude"), f"{path}.exclude") or (),
    )


def _match(data: Any, path: str, has_sort_key: bool) -> Match:
    _object(data, path, _MATCH_KEYS, required=())
    if not data:
        raise SettingsError(
            f"ENTITY_CONFIG: {path} names no condition; give partition_key_prefix, sort_key_prefix, or "
            "attribute with equals"
        )
    for name in ("partition_key_prefix", "sort_key_prefix"):
        if name in data and (not isinstance(data[name], str) or not data[name]):
            raise SettingsError(f"ENTITY_CONFIG: {path}.{name} must be a non-empty string")
    if "sort_key_prefix" in data and not has_sort_key:
        raise SettingsError(
            f"ENTITY_CONFIG: {path}.sort_key_prefix needs TABLE_SORT_KEY (the table's sort key)"
        )
    if ("attribute" in data) != ("equals" in data):
        raise SettingsError(f"ENTITY_CONFIG: {path}: attribute and equals go together")
    if "attribute" in data:
        if not isinstance(data["attribute"], str) or not data["attribute"]:
            raise SettingsError(f"ENTITY_CONFIG: {path}.attribute must be an attribute name")
        if not isinstance(data["equals"], str | int | bool) or isinstance(data["equals"], float):
            raise SettingsError(f"ENTITY_CONFIG: {path}.equals must be a string, a whole number or a boolean")
    return Match(
        partition_key_prefix=data.get("partition_key_prefix"),
        sort_key_prefix=data.get("sort_key_prefix"),
        attribute=data.get("attribute"),
        equals=data.get("equals"),
    )


def _object(data: Any, path: str, allowed: frozenset[str], required: tuple[str, ...]) -> None:
    if not isinstance(data, dict):
        raise SettingsError(f"ENTITY_CONFIG: {path} must be a JSON object")
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise SettingsError(
            f"ENTITY_CONFIG: {path} has unknown key(s) {', '.join(unknown)}; "
            f"allowed: {', '.join(sorted(allowed))}"
        )
    missing = [name for name in required if name not in data]
    if missing:
        raise SettingsError(f"ENTITY_CONFIG: {path} lacks {', '.join(missing)}")


def _text(value: Any, path: str, pattern: re.Pattern[str], what: str) -> str:
    if not isinstance(value, str) or not pattern.match(value) or value in (".", ".."):
        raise SettingsError(f"ENTITY_CONFIG: {path}: {value!r} is not {what}")
    return value


def _mappings(value: Any, path: str) -> dict[str, Any] | None:
    """``{"properties": {<field>: <OpenSearch field mapping>}}``: fields the entity's index maps its own
    way (e.g. ``{"orderItems": {"type": "nested"}}``), over the shipped index.json's, when it is created."""
    if value is None:
        return None
    if (
        not isinstance(value, dict)
        or set(value) != {"properties"}
        or not isinstance(value["properties"], dict)
    ):
        raise SettingsError(f'ENTITY_CONFIG: {path} must be {{"properties": {{<field>: <mapping>}}}}')
    for name, mapping in value["properties"].items():
        _field(name, f"{path}.properties")
        if not isinstance(mapping, dict) or not mapping:
            raise SettingsError(f"ENTITY_CONFIG: {path}.properties.{name} must be a field mapping object")
    return dict(value["properties"])


def _field(value: Any, path: str) -> str:
    field = _text(value, path, _FIELD, "a top-level field name without dots")
    if field.startswith(("_", "indexer_")) or field == RAW_ID_FIELD:
        raise SettingsError(
            f"ENTITY_CONFIG: {path}: {field!r} is reserved (OpenSearch's _ fields, the indexer's indexer_* "
            f"and {RAW_ID_FIELD}); choose another name"
        )
    return field


def _names(value: Any, path: str) -> tuple[str, ...] | None:
    if value is None:
        return None
    if not isinstance(value, list) or not value or not all(isinstance(v, str) and v for v in value):
        raise SettingsError(f"ENTITY_CONFIG: {path} must be a non-empty list of attribute names")
    return tuple(dict.fromkeys(value))


def _unique(values: list[str], what: str, paths: list[str]) -> None:
    seen: dict[str, str] = {}
    for value, path in zip(values, paths, strict=True):
        if value in seen:
            raise SettingsError(f"ENTITY_CONFIG: {path}.{what} {value!r} is already used by {seen[value]}")
        seen[value] = path


def _starts(value: Any, prefix: str) -> bool:
    return isinstance(value, str) and value.startswith(prefix)
