"""CI only (CI is set): the OpenSearch domain through the provider's real create/delete path.

The AWS provider sleeps a fixed ten minutes after creating and after deleting a domain, so the default run
takes the pre-create/import shortcut (books_local.terragrunt) and this path runs only in CI, as a background
process started when collection ends (tests/infra/conftest.py) and awaited here, at the very end of the run.
"""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import pytest

WAIT_SECONDS = 40 * 60

# Defined only in CI (not skipped elsewhere: the default run simply has no such test).
if os.environ.get("CI"):

    @pytest.mark.timeout(WAIT_SECONDS + 60)
    def test_opensearch_full_create_and_destroy_path(
        opensearch_full_path_job: tuple[subprocess.Popen[bytes], Path, float],
    ) -> None:
        process, log, started = opensearch_full_path_job
        try:
            code = process.wait(timeout=max(1.0, WAIT_SECONDS - (time.monotonic() - started)))
        except subprocess.TimeoutExpired:
            process.kill()
            pytest.fail(f"the full path did not finish in {WAIT_SECONDS}s:\n{log.read_text()[-4000:]}")
        print(log.read_text()[-2000:])
        assert code == 0, log.read_text()[-6000:]
