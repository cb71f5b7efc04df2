"""CI only: live/local's opensearch unit through the AWS provider's real create and delete path on a moto
of its own (no pre-create/import shortcut), so the provider's fixed ten-minute sleeps after CreateDomain and
after DeleteDomain are really taken. Run by tests/infra/conftest.py in the background; exit 0 = success.

Usage: python tests/infra/opensearch_full_path.py WORKDIR
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from books_local import terragrunt

ROOT = Path(__file__).resolve().parents[2]


def main(workdir: Path) -> int:
    sys.path.insert(0, str(Path(__file__).parent))
    from conftest import start_moto  # the same plain moto process the other infra tests use

    process, endpoint = start_moto(workdir / "moto.log")
    started = time.monotonic()
    try:
        stack = terragrunt.Stack(
            ROOT / "live" / "local",
            endpoint,
            workdir / "state",
            shortcuts=False,
            log=lambda message: print(f"[{time.monotonic() - started:6.0f}s] {message}", flush=True),
        )
        # the domain's alarms publish to the alarm topic: its unit first, as run --all orders them
        outputs = stack.apply(["alarms", "opensearch"])["opensearch"]
        client = stack.client("opensearch")
        domain = client.describe_domain(DomainName=outputs["domain_name"])["DomainStatus"]
        assert domain["ARN"] == outputs["domain_arn"], (domain["ARN"], outputs)
        assert domain["NodeToNodeEncryptionOptions"]["Enabled"], domain
        assert stack.plan(["opensearch"]) == {"opensearch": False}, "second plan shows changes"
        stack.destroy(["opensearch", "alarms"])
        left = client.list_domain_names()["DomainNames"]
        assert left == [], f"domains left after destroy: {left}"
        assert stack.state_resources("opensearch") == [], "state not empty after destroy"
        print(f"full path ok in {time.monotonic() - started:.0f}s", flush=True)
        return 0
    finally:
        process.terminate()


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1])))
