"""Terragrunt's job for one environment folder, with plain ``terraform``, against a moto server.

Terragrunt cannot be installed here, so this reads an environment's units (``live/<env>/*/terragrunt.hcl``)
with python-hcl2 (``terragrunt_config``: parse), evaluates as much of Terragrunt's language as this
repository's configurations use (``terragrunt_eval``: evaluate), sorts the units by their dependencies and
runs ``terraform apply``/``plan``/``destroy`` in each (this module: run), feeding real outputs into
dependents' inputs as Terragrunt would.

What it does as Terragrunt does:

* ``include`` blocks, any number, labelled, with ``expose`` and ``merge_strategy`` (``no_merge``,
  ``shallow``, ``deep``): included files contribute ``inputs``, ``dependency``, ``generate``,
  ``remote_state`` and ``terraform.source``; functions in them run as if written in the unit.
* The ``generate`` blocks and the ``remote_state`` block (with ``generate``) of the unit and its includes are
  executed: the files Terragrunt would write (the root's ``provider.tf`` and ``backend.tf``) are the ones
  Terraform runs with. live/local's local backend keeps state under ``BOOKS_TF_STATE_DIR``, which is set to
  ``state_dir/tfstate``; its endpoint is ``BOOKS_AWS_ENDPOINT``, set to the moto endpoint.
* Inputs reach Terraform as ``TF_VAR_<name>`` environment variables, strings raw and other types
  JSON-encoded; null inputs go to ``.terragrunt-null-vars.auto.tfvars.json``. Dependency mocks serve only
  the commands their ``mock_outputs_allowed_terraform_commands`` name, and only when the dependency has no
  outputs (``destroy`` included: dependents are destroyed first, with their dependencies' real outputs
  while those exist). ``destroy`` runs in every unit, applied or not, as ``run --all destroy`` does, except
  a unit with ``prevent_destroy = true`` and what it depends on: those are left, and destroy then fails
  naming them, as Terragrunt refuses a protected unit.
* The unit's committed ``.terraform.lock.hcl`` is copied into the working directory before ``init``.
* ``terraform.source`` with ``//``: the part before it is copied, Terraform runs in the part after.

Where it differs from Terragrunt (the complete list):

* Only environments whose ``remote_state`` backend is ``local`` run (live/local); there is no S3/DynamoDB
  backend bootstrap. Each unit's working directory is ``state_dir/<unit>/source`` (Terragrunt:
  ``.terragrunt-cache``), and the lock file is not copied back after ``init``.
* The language is the subset this repository uses: the functions in ``terragrunt_config._Context`` and the
  expression and template syntax in ``terragrunt_eval`` (no ``for`` expressions, no splat, no nested
  includes, no ``before_hook``/``after_hook``, no ``dependencies`` block, no ``sops``; ``run_cmd`` runs its
  command in the configuration's folder but does not cache results between units).
* With several includes, each merges into the ones before it by its own strategy, and the unit's own file
  merges last with the last include's strategy.
* Emulator quirks, handled here and never in the modules (each is also noted where it is handled):

  - The AWS provider sleeps a fixed ten minutes after creating and after deleting an OpenSearch domain (a
    ``timeouts`` block does not shorten it). With ``shortcuts=True`` (the default) a planned domain is first
    created on moto with boto3 from the plan's values and then ``terraform import``-ed, so ``apply`` only
    updates it; ``destroy`` deletes it with boto3 and drops it from the state first.
  - moto reports an empty ``image_config`` for image functions that Terraform never set, which shows as a
    diff on every plan: a generated ``moto_override.tf`` ignores ``image_config`` on ``aws_lambda_function``
    resources (a Terraform override file, so the module itself is unchanged for AWS).
  - moto answers 500 to every write on a table once an event source mapping targets an image function: that
    one is handled in ``live/local/indexer`` (``create_event_source_mapping = false``; the local stack replays
    the stream with the module's ``event_source_mapping`` output); callers may override it back on.

API::

    env = Environment.load("live/local")
    outputs = apply(env, moto_endpoint, state_dir)            # {"table": {"table_name": ...}, ...}
    changes = plan(env, moto_endpoint, state_dir)             # {"table": False, ...}: True = would change
    destroy(env, moto_endpoint, state_dir)

CLI: ``python -m books_local.terragrunt apply live/local --endpoint http://127.0.0.1:5000 --state-dir DIR``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from books_local.terraform_cli import (
    EMULATED_SERVICES,
    NULL_VARS_FILE,
    cli_config,
    input_variables,
    null_inputs,
    provider_config,
    terraform_env,
)
from books_local.terragrunt_config import (
    MOCK_COMMANDS,
    ROOT_CONFIG,
    Dependency,
    Environment,
    ModuleInterface,
    Unit,
    _parse,
    find_in_parent_folders,
    load_unit,
    read_terragrunt_config,
)
from books_local.terragrunt_eval import Lazy, Scope, TerragruntError
from books_local.terragrunt_moto import create_domain_request, module_resources

__all__ = [
    "EMULATED_SERVICES",
    "MOCK_COMMANDS",
    "ROOT_CONFIG",
    "Dependency",
    "Environment",
    "Lazy",
    "ModuleInterface",
    "Scope",
    "Stack",
    "TerragruntError",
    "Unit",
    "apply",
    "cli_config",
    "destroy",
    "find_in_parent_folders",
    "input_variables",
    "load_unit",
    "plan",
    "provider_config",
    "read_terragrunt_config",
    "terraform_env",
]

Log = Callable[[str], None]
_INTERACTIVE_COMMANDS = frozenset({"init", "plan", "apply", "destroy", "import"})


# --------------------------------------------------------------------------------------------------------
# Running terraform against moto
# --------------------------------------------------------------------------------------------------------


# moto quirk: empty image_config lists on image functions (see the module docstring). Terraform merges
# *_override.tf files into the module, so AWS deployments never see this.
_IMAGE_CONFIG_OVERRIDE = """# Generated by books_local.terragrunt for moto only (phantom image_config).
resource "aws_lambda_function" "{name}" {{
  lifecycle {{
    ignore_changes = [image_config]
  }}
}}
"""


class Stack:
    """One environment applied to one moto endpoint, each unit in ``state_dir/<unit>``."""

    def __init__(
        self,
        environment: Environment | str | Path,
        endpoint: str,
        state_dir: str | Path,
        overrides: Mapping[str, Mapping[str, Any]] | None = None,
        *,
        shortcuts: bool = True,
        log: Log | None = None,
    ) -> None:
        self.endpoint = endpoint.rstrip("/")
        self.state_dir = Path(state_dir).resolve()
        # What the environment reads with get_env(), as under Terragrunt: live/local's emulator endpoint and
        # where its local backend keeps state (the root's remote_state block).
        path = environment.path if isinstance(environment, Environment) else Path(environment)
        base = environment.environ if isinstance(environment, Environment) else os.environ
        environ = {
            **base,
            "BOOKS_AWS_ENDPOINT": self.endpoint,
            "BOOKS_TF_STATE_DIR": str(self.state_dir / "tfstate"),
        }
        self.environment = Environment.load(path, environ=environ)
        for unit in self.environment.units.values():
            if unit.remote_state().get("backend") != "local":
                raise TerragruntError(
                    f"{unit.path}: its remote_state backend is {unit.remote_state().get('backend')!r}; this "
                    "emulator runs only environments aimed at an emulator (a local backend, like live/local)"
                )
        self._inputs: dict[str, dict[str, Any]] = {}
        self.overrides = {k: dict(v) for k, v in (overrides or {}).items()}
        unknown = set(self.overrides) - set(self.environment.units)
        if unknown:
            raise TerragruntError(f"overrides name units that do not exist: {sorted(unknown)}")
        self.shortcuts = shortcuts
        self.log = log or (lambda message: None)
        self.region = str(self.environment.locals.get("region", "us-east-1"))
        self._lock = threading.Lock()

    # ---- public API -----------------------------------------------------------------------------------

    def apply(self, units: Iterable[str] | None = None) -> dict[str, dict[str, Any]]:
        """Applies the units (all by default) in dependency order; returns every applied unit's outputs."""
        selected = self._selected(units)
        outputs: dict[str, dict[str, Any]] = {}
        for wave in self.environment.waves():
            todo = [name for name in wave if name in selected]
            for name in todo:
                self._prepare(name, outputs)
            with ThreadPoolExecutor(max_workers=max(1, len(todo))) as pool:
                for name, result in zip(todo, pool.map(self._apply_unit, todo), strict=True):
                    outputs[name] = result
            for name in wave:
                if name not in selected and name not in outputs and (self._workdir(name)).is_dir():
                    outputs[name] = self.outputs_of(name)
        return outputs

    def plan(self, units: Iterable[str] | None = None) -> dict[str, bool]:
        """Plans the units against their applied dependencies; {unit: True when it would change}."""
        selected = self._selected(units)
        outputs = {name: self.outputs_of(name) for name in self.environment.units if self._has_state(name)}
        changes: dict[str, bool] = {}
        for wave in self.environment.waves():
            todo = [name for name in wave if name in selected]
            for name in todo:
                self._prepare(name, outputs, command="plan")
            with ThreadPoolExecutor(max_workers=max(1, len(todo))) as pool:
                for name, changed in zip(todo, pool.map(self._plan_unit, todo), strict=True):
                    changes[name] = changed
        return changes

    def _has_state(self, name: str) -> bool:
        return Path(self.environment.units[name].remote_state()["config"]["path"]).is_file()

    def _plan_unit(self, name: str) -> bool:
        result = self._terraform(name, "plan", "-detailed-exitcode", "-lock=false", check=False)
        if result.returncode not in (0, 2):
            raise TerragruntError(f"{name}: terraform plan failed:\n{result.stderr}{result.stdout}")
        if result.returncode == 2:
            self.log(f"{name}: plan shows changes:\n{result.stdout}")
        return result.returncode == 2

    def destroy(self, units: Iterable[str] | None = None) -> None:
        """Destroys the units in reverse dependency order (dependents first)."""
        selected = self._selected(units)
        kept = self.environment.kept_by_destroy(selected)
        selected -= set(kept)
        outputs: dict[str, dict[str, Any]] = {}
        for unit in self.environment.units_in_order():
            if self._workdir(unit.name).is_dir():
                outputs[unit.name] = self.outputs_of(unit.name)
        for wave in reversed(self.environment.waves()):
            # every unit, as `run --all destroy` does: one a failed first apply never reached still reads its
            # dependencies (their mocks, when they have no outputs and allow destroy), and destroys nothing
            todo = [name for name in wave if name in selected]
            for name in todo:
                self._prepare(name, outputs, command="destroy")
            with ThreadPoolExecutor(max_workers=max(1, len(todo))) as pool:
                list(pool.map(self._destroy_unit, todo))
        if kept:
            reasons = ", ".join(f"{name} ({why})" for name, why in kept.items())
            raise TerragruntError(
                f"destroy left these units in place: {reasons}; set prevent_destroy = false first"
            )

    def outputs_of(self, name: str) -> dict[str, Any]:
        result = self._terraform(name, "output", "-json")
        return {key: value["value"] for key, value in json.loads(result.stdout or "{}").items()}

    def state_resources(self, name: str) -> list[str]:
        """Addresses of the resources in a unit's state (data sources excluded)."""
        if not self._workdir(name).is_dir():
            return []
        result = self._terraform(name, "state", "list", check=False)
        return [line for line in result.stdout.splitlines() if line and ".data." not in f".{line}"]

    # ---- one unit -------------------------------------------------------------------------------------

    def _selected(self, units: Iterable[str] | None) -> set[str]:
        selected = set(self.environment.units if units is None else units)
        unknown = selected - set(self.environment.units)
        if unknown:
            raise TerragruntError(f"no such units: {sorted(unknown)}")
        return selected

    def _unitdir(self, name: str) -> Path:
        return self.state_dir / name

    def _workdir(self, name: str) -> Path:
        unit = self.environment.units[name]
        return self._unitdir(name) / "source" / unit.source.relative_to(unit.source_root)

    def _prepare(self, name: str, outputs: Mapping[str, Mapping[str, Any]], command: str = "apply") -> None:
        """Copies the module, writes provider, backend, overrides and inputs, runs terraform init."""
        unit = self.environment.units[name]
        source_copy = self._unitdir(name) / "source"
        first = not source_copy.is_dir()
        shutil.copytree(
            unit.source_root,
            source_copy,
            dirs_exist_ok=True,
            ignore=shutil.ignore_patterns(".terraform", ".terraform.lock.hcl", "*.tfstate*", "__pycache__"),
        )
        workdir = self._workdir(name)
        lock = unit.path.parent / ".terraform.lock.hcl"
        if lock.is_file():  # as Terragrunt does: the unit's committed lock file pins the providers
            shutil.copy2(lock, workdir / ".terraform.lock.hcl")
        for file_name, contents in unit.generated_files().items():  # the root's provider.tf and backend.tf
            (workdir / file_name).write_text(contents)
        for function in self._image_functions(workdir):
            (workdir / f"moto_{function}_override.tf").write_text(
                _IMAGE_CONFIG_OVERRIDE.format(name=function)
            )
        inputs = self._inputs[name] = {**unit.inputs(outputs, command), **self.overrides.get(name, {})}
        nulls = workdir / NULL_VARS_FILE
        nulls.unlink(missing_ok=True)
        if null_inputs(inputs):
            nulls.write_text(json.dumps(null_inputs(inputs), indent=2, sort_keys=True))
        if first or not (workdir / ".terraform").is_dir():
            with self._lock:  # one init at a time: parallel inits race on the shared plugin cache
                self._terraform(name, "init", "-backend=true", "-reconfigure")

    @staticmethod
    def _image_functions(workdir: Path) -> list[str]:
        names = []
        for tf in workdir.glob("*.tf"):
            if tf.name.endswith("_override.tf") or tf.name == "provider.tf":
                continue
            for block in _parse(tf).get("resource", []):
                names.extend(block.get("aws_lambda_function", {}))
        return sorted(set(names))

    def _apply_unit(self, name: str) -> dict[str, Any]:
        if self.shortcuts:
            self._precreate_opensearch_domains(name)
        started = time.monotonic()
        self._terraform(name, "apply", "-auto-approve")
        self.log(f"{name}: applied in {time.monotonic() - started:.0f}s")
        return self.outputs_of(name)

    def _destroy_unit(self, name: str) -> None:
        if self.shortcuts:
            self._delete_opensearch_domains(name)
        started = time.monotonic()
        self._terraform(name, "destroy", "-auto-approve")
        self.log(f"{name}: destroyed in {time.monotonic() - started:.0f}s")

    def _terraform(self, name: str, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        command = ["terraform", *args]
        if args[0] in _INTERACTIVE_COMMANDS:
            command[2:2] = ["-input=false", "-no-color"]
        result = subprocess.run(
            command,
            cwd=self._workdir(name),
            env=terraform_env(input_variables(self._inputs.get(name, {}))),
            capture_output=True,
            text=True,
        )
        if check and result.returncode != 0:
            raise TerragruntError(
                f"{name}: {' '.join(command)} failed ({result.returncode}):\n{result.stderr[-4000:]}"
                f"\n{result.stdout[-4000:]}"
            )
        return result

    # ---- moto quirk: the provider's fixed ten-minute sleeps around OpenSearch domains ----------------------

    def client(self, service: str) -> Any:
        """A boto3 client for the moto endpoint (fake credentials)."""
        import boto3

        return boto3.client(
            service,
            endpoint_url=self.endpoint,
            region_name=self.region,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )

    def _precreate_opensearch_domains(self, name: str) -> None:
        """Creates each planned domain on moto from the plan's values and imports it (skips the provider's
        ten-minute wait after CreateDomain; see the module docstring)."""
        workdir = self._workdir(name)
        if "aws_opensearch_domain" not in "".join(p.read_text() for p in workdir.glob("*.tf")):
            return
        self._terraform(name, "plan", "-out=shortcut.tfplan", "-lock=false")
        plan = json.loads(self._terraform(name, "show", "-json", "shortcut.tfplan").stdout)
        (workdir / "shortcut.tfplan").unlink(missing_ok=True)
        client = self.client("opensearch")
        for change in plan.get("resource_changes", []):
            if change["type"] != "aws_opensearch_domain" or change["change"]["actions"] != ["create"]:
                continue
            after = change["change"]["after"] or {}
            domain = after["domain_name"]
            self.log(f"{name}: pre-creating OpenSearch domain {domain} on moto, then importing it")
            client.create_domain(**create_domain_request(after))
            self._terraform(name, "import", change["address"], domain)

    def _delete_opensearch_domains(self, name: str) -> None:
        """Deletes each domain in the unit's state with boto3 and forgets it (skips the ten-minute wait
        after DeleteDomain)."""
        shown = json.loads(self._terraform(name, "show", "-json").stdout or "{}")
        resources = module_resources(shown.get("values", {}).get("root_module", {}))
        client = self.client("opensearch")
        for resource in resources:
            if resource.get("type") != "aws_opensearch_domain" or resource.get("mode") != "managed":
                continue
            domain = resource["values"]["domain_name"]
            self.log(f"{name}: deleting OpenSearch domain {domain} on moto directly")
            client.delete_domain(DomainName=domain)
            self._terraform(name, "state", "rm", resource["address"])


# --------------------------------------------------------------------------------------------------------
# Module-level API and CLI
# --------------------------------------------------------------------------------------------------------


def apply(
    environment: Environment | str | Path,
    moto_endpoint: str,
    state_dir: str | Path,
    overrides: Mapping[str, Mapping[str, Any]] | None = None,
    **options: Any,
) -> dict[str, dict[str, Any]]:
    """Applies every unit in dependency order; returns {unit: {output: value}}."""
    units = options.pop("units", None)
    return Stack(environment, moto_endpoint, state_dir, overrides, **options).apply(units)


def plan(
    environment: Environment | str | Path,
    moto_endpoint: str,
    state_dir: str | Path,
    overrides: Mapping[str, Mapping[str, Any]] | None = None,
    **options: Any,
) -> dict[str, bool]:
    """Plans every applied unit; {unit: True when terraform would change something}."""
    units = options.pop("units", None)
    return Stack(environment, moto_endpoint, state_dir, overrides, **options).plan(units)


def destroy(
    environment: Environment | str | Path,
    moto_endpoint: str,
    state_dir: str | Path,
    overrides: Mapping[str, Mapping[str, Any]] | None = None,
    **options: Any,
) -> None:
    """Destroys every applied unit, dependents first."""
    units = options.pop("units", None)
    Stack(environment, moto_endpoint, state_dir, overrides, **options).destroy(units)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m books_local.terragrunt", description=__doc__.split("\n")[0]
    )
    parser.add_argument("command", choices=["apply", "plan", "destroy", "order"])
    parser.add_argument("environment", help="environment folder, e.g. live/local")
    parser.add_argument("--endpoint", default="http://127.0.0.1:5000", help="moto server URL")
    parser.add_argument("--state-dir", default=".state/terraform", help="one working dir per unit in here")
    parser.add_argument("--unit", action="append", help="only this unit (repeatable)")
    parser.add_argument(
        "--no-shortcuts", action="store_true", help="take the provider's full OpenSearch path"
    )
    parser.add_argument(
        "--set", action="append", default=[], metavar="UNIT.INPUT=JSON", help="override one input"
    )
    args = parser.parse_args(argv)
    overrides: dict[str, dict[str, Any]] = {}
    for item in args.set:
        target, _, value = item.partition("=")
        unit, _, name = target.partition(".")
        overrides.setdefault(unit, {})[name] = json.loads(value)
    environment = Environment.load(args.environment)
    if args.command == "order":
        print("\n".join(" ".join(wave) for wave in environment.waves()))
        return 0
    stack = Stack(
        environment,
        args.endpoint,
        args.state_dir,
        overrides,
        shortcuts=not args.no_shortcuts,
        log=lambda message: print(message, file=sys.stderr, flush=True),
    )
    if args.command == "apply":
        print(json.dumps(stack.apply(args.unit), indent=2))
    elif args.command == "plan":
        changes = stack.plan(args.unit)
        print(json.dumps(changes, indent=2))
        return 2 if any(changes.values()) else 0
    else:
        stack.destroy(args.unit)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
