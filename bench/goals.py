"""Issue 12's goals, each judged from one figure of one benchmark's result: met, short by how much, or not
measured. A benchmark explains a figure by adding ``"why": {"<figure key>": "<text>"}`` to its figures.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

Results = Mapping[str, Mapping[str, Any]]  # benchmark name -> stored result (bench.results.save's shape)
NOT_MEASURED = "not measured"


@dataclass(frozen=True)
class Goal:
    name: str
    benchmark: str
    keys: tuple[str, ...]  # figure keys, the first one present is judged
    target: float
    at_least: bool  # True: the figure must reach the target; False: stay at or below it
    unit: str  # "share", "x", "µs", "ms" or "MB"
    measures: str
    partial: Mapping[str, str] | None = None  # key -> what that figure leaves out of the goal
    extra: Callable[[Mapping[str, Any]], str] | None = None  # more figures shown beside the judged one


@dataclass(frozen=True)
class Verdict:
    goal: Goal
    key: str | None
    value: float | None
    status: str  # "met", "short by ...", or NOT_MEASURED
    why: str
    extra: str

    @property
    def met(self) -> bool:
        return self.status == "met"


def fmt(value: float, unit: str) -> str:
    if unit == "share":
        return f"{value:.1%}"
    if unit == "x":
        return f"{value:g}x"
    return f"{value:,.1f} {unit}".replace(".0 ", " ")


def _plain_ceiling(figures: Mapping[str, Any]) -> str:
    parts = []
    if "plain_ceiling_docs_per_s" in figures:
        parts.append(f"plain `_bulk` ceiling {figures['plain_ceiling_docs_per_s']:,.0f} docs/s")
    if "share_of_plain_ceiling" in figures:
        parts.append(
            f"ours is {figures['share_of_plain_ceiling']:.0%} of it (ready documents, 500 a request, "
            "dynamic mapping, no versions: less work than any correct writer of this stream does)"
        )
    return ", ".join(parts)


GOALS: tuple[Goal, ...] = (
    Goal("Throughput", "throughput", ("share_of_ceiling",), 0.90, True, "share",
         "indexer records/s over the same-writes ceiling of the same run (our own `_bulk` bodies replayed "
         "as bytes: the server's time for these writes)", extra=_plain_ceiling),
    Goal("CPU per record", "cpu", ("cpu_us_per_record",), 25, False, "µs",
         "whole path (decode, project, version, serialise, send) against the instant responder"),
    Goal("Backfill", "backfill", ("ratio",), 10, True, "x", "ours over the naive scan-and-index script"),
    Goal("Cold start", "cold_start",
         ("host_cold_start_ms_median", "host_import_and_runtime_ms_median", "host_import_ms_median"),
         250, False, "ms", "handler import + first `Runtime` build on the host, median",
         partial={"host_import_ms_median": "the import only: the first Runtime build is not in this figure"}),
    Goal("Image", "cold_start", ("indexer_adds_mb", "added_by_indexer_mb"), 30, False, "MB",
         "what the indexer adds to the Lambda base image"),
    Goal("Write → searchable", "latency", ("p95_ms",), 1000, False, "ms",
         "p95 from the API's 201 to found by search, local stack, default settings"),
)  # fmt: skip


def judge(goal: Goal, stored: Results) -> Verdict:
    figures = stored.get(goal.benchmark, {}).get("figures", {})
    key = next((key for key in goal.keys if isinstance(figures.get(key), int | float)), None)
    extra = goal.extra(figures) if goal.extra else ""
    if key is None:
        return Verdict(goal, None, None, NOT_MEASURED, "", extra)
    value = float(figures[key])
    why_notes = figures.get("why")
    why = str(why_notes.get(key, "")) if isinstance(why_notes, Mapping) else ""
    partial = (goal.partial or {}).get(key)
    if partial:
        why = f"{partial}. {why}".strip()
    ok = value >= goal.target if goal.at_least else value <= goal.target
    if ok and not partial:
        return Verdict(goal, key, value, "met", why, extra)
    if ok:
        return Verdict(goal, key, value, "met by a partial figure", why, extra)
    gap = abs(value - goal.target)
    short = f"short by {gap * 100:.1f} points" if goal.unit == "share" else f"short by {fmt(gap, goal.unit)}"
    return Verdict(goal, key, value, short, why or "no reason recorded by the benchmark", extra)


def verdicts(stored: Results) -> list[Verdict]:
    return [judge(goal, stored) for goal in GOALS]


def target_text(goal: Goal) -> str:
    return ("≥ " if goal.at_least else "≤ ") + fmt(goal.target, goal.unit)
