"""Every unit's committed lock file installs the provider on every platform a developer or CI uses.

Each ``live/<env>/<unit>/.terraform.lock.hcl`` must record the registry's ``zh:`` checksum of every platform
package of the pinned release (linux and darwin, amd64 and arm64 among them), keep the ``h1:`` of this
machine's mirror (recomputed here with ``terraform providers lock -fs-mirror``), and record the same
constraints as the modules' ``versions.tf``. The table and where it comes from: ``provider_checksums.py``.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import hcl2
import provider_checksums as published
import pytest

ROOT = Path(__file__).resolve().parents[2]
LOCKS = sorted((ROOT / "live").glob("*/*/.terraform.lock.hcl"))
MIRROR = Path("/opt/tf-plugins")
PROVIDER = "registry.terraform.io/hashicorp/aws"


def _entry(lock: Path) -> dict:
    with lock.open() as handle:
        (entry,) = [block[PROVIDER] for block in hcl2.load(handle)["provider"]]
    return entry


def _module_constraint() -> str:
    """The modules' provider constraint as Terraform normalises it into a lock (">= 5.70.0, < 7.0.0")."""
    text = (ROOT / "modules" / "table" / "versions.tf").read_text()
    (constraint,) = re.findall(r'^\s+version\s*=\s*"([^"]+)"', text, flags=re.M)
    parts = []
    for part in constraint.split(","):
        operator, version = part.split()
        numbers = [*version.split("."), "0", "0"][:3]
        parts.append(f"{operator} {'.'.join(numbers)}")
    return ", ".join(parts)


def test_there_is_a_lock_file_per_unit_and_environment() -> None:
    assert len(LOCKS) == 3 * 6, LOCKS


@pytest.mark.parametrize("lock", LOCKS, ids=lambda p: str(p.parent.relative_to(ROOT)))
def test_the_lock_covers_every_platform_package_of_the_pinned_release(lock: Path) -> None:
    entry = _entry(lock)
    assert entry["version"] == published.VERSION
    assert published.missing(set(entry["hashes"])) == [], lock
    assert set(published.REQUIRED_PLATFORMS) <= set(published.PLATFORMS)
    assert published.MIRROR_H1["linux_amd64"] in entry["hashes"], "the mirror's h1 must stay"


@pytest.mark.parametrize("lock", LOCKS, ids=lambda p: str(p.parent.relative_to(ROOT)))
def test_the_recorded_constraints_are_the_modules(lock: Path) -> None:
    assert _entry(lock)["constraints"] == _module_constraint() == ">= 5.70.0, < 7.0.0"


def test_a_lock_that_covers_fewer_platforms_is_refused() -> None:
    """The check itself can fail: a lock made from the mirror alone (today's bug: one h1, no zh), and one
    that lost a single platform package, are both reported."""
    mirror_only = set(published.MIRROR_H1.values())
    assert published.missing(mirror_only)
    one_short = set(_entry(LOCKS[0])["hashes"]) - {sorted(published.PACKAGE_ZH)[0]}
    (problem,) = published.missing(one_short)
    assert "1 of the 14 platform packages" in problem


@pytest.mark.skipif(not MIRROR.is_dir(), reason="needs the provider mirror at /opt/tf-plugins")
def test_the_mirrors_h1_is_the_one_recorded(tmp_path: Path, terraform_env: dict[str, str]) -> None:
    """terraform providers lock computes the mirror's linux_amd64 h1 and finds it already in the lock."""
    shutil.copytree(ROOT / "modules" / "table", tmp_path / "unit")
    shutil.copy2(LOCKS[0], tmp_path / "unit" / ".terraform.lock.hcl")
    result = subprocess.run(
        ["terraform", "providers", "lock", f"-fs-mirror={MIRROR}", "-platform=linux_amd64", "-no-color"],
        cwd=tmp_path / "unit",
        env=terraform_env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr + result.stdout
    assert "already tracked in the lock file" in result.stdout, result.stdout
    assert (tmp_path / "unit" / ".terraform.lock.hcl").read_text() == LOCKS[0].read_text()


def test_make_providers_lock_refreshes_every_unit_for_the_four_platforms() -> None:
    makefile = (ROOT / "Makefile").read_text()
    (platforms,) = re.findall(r"^LOCK_PLATFORMS\s*:=\s*(.+)$", makefile, flags=re.M)
    assert set(published.REQUIRED_PLATFORMS) <= set(platforms.split())
    (recipe,) = re.findall(r"^providers-lock:.*?(?=^\S|\Z)", makefile, flags=re.S | re.M)
    assert "live/*/*/" in recipe
    assert "providers lock $(addprefix -platform=,$(LOCK_PLATFORMS))" in recipe
