"""The benchmark report: docs/benchmarks.md and README.md's figures are exactly what bench.report renders from
docs/benchmarks.json (a figure typed in by hand fails), every goal of issue 12 is judged, and a report that
mixes commits or uncommitted code says so at the top."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import goals, report, results  # noqa: E402


def result(name: str, figures: dict[str, Any], commit: str = "abc1234", clean: bool | None = True) -> dict:
    return {
        "name": name,
        "measured_at": "2026-11-25 23:30 UTC",
        "load_average": [1.5, 1.2],
        "machine": {
            "nproc": 2,
            "memory_gib": 8.0,
            "cpu_model": "test CPU",
            "kernel": "6.1",
            "versions": {"python": "3.11.7"},
            "commit": commit,
        },
        "clean_tree": clean,
        "uncommitted": [],
        "figures": figures,
        "notes": [],
    }


STORED = {
    "throughput": result("throughput", {"share_of_ceiling": 0.534, "plain_ceiling_docs_per_s": 4755.7}),
    "cpu": result("cpu", {"cpu_us_per_record": 24.0, "profile_top": ["1.0 orjson.dumps", "0.5 send"]}),
    "latency": result("latency", {"p95_ms": 1392.0, "why": {"p95_ms": "a 1 s batching window"}}),
    "cold_start": result("cold_start", {"host_import_ms_median": 180.0, "added_by_indexer_mb": 57}),
}


def verdict(stored: dict, name: str) -> goals.Verdict:
    (found,) = [v for v in goals.verdicts(stored) if v.goal.name == name]
    return found


# ---- the committed report -------------------------------------------------------------------------------


def test_the_committed_report_is_what_the_renderer_makes_of_the_committed_results() -> None:
    stored = json.loads((ROOT / "docs" / "benchmarks.json").read_text())
    assert stored, "docs/benchmarks.json holds no results"
    assert (ROOT / "docs" / "benchmarks.md").read_text() == report.render(stored)


def test_the_readme_figures_are_what_the_renderer_makes_of_the_committed_results() -> None:
    stored = json.loads((ROOT / "docs" / "benchmarks.json").read_text())
    readme = (ROOT / "README.md").read_text()
    assert report.readme_block(stored) in readme
    assert readme == report.with_readme_block(readme, stored)


def test_a_figure_edited_by_hand_no_longer_matches() -> None:
    """Any judged figure changed in the results changes the report: the md can only agree with the json."""
    stored = json.loads((ROOT / "docs" / "benchmarks.json").read_text())
    rendered, readme = report.render(stored), report.readme_block(stored)
    judged = [v for v in goals.verdicts(stored) if v.key is not None]
    assert judged, "docs/benchmarks.json judges no goal"
    for found in judged:
        edited = copy.deepcopy(stored)
        edited[found.goal.benchmark]["figures"][found.key] = found.value * 3 + 1
        assert report.render(edited) != rendered
        assert report.readme_block(edited) != readme


# ---- goals ------------------------------------------------------------------------------------------------


def test_every_goal_of_issue_12_is_a_row() -> None:
    table = "\n".join(report.goals_table(STORED))
    for goal in ("Throughput", "CPU per record", "Backfill", "Cold start", "Image", "Write → searchable"):
        assert f"| {goal}:" in table
    assert len(goals.GOALS) == 6


def test_a_goal_met_and_a_goal_short_say_so_with_the_gap_and_the_reason() -> None:
    assert verdict(STORED, "CPU per record").status == "met"
    latency = verdict(STORED, "Write → searchable")
    assert latency.status == "short by 392 ms"
    assert latency.why == "a 1 s batching window"
    throughput = verdict(STORED, "Throughput")
    assert throughput.status == "short by 36.6 points"
    assert throughput.why == "no reason recorded by the benchmark"
    assert "plain `_bulk` ceiling 4,756 docs/s" in throughput.extra
    assert verdict(STORED, "Image").status == "short by 27 MB"


def test_a_missing_benchmark_or_figure_shows_not_measured_and_never_crashes() -> None:
    assert verdict(STORED, "Backfill").status == goals.NOT_MEASURED
    assert verdict({}, "Throughput").status == goals.NOT_MEASURED
    odd = {"throughput": result("throughput", {"something_new": 1.0})}
    text = report.render(odd)
    assert "| Throughput: " in text
    assert "not measured" in text
    assert "`something_new`" in text  # unknown figures are listed as stored


def test_the_cold_start_goal_judges_the_import_plus_runtime_figure_when_the_bench_provides_it() -> None:
    stored = copy.deepcopy(STORED)
    stored["cold_start"]["figures"]["host_cold_start_ms_median"] = 260.0
    judged = verdict(stored, "Cold start")
    assert (judged.key, judged.status) == ("host_cold_start_ms_median", "short by 10 ms")
    partial = verdict(STORED, "Cold start")  # the import alone: never reported as the goal met
    assert partial.key == "host_import_ms_median"
    assert partial.status != "met"
    assert "Runtime build is not in this figure" in partial.why


def test_the_cpu_profile_is_printed_as_a_code_block() -> None:
    assert "```\n1.0 orjson.dumps\n0.5 send\n```" in report.render(STORED)


# ---- one commit per report ----------------------------------------------------------------------------


def test_one_clean_commit_is_named_without_a_warning() -> None:
    text = report.render(STORED)
    assert "All figures come from one commit, `abc1234`" in text
    assert "WARNING" not in text


@pytest.mark.parametrize(
    ("changed", "why"),
    [
        ({"commit": "def5678"}, "2 different commits"),
        ({"clean": False}, "dirty or unrecorded working tree"),
        ({"clean": None}, "dirty or unrecorded working tree"),
    ],
)
def test_results_from_different_commits_or_a_dirty_tree_are_flagged_at_the_top(changed, why) -> None:
    stored = copy.deepcopy(STORED)
    stored["latency"] = result("latency", {"p95_ms": 900.0}, **changed)
    text = report.render(stored)
    first_section = text.split("## Goals")[0]
    assert "**WARNING: this is not one commit's report" in first_section
    assert why in first_section
    assert "WARNING" in report.readme_block(stored)


def test_a_saved_result_records_the_tree_state_and_the_load(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(results, "RESULTS_DIR", tmp_path)
    saved = json.loads(results.save("probe", {"x": 1}).read_text())
    porcelain = subprocess.run(
        ["git", "status", "--porcelain"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    changed = [line[3:] for line in porcelain.splitlines() if line[3:] not in results.GENERATED]
    assert saved["clean_tree"] is (not changed)
    assert len(saved["load_average"]) == 2
    assert saved["machine"]["commit"] not in ("", "unknown")


MEASURED_CODE = ("artifacts/update_indices", "bench", "local/books_local", "modules/lambda")


def test_the_committed_report_measured_the_code_at_head() -> None:
    """One commit per report, and that commit's code is HEAD's: the indexer, the benchmarks, the local stack
    and the Lambda module are unchanged since the commit the committed figures were measured on (the report's
    own files may change after it). Changing any of them means running `make bench` again."""
    stored = json.loads((ROOT / "docs" / "benchmarks.json").read_text())
    commits = {str(r["machine"]["commit"]) for r in stored.values()}
    assert len(commits) == 1, f"the report mixes commits: {sorted(commits)}"
    (commit,) = commits
    assert all(r.get("clean_tree") is True for r in stored.values()), "measured with uncommitted changes"
    changed = subprocess.run(
        ["git", "diff", "--name-only", commit, "HEAD", "--", *MEASURED_CODE],
        cwd=ROOT, capture_output=True, text=True, check=True,
    ).stdout.split()  # fmt: skip
    assert changed == [], f"changed since the measured commit {commit} (run `make bench`): {changed}"
