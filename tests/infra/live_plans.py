"""Plans of a live/ environment as Terraform's JSON, for the AWS conformance tests.

Each unit is planned as Terragrunt would plan it before its dependencies exist: its module, its inputs with
the dependencies' mock outputs (which live/ allows for plan), the root's default tags, a provider aimed at
moto (which only answers the data sources: caller identity, region, partition). Nothing is applied. The tests
read the plans by resource type and module output, not by unit file contents, so they survive a reshuffle
of live/.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from books_local.terragrunt import Environment, provider_config, terraform_env

ROOT = Path(__file__).resolve().parents[2]
# Every get_env has a default (prod promotes the digest in live/prod/release.hcl): a plan needs none.
ENVIRON: dict[str, str] = {}


@dataclass(frozen=True)
class Resource:
    """One planned resource: its address, type, the values known at plan time and which ones are unknown."""

    address: str
    type: str
    name: str
    values: dict[str, Any]
    unknown: dict[str, Any]

    def is_set(self, attribute: str) -> bool:
        """Whether the attribute has a value: known and non-empty, or computed by AWS at apply time."""
        return bool(self.values.get(attribute)) or bool(self.unknown.get(attribute))


@dataclass(frozen=True)
class Plan:
    """``terraform show -json`` of one unit's plan."""

    unit: str
    data: dict[str, Any]

    def resources(self, type_: str | None = None) -> list[Resource]:
        found = []
        for change in self.data.get("resource_changes", []):
            if change.get("mode") != "managed" or (type_ is not None and change["type"] != type_):
                continue
            if "create" not in change["change"]["actions"]:
                continue
            found.append(
                Resource(
                    address=change["address"],
                    type=change["type"],
                    name=change["name"],
                    values=change["change"].get("after") or {},
                    unknown=change["change"].get("after_unknown") or {},
                )
            )
        return found

    def output(self, name: str) -> Any:
        return self.data["planned_values"]["outputs"][name].get("value")

    def variable(self, name: str) -> Any:
        return self.data["variables"][name]["value"]


def _run(command: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        command, cwd=cwd, env=terraform_env(), capture_output=True, text=True, timeout=600
    )
    if result.returncode != 0:
        raise AssertionError(f"{' '.join(command)} in {cwd} failed:\n{result.stderr}{result.stdout}")
    return result


def plan_unit(environment: Environment, unit_name: str, endpoint: str, workdir: Path) -> Plan:
    """Copies the unit's module into ``workdir``, writes provider and inputs, runs init, plan and show."""
    unit = environment.units[unit_name]
    shutil.copytree(unit.source, workdir, ignore=shutil.ignore_patterns(".terraform*", "*.tfstate*"))
    region = str(environment.locals.get("region", "us-east-1"))
    tags = dict(unit.root_locals.get("default_tags", {}))
    (workdir / "provider.tf").write_text(provider_config(region, endpoint, tags))
    (workdir / "terraform.tfvars.json").write_text(json.dumps(unit.inputs(command="plan"), indent=2))
    _run(["terraform", "init", "-input=false", "-no-color"], workdir)
    _run(["terraform", "plan", "-input=false", "-no-color", "-lock=false", "-out=plan.bin"], workdir)
    shown = _run(["terraform", "show", "-json", "plan.bin"], workdir)
    return Plan(unit_name, json.loads(shown.stdout))


def plan_environment(name: str, endpoint: str, workdir: Path) -> dict[str, Plan]:
    """{unit: Plan} for every unit of live/<name>."""
    environment = Environment.load(ROOT / "live" / name, environ=ENVIRON)
    return {
        unit: plan_unit(environment, unit, endpoint, workdir / unit) for unit in sorted(environment.units)
    }


def all_resources(plans: Mapping[str, Plan], type_: str) -> Iterator[tuple[str, Resource]]:
    for unit, plan in plans.items():
        for resource in plan.resources(type_):
            yield unit, resource
