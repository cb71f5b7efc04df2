"""Where benchmark figures live between a run and the report: one JSON file per benchmark + the machine."""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

from bench import ROOT

RESULTS_DIR = ROOT / ".cache" / "bench" / "results"
# What the benchmarks and the report write themselves: changed, they do not make the measured code differ.
GENERATED = frozenset(
    {"docs/benchmarks.md", "docs/benchmarks.json", "docs/benchmarks-latency.png", "README.md"}
)
PACKAGES = ("opensearch-py", "boto3", "osmem-server", "moto", "schemathesis", "matplotlib")


def machine() -> dict[str, Any]:
    """What the numbers were measured on: cores, memory, CPU model, kernel, Python and package versions."""
    cpu_model = "unknown"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu_model = line.split(":", 1)[1].strip()
            break
    mem_kib = 0
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            mem_kib = int(line.split()[1])
    versions: dict[str, str] = {"python": platform.python_version()}
    for package in PACKAGES:
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            continue
    return {
        "nproc": len(os.sched_getaffinity(0)),
        "memory_gib": round(mem_kib / 1024 / 1024, 1),
        "cpu_model": cpu_model,
        "kernel": platform.release(),
        "versions": versions,
        "commit": _git("rev-parse", "--short", "HEAD"),
    }


def _git(*args: str) -> str:
    try:
        return subprocess.run(
            ["git", *args], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def uncommitted_paths() -> list[str] | None:
    """``git status --porcelain``'s paths, without the report's own outputs; None when git cannot tell."""
    try:
        status = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=normal"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        return None
    paths = [line[3:].split(" -> ")[-1].strip('"') for line in status.splitlines() if line.strip()]
    return [path for path in paths if path not in GENERATED]


def save(name: str, figures: dict[str, Any], notes: list[str] | None = None) -> Path:
    """Store one benchmark's figures (with the machine and time) and print them."""
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    uncommitted = uncommitted_paths()
    result = {
        "name": name,
        "measured_at": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        # Other work on the machine skews every figure: the load (1 and 5 min) when the benchmark ended.
        "load_average": [round(value, 2) for value in os.getloadavg()[:2]],
        "machine": machine(),
        # One commit per report: the code measured is the commit only when nothing else was changed.
        "clean_tree": uncommitted == [] if uncommitted is not None else None,
        "uncommitted": uncommitted if uncommitted is not None else [],
        "figures": figures,
        "notes": notes or [],
    }
    path = RESULTS_DIR / f"{name}.json"
    path.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps({name: figures}, indent=2))
    return path


def load_all() -> dict[str, dict[str, Any]]:
    if not RESULTS_DIR.is_dir():
        return {}
    return {path.stem: json.loads(path.read_text()) for path in sorted(RESULTS_DIR.glob("*.json"))}


def percentile(values: list[float], fraction: float) -> float:
    """The ``fraction`` quantile by linear interpolation (statistics' 'inclusive' method)."""
    if len(values) == 1:
        return values[0]
    cuts = statistics.quantiles(values, n=1000, method="inclusive")
    return cuts[round(fraction * 1000) - 1]
