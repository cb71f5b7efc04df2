"""The event source mapping's settings, taken from the lambda module's ``event_source_mapping`` output.

Nothing here restates a value: every field comes from Terraform, so the local stack runs the indexer exactly
as the mapping configured in ``modules/lambda`` would.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from books_local.errors import StackError

REQUIRED = (
    "batch_size",
    "maximum_batching_window_in_seconds",
    "maximum_retry_attempts",
    "bisect_batch_on_function_error",
    "function_response_types",
    "starting_position",
    "destination_arn",
)


@dataclass(frozen=True)
class MappingSettings:
    batch_size: int
    maximum_batching_window_in_seconds: float
    maximum_retry_attempts: int  # -1: retry until the record expires
    bisect_batch_on_function_error: bool
    function_response_types: tuple[str, ...]
    starting_position: str  # TRIM_HORIZON or LATEST
    destination_arn: str | None
    maximum_record_age_in_seconds: int = -1  # -1: until the record leaves the stream

    @property
    def reports_batch_item_failures(self) -> bool:
        return "ReportBatchItemFailures" in self.function_response_types

    @classmethod
    def from_output(cls, output: Mapping[str, Any]) -> MappingSettings:
        missing = [name for name in REQUIRED if name not in output]
        if missing:
            raise StackError(
                "the lambda module's event_source_mapping output lacks "
                + ", ".join(missing)
                + f" (it has: {', '.join(sorted(output)) or 'nothing'})"
            )
        position = str(output["starting_position"])
        if position not in ("TRIM_HORIZON", "LATEST"):
            raise StackError(
                f"event_source_mapping.starting_position={position!r}: expected TRIM_HORIZON or LATEST"
            )
        return cls(
            batch_size=int(output["batch_size"]),
            maximum_batching_window_in_seconds=float(output["maximum_batching_window_in_seconds"] or 0),
            maximum_retry_attempts=int(output["maximum_retry_attempts"]),
            bisect_batch_on_function_error=bool(output["bisect_batch_on_function_error"]),
            function_response_types=tuple(output["function_response_types"] or ()),
            starting_position=position,
            destination_arn=output["destination_arn"] or None,
            maximum_record_age_in_seconds=int(output.get("maximum_record_age_in_seconds", -1) or -1),
        )

    def retries_exhausted(self, attempts: int) -> bool:
        """True once ``attempts`` invocations failed and the retry limit allows no further one."""
        return self.maximum_retry_attempts >= 0 and attempts > self.maximum_retry_attempts
