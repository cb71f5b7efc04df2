"""The runbook and the READMEs say what the shipped code does, where a sentence states a shipped setting.

An operator sizing the purge schedule, or judging whether a restart can resurrect a purged document, reads
``index.gc_deletes`` in the runbook: every sentence that names both ``index.json`` and ``gc_deletes`` must
state the value ``index.json`` sets. Every flag the runbook's tables list must exist on its command.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from indexer.index_setup import index_body
from indexer.ops.__main__ import _parser

ROOT = Path(__file__).resolve().parents[2]
LAMBDA = ROOT / "artifacts" / "update_indices" / "lambda" / "indexer"
DOCUMENTS = [
    ROOT / "docs" / "operations.md",
    ROOT / "README.md",
    ROOT / "artifacts" / "update_indices" / "README.md",
    LAMBDA / "index_setup.py",
    LAMBDA / "tombstones.py",
    LAMBDA / "ops" / "purge.py",
    LAMBDA / "ops" / "reindex.py",
]
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z`*(\[])")


def sentences(path: Path) -> list[str]:
    """The file's prose split into sentences; each cell of a Markdown table row on its own."""
    units: list[str] = []
    paragraph: list[str] = []
    for line in [*path.read_text().splitlines(), ""]:
        if line.lstrip().startswith("|"):
            units.extend(cell.strip() for cell in line.split("|") if cell.strip())
        elif line.strip():
            paragraph.append(line.strip())
            continue
        if paragraph:
            units.extend(_SENTENCE_END.split(" ".join(paragraph)))
            paragraph = []
    return units


def spellings(value: str) -> set[str]:
    """``1h`` as the prose may write it: ``1h``, ``1 h``."""
    number, unit = re.fullmatch(r"(\d+)([smhd])", value).groups()  # type: ignore[union-attr]
    return {f"{number}{unit}", f"{number} {unit}"}


@pytest.mark.parametrize("path", DOCUMENTS, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_sentence_about_the_shipped_gc_deletes_states_its_value(path: Path) -> None:
    shipped = index_body()["settings"]["index"]["gc_deletes"]
    wrong = [
        sentence
        for sentence in sentences(path)
        if "gc_deletes" in sentence
        and "index.json" in sentence
        and not any(spelling in sentence for spelling in spellings(shipped))
    ]
    assert wrong == [], f"{path.name} describes index.json's gc_deletes without its value {shipped}"


def test_every_flag_the_runbook_lists_exists_on_its_command() -> None:
    """Each ``| `--flag ...` |`` row of a command's table in docs/operations.md is a flag of that command."""
    runbook = (ROOT / "docs" / "operations.md").read_text()
    commands = _parser({})._subparsers._group_actions[0].choices  # type: ignore[union-attr]
    missing: list[str] = []
    for section in re.split(r"^## ", runbook, flags=re.MULTILINE)[1:]:
        name = section.split("\n", 1)[0].strip()
        if name not in commands:
            continue
        known = {option for action in commands[name]._actions for option in action.option_strings}
        for flag in re.findall(r"^\| `(--[a-z-]+)", section, flags=re.MULTILINE):
            if flag not in known:
                missing.append(f"{name} {flag}")
    assert missing == []
