"""Evaluates Terragrunt's HCL expressions: literals, templates, traversals, function calls, operators.

python-hcl2 hands every expression over as a "${...}" string; these are evaluated lazily (thunks), so a
conditional or try() only evaluates the branch it needs, as HCL does. Part of ``books_local.terragrunt``
(parse: ``terragrunt_config``; evaluate: this module; run: ``terragrunt``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any


class TerragruntError(ValueError):
    """A configuration this module cannot evaluate, or a unit whose terraform command failed."""


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


def _template_tokens(text: str, escaped: bool) -> list[tuple[str, str]]:
    """Splits a template into ("lit", text), ("interp", expression) and ("dir", directive) tokens, applying
    the ``~`` strip markers (they remove the whitespace, newlines included, on their side)."""
    raw: list[list[Any]] = []  # [kind, body, strip_left, strip_right]
    literal: list[str] = []
    i = 0

    def flush() -> None:
        if literal:
            raw.append(["lit", "".join(literal), False, False])
            literal.clear()

    while i < len(text):
        if text.startswith(("$${", "%%{"), i):
            literal.append(text[i + 1 : i + 3])
            i += 3
        elif text.startswith(("${", "%{"), i):
            end = _matching_brace(text, i + 2)
            inner = text[i + 2 : end]
            flush()
            kind = "interp" if text[i] == "$" else "dir"
            raw.append([kind, inner.strip("~").strip(), inner.startswith("~"), inner.endswith("~")])
            i = end + 1
        elif escaped and text[i] == "\\" and i + 1 < len(text):
            literal.append(_ESCAPES.get(text[i + 1], text[i + 1]))
            i += 2
        else:
            literal.append(text[i])
            i += 1
    flush()
    for index, (kind, _, strip_left, strip_right) in enumerate(raw):
        if kind == "lit":
            continue
        if strip_left and index > 0 and raw[index - 1][0] == "lit":
            raw[index - 1][1] = raw[index - 1][1].rstrip()
        if strip_right and index + 1 < len(raw) and raw[index + 1][0] == "lit":
            raw[index + 1][1] = raw[index + 1][1].lstrip()
    return [(kind, body) for kind, body, _, _ in raw]


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
        """Renders a template: ``${...}`` interpolations and the ``%{if}``/``%{else}``/``%{endif}`` and
        ``%{for x in xs}``/``%{endfor}`` directives, with ``~`` strip markers, as HCL's template language."""
        tokens = _template_tokens(text, escaped)
        if len(tokens) == 1 and tokens[0][0] == "interp":
            return self.expression(tokens[0][1])  # "${x}" alone keeps x's type, as in HCL
        rendered, end = self._render(tokens, 0, ())
        if end != len(tokens):
            raise TerragruntError(f"unexpected %{{{tokens[end][1]}}} in template {text!r}")
        return rendered

    def _render(self, tokens: list[tuple[str, str]], i: int, stop: tuple[str, ...]) -> tuple[str, int]:
        """Renders tokens from ``i`` up to a directive whose keyword is in ``stop``; returns (text, index)."""
        out: list[str] = []
        while i < len(tokens):
            kind, body = tokens[i]
            if kind == "lit":
                out.append(body)
            elif kind == "interp":
                out.append(_to_string(_plain(self.expression(body))))
            else:
                keyword = body.split(None, 1)[0]
                if keyword in stop:
                    return "".join(out), i
                if keyword == "if":
                    yes, i = self._render(tokens, i + 1, ("else", "endif"))
                    no = ""
                    if tokens[i][1] == "else":
                        no, i = self._render(tokens, i + 1, ("endif",))
                    out.append(yes if self.expression(body[2:]) else no)
                elif keyword == "for":
                    match = re.fullmatch(r"for\s+(\w+)(?:\s*,\s*(\w+))?\s+in\s+(.+)", body, re.S)
                    if not match:
                        raise TerragruntError(f"cannot read %{{{body}}}")
                    first, second, collection = match.groups()
                    items = _plain(self.expression(collection))
                    pairs = list(items.items()) if isinstance(items, dict) else list(enumerate(items))
                    end = self._skip(tokens, i + 1)
                    for key, value in pairs:
                        names = {**self.names, **({first: key, second: value} if second else {first: value})}
                        text, _ = Scope(names, self.functions)._render(tokens, i + 1, ("endfor",))
                        out.append(text)
                    i = end
                else:
                    raise TerragruntError(f"unexpected %{{{body}}}")
            i += 1
        if stop:
            raise TerragruntError(f"template directive not closed (expected one of {stop})")
        return "".join(out), i

    @staticmethod
    def _skip(tokens: list[tuple[str, str]], i: int) -> int:
        """Index of the %{endfor} closing the loop whose body starts at ``i`` (nested loops counted)."""
        depth = 0
        while i < len(tokens):
            if tokens[i][0] == "dir":
                keyword = tokens[i][1].split(None, 1)[0]
                if keyword == "for":
                    depth += 1
                elif keyword == "endfor":
                    if depth == 0:
                        return i
                    depth -= 1
            i += 1
        raise TerragruntError("%{for} without %{endfor}")

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
        if self.peek() == ("ident", "for"):
            return self.for_list()
        items: list[Thunk] = []
        while self.peek()[1] != "]":
            items.append(self.ternary())
            if self.peek()[1] == ",":
                self.take(",")
        self.take("]")
        return lambda: [item() for item in items]

    def for_list(self) -> Thunk:
        """``[for x in xs : expr]``, ``[for i, x in xs : expr]`` and a trailing ``if cond``, as HCL's for
        expressions over a list or a map (a map's keys in lexical order)."""
        self.take("for")
        first = self.take()[1]
        second = None
        if self.peek()[1] == ",":
            self.take(",")
            second = self.take()[1]
        self.take("in")
        collection = self.ternary()
        self.take(":")
        body = self.ternary()
        condition: Thunk | None = None
        if self.peek() == ("ident", "if"):
            self.take("if")
            condition = self.ternary()
        self.take("]")
        names = self.scope.names

        def run() -> list[Any]:
            items = _plain(collection())
            pairs = sorted(items.items()) if isinstance(items, dict) else list(enumerate(items))
            out = []
            saved = {name: names[name] for name in (first, second) if name and name in names}
            try:
                for key, value in pairs:
                    if second:
                        names[first], names[second] = key, value
                    else:
                        names[first] = value
                    if condition is None or condition():
                        out.append(body())
            finally:
                for name in (first, second):
                    if name:
                        names.pop(name, None)
                names.update(saved)
            return out

        return run

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
