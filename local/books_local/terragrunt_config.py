"""Reads Terragrunt configurations: units, their includes, dependencies and inputs, and environments.

Part of ``books_local.terragrunt`` (parse: this module; evaluate: ``terragrunt_eval``; run: ``terragrunt``).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import hcl2

from books_local.terragrunt_eval import Lazy, Scope, TerragruntError, _attr, _plain, _to_string

ROOT_CONFIG = "terragrunt.hcl"
MOCK_COMMANDS = frozenset({"init", "validate", "plan"})


def _blocks(raw: Mapping[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    """Labelled blocks (``include "root" {}``) as {label: body}."""
    found: dict[str, dict[str, Any]] = {}
    for block in raw.get(kind, []):
        found.update(block)
    return found


def _block(raw: Mapping[str, Any], kind: str) -> dict[str, Any]:
    """An unlabelled block (``terraform {}``, ``locals {}``) merged into one body."""
    body: dict[str, Any] = {}
    for block in raw.get(kind, []):
        body.update(block)
    return body


def _parse(path: Path) -> dict[str, Any]:
    try:
        with path.open() as handle:
            return hcl2.load(handle)
    except Exception as exc:  # python-hcl2 raises lark errors of several kinds
        raise TerragruntError(f"{path}: cannot parse: {exc}") from exc


def find_in_parent_folders(start: Path, name: str = ROOT_CONFIG) -> Path:
    """Terragrunt's lookup: the first folder holding ``name``, from the one above unit folder ``start`` up."""
    for folder in [start.parent, *start.parent.parents]:
        if (folder / name).is_file():
            return folder / name
    raise TerragruntError(f"no {name} in any folder above {start}")


class _Context:
    """What Terragrunt's functions see while a unit's configuration (and what it includes) is evaluated."""

    def __init__(self, unit_dir: Path, environ: Mapping[str, str]) -> None:
        self.unit_dir, self.environ = unit_dir, environ
        self.includes: dict[str, Path] = {}

    def functions(self, config_dir: Path) -> dict[str, Callable[..., Any]]:
        def parent_dir(name: str | None = None) -> str:
            if name is not None and name not in self.includes:
                raise TerragruntError(f"get_parent_terragrunt_dir({name!r}): no include named {name!r}")
            if name is None and not self.includes:
                return str(config_dir)  # a file that includes nothing is its own parent
            return str((self.includes[name] if name else next(iter(self.includes.values()))).parent)

        def relative_to_include(name: str | None = None) -> str:
            root = Path(parent_dir(name))
            return os.path.relpath(self.unit_dir, root)

        def get_env(name: str, default: str | None = None) -> str:
            if name in self.environ:
                return self.environ[name]
            if default is None:
                raise TerragruntError(f"get_env({name!r}): the environment variable {name} is not set")
            return default

        def find(name: str = ROOT_CONFIG, *fallback: str) -> str:
            try:
                return str(find_in_parent_folders(self.unit_dir, name))
            except TerragruntError:
                if fallback:
                    return fallback[0]
                raise

        def merge(*maps: Mapping[str, Any]) -> dict[str, Any]:
            merged: dict[str, Any] = {}
            for item in maps:
                merged.update(_plain(item) or {})
            return merged

        return {
            "find_in_parent_folders": find,
            "read_terragrunt_config": lambda path, *default: read_terragrunt_config(
                Path(path) if Path(path).is_absolute() else config_dir / path, self.environ
            ),
            "get_parent_terragrunt_dir": parent_dir,
            "get_terragrunt_dir": lambda: str(self.unit_dir),
            "path_relative_to_include": relative_to_include,
            "get_env": get_env,
            "get_repo_root": lambda: str(Path(parent_dir())),
            "jsonencode": lambda value: json.dumps(_plain(value), separators=(",", ":")),
            "merge": merge,
            "lookup": lambda m, k, *d: _plain(m).get(k, d[0]) if d else _attr(m, k),
            "dirname": lambda p: os.path.dirname(p),
            "basename": lambda p: os.path.basename(p),
            "abspath": lambda p: os.path.abspath(p),
            "lower": str.lower,
            "upper": str.upper,
            "format": lambda fmt, *args: re.sub(r"%[sdv]", "{}", fmt).format(*args),
            "concat": lambda *lists: [item for lst in lists for item in lst],
            "join": lambda sep, items: sep.join(items),
            "split": lambda sep, text: text.split(sep),
            "replace": lambda text, old, new: text.replace(old, new),
            "trimspace": str.strip,
            "length": lambda value: len(_plain(value)),
            "contains": lambda items, item: item in items,
            "keys": lambda m: sorted(_plain(m)),
            "values": lambda m: [v for _, v in sorted(_plain(m).items())],
            "coalesce": lambda *args: next((a for a in args if a not in (None, "")), None),
            "tostring": lambda value: None if value is None else _to_string(value),
            "tonumber": _to_number,
            "tolist": lambda value: list(value),
            "toset": lambda value: sorted(set(value)),
            "tomap": lambda value: dict(_plain(value)),
        }


def _to_number(value: Any) -> int | float | None:
    if value is None:
        return None
    return float(value) if "." in str(value) else int(value)


def read_terragrunt_config(path: Path, environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """``read_terragrunt_config``: a file's locals and inputs, evaluated in that file's own folder."""
    path = Path(path).resolve()
    raw = _parse(path)
    context = _Context(path.parent, os.environ if environ is None else environ)
    names: dict[str, Any] = {}
    scope = Scope(names, context.functions(path.parent))
    names["local"] = Lazy(f"{path}: local", _block(raw, "locals"), scope.evaluate)
    return {
        "locals": _plain(names["local"]),
        "inputs": _plain(scope.evaluate(raw.get("inputs", {}))),
    }


@dataclass(frozen=True)
class Dependency:
    """A ``dependency "<name>"`` block: the unit it points at and its mock outputs."""

    name: str
    unit: str
    config_path: Path
    mock_outputs: dict[str, Any]
    mock_outputs_allowed_terraform_commands: frozenset[str]


@dataclass
class Unit:
    """One ``terragrunt.hcl`` of an environment, evaluated except for its inputs (which need outputs)."""

    name: str
    path: Path
    source: Path  # the module folder Terraform runs in
    source_root: Path  # what Terragrunt copies (the part of the source before "//")
    dependencies: dict[str, Dependency]
    raw_inputs: dict[str, Any]
    root_inputs: dict[str, Any]
    root_locals: dict[str, Any]
    _scope: Scope = field(repr=False)
    _dependency_names: dict[str, Any] = field(repr=False)

    def inputs(self, outputs: Mapping[str, Mapping[str, Any]] | None = None, command: str = "apply") -> dict:
        """The unit's inputs (root inputs merged under its own) with ``dependency.*.outputs`` taken from
        ``outputs[<unit>]`` when given, else from the mocks when ``command`` is one they allow."""
        outputs = outputs or {}
        for name, dependency in self.dependencies.items():
            if outputs.get(dependency.unit):
                values = dict(outputs[dependency.unit])
            elif command in dependency.mock_outputs_allowed_terraform_commands or command == "destroy":
                # destroy too: a dependency destroyed earlier has no outputs left, and the inputs only
                # have to be valid for Terraform to delete what the state holds
                values = dependency.mock_outputs
            else:
                raise TerragruntError(
                    f"{self.path}: dependency {name!r} ({dependency.unit}) has no outputs and its mocks are "
                    f"not allowed for {command!r} "
                    f"(allowed: {sorted(dependency.mock_outputs_allowed_terraform_commands)})"
                )
            self._dependency_names[name] = {"outputs": values}
        return {**self.root_inputs, **_plain(self._scope.evaluate(self.raw_inputs))}

    def referenced_outputs(self) -> set[tuple[str, str]]:
        """Every ``dependency.<name>.outputs.<output>`` the unit's configuration mentions."""
        text = self.path.read_text()
        return set(re.findall(r"dependency\.([A-Za-z0-9_-]+)\.outputs\.([A-Za-z0-9_-]+)", text))


def load_unit(path: Path, environ: Mapping[str, str] | None = None) -> Unit:
    """Evaluates one unit's ``terragrunt.hcl`` (``path`` is the file or its folder)."""
    path = Path(path).resolve()
    if path.is_dir():
        path = path / ROOT_CONFIG
    raw = _parse(path)
    context = _Context(path.parent, os.environ if environ is None else environ)
    names: dict[str, Any] = {}
    scope = Scope(names, context.functions(path.parent))

    include_names: dict[str, Any] = {}
    root_inputs: dict[str, Any] = {}
    root_locals: dict[str, Any] = {}
    for label, body in _blocks(raw, "include").items():
        include_path = Path(scope.evaluate(body["path"])).resolve()
        context.includes[label] = include_path
        included = _parse(include_path)
        # Functions in an included file run as if written in the unit (Terragrunt's rule), so the root's
        # find_in_parent_folders("env.hcl") finds the unit's environment file.
        inc_names: dict[str, Any] = {}
        inc_scope = Scope(inc_names, context.functions(path.parent))
        inc_names["local"] = Lazy(f"{include_path}: local", _block(included, "locals"), inc_scope.evaluate)
        root_locals = _plain(inc_names["local"])
        root_inputs.update(_plain(inc_scope.evaluate(included.get("inputs", {}))))
        if body.get("expose"):
            include_names[label] = {"locals": root_locals, "inputs": root_inputs}
    names["include"] = include_names
    names["local"] = Lazy(f"{path}: local", _block(raw, "locals"), scope.evaluate)

    source_text = scope.evaluate(_block(raw, "terraform").get("source", str(path.parent)))
    root_part, _, sub_part = str(source_text).partition("//")
    source_root = (path.parent / root_part).resolve()
    source = (source_root / sub_part).resolve() if sub_part else source_root

    dependency_names: dict[str, Any] = {}
    names["dependency"] = dependency_names
    dependencies: dict[str, Dependency] = {}
    for label, body in _blocks(raw, "dependency").items():
        config_path = (path.parent / scope.evaluate(body["config_path"])).resolve()
        dependencies[label] = Dependency(
            name=label,
            unit=config_path.name,
            config_path=config_path,
            mock_outputs=_plain(scope.evaluate(body.get("mock_outputs", {}))),
            mock_outputs_allowed_terraform_commands=frozenset(
                scope.evaluate(body.get("mock_outputs_allowed_terraform_commands", []))
            ),
        )
    return Unit(
        name=path.parent.name,
        path=path,
        source=source,
        source_root=source_root,
        dependencies=dependencies,
        raw_inputs=raw.get("inputs", {}),
        root_inputs=root_inputs,
        root_locals=root_locals,
        _scope=scope,
        _dependency_names=dependency_names,
    )


@dataclass
class Environment:
    """An environment folder (``live/<env>``): its ``env.hcl`` locals and its units by name."""

    path: Path
    locals: dict[str, Any]
    units: dict[str, Unit]

    @classmethod
    def load(cls, path: str | Path, environ: Mapping[str, str] | None = None) -> Environment:
        path = Path(path).resolve()
        files = sorted(p for p in path.glob(f"*/{ROOT_CONFIG}") if ".terragrunt-cache" not in p.parts)
        if not files:
            raise TerragruntError(f"{path}: no units (*/{ROOT_CONFIG})")
        units = {file.parent.name: load_unit(file, environ) for file in files}
        env_file = path / "env.hcl"
        env_locals = read_terragrunt_config(env_file, environ)["locals"] if env_file.is_file() else {}
        for unit in units.values():
            for dependency in unit.dependencies.values():
                if (
                    dependency.unit not in units
                    or dependency.config_path != units[dependency.unit].path.parent
                ):
                    raise TerragruntError(
                        f"{unit.path}: dependency {dependency.name!r} points at {dependency.config_path}, "
                        f"which is not a unit of {path}"
                    )
        return cls(path, env_locals, units)

    def graph(self) -> dict[str, set[str]]:
        """{unit: the units it depends on}."""
        return {name: {d.unit for d in unit.dependencies.values()} for name, unit in self.units.items()}

    def waves(self) -> list[list[str]]:
        """Units grouped so each group depends only on earlier groups (run-all's order); raises on a cycle."""
        remaining = self.graph()
        done: set[str] = set()
        waves: list[list[str]] = []
        while remaining:
            ready = sorted(name for name, deps in remaining.items() if deps <= done)
            if not ready:
                raise TerragruntError(f"{self.path}: dependency cycle among {sorted(remaining)}")
            waves.append(ready)
            done.update(ready)
            for name in ready:
                del remaining[name]
        return waves

    def units_in_order(self) -> list[Unit]:
        return [self.units[name] for wave in self.waves() for name in wave]


# --------------------------------------------------------------------------------------------------------
# Module interfaces (what a unit may pass and read)
# --------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ModuleInterface:
    """A module's declared variables (name -> required) and output names."""

    variables: dict[str, bool]
    outputs: frozenset[str]

    @classmethod
    def load(cls, module: Path) -> ModuleInterface:
        variables: dict[str, bool] = {}
        outputs: set[str] = set()
        for tf in sorted(Path(module).glob("*.tf")):
            raw = _parse(tf)
            for name, body in _blocks(raw, "variable").items():
                variables[name] = "default" not in body
            outputs.update(_blocks(raw, "output"))
        return cls(variables, frozenset(outputs))
