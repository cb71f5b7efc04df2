"""CloudWatch Embedded Metric Format: every rule of AWS's specification, checked on one log line.

"Specification: Embedded metric format",
https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html
(the rules below quote it). Where two versions of the page differ, the stricter limit is kept: a DimensionSet
of at most 9 keys (later versions allow 30) and a log event of at most 256 KB (later versions allow 1 MB).
``parse`` raises :class:`EmfError` naming the rule a line breaks, and returns what CloudWatch would extract.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

MAX_EVENT_BYTES = 256 * 1024  # "limited to a maximum size of 256 KB"
MAX_METRICS_PER_DIRECTIVE = 100  # "This array MUST NOT contain more than 100 MetricDefinition objects"
MAX_DIMENSION_KEYS = 9  # "A DimensionSet MUST NOT contain more than 9 dimension keys"
MAX_VALUES = 100  # "Numeric array metric targets MUST NOT have more than 100 members"
MAX_NAME_LENGTH = 255  # the specification's JSON schema: Namespace, dimension keys and Names 1-255 characters
# "Values SHOULD be valid CloudWatch metric units" (MetricDatum), as the specification's schema lists them.
UNITS = frozenset(
    {
        "Seconds",
        "Microseconds",
        "Milliseconds",
        "Bytes",
        "Kilobytes",
        "Megabytes",
        "Gigabytes",
        "Terabytes",
        "Bits",
        "Kilobits",
        "Megabits",
        "Gigabits",
        "Terabits",
        "Percent",
        "Count",
        "Bytes/Second",
        "Kilobytes/Second",
        "Megabytes/Second",
        "Gigabytes/Second",
        "Terabytes/Second",
        "Bits/Second",
        "Kilobits/Second",
        "Megabits/Second",
        "Gigabits/Second",
        "Terabits/Second",
        "Count/Second",
        "None",
    }
)


class EmfError(ValueError):
    """The line breaks the rule the message names."""


@dataclass(frozen=True)
class Metric:
    namespace: str
    name: str
    unit: str
    dimensions: dict[str, str]
    values: tuple[float, ...]


@dataclass(frozen=True)
class Document:
    timestamp_ms: int
    metrics: tuple[Metric, ...]
    root: dict[str, Any]

    def value(self, name: str) -> float:
        """The single value of metric ``name`` (every directive's copy agrees)."""
        (value,) = {metric.values for metric in self.metrics if metric.name == name}
        (single,) = value
        return single

    def names(self) -> set[str]:
        return {metric.name for metric in self.metrics}


def is_emf(line: str) -> bool:
    """Whether the line claims to be EMF (a JSON object with ``_aws``); ``parse`` then checks it."""
    try:
        document = json.loads(line)
    except ValueError:
        return False
    return isinstance(document, dict) and "_aws" in document


def parse(line: str) -> Document:
    if len(line.encode()) > MAX_EVENT_BYTES:
        raise EmfError(f"the log event is {len(line.encode())} bytes, over 256 KB")
    # "The LogEvent message MUST be a valid JSON object with no additional data at the beginning or end"
    try:
        root = json.loads(line)
    except ValueError as exc:
        raise EmfError(f"not one JSON text: {exc}") from None
    if not isinstance(root, dict) or line != line.strip():
        raise EmfError("the message must be one JSON object with nothing before or after it")
    metadata = root.get("_aws")
    # "The value MUST be an object and MUST contain ... CloudWatchMetrics ... Timestamp"
    if not isinstance(metadata, dict):
        raise EmfError("_aws must be an object")
    _only(
        metadata, {"CloudWatchMetrics", "Timestamp"}, required={"CloudWatchMetrics", "Timestamp"}, what="_aws"
    )
    timestamp = metadata["Timestamp"]
    # "Values MUST be expressed as the number of milliseconds after Jan 1, 1970" (schema: integer)
    if isinstance(timestamp, bool) or not isinstance(timestamp, int) or timestamp < 0:
        raise EmfError(f"_aws.Timestamp must be whole milliseconds since the epoch, not {timestamp!r}")
    directives = metadata["CloudWatchMetrics"]
    if not isinstance(directives, list):
        raise EmfError("_aws.CloudWatchMetrics must be an array of MetricDirective objects")
    metrics: list[Metric] = []
    for directive in directives:
        metrics.extend(_directive(directive, root))
    return Document(timestamp, tuple(metrics), root)


def _directive(directive: Any, root: dict[str, Any]) -> list[Metric]:
    # "MetricDirectives MUST contain the following members: Namespace, Dimensions, Metrics"
    if not isinstance(directive, dict):
        raise EmfError("a MetricDirective must be an object")
    _only(directive, {"Namespace", "Dimensions", "Metrics"}, required=None, what="MetricDirective")
    namespace = _name(directive["Namespace"], "Namespace")
    dimension_sets = directive["Dimensions"]
    if not isinstance(dimension_sets, list) or not dimension_sets:
        raise EmfError("Dimensions must be a non-empty array of DimensionSet arrays")
    definitions = directive["Metrics"]
    if not isinstance(definitions, list) or len(definitions) > MAX_METRICS_PER_DIRECTIVE:
        raise EmfError("Metrics must be an array of at most 100 MetricDefinition objects")
    resolved_sets = [_dimension_set(keys, root) for keys in dimension_sets]
    metrics = []
    for definition in definitions:
        if not isinstance(definition, dict):
            raise EmfError("a MetricDefinition must be an object")
        _only(definition, {"Name", "Unit", "StorageResolution"}, required={"Name"}, what="MetricDefinition")
        name = _name(definition["Name"], "a metric Name")
        unit = definition.get("Unit", "None")
        if unit not in UNITS:
            raise EmfError(f"{name}: Unit {unit!r} is not a CloudWatch unit")
        if definition.get("StorageResolution", 60) not in (1, 60):
            raise EmfError(f"{name}: StorageResolution must be 1 or 60")
        values = _metric_target(root, name)
        metrics.extend(Metric(namespace, name, unit, dimensions, values) for dimensions in resolved_sets)
    return metrics


def _dimension_set(keys: Any, root: dict[str, Any]) -> dict[str, str]:
    if not isinstance(keys, list) or len(keys) > MAX_DIMENSION_KEYS:
        raise EmfError("a DimensionSet must be an array of at most 9 dimension keys")
    dimensions = {}
    for key in keys:
        _name(key, "a dimension key")
        # "The values within this array MUST also be members on the root-node"; "MUST have a string value"
        if key not in root:
            raise EmfError(f"dimension {key!r} is not a member of the root node")
        if not isinstance(root[key], str):
            raise EmfError(f"dimension {key!r} must have a string value, not {root[key]!r}")
        dimensions[key] = root[key]
    return dimensions


def _metric_target(root: dict[str, Any], name: str) -> tuple[float, ...]:
    # "Valid targets MUST be members on the root node and cannot be nested objects"; "A metric target MUST
    # be a numeric value or an array of numeric values"; arrays of at most 100 members.
    if name not in root:
        raise EmfError(f"metric {name!r} is not a member of the root node")
    value = root[name]
    values = value if isinstance(value, list) else [value]
    if isinstance(value, list) and len(value) > MAX_VALUES:
        raise EmfError(f"metric {name!r} has more than 100 values")
    for each in values:
        if isinstance(each, bool) or not isinstance(each, int | float) or not math.isfinite(each):
            raise EmfError(f"metric {name!r} must be a number or an array of numbers, not {value!r}")
    return tuple(values)


def _name(value: Any, what: str) -> str:
    if not isinstance(value, str) or not 1 <= len(value) <= MAX_NAME_LENGTH:
        raise EmfError(f"{what} must be a string of 1 to 255 characters, not {value!r}")
    return value


def _only(obj: dict[str, Any], allowed: set[str], required: set[str] | None, what: str) -> None:
    """ "Unless otherwise noted, objects defined by this specification MUST NOT contain any additional
    members"; ``required`` None: all of ``allowed``."""
    extra = set(obj) - allowed
    if extra:
        raise EmfError(f"{what} has members the specification does not define: {sorted(extra)}")
    missing = (allowed if required is None else required) - set(obj)
    if missing:
        raise EmfError(f"{what} lacks {sorted(missing)}")
