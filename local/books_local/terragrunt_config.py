"""Reads Terragrunt configurations: units, their includes, dependencies and inputs, and environments.

Part of ``books_local.terragrunt`` (parse: this module; evaluate: ``terragrunt_eval``; run: ``terragrunt``).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import textwrap
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

        def run_cmd(*arguments: str) -> str:
            """Terragrunt's run_cmd: the command's stdout, run in the configuration's folder (the
            ``--terragrunt-quiet`` flag only keeps Terragrunt from echoing it)."""
            command = [a for a in arguments if a != "--terragrunt-quiet"]
            result = subprocess.run(command, cwd=config_dir, capture_output=True, text=True, check=False)
            if result.returncode != 0:
                raise TerragruntError(
                    f"run_cmd{tuple(command)} failed ({result.returncode}): {result.stderr}"
                )
            return result.stdout

        return {
            "run_cmd": run_cmd,
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


MERGE_STRATEGIES = frozenset({"no_merge", "shallow", "deep"})
GENERATED_HEADER = "# Generated by Terragrunt (here: books_local.terragrunt, from generate blocks)."


def _hcl_literal(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float | str):
        return json.dumps(value)
    raise TerragruntError(f"remote_state config value {value!r} is not a string, number or bool")


def deep_merge(parent: Any, child: Any) -> Any:
    """Terragrunt's ``merge_strategy = "deep"``: maps merge recursively, lists concatenate, and for anything
    else the child wins (docs.gruntwork.io, "Even DRYer configuration: Deep merge")."""
    if isinstance(parent, Mapping) and isinstance(child, Mapping):
        merged = dict(parent)
        for key, value in child.items():
            merged[key] = deep_merge(parent[key], value) if key in parent else value
        return merged
    if isinstance(parent, list) and isinstance(child, list):
        return [*parent, *child]
    return child


def _merge(strategy: str, parent: Mapping[str, Any], child: Mapping[str, Any]) -> dict[str, Any]:
    if strategy == "deep":
        return deep_merge(dict(parent), dict(child))
    if strategy == "shallow":
        return {**parent, **child}
    return dict(child)  # no_merge


@dataclass
class _Layer:
    """One configuration file of a unit (an included file, or the unit's own last), evaluated lazily."""

    path: Path
    raw: dict[str, Any]
    scope: Scope
    strategy: str  # how it merges into the unit: its include block's merge_strategy ("shallow" for the unit)


@dataclass
class Unit:
    """One ``terragrunt.hcl`` of an environment, evaluated except for its inputs (which need outputs)."""

    name: str
    path: Path
    source: Path  # the module folder Terraform runs in
    source_root: Path  # what Terragrunt copies (the part of the source before "//")
    dependencies: dict[str, Dependency]
    root_locals: dict[str, Any]
    layers: list[_Layer] = field(repr=False)
    _dependency_names: dict[str, Any] = field(repr=False)

    def inputs(self, outputs: Mapping[str, Mapping[str, Any]] | None = None, command: str = "apply") -> dict:
        """The unit's inputs (each include's merged under the unit's own, by its ``merge_strategy``) with
        ``dependency.*.outputs`` taken from ``outputs[<unit>]`` when the dependency has outputs, else from
        the mocks when ``command`` is one of ``mock_outputs_allowed_terraform_commands``, as Terragrunt does
        ("mock_outputs ... will be used only if the dependency has no outputs" and the command is allowed:
        Terragrunt's ``dependency`` block reference). ``destroy`` is no exception: a ``run --all destroy``
        after a failed first apply meets dependencies that never produced outputs, and only a unit whose
        mocks allow ``destroy`` gets past them."""
        outputs = outputs or {}
        for name, dependency in self.dependencies.items():
            if outputs.get(dependency.unit):
                values = dict(outputs[dependency.unit])
            elif command in dependency.mock_outputs_allowed_terraform_commands:
                values = dependency.mock_outputs
            else:
                raise TerragruntError(
                    f"{self.path}: dependency {name!r} ({dependency.unit}) has no outputs and its mocks are "
                    f"not allowed for {command!r} "
                    f"(allowed: {sorted(dependency.mock_outputs_allowed_terraform_commands)})"
                )
            self._dependency_names[name] = {"outputs": values}
        merged: dict[str, Any] = {}
        for layer in self.layers:
            own = _plain(layer.scope.evaluate(layer.raw.get("inputs", {})))
            merged = _merge(layer.strategy, merged, own)
        return merged

    @property
    def prevent_destroy(self) -> bool:
        """Terragrunt's ``prevent_destroy`` attribute (the last file that sets it wins): ``destroy`` refuses
        the unit ("prevent_destroy", Terragrunt's configuration reference)."""
        value = False
        for layer in self.layers:
            if "prevent_destroy" in layer.raw:
                value = bool(layer.scope.evaluate(layer.raw["prevent_destroy"]))
        return value

    def remote_state(self) -> dict[str, Any]:
        """The ``remote_state`` block (the last file that has one wins): {"backend", "config", "generate"}."""
        found: dict[str, Any] = {}
        for layer in self.layers:
            block = _block(layer.raw, "remote_state")
            if block:
                found = {key: _plain(layer.scope.evaluate(value)) for key, value in block.items()}
        return found

    def generated_files(self) -> dict[str, str]:
        """What Terragrunt writes into the working directory before running Terraform: each ``generate``
        block's file (a unit's block replaces an included one of the same label) and ``remote_state``'s
        backend file when it has ``generate``. {file name: contents}."""
        blocks: dict[str, dict[str, Any]] = {}
        for layer in self.layers:
            for label, body in _blocks(layer.raw, "generate").items():
                blocks[label] = {key: layer.scope.evaluate(value) for key, value in body.items()}
        files = {
            str(body["path"]): f"{GENERATED_HEADER}\n{textwrap.dedent(str(body['contents'])).strip()}\n"
            for body in blocks.values()
        }
        state = self.remote_state()
        if state.get("generate"):
            config = "\n".join(f"    {key} = {_hcl_literal(value)}" for key, value in state["config"].items())
            backend = f'terraform {{\n  backend "{state["backend"]}" {{\n{config}\n  }}\n}}\n'
            files[str(state["generate"]["path"])] = f"{GENERATED_HEADER}\n{backend}"
        return files

    def referenced_outputs(self) -> set[tuple[str, str]]:
        """Every ``dependency.<name>.outputs.<output>`` the unit's files (its own, its includes) mention."""
        text = "\n".join(layer.path.read_text() for layer in self.layers)
        return set(re.findall(r"dependency\.([A-Za-z0-9_-]+)\.outputs\.([A-Za-z0-9_-]+)", text))


def _dependencies(layer: _Layer, unit_dir: Path) -> dict[str, Dependency]:
    found: dict[str, Dependency] = {}
    for label, body in _blocks(layer.raw, "dependency").items():
        config_path = (unit_dir / layer.scope.evaluate(body["config_path"])).resolve()
        found[label] = Dependency(
            name=label,
            unit=config_path.name,
            config_path=config_path,
            mock_outputs=_plain(layer.scope.evaluate(body.get("mock_outputs", {}))),
            mock_outputs_allowed_terraform_commands=frozenset(
                layer.scope.evaluate(body.get("mock_outputs_allowed_terraform_commands", []))
            ),
        )
    return found


def load_unit(path: Path, environ: Mapping[str, str] | None = None) -> Unit:
    """Evaluates one unit's ``terragrunt.hcl`` (``path`` is the file or its folder) with its ``include``
    blocks: any number, each with a label, ``expose`` and ``merge_strategy`` (``no_merge``, ``shallow`` (the
    default), ``deep``). Included files contribute ``inputs``, ``dependency`` blocks and ``terraform.source``;
    their ``locals`` stay their own (reachable as ``include.<label>.locals`` when exposed)."""
    path = Path(path).resolve()
    if path.is_dir():
        path = path / ROOT_CONFIG
    raw = _parse(path)
    context = _Context(path.parent, os.environ if environ is None else environ)
    dependency_names: dict[str, Any] = {}
    include_names: dict[str, Any] = {}
    names: dict[str, Any] = {"include": include_names, "dependency": dependency_names}
    scope = Scope(names, context.functions(path.parent))

    layers: list[_Layer] = []
    root_locals: dict[str, Any] = {}
    for label, body in _blocks(raw, "include").items():
        include_path = Path(scope.evaluate(body["path"])).resolve()
        strategy = scope.evaluate(body.get("merge_strategy", "shallow"))
        if strategy not in MERGE_STRATEGIES:
            raise TerragruntError(
                f"{path}: include {label!r}: merge_strategy {strategy!r} is not one of "
                f"{sorted(MERGE_STRATEGIES)}"
            )
        context.includes[label] = include_path
        included = _parse(include_path)
        if "include" in included:
            raise TerragruntError(f"{include_path}: an included file may not include others here")
        # Functions in an included file run as if written in the unit (Terragrunt's rule), so the root's
        # find_in_parent_folders("env.hcl") finds the unit's environment file.
        inc_names: dict[str, Any] = {"dependency": dependency_names}
        inc_scope = Scope(inc_names, context.functions(path.parent))
        inc_locals = Lazy(f"{include_path}: local", _block(included, "locals"), inc_scope.evaluate)
        inc_names["local"] = inc_locals
        layer = _Layer(include_path, included, inc_scope, strategy)
        layers.append(layer)
        if label == "root" or not root_locals:
            root_locals = _plain(inc_locals)
        if scope.evaluate(body.get("expose", False)):
            include_names[label] = Lazy(
                f"include.{label}",
                {
                    "locals": lambda locals_=inc_locals: locals_,
                    "inputs": lambda layer=layer: _plain(layer.scope.evaluate(layer.raw.get("inputs", {}))),
                },
                lambda thunk: thunk(),
            )
    names["local"] = Lazy(f"{path}: local", _block(raw, "locals"), scope.evaluate)
    own = _Layer(
        path, raw, scope, next((x.strategy for x in reversed(layers) if x.strategy != "no_merge"), "shallow")
    )

    merging = [layer for layer in layers if layer.strategy != "no_merge"]
    dependencies: dict[str, Dependency] = {}
    source_text: Any = str(path.parent)
    for layer in [*merging, own]:
        dependencies.update(_dependencies(layer, path.parent))
        source_text = layer.scope.evaluate(_block(layer.raw, "terraform").get("source", source_text))
    root_part, _, sub_part = str(source_text).partition("//")
    source_root = (path.parent / root_part).resolve()
    source = (source_root / sub_part).resolve() if sub_part else source_root
    return Unit(
        name=path.parent.name,
        path=path,
        source=source,
        source_root=source_root,
        dependencies=dependencies,
        root_locals=root_locals,
        layers=[*merging, own],
        _dependency_names=dependency_names,
    )


@dataclass
class Environment:
    """An environment folder (``live/<env>``): its ``env.hcl`` locals and its units by name."""

    path: Path
    locals: dict[str, Any]
    units: dict[str, Unit]
    environ: dict[str, str] = field(default_factory=dict, repr=False)  # what get_env() read

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
        return cls(path, env_locals, units, dict(os.environ if environ is None else environ))

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

    def kept_by_destroy(self, selected: set[str]) -> dict[str, str]:
        """{unit: why} for the selected units a destroy must leave: those with ``prevent_destroy``, and what
        they depend on (a kept unit still reads its dependencies' outputs)."""
        kept: dict[str, str] = {}
        for name in sorted(selected):
            if self.units[name].prevent_destroy:
                kept[name] = "prevent_destroy = true"
        todo = list(kept)
        while todo:
            for dependency in sorted(self.graph()[todo.pop()]):
                if dependency in selected and dependency not in kept:
                    kept[dependency] = "a unit with prevent_destroy depends on it"
                    todo.append(dependency)
        return kept

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
