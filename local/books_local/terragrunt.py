"""Terragrunt's job for one environment folder, with plain ``terraform``, against a moto server.

Terragrunt cannot be installed here, so this reads an environment's units (``live/<env>/*/terragrunt.hcl``)
with python-hcl2, evaluates as much of Terragrunt's language as this repository's own configurations use
(``include`` with ``expose``, ``locals``, ``read_terragrunt_config``, ``find_in_parent_folders``,
``get_parent_terragrunt_dir``, ``path_relative_to_include``, ``get_env``, ``dependency`` outputs and mocks,
``terraform.source`` with ``//``), sorts the units by their dependencies and runs ``terraform
apply``/``plan``/``destroy`` in each, feeding real outputs into dependents' inputs as Terragrunt would.

Each unit gets its own working directory under ``state_dir/<unit>``: a copy of its module source, a generated
``provider.tf`` aimed at the moto endpoint (fake keys, ``skip_*`` flags, one endpoint per service), a local
backend, and its inputs as ``terraform.tfvars.json``.

Emulator quirks are handled here, never in the modules (each is also noted where it is handled):

* The AWS provider sleeps a fixed ten minutes after creating and after deleting an OpenSearch domain (a
  ``timeouts`` block does not shorten it). With ``shortcuts=True`` (the default) a planned domain is first
  created on moto with boto3 from the plan's values and then ``terraform import``-ed, so ``apply`` only
  updates it; ``destroy`` deletes it with boto3 and drops it from the state first.
* moto reports an empty ``image_config`` for image functions that Terraform never set, which shows as a diff
  on every plan: a generated ``moto_override.tf`` ignores ``image_config`` on ``aws_lambda_function``
  resources (a Terraform override file, so the module itself is unchanged for AWS).
* moto answers 500 to every write on a table once an event source mapping targets an image function: that
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
import re
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import hcl2

ROOT_CONFIG = "terragrunt.hcl"
MOCK_COMMANDS = frozenset({"init", "validate", "plan"})
EMULATED_SERVICES = (
    "apigateway",
    "cloudwatch",
    "dynamodb",
    "ec2",
    "ecr",
    "iam",
    "kms",
    "lambda",
    "logs",
    "opensearch",
    "s3",
    "sns",
    "sqs",
    "sts",
)
Log = Callable[[str], None]
_INTERACTIVE_COMMANDS = frozenset({"init", "plan", "apply", "destroy", "import"})


class TerragruntError(ValueError):
    """A configuration this module cannot evaluate, or a unit whose terraform command failed."""


# --------------------------------------------------------------------------------------------------------
# Expressions: a small HCL expression evaluator (literals, templates, traversals, calls, operators).
# python-hcl2 hands every expression over as a "${...}" string; these are evaluated lazily (thunks), so a
# conditional or try() only evaluates the branch it needs, as HCL does.
# --------------------------------------------------------------------------------------------------------

Thunk = Callable[[], Any]
_TOKEN = re.compile(
    r"\s*(?:(?P<number>\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)|(?P<ident>[A-Za-z_][A-Za-z0-9_-]*)"
    r"|(?P<op>==|!=|<=|>=|&&|\|\||=>|\.\.\.|[-+*/%<>!?:.,()\[\]{}=])|(?P<quote>\"))"
)


class Lazy:
    """A map whose values are evaluated on first access (``local``), with cycle detection."""

    def __init__(self, name: str, raw: Mapping[str, Any], evaluate: Callable[[Any], Any]) -> None:
        self._name, self._raw, self._evaluate = name, dict(raw), evaluate
        self._done: dict[str, Any] = {}
        self._busy: set[str] = set()

    def get(self, key: str) -> Any:
        if key in self._done:
            return self._done[key]
        if key not in self._raw:
            raise TerragruntError(
                f"{self._name}.{key} is not defined (defined: {', '.join(sorted(self._raw))})"
            )
        if key in self._busy:
            raise TerragruntError(f"{self._name}.{key} refers to itself")
        self._busy.add(key)
        try:
            value = self._done[key] = self._evaluate(self._raw[key])
        finally:
            self._busy.discard(key)
        return value

    def resolve(self) -> dict[str, Any]:
        return {key: self.get(key) for key in self._raw}


def _attr(value: Any, name: str | int) -> Any:
    if isinstance(value, Lazy):
        return value.get(str(name))
    if isinstance(value, Mapping):
        if name not in value:
            raise TerragruntError(f"no attribute {name!r} (has: {', '.join(sorted(map(str, value)))})")
        return value[name]
    if isinstance(value, list | tuple) and isinstance(name, int | float):
        return value[int(name)]
    raise TerragruntError(f"cannot read {name!r} of {type(value).__name__}")


def _plain(value: Any) -> Any:
    """Resolves every Lazy inside a value (for jsonencode, outputs, inputs)."""
    if isinstance(value, Lazy):
        return {k: _plain(v) for k, v in value.resolve().items()}
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def _scan_string(src: str, start: int) -> tuple[str, int]:
    """Returns the raw body of the string literal opening at ``src[start] == '"'`` and the index after it."""
    i, depth = start + 1, 0
    while i < len(src):
        ch = src[i]
        if ch == "\\":
            i += 2
            continue
        if depth == 0 and ch == '"':
            return src[start + 1 : i], i + 1
        if src.startswith("${", i) or src.startswith("%{", i):
            depth += 1
            i += 2
            continue
        if depth and ch == "{":
            depth += 1
        elif depth and ch == "}":
            depth -= 1
        elif depth and ch == '"':
            _, i = _scan_string(src, i)
            continue
        i += 1
    raise TerragruntError(f"unterminated string in {src!r}")


def _matching_brace(src: str, start: int) -> int:
    """Index of the '}' closing the interpolation whose body starts at ``start``."""
    i, depth = start, 1
    while i < len(src):
        ch = src[i]
        if ch == '"':
            _, i = _scan_string(src, i)
            continue
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
            if depth == 0:
                return i
        i += 1
    raise TerragruntError(f"unterminated interpolation in {src!r}")


_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", '"': '"', "\\": "\\"}


class Scope:
    """Names (``local``, ``include``, ``dependency``) and functions an expression may use."""

    def __init__(self, names: Mapping[str, Any], functions: Mapping[str, Callable[..., Any]]) -> None:
        self.names, self.functions = names, functions

    def evaluate(self, value: Any) -> Any:
        """Evaluates a python-hcl2 value: strings are templates, containers are walked."""
        if isinstance(value, str):
            return self.template(value)
        if isinstance(value, Mapping):
            return {k: self.evaluate(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.evaluate(v) for v in value]
        return value

    def template(self, text: str, escaped: bool = False) -> Any:
        parts: list[Any] = []
        i = 0
        literal = []
        while i < len(text):
            if text.startswith("$${", i):
                literal.append("${")
                i += 3
            elif text.startswith("${", i):
                end = _matching_brace(text, i + 2)
                if literal:
                    parts.append("".join(literal))
                    literal = []
                parts.append(self.expression(text[i + 2 : end].strip("~ \n")))
                i = end + 1
            elif escaped and text[i] == "\\" and i + 1 < len(text):
                literal.append(_ESCAPES.get(text[i + 1], text[i + 1]))
                i += 2
            else:
                literal.append(text[i])
                i += 1
        if literal:
            parts.append("".join(literal))
        if len(parts) == 1 and not isinstance(parts[0], str):
            return parts[0]  # "${x}" alone keeps x's type, as in HCL
        return "".join(_to_string(p) for p in parts)

    def expression(self, src: str) -> Any:
        return _Parser(src, self).parse()()


def _to_string(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, int | float | str):
        return str(value)
    raise TerragruntError(f"cannot interpolate a {type(value).__name__} into a string")


class _Parser:
    _BINARY: tuple[tuple[str, ...], ...] = (
        ("||",),
        ("&&",),
        ("==", "!="),
        ("<", ">", "<=", ">="),
        ("+", "-"),
        ("*", "/", "%"),
    )

    def __init__(self, src: str, scope: Scope) -> None:
        self.src, self.scope, self.pos = src, scope, 0
        self.tokens: list[tuple[str, Any]] = []
        self._tokenize()
        self.index = 0

    def _tokenize(self) -> None:
        pos = 0
        while pos < len(self.src):
            if self.src[pos:].strip() == "":
                break
            match = _TOKEN.match(self.src, pos)
            if not match:
                raise TerragruntError(f"cannot read {self.src[pos:]!r} in expression {self.src!r}")
            if match.group("quote"):
                body, pos = _scan_string(self.src, match.end() - 1)
                self.tokens.append(("string", body))
                continue
            kind = next(k for k in ("number", "ident", "op") if match.group(k) is not None)
            self.tokens.append((kind, match.group(kind)))
            pos = match.end()
        self.tokens.append(("end", None))

    def peek(self) -> tuple[str, Any]:
        return self.tokens[self.index]

    def take(self, expected: str | None = None) -> tuple[str, Any]:
        token = self.tokens[self.index]
        if expected is not None and token[1] != expected:
            raise TerragruntError(f"expected {expected!r}, found {token[1]!r} in {self.src!r}")
        self.index += 1
        return token

    def parse(self) -> Thunk:
        thunk = self.ternary()
        if self.peek()[0] != "end":
            raise TerragruntError(f"unexpected {self.peek()[1]!r} in {self.src!r}")
        return thunk

    def ternary(self) -> Thunk:
        condition = self.binary(0)
        if self.peek()[1] != "?":
            return condition
        self.take("?")
        yes = self.ternary()
        self.take(":")
        no = self.ternary()
        return lambda: yes() if condition() else no()

    def binary(self, level: int) -> Thunk:
        if level == len(self._BINARY):
            return self.unary()
        left = self.binary(level + 1)
        while self.peek()[0] == "op" and self.peek()[1] in self._BINARY[level]:
            op = self.take()[1]
            right = self.binary(level + 1)
            left = self._combine(op, left, right)
        return left

    @staticmethod
    def _combine(op: str, left: Thunk, right: Thunk) -> Thunk:
        operations: dict[str, Callable[[], Any]] = {
            "||": lambda: left() or right(),
            "&&": lambda: left() and right(),
            "==": lambda: left() == right(),
            "!=": lambda: left() != right(),
            "<": lambda: left() < right(),
            ">": lambda: left() > right(),
            "<=": lambda: left() <= right(),
            ">=": lambda: left() >= right(),
            "+": lambda: left() + right(),
            "-": lambda: left() - right(),
            "*": lambda: left() * right(),
            "/": lambda: left() / right(),
            "%": lambda: left() % right(),
        }
        return operations[op]

    def unary(self) -> Thunk:
        if self.peek()[1] == "!":
            self.take()
            operand = self.unary()
            return lambda: not operand()
        if self.peek()[1] == "-":
            self.take()
            operand = self.unary()
            return lambda: -operand()
        return self.postfix(self.primary())

    def postfix(self, thunk: Thunk) -> Thunk:
        while True:
            token = self.peek()
            if token[1] == ".":
                self.take()
                kind, name = self.take()
                key: Any = int(name) if kind == "number" else name
                thunk = (lambda base, k: lambda: _attr(base(), k))(thunk, key)
            elif token[1] == "[":
                self.take()
                index = self.ternary()
                self.take("]")
                thunk = (lambda base, i: lambda: _attr(base(), i()))(thunk, index)
            else:
                return thunk

    def primary(self) -> Thunk:
        kind, value = self.take()
        if kind == "number":
            number = float(value) if any(c in value for c in ".eE") else int(value)
            return lambda: number
        if kind == "string":
            return lambda: self.scope.template(value, escaped=True)
        if kind == "ident":
            if value in ("true", "false", "null"):
                constant = {"true": True, "false": False, "null": None}[value]
                return lambda: constant
            if self.peek()[1] == "(":
                return self.call(value)
            name = value
            return lambda: self._name(name)
        if value == "(":
            inner = self.ternary()
            self.take(")")
            return inner
        if value == "[":
            return self.sequence()
        if value == "{":
            return self.mapping()
        raise TerragruntError(f"unexpected {value!r} in {self.src!r}")

    def _name(self, name: str) -> Any:
        if name not in self.scope.names:
            raise TerragruntError(f"unknown name {name!r} in {self.src!r}")
        return self.scope.names[name]

    def call(self, name: str) -> Thunk:
        self.take("(")
        args: list[Thunk] = []
        while self.peek()[1] != ")":
            args.append(self.ternary())
            if self.peek()[1] == ",":
                self.take(",")
        self.take(")")
        if name in ("try", "can"):
            return self._guarded(name, args)
        function = self.scope.functions.get(name)
        if function is None:
            raise TerragruntError(f"function {name}() is not supported here (in {self.src!r})")
        return lambda: function(*(arg() for arg in args))

    @staticmethod
    def _guarded(name: str, args: list[Thunk]) -> Thunk:
        def run() -> Any:
            for arg in args:
                try:
                    value = _plain(arg())
                except (TerragruntError, KeyError, IndexError, TypeError, ValueError):
                    continue
                return True if name == "can" else value
            if name == "can":
                return False
            raise TerragruntError("try(): no argument could be evaluated")

        return run

    def sequence(self) -> Thunk:
        items: list[Thunk] = []
        while self.peek()[1] != "]":
            items.append(self.ternary())
            if self.peek()[1] == ",":
                self.take(",")
        self.take("]")
        return lambda: [item() for item in items]

    def mapping(self) -> Thunk:
        entries: list[tuple[Thunk, Thunk]] = []
        while self.peek()[1] != "}":
            kind, key = self.peek()
            if kind == "ident" and self.tokens[self.index + 1][1] in ("=", ":"):
                self.take()
                key_thunk: Thunk = (lambda k: lambda: k)(key)
            else:
                key_thunk = self.ternary()
            self.take()  # "=" or ":"
            entries.append((key_thunk, self.ternary()))
            if self.peek()[1] == ",":
                self.take(",")
        self.take("}")
        return lambda: {k(): v() for k, v in entries}


# --------------------------------------------------------------------------------------------------------
# Terragrunt configurations
# --------------------------------------------------------------------------------------------------------


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


# --------------------------------------------------------------------------------------------------------
# Running terraform against moto
# --------------------------------------------------------------------------------------------------------


def _repo_root() -> Path:
    return Path(__file__).resolve().parents[2]


def cli_config(mirror: str | Path | None = None) -> Path | None:
    """The Terraform CLI config pointing at the provider mirror (what ``make terraform-config`` writes), made
    when missing; None when there is no mirror (Terraform then installs from the registry)."""
    mirror = Path(mirror or os.environ.get("TF_PROVIDER_MIRROR") or "/opt/tf-plugins")
    rc = _repo_root() / ".cache" / "terraform.rc"
    if rc.is_file():
        return rc
    if not mirror.is_dir():
        return None
    rc.parent.mkdir(parents=True, exist_ok=True)
    rc.write_text(
        "provider_installation {\n"
        f'  filesystem_mirror {{\n    path    = "{mirror}"\n'
        '    include = ["registry.terraform.io/hashicorp/aws"]\n  }\n'
        '  direct {\n    exclude = ["registry.terraform.io/hashicorp/aws"]\n  }\n}\n'
    )
    return rc


def terraform_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """Environment for terraform: the provider mirror config when present, fake credentials, no prompts."""
    env = dict(os.environ)
    if not Path(env.get("TF_CLI_CONFIG_FILE", "/nonexistent")).is_file():
        rc = cli_config()
        if rc is None:
            env.pop("TF_CLI_CONFIG_FILE", None)
        else:
            env["TF_CLI_CONFIG_FILE"] = str(rc)
    env.setdefault("TF_PLUGIN_CACHE_DIR", str(_repo_root() / ".cache" / "terraform-plugins"))
    Path(env["TF_PLUGIN_CACHE_DIR"]).mkdir(parents=True, exist_ok=True)
    env.update(
        {
            "TF_IN_AUTOMATION": "1",
            "TF_INPUT": "0",
            "CHECKPOINT_DISABLE": "1",
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_EC2_METADATA_DISABLED": "true",
        }
    )
    env.pop("AWS_PROFILE", None)
    env.pop("AWS_SESSION_TOKEN", None)
    env.update(extra or {})
    return env


def provider_config(
    region: str, endpoint: str, default_tags: Mapping[str, Any], state_path: str = "terraform.tfstate"
) -> str:
    """provider.tf for moto: the root terragrunt.hcl's provider aimed at ``endpoint``, and a local backend."""
    endpoints = "\n".join(f'    {service} = "{endpoint}"' for service in EMULATED_SERVICES)
    return f"""# Generated by books_local.terragrunt: the root terragrunt.hcl's provider, aimed at moto.
provider "aws" {{
  region                      = "{region}"
  access_key                  = "testing"
  secret_key                  = "testing"
  skip_credentials_validation = true
  skip_requesting_account_id  = true
  skip_metadata_api_check     = true
  skip_region_validation      = true

  endpoints {{
{endpoints}
  }}

  default_tags {{
    tags = {json.dumps(default_tags)}
  }}
}}

terraform {{
  backend "local" {{
    path = {json.dumps(state_path)}
  }}
}}
"""


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
        self.environment = (
            environment if isinstance(environment, Environment) else Environment.load(environment)
        )
        self.endpoint = endpoint.rstrip("/")
        self.state_dir = Path(state_dir).resolve()
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
        return (self._unitdir(name) / "terraform.tfstate").is_file()

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
        outputs: dict[str, dict[str, Any]] = {}
        for unit in self.environment.units_in_order():
            if self._workdir(unit.name).is_dir():
                outputs[unit.name] = self.outputs_of(unit.name)
        for wave in reversed(self.environment.waves()):
            todo = [name for name in wave if name in selected and self._workdir(name).is_dir()]
            for name in todo:
                self._prepare(name, outputs, command="destroy")
            with ThreadPoolExecutor(max_workers=max(1, len(todo))) as pool:
                list(pool.map(self._destroy_unit, todo))

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
        # backend path is relative to the work dir: keep state next to the copy, outside the source tree
        backend_state = os.path.relpath(self._unitdir(name) / "terraform.tfstate", workdir)
        default_tags = dict(unit.root_locals.get("default_tags", {}))
        provider = provider_config(self.region, self.endpoint, default_tags, backend_state)
        (workdir / "provider.tf").write_text(provider)
        for function in self._image_functions(workdir):
            (workdir / f"moto_{function}_override.tf").write_text(
                _IMAGE_CONFIG_OVERRIDE.format(name=function)
            )
        inputs = {**unit.inputs(outputs, command), **self.overrides.get(name, {})}
        (workdir / "terraform.tfvars.json").write_text(json.dumps(inputs, indent=2, sort_keys=True))
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
            command, cwd=self._workdir(name), env=terraform_env(), capture_output=True, text=True
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
            client.create_domain(**_create_domain_request(after))
            self._terraform(name, "import", change["address"], domain)

    def _delete_opensearch_domains(self, name: str) -> None:
        """Deletes each domain in the unit's state with boto3 and forgets it (skips the ten-minute wait
        after DeleteDomain)."""
        shown = json.loads(self._terraform(name, "show", "-json").stdout or "{}")
        resources = _state_resources(shown.get("values", {}).get("root_module", {}))
        client = self.client("opensearch")
        for resource in resources:
            if resource.get("type") != "aws_opensearch_domain" or resource.get("mode") != "managed":
                continue
            domain = resource["values"]["domain_name"]
            self.log(f"{name}: deleting OpenSearch domain {domain} on moto directly")
            client.delete_domain(DomainName=domain)
            self._terraform(name, "state", "rm", resource["address"])


def _state_resources(module: Mapping[str, Any]) -> list[dict[str, Any]]:
    found = list(module.get("resources", []))
    for child in module.get("child_modules", []):
        found.extend(_state_resources(child))
    return found


def _first(blocks: Any) -> dict[str, Any]:
    return (blocks or [{}])[0] or {}


def _create_domain_request(after: Mapping[str, Any]) -> dict[str, Any]:
    """CreateDomain arguments from an aws_opensearch_domain's planned values (what is known at plan time;
    the apply after the import sets the rest)."""
    cluster, ebs = _first(after.get("cluster_config")), _first(after.get("ebs_options"))
    endpoint = _first(after.get("domain_endpoint_options"))
    request: dict[str, Any] = {
        "DomainName": after["domain_name"],
        "EngineVersion": after.get("engine_version") or "OpenSearch_2.19",
        "ClusterConfig": {
            "InstanceType": cluster.get("instance_type") or "t3.small.search",
            "InstanceCount": cluster.get("instance_count") or 1,
            "ZoneAwarenessEnabled": bool(cluster.get("zone_awareness_enabled")),
        },
        "EBSOptions": {
            "EBSEnabled": bool(ebs.get("ebs_enabled", True)),
            "VolumeType": ebs.get("volume_type") or "gp3",
            "VolumeSize": ebs.get("volume_size") or 10,
        },
        "EncryptionAtRestOptions": {"Enabled": bool(_first(after.get("encrypt_at_rest")).get("enabled"))},
        "NodeToNodeEncryptionOptions": {
            "Enabled": bool(_first(after.get("node_to_node_encryption")).get("enabled"))
        },
        "DomainEndpointOptions": {
            "EnforceHTTPS": bool(endpoint.get("enforce_https")),
            "TLSSecurityPolicy": endpoint.get("tls_security_policy") or "Policy-Min-TLS-1-2-2019-07",
        },
        "TagList": [{"Key": k, "Value": v} for k, v in sorted((after.get("tags_all") or {}).items())],
    }
    if isinstance(after.get("access_policies"), str):
        request["AccessPolicies"] = after["access_policies"]
    return request


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
