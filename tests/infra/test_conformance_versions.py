"""Reproducible builds: every module states the same Terraform and provider constraints (test_modules.py
proves they admit the provider of the local mirror: every module initialises offline against it).

The floor is hashicorp/aws 5.70, the first release whose aws_lambda_event_source_mapping takes tags (the
lambda module tags its mapping); the cap is the next major, 7.0, whose breaking changes nobody has reviewed.
"""

from __future__ import annotations

from pathlib import Path

import hcl2
import pytest
from packaging.specifiers import SpecifierSet
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[2]
MODULES = sorted(p.parent.name for p in (ROOT / "modules").glob("*/versions.tf"))


def _terraform_block(module: str) -> dict:
    with (ROOT / "modules" / module / "versions.tf").open() as handle:
        (block,) = hcl2.load(handle)["terraform"]
    return block


def _aws_constraint(module: str) -> str:
    (providers,) = _terraform_block(module)["required_providers"]
    assert providers["aws"]["source"] == "hashicorp/aws", module
    return providers["aws"]["version"]


def _specifier(constraint: str) -> SpecifierSet:
    """A Terraform version constraint (">= 5.70, < 7.0") as a PEP 440 specifier set."""
    return SpecifierSet(",".join(part.replace(" ", "") for part in constraint.split(",")))


def test_every_module_states_the_same_constraints() -> None:
    assert set(MODULES) >= {"api", "lambda", "opensearch", "table"}  # and any module added later
    assert len({_aws_constraint(module) for module in MODULES}) == 1, {m: _aws_constraint(m) for m in MODULES}
    versions = {module: _terraform_block(module)["required_version"] for module in MODULES}
    assert len(set(versions.values())) == 1, versions


@pytest.mark.parametrize("module", MODULES)
def test_the_provider_constraint_starts_at_5_70_and_stops_before_7(module: str) -> None:
    allowed = _specifier(_aws_constraint(module))
    assert Version("5.69.0") not in allowed  # no tags on event source mappings
    assert Version("5.70.0") in allowed
    assert Version("6.20.0") in allowed
    assert Version("7.0.0") not in allowed


@pytest.mark.parametrize("module", MODULES)
def test_terraform_1_9_is_required_for_validations_that_read_other_variables(module: str) -> None:
    allowed = _specifier(_terraform_block(module)["required_version"])
    assert Version("1.8.5") not in allowed
    assert Version("1.9.0") in allowed
