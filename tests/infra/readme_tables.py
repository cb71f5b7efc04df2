"""Writes (or checks) the Inputs and Outputs tables of a module's README from its variables and outputs.

The tables live between ``<!-- BEGIN_TF_DOCS -->`` and ``<!-- END_TF_DOCS -->``; everything else in the README
is prose kept by hand. ``python tests/infra/readme_tables.py modules/table`` rewrites the tables;
``--check`` exits 1 naming each stale README (tests/infra/test_readmes.py runs that).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from typing import Any

import hcl2

BEGIN, END = "<!-- BEGIN_TF_DOCS -->", "<!-- END_TF_DOCS -->"
ROOT = Path(__file__).resolve().parents[2]
MODULES = ("table", "opensearch", "lambda", "image", "api", "dashboard", "alarm-topic", "bulk-load")


def _blocks(module: Path, kind: str) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for tf in sorted(module.glob("*.tf")):
        with tf.open() as handle:
            for block in hcl2.load(handle).get(kind, []):
                found.update(block)
    return found


def _expression(value: Any) -> str:
    """A python-hcl2 value as HCL-ish text for a table cell."""
    if isinstance(value, str) and value.startswith("${") and value.endswith("}"):
        return value[2:-1]
    return json.dumps(value)


def _type(value: Any) -> str:
    """A variable's type as HCL (python-hcl2 hands nested types over as JSON-ish text)."""
    text = _unwrap(_expression(value).strip('"'))
    text = re.sub(r'"(\w+)": ', r"\1 = ", text)
    return re.sub(r'"(string|number|bool|any)"', r"\1", text)


def _unwrap(text: str) -> str:
    """Each ``"${...}"`` python-hcl2 wraps around a nested type expression, at any depth, as its content."""
    while (start := text.find('"${')) >= 0:
        depth, end = 0, start + 2
        for end in range(start + 2, len(text)):
            depth += {"{": 1, "}": -1}.get(text[end], 0)
            if depth == 0:
                break
        text = text[:start] + text[start + 3 : end] + text[end + 2 :]
    return text


def _cell(text: str) -> str:
    text = re.sub(r"\s+", " ", text).replace("|", "\\|")
    return f"`{text}`" if text else ""


def tables(module: Path) -> str:
    lines = ["## Inputs", "", "| Name | Description | Type | Default | Required |", "|---|---|---|---|:-:|"]
    for name, body in sorted(_blocks(module, "variable").items()):
        required = "default" not in body
        default = "" if required else _cell(_expression(body["default"]))
        description = str(body.get("description", "")).replace("|", "\\|")
        kind = _cell(_type(body.get("type", "any")))
        lines.append(f"| {name} | {description} | {kind} | {default} | {'yes' if required else 'no'} |")
    lines += ["", "## Outputs", "", "| Name | Description |", "|---|---|"]
    for name, body in sorted(_blocks(module, "output").items()):
        lines.append(f"| {name} | {str(body.get('description', '')).replace('|', chr(92) + '|')} |")
    return "\n".join(lines)


def render(module: Path) -> str:
    """The module's README with fresh tables (appended under the prose when it has no markers yet)."""
    readme = module / "README.md"
    text = readme.read_text() if readme.is_file() else f"# {module.name}\n"
    block = f"{BEGIN}\n{tables(module)}\n{END}"
    if BEGIN in text and END in text:
        head, _, rest = text.partition(BEGIN)
        _, _, tail = rest.partition(END)
        return f"{head}{block}{tail}"
    return f"{text.rstrip()}\n\n{block}\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    parser.add_argument("modules", nargs="*", help="module folders (default: this helper's modules)")
    parser.add_argument("--check", action="store_true", help="only report stale READMEs")
    args = parser.parse_args(argv)
    modules = [Path(m) for m in args.modules] or [ROOT / "modules" / name for name in MODULES]
    stale = []
    for module in modules:
        fresh = render(module)
        readme = module / "README.md"
        if readme.is_file() and readme.read_text() == fresh:
            continue
        if args.check:
            stale.append(str(readme))
        else:
            readme.write_text(fresh)
    if stale:
        print("stale README tables (run: python tests/infra/readme_tables.py):", *stale, sep="\n  ")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
