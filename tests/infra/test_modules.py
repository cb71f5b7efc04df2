"""Every module is formatted, initialises offline against the provider mirror and validates; the READMEs'
Inputs/Outputs tables match the code."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
import readme_tables

ROOT = Path(__file__).resolve().parents[2]
MODULES = sorted(p.parent.name for p in (ROOT / "modules").glob("*/versions.tf"))
CHECKOV_VERSION = (
    "3.3.30"  # pinned: checkov pins dependencies that clash with the dev venv's, so it lives apart
)
CHECKOV_VENV = ROOT / ".cache" / "checkov-venv"


def run(command: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)


def test_modules_are_terraform_fmt_clean(terraform_env: dict[str, str]) -> None:
    result = run(["terraform", "fmt", "-check", "-recursive", "-list=true", "modules"], ROOT, terraform_env)
    assert result.returncode == 0, f"run `terraform fmt -recursive modules`:\n{result.stdout}{result.stderr}"


@pytest.mark.parametrize("module", MODULES)
def test_module_initialises_offline_and_validates(
    module: str, tmp_path: Path, terraform_env: dict[str, str]
) -> None:
    copy = tmp_path / module
    shutil.copytree(ROOT / "modules" / module, copy, ignore=shutil.ignore_patterns(".terraform*"))
    init = run(["terraform", "init", "-backend=false", "-input=false", "-no-color"], copy, terraform_env)
    assert init.returncode == 0, init.stderr + init.stdout
    validate = run(["terraform", "validate", "-json", "-no-color"], copy, terraform_env)
    report = json.loads(validate.stdout)
    assert report["valid"], json.dumps(report["diagnostics"], indent=2)
    assert report["warning_count"] == 0, json.dumps(report["diagnostics"], indent=2)


@pytest.mark.parametrize("module", readme_tables.MODULES)
def test_readme_tables_match_the_code(module: str) -> None:
    path = ROOT / "modules" / module
    assert (path / "README.md").read_text() == readme_tables.render(path), (
        f"modules/{module}/README.md is stale: run `.venv/bin/python tests/infra/readme_tables.py`"
    )
