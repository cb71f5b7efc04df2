"""API Gateway's mapping-template runtime (Velocity + ``$input``/``$util``/``$context``) on top of airspeed.

Behaviour follows the API Gateway mapping template reference
(https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-mapping-template-reference.html)
and Apache Velocity 1.7, which API Gateway runs. airspeed differs from Velocity in a few places that matter
for templates that escape user values, so :func:`_make_airspeed_velocity_like` adjusts it once, at import:

- string literals are verbatim: ``"\\\\'"`` is the three characters ``\\\\'`` (airspeed unescaped it to
  ``\\'``, which breaks the documented ``replaceAll("\\\\'", "'")`` idiom);
- ``#if``, ``!``, ``&&`` and ``||`` use Velocity's truth: only null and false are false ("" and 0 are true);
- values print as Java does: ``true``/``false``, maps as ``{a=1}``, lists from JSON as JSON;
- Java's ``String`` methods (``matches`` is a whole-string match returning a boolean, ``replaceAll``
  takes ``$1`` in its replacement, ``split`` drops trailing empty strings, ``endsWith``, ``substring``, ...),
  ``Map.containsKey``/``size`` and ``List.size``;
- identifiers may contain ``-`` after their first character, as in Velocity 1.7 (``<IDENTIFIER>`` in its
  grammar), so ``$context.responseOverride.header.Access-Control-Allow-Origin`` names one header.

Not covered: ``#foreach`` over a map iterates its keys (Velocity: its values); an undefined reference prints
as its own text, as in Velocity, where API Gateway may print nothing. Templates here never rely on either.
"""

from __future__ import annotations

import base64
import json
import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any, TypedDict
from urllib.parse import quote_plus, unquote_plus

import airspeed

__all__ = [
    "Input",
    "JavaList",
    "JavaMap",
    "Params",
    "Rendered",
    "TemplateError",
    "Util",
    "json_path",
    "new_context",
    "render",
]


class TemplateError(Exception):
    """A mapping template failed to parse or to run (API Gateway answers 500)."""


class Params(TypedDict, total=False):
    """``$input.params()``: the method request's parameters by location."""

    path: dict[str, str]
    querystring: dict[str, str]
    header: dict[str, str]


# --- Java-like values --------------------------------------------------------------------------------------


def _is_true(value: Any) -> bool:
    """Velocity 1.7's truth: null and Boolean false are false, everything else is true."""
    return value is not None and value is not False


def java_str(value: Any) -> str:
    """How Velocity prints a value: Java's toString."""
    if value is True:
        return "true"
    if value is False:
        return "false"
    if value is None:
        return "null"
    return str(value)


class JavaMap(dict):
    """A JSON object as the Java ``Map`` templates see: prints as ``{key=value, ...}``."""

    def __str__(self) -> str:
        return "{" + ", ".join(f"{key}={java_str(value)}" for key, value in self.items()) + "}"

    def containsKey(self, key: Any) -> bool:
        return key in self

    def keySet(self) -> JavaList:
        return JavaList(self.keys())

    def size(self) -> int:
        return len(self)

    def isEmpty(self) -> bool:
        return not self


class JavaList(list):
    """A JSON array as templates see it: prints as JSON (what ``$input.path`` lists print on API Gateway)."""

    def __str__(self) -> str:
        return json.dumps(self, separators=(",", ":"), ensure_ascii=False)

    def size(self) -> int:
        return len(self)

    def isEmpty(self) -> bool:
        return not self

    def add(self, value: Any) -> bool:
        self.append(value)
        return True


def java_value(value: Any) -> Any:
    """Wraps decoded JSON so templates can call Java methods on it."""
    if isinstance(value, dict):
        return JavaMap((key, java_value(item)) for key, item in value.items())
    if isinstance(value, list):
        return JavaList(java_value(item) for item in value)
    return value


# --- JSONPath (the subset mapping templates use) ------------------------------------------------------------

_PATH_STEP = re.compile(r"""\.(\*|[^.\[\]]+)|\[\s*(\*|-?\d+|'[^']*'|"[^"]*")\s*\]""")
_NO_MATCH: list[Any] = []


@lru_cache(maxsize=512)
def _path_steps(path: str) -> tuple[str | int, ...]:
    path = path.strip()
    if not path.startswith("$"):
        raise TemplateError(f"JSONPath must start with $: {path!r}")
    steps: list[str | int] = []
    position = 1
    while position < len(path):
        match = _PATH_STEP.match(path, position)
        if match is None:
            raise TemplateError(f"unsupported JSONPath {path!r} at {path[position:]!r}")
        name, bracket = match.groups()
        if name is not None:
            steps.append(name)
        elif bracket.startswith(("'", '"')):
            steps.append(bracket[1:-1])
        else:
            steps.append(bracket if bracket == "*" else int(bracket))
        position = match.end()
    return tuple(steps)


def json_path(document: Any, path: str) -> list[Any]:
    """What ``path`` selects in ``document``: ``$``, ``.name``, ``['name']``, ``[n]``, ``[*]``, ``.*``."""
    current = [document]
    for step in _path_steps(path):
        selected: list[Any] = []
        for node in current:
            if step == "*":
                selected.extend(
                    node.values() if isinstance(node, dict) else node if isinstance(node, list) else ()
                )
            elif isinstance(step, int) and isinstance(node, list):
                if -len(node) <= step < len(node):
                    selected.append(node[step])
            elif isinstance(step, str) and isinstance(node, dict) and step in node:
                selected.append(node[step])
        current = selected
    return current


def _is_definite(path: str) -> bool:
    return "*" not in _path_steps(path)


# --- $input and $util ---------------------------------------------------------------------------------------


class Input:
    """``$input``: the payload (request body, or the integration's response body) and the parameters."""

    def __init__(self, body: str, params: Params | None = None) -> None:
        self._body = body
        self._params = params or {}
        self._parsed: Any = None
        self._parsed_ok = False

    def _document(self) -> Any:
        if not self._parsed_ok:
            try:
                self._parsed = json.loads(self._body) if self._body.strip() else {}
            except ValueError as exc:
                raise TemplateError(f"the payload is not JSON: {exc}") from exc
            self._parsed_ok = True
        return self._parsed

    def _select(self, path: str) -> Any:
        matches = json_path(self._document(), path or "$")
        if _is_definite(path or "$"):
            return matches[0] if matches else None
        return matches

    @property
    def body(self) -> str:
        """The raw payload; API Gateway gives ``{}`` for an empty one."""
        return self._body if self._body else "{}"

    def json(self, path: str = "$") -> str:
        """The JSON text of what ``path`` selects (strings quoted and escaped); empty when nothing matches."""
        selected = self._select(path)
        if selected is None and not self._path_exists(path):
            return ""
        return json.dumps(selected, separators=(",", ":"), ensure_ascii=False)

    def _path_exists(self, path: str) -> bool:
        return bool(json_path(self._document(), path or "$"))

    def path(self, path: str = "$") -> Any:
        """What ``path`` selects, as an object templates can navigate (maps, lists, strings, numbers)."""
        return java_value(self._select(path))

    def params(self, name: str | None = None) -> Any:
        """All parameters by location, or one by name: path first, then query string, then header."""
        if name is None:
            return JavaMap(
                (location, JavaMap(self._params.get(location, {})))
                for location in ("path", "querystring", "header")
            )
        for location in ("path", "querystring"):
            values = self._params.get(location, {})
            if name in values:
                return values[name]
        for header, value in self._params.get("header", {}).items():
            if header.lower() == name.lower():
                return value
        return ""


def escape_javascript(text: str) -> str:
    """Java's StringEscapeUtils.escapeJavaScript, which ``$util.escapeJavaScript`` is.

    Escapes ``'`` as ``\\'`` (valid JavaScript, invalid JSON), ``"``, ``\\``, ``/``, control characters, and
    every character beyond ASCII as ``\\uXXXX`` UTF-16 units.
    """
    out: list[str] = []
    simple = {"'": "\\'", '"': '\\"', "\\": "\\\\", "/": "\\/", "\b": "\\b", "\n": "\\n", "\t": "\\t"}
    simple |= {"\f": "\\f", "\r": "\\r"}
    for char in text:
        code = ord(char)
        if char in simple:
            out.append(simple[char])
        elif code < 0x20 or 0x7F < code <= 0xFFFF:
            out.append(f"\\u{code:04X}")
        elif code > 0xFFFF:
            high, low = divmod(code - 0x10000, 0x400)
            out.append(f"\\u{0xD800 + high:04X}\\u{0xDC00 + low:04X}")
        else:
            out.append(char)
    return "".join(out)


class Util:
    """``$util``."""

    def escapeJavaScript(self, text: Any) -> str | None:
        return None if text is None else escape_javascript(java_str(text))

    def parseJson(self, text: str) -> Any:
        try:
            return java_value(json.loads(text))
        except (TypeError, ValueError) as exc:
            raise TemplateError(f"$util.parseJson: not JSON: {exc}") from exc

    def urlEncode(self, text: str) -> str:
        """Java's URLEncoder (UTF-8): space becomes +, only letters, digits and .-*_ stay as they are."""
        return quote_plus(text, safe="*").replace("~", "%7E")

    def urlDecode(self, text: str) -> str:
        return unquote_plus(text)

    def base64Encode(self, text: str) -> str:
        return base64.b64encode(java_str(text).encode()).decode("ascii")

    def base64Decode(self, text: str) -> str:
        try:
            return base64.b64decode(text, validate=True).decode("utf-8", errors="replace")
        except ValueError as exc:
            raise TemplateError(f"$util.base64Decode: not base64: {exc}") from exc


# --- $context -----------------------------------------------------------------------------------------------


def new_context(
    *,
    request_id: str,
    request_time_epoch: int,
    extended_request_id: str | None = None,
    domain_name: str = "localhost",
    http_method: str,
    resource_path: str,
    path: str,
    stage: str = "local",
    api_id: str = "local",
    account_id: str = "000000000000",
    source_ip: str = "127.0.0.1",
    user_agent: str = "",
    api_key: str | None = None,
) -> JavaMap:
    """``$context`` for one request, including the ``responseOverride`` a response template may set."""
    moment = datetime.fromtimestamp(request_time_epoch / 1000, tz=UTC)
    identity = JavaMap(
        sourceIp=source_ip,
        userAgent=user_agent,
        apiKey=api_key,
        apiKeyId=None,
        accountId=None,
        caller=None,
        user=None,
        userArn=None,
        accessKey=None,
        cognitoIdentityId=None,
        cognitoIdentityPoolId=None,
        cognitoAuthenticationType=None,
        cognitoAuthenticationProvider=None,
    )
    return JavaMap(
        requestId=request_id,
        extendedRequestId=extended_request_id or request_id,
        requestTimeEpoch=request_time_epoch,
        requestTime=moment.strftime("%d/%b/%Y:%H:%M:%S +0000"),
        httpMethod=http_method,
        resourcePath=resource_path,
        path=path,
        stage=stage,
        apiId=api_id,
        accountId=account_id,
        protocol="HTTP/1.1",
        domainName=domain_name,
        identity=identity,
        requestOverride=JavaMap(header=JavaMap(), path=JavaMap(), querystring=JavaMap()),
        responseOverride=JavaMap(status=None, header=JavaMap()),
    )


# --- rendering ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Rendered:
    """A rendered template and what it asked of the response through ``$context.responseOverride``."""

    text: str
    status_override: int | None = None
    header_overrides: dict[str, str] = field(default_factory=dict)


@lru_cache(maxsize=256)
def _compile(template: str) -> airspeed.Template:
    template_object = airspeed.Template(template)
    try:
        template_object.ensure_compiled()
    except airspeed.TemplateSyntaxError as exc:
        raise TemplateError(f"template syntax: {exc}") from exc
    return template_object


def render(
    template: str,
    *,
    body: str = "",
    params: Params | None = None,
    context: Mapping[str, Any] | None = None,
    stage_variables: Mapping[str, str] | None = None,
) -> Rendered:
    """Renders one mapping template the way API Gateway does for a request or an integration response."""
    context = (
        context
        if context is not None
        else new_context(
            request_id="local", request_time_epoch=0, http_method="GET", resource_path="/", path="/"
        )
    )
    namespace = {
        "input": Input(body, params),
        "util": Util(),
        "context": context,
        "stageVariables": JavaMap(stage_variables or {}),
    }
    try:
        text = _compile(template).merge(namespace)
    except TemplateError:
        raise
    except airspeed.TemplateError as exc:
        raise TemplateError(str(exc)) from exc
    override = context.get("responseOverride") or {}
    status = override.get("status")
    return Rendered(
        text=text,
        status_override=int(status) if status not in (None, "") else None,
        header_overrides={name: java_str(value) for name, value in (override.get("header") or {}).items()},
    )


# --- airspeed, made to behave like Velocity 1.7 -------------------------------------------------------------


def _java_replacement(replacement: str) -> str:
    """Java's replaceAll replacement (``$1``, ``\\$``) as Python's re.sub replacement."""
    out: list[str] = []
    index = 0
    while index < len(replacement):
        char = replacement[index]
        if char == "\\" and index + 1 < len(replacement):
            out.append(replacement[index + 1].replace("\\", "\\\\"))
            index += 2
            continue
        if char == "$":
            digits = re.match(r"\d+", replacement[index + 1 :])
            if digits:
                out.append(f"\\g<{digits.group()}>")
                index += 1 + len(digits.group())
                continue
        out.append("\\\\" if char == "\\" else char)
        index += 1
    return "".join(out)


def _java_split(text: str, pattern: str) -> JavaList:
    """Java's ``String.split(regex)``: trailing empty strings are dropped (a leading one is kept)."""
    parts = re.split(pattern, text)
    while parts and parts[-1] == "":
        parts.pop()
    return JavaList(parts or ([text] if text == "" else []))


_STRING_METHODS: dict[str, Any] = {
    "length": lambda self: len(self.encode("utf-16-le", "surrogatepass")) // 2,  # UTF-16 units, as Java
    "matches": lambda self, pattern: re.fullmatch(pattern, self) is not None,
    "replaceAll": lambda self, pattern, repl: re.sub(pattern, _java_replacement(repl), self),
    "replaceFirst": lambda self, pattern, repl: re.sub(pattern, _java_replacement(repl), self, count=1),
    "startsWith": lambda self, prefix: self.startswith(prefix),
    "endsWith": lambda self, suffix: self.endswith(suffix),
    "contains": lambda self, value: value in self,
    "equals": lambda self, other: self == other,
    "isEmpty": lambda self: self == "",
    "indexOf": lambda self, value: self.find(value),
    "substring": lambda self, start, end=None: self[start:end],
    "toLowerCase": lambda self: self.lower(),
    "toUpperCase": lambda self: self.upper(),
    "trim": lambda self: self.strip(" \t\n\r\x0b\x0c\x00"),
    "toString": lambda self: self,
}


class _JavaString(str):
    """A string whose methods are Java's where Python's own have the same name and another meaning."""

    def split(self, pattern: str) -> JavaList:  # type: ignore[override]
        return _java_split(str(self), pattern)


_patch_lock = threading.Lock()
_patched = False


def _make_airspeed_velocity_like() -> None:
    """Adjusts airspeed (process-wide, once) where it differs from Velocity 1.7; see the module docstring."""
    global _patched
    with _patch_lock:
        if _patched:
            return
        # Verbatim string literals: Velocity has no backslash escapes in them.
        airspeed.StringLiteral.STRING = re.compile(r"'([^']*)'", re.S)
        airspeed.StringLiteral.ESCAPED_CHAR = re.compile(r"(?!)")
        airspeed.InterpolatedStringLiteral.STRING = re.compile(r'"([^"]*)"', re.S)
        airspeed.InterpolatedStringLiteral.ESCAPED_CHAR = re.compile(r"(?!)")

        # Velocity 1.7 identifiers: a letter or "_", then letters, digits, "_" or "-".
        airspeed.NameOrCall.NAME = re.compile(r"([_a-z][a-z0-9_-]*)", re.S + re.I)
        airspeed.SetDirective.PLACE = re.compile(
            r"\s*\$([a-z_][a-z0-9_-]*(?:\.[a-z_][a-z0-9_-]*)*)", re.S + re.I
        )

        # Velocity's truth in #if/#elseif, !, && and ||.
        def if_evaluate_raw(self: Any, stream: Any, namespace: Any, loader: Any) -> None:
            if _is_true(self.condition.calculate(namespace, loader)):
                self.block.evaluate(stream, namespace, loader)
                return
            for elseif in self.elseifs:
                if _is_true(elseif.calculate(namespace, loader)):
                    elseif.evaluate(stream, namespace, loader)
                    return
            self.else_block.evaluate(stream, namespace, loader)

        airspeed.IfDirective.evaluate_raw = if_evaluate_raw
        airspeed.UnaryOperatorValue.OPERATORS = {
            "!": lambda v: not _is_true(v),
            "not": lambda v: not _is_true(v),
        }
        for name in ("||", "or"):
            airspeed.BinaryOperator.OPERATORS[name] = lambda a, b: _is_true(a) or _is_true(b)
        for name in ("&&", "and"):
            airspeed.BinaryOperator.OPERATORS[name] = lambda a, b: _is_true(a) and _is_true(b)

        # Velocity evaluates operands left to right and short-circuits && and || (ASTAndNode, ASTOrNode);
        # airspeed evaluated the right operand first and always, so `$s != "" && $util.parseJson($s)` failed.
        def expression_calculate(self: Any, namespace: Any, loader: Any) -> Any:
            operators = airspeed.BinaryOperator.OPERATORS
            conjunctions = (operators["&&"], operators["and"])
            disjunctions = (operators["||"], operators["or"])

            def evaluate(node: Any) -> Any:
                if not isinstance(node, tuple):
                    return node.calculate(namespace, loader) if isinstance(node, airspeed.Value) else node
                operator, left_node, right_node = node
                left = evaluate(left_node)
                if operator.apply_to in conjunctions and not _is_true(left):
                    return False
                if operator.apply_to in disjunctions and _is_true(left):
                    return True
                return operator.apply_to(left, evaluate(right_node))

            if not self.expression:
                return False
            # airspeed's precedence stack, building a tree instead of computing eagerly; evaluated lazily.
            ops: list[Any] = []
            nodes: list[Any] = [self.expression[0]]
            terms = self.expression[1:]

            def reduce_top() -> None:
                right = nodes.pop()
                nodes.append((ops.pop(), nodes.pop(), right))

            while terms:
                if not ops or terms[0].greater_precedence_than(ops[-1]):
                    ops.append(terms[0])
                    nodes.append(terms[1])
                    terms = terms[2:]
                else:
                    reduce_top()
            while ops:
                reduce_top()
            return evaluate(nodes[0])

        airspeed.Expression.calculate = expression_calculate

        # Java's toString when a reference is printed.
        def reference_evaluate_raw(self: Any, stream: Any, namespace: Any, loader: Any) -> None:
            value = None
            if self.expression is not None:
                value = self.expression.calculate(namespace, loader)
            if value is None:
                if self.alternate is not None:
                    value = self.alternate.calculate(namespace, loader)
                elif self.silent and self.expression is not None:
                    value = ""
                else:
                    value = self.my_text()
            stream.write(java_str(value))

        airspeed.FormalReference.evaluate_raw = reference_evaluate_raw

        methods = airspeed.__additional_methods__
        methods[str] = {**methods.get(str, {}), **_STRING_METHODS}
        methods[_JavaString] = methods[str]

        # A method call on a string finds Java's String method, never Python's str method of that name.
        name_or_call_calculate = airspeed.NameOrCall.calculate

        def java_string_calculate(self: Any, current_object: Any, loader: Any, top_namespace: Any) -> Any:
            if type(current_object) is str:
                current_object = _JavaString(current_object)
            return name_or_call_calculate(self, current_object, loader, top_namespace)

        airspeed.NameOrCall.calculate = java_string_calculate
        methods[list] = {
            **methods.get(list, {}),
            "size": len,
            "isEmpty": lambda self: not self,
            "add": lambda self, value: self.append(value) is None,  # java.util.List.add: true
        }
        methods[dict] = {
            **methods.get(dict, {}),
            "size": len,
            "containsKey": lambda self, key: key in self,
            "isEmpty": lambda self: not self,
        }
        _patched = True


_make_airspeed_velocity_like()
