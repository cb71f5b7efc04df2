"""Every unit's committed lock file installs the provider on every platform a developer or CI uses.

The units are found, not counted: every ``live/<env>/<unit>/terragrunt.hcl`` is a unit, so a unit added
later (a new environment, a new module) is checked the day it appears. Each unit's ``.terraform.lock.hcl``
must record the registry's ``zh:`` checksum of every platform package of the pinned release (linux and darwin,
amd64 and arm64 among them), keep the ``h1:`` of this machine's mirror (recomputed here with ``terraform
providers lock -fs-mirror``), and record the same constraints as its own module's ``versions.tf``. The
table and where it comes from: ``provider_checksums.py``.
"""

from __future__ import annotations

import hashlib
import re
import shutil
import subprocess
from pathlib import Path

import hcl2
import provider_checksums as published
import pytest

from books_local.terragrunt_config import load_unit

ROOT = Path(__file__).resolve().parents[2]
UNITS = sorted(path.parent for path in (ROOT / "live").glob("*/*/terragrunt.hcl"))
LOCKS = [unit / ".terraform.lock.hcl" for unit in UNITS]
MIRROR = Path("/opt/tf-plugins")
PROVIDER = "registry.terraform.io/hashicorp/aws"


def _entry(lock: Path) -> dict:
    with lock.open() as handle:
        (entry,) = [block[PROVIDER] for block in hcl2.load(handle)["provider"]]
    return entry


def _module_constraint(module: Path) -> str:
    """A module's provider constraint as Terraform normalises it into a lock (">= 5.70" -> ">= 5.70.0")."""
    text = (module / "versions.tf").read_text()
    (constraint,) = re.findall(r'^\s+version\s*=\s*"([^"]+)"', text, flags=re.M)
    parts = []
    for part in constraint.split(","):
        operator, version = part.split()
        numbers = [*version.split("."), "0", "0"][:3]
        parts.append(f"{operator} {'.'.join(numbers)}")
    return ", ".join(parts)


def test_every_unit_of_every_environment_is_checked() -> None:
    """The list the other tests run over is every unit there is, and nothing else holds a lock file."""
    environments = {unit.parent.name for unit in UNITS}
    assert {"dev", "prod", "local", "local-orders"} <= environments, environments
    assert {"alarms", "dashboard", "image", "indexer"} <= {unit.name for unit in UNITS}
    strays = set((ROOT / "live").rglob(".terraform.lock.hcl")) - set(LOCKS)
    assert not strays, f"lock files outside a unit folder: {sorted(strays)}"


@pytest.mark.parametrize("lock", LOCKS, ids=lambda p: str(p.parent.relative_to(ROOT)))
def test_the_unit_commits_a_lock_file(lock: Path) -> None:
    assert lock.is_file(), f"{lock.parent}: no .terraform.lock.hcl (copy another unit's; make providers-lock)"


@pytest.mark.parametrize("lock", LOCKS, ids=lambda p: str(p.parent.relative_to(ROOT)))
def test_the_lock_covers_every_platform_package_of_the_pinned_release(lock: Path) -> None:
    entry = _entry(lock)
    assert entry["version"] == published.VERSION
    assert published.missing(set(entry["hashes"])) == [], lock
    assert set(published.REQUIRED_PLATFORMS) <= set(published.PLATFORMS)
    assert published.MIRROR_H1["linux_amd64"] in entry["hashes"], "the mirror's h1 must stay"


@pytest.mark.parametrize("lock", LOCKS, ids=lambda p: str(p.parent.relative_to(ROOT)))
def test_the_recorded_constraints_are_the_modules(lock: Path) -> None:
    """The constraint recorded is the one of the module the unit runs (its ``terraform { source }``)."""
    module = load_unit(lock.parent / "terragrunt.hcl", environ={}).source
    assert _entry(lock)["constraints"] == _module_constraint(module) == ">= 5.70.0, < 7.0.0", module


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


def _make_platforms() -> list[str]:
    (platforms,) = re.findall(r"^LOCK_PLATFORMS\s*:=\s*(.+)$", (ROOT / "Makefile").read_text(), flags=re.M)
    return platforms.split()


def test_make_providers_lock_refreshes_every_unit_for_the_four_platforms() -> None:
    makefile = (ROOT / "Makefile").read_text()
    assert set(published.REQUIRED_PLATFORMS) <= set(_make_platforms())
    (recipe,) = re.findall(r"^providers-lock:.*?(?=^\S|\Z)", makefile, flags=re.S | re.M)
    assert "live/*/*/" in recipe
    assert "providers lock $(addprefix -platform=,$(LOCK_PLATFORMS))" in recipe


def test_make_providers_lock_locks_each_unit_from_its_own_module(tmp_path: Path) -> None:
    """The recipe runs, in a copy of the repository, with a ``terraform`` on PATH that writes into the lock a
    digest of the ``.tf`` files it was handed and its arguments: each unit must get its own module's files
    (the alarms unit runs ``modules/alarm-topic``, the indexer ``modules/lambda``), every unit is visited, a
    unit without a lock yet gets one, and all four platforms are asked for."""
    copy = tmp_path / "repo"
    copy.mkdir()
    shutil.copy2(ROOT / "Makefile", copy / "Makefile")
    shutil.copytree(ROOT / "modules", copy / "modules")
    shutil.copytree(ROOT / "live", copy / "live")
    (copy / "live" / "dev" / "table" / ".terraform.lock.hcl").unlink()  # a new unit: no lock yet
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "terraform"
    fake.write_text(
        "#!/bin/bash\nset -e\n"
        '{ cat $(ls *.tf | LC_ALL=C sort) | sha256sum; echo "$*"; } > .terraform.lock.hcl\n'
    )
    fake.chmod(0o755)
    env = {"PATH": f"{bin_dir}:/usr/bin:/bin", "HOME": str(tmp_path), "TF_PROVIDER_MIRROR": ""}
    result = subprocess.run(
        ["make", "--no-print-directory", "providers-lock"],
        cwd=copy,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr + result.stdout
    for unit in UNITS:
        module = load_unit(unit / "terragrunt.hcl", environ={}).source
        files = sorted(module.glob("*.tf"), key=lambda path: path.name.encode())
        digest = hashlib.sha256(b"".join(path.read_bytes() for path in files)).hexdigest()
        written = (copy / unit.relative_to(ROOT) / ".terraform.lock.hcl").read_text().splitlines()
        assert written[0].split()[0] == digest, f"{unit.relative_to(ROOT)} was not locked from {module}"
        assert written[1].split() == ["providers", "lock", *(f"-platform={p}" for p in _make_platforms())]
    assert result.stdout.count("locked live/") == len(UNITS), result.stdout
