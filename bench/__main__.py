"""``python -m bench [name ...]``: runs the benchmarks (all by default), each in its own interpreter, then
renders docs/benchmarks.md. A benchmark that fails is reported and the others still run; the exit code is
non-zero when any failed.
"""

from __future__ import annotations

import subprocess
import sys
import time

from bench import ROOT, report

ORDER = ("throughput", "cpu", "folding", "cold_start", "backfill", "bulk_load", "latency")


def main(argv: list[str]) -> int:
    names = argv or list(ORDER)
    unknown = sorted(set(names) - set(ORDER))
    if unknown:
        print(f"unknown benchmark(s): {', '.join(unknown)}; choose from {', '.join(ORDER)}", file=sys.stderr)
        return 2
    failed = []
    for name in names:
        print(f"== bench {name}", flush=True)
        started = time.monotonic()
        # Own interpreter per benchmark: the indexer reads its settings once per process, as in Lambda.
        code = subprocess.run([sys.executable, "-m", f"bench.{name}"], cwd=ROOT).returncode
        outcome = "ok" if code == 0 else f"FAILED ({code})"
        print(f"== bench {name}: {outcome} in {time.monotonic() - started:.0f} s", flush=True)
        if code != 0:
            failed.append(name)
    report.main([])
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
