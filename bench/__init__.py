"""Benchmarks behind docs/benchmarks.md: `make bench` runs them all, `python -m bench.<name>` runs one.

Each benchmark measures, checks that what it measured is correct (the index ends equal to the expected
state), and stores its figures as JSON under ``.cache/bench/``; ``bench.report`` renders the Markdown report
from whatever results exist, so a benchmark run alone refreshes its own section only.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LAMBDA_DIR = ROOT / "artifacts" / "update_indices" / "lambda"

# The indexer package ships inside the Lambda artifact, not as an installed distribution; stream records
# come from the tests' one builder (tests/support), which uses the local stack's Lambda shapes.
for _path in (LAMBDA_DIR, ROOT / "local", ROOT / "tests"):
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))
