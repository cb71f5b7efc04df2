"""artifacts/update_indices/build-image.sh before and around the build: it refuses sources that are no
commit's, labels the image with the commit, and warns (never refuses) when the base image is old.

The script runs as it is, in a git checkout of its own folder made per test, with real git; only the
``docker`` it calls is a recorder (DOCKER), because what is proven here is what the script decides and passes
to the build. The real build, push and labels on the registry are test_image_step.py's and
tests/indexer/test_image.py's.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SOURCES = ROOT / "artifacts" / "update_indices"
BASE = "public.ecr.aws/lambda/python:3.11.2023.09.29.09@sha256:" + "d" * 64
UNDATED = "public.ecr.aws/lambda/python:3.11@sha256:" + "e" * 64
FAKE_DOCKER = """#!/bin/bash
printf '%s\\n' "$*" >> "$FAKE_DOCKER_LOG"
if [ "$1" = build ] && [ "$2" = --help ]; then echo '      --provenance string'; exit 0; fi
if [ "$1" = image ] && [ "$2" = inspect ]; then
  case "$4" in *Created*) echo "${FAKE_CREATED:-}";; *) echo 1;; esac
  exit 0
fi
exit 0
"""


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    """A git repository whose one commit holds the indexer's folder as git tracks it here."""
    repo = tmp_path / "repo"
    folder = repo / "artifacts" / "update_indices"
    tracked = subprocess.run(
        ["git", "-C", str(SOURCES), "ls-files"], check=True, capture_output=True, text=True
    ).stdout.split()
    for name in tracked:
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(SOURCES / name, folder / name)
    for command in (["init", "-q"], ["add", "-A"], ["commit", "-q", "-m", "sources"]):
        git(repo, *command)
    return folder


def git(repo: Path, *args: str) -> str:
    identity = ["-c", "user.name=test", "-c", "user.email=test@books.internal"]
    return subprocess.run(
        ["git", "-C", str(repo), *identity, *args], check=True, capture_output=True, text=True
    ).stdout.strip()


def build(
    folder: Path, tmp_path: Path, base: str = BASE, **env: str
) -> tuple[subprocess.CompletedProcess[str], str]:
    """Runs the checkout's build-image.sh; returns the result and what the recorder docker was asked."""
    docker = tmp_path / "docker"
    docker.write_text(FAKE_DOCKER)
    docker.chmod(0o755)
    log = tmp_path / "docker.log"
    log.write_text("")
    environ = {k: v for k, v in os.environ.items() if k not in {"ALLOW_UNCOMMITTED_SOURCES", "BASE_IMAGE"}}
    environ.update(
        {"DOCKER": str(docker), "FAKE_DOCKER_LOG": str(log), "BASE_IMAGE_TODAY": "2023-10-15", **env}
    )
    result = subprocess.run(
        [str(folder / "build-image.sh"), "registry.books.internal/books-indexer:src-0123", base],
        env=environ,
        capture_output=True,
        text=True,
        timeout=120,
    )
    return result, log.read_text()


def _build_call(docker_log: str) -> str:
    (call,) = [line for line in docker_log.splitlines() if line.startswith("build --quiet")]
    return call


@pytest.mark.parametrize("staged", [False, True], ids=["modified", "staged"])
def test_sources_that_differ_from_the_commit_are_refused(
    checkout: Path, tmp_path: Path, staged: bool
) -> None:
    function = checkout / "lambda" / "function.py"
    function.write_text(function.read_text() + "\n# not committed\n")
    if staged:
        git(checkout.parents[1], "add", "-A")
    result, docker = build(checkout, tmp_path)
    assert result.returncode == 3, result.stderr
    assert "refusing to build" in result.stderr
    assert "lambda/function.py" in result.stderr
    assert "ALLOW_UNCOMMITTED_SOURCES=1" in result.stderr
    assert "build --quiet" not in docker  # nothing was built


def test_a_deleted_tracked_file_is_refused_too(checkout: Path, tmp_path: Path) -> None:
    (checkout / "requirements.txt").unlink()
    result, _ = build(checkout, tmp_path)
    assert result.returncode == 3, result.stderr
    assert "requirements.txt" in result.stderr


def test_a_clean_checkout_builds_labelled_with_its_commit(checkout: Path, tmp_path: Path) -> None:
    result, docker = build(checkout, tmp_path)
    assert result.returncode == 0, result.stderr
    call = _build_call(docker)
    assert (
        f"--label org.opencontainers.image.revision={git(checkout.parents[1], 'rev-parse', 'HEAD')} " in call
    )
    assert f"--label org.opencontainers.image.base.name={BASE} " in call
    assert "--label books.source-tag=src-0123 " in call


def test_an_untracked_file_neither_stops_the_build_nor_dirties_its_commit(
    checkout: Path, tmp_path: Path
) -> None:
    """An untracked file never reaches the image (the context is git's tracked files), so the image is still
    exactly the commit's."""
    (checkout / "lambda" / ".DS_Store").write_bytes(b"\0finder")
    result, docker = build(checkout, tmp_path)
    assert result.returncode == 0, result.stderr
    assert f"revision={git(checkout.parents[1], 'rev-parse', 'HEAD')} " in _build_call(docker)


def test_the_local_override_builds_uncommitted_sources_and_says_so_in_the_label(
    checkout: Path, tmp_path: Path
) -> None:
    function = checkout / "lambda" / "function.py"
    function.write_text(function.read_text() + "\n# work in progress\n")
    result, docker = build(checkout, tmp_path, ALLOW_UNCOMMITTED_SOURCES="1")
    assert result.returncode == 0, result.stderr
    assert f"revision={git(checkout.parents[1], 'rev-parse', 'HEAD')}-dirty " in _build_call(docker)


# ---- The base image's age: Lambda never patches an image ("you must create a new container image from the
# updated base image and redeploy your function", https://docs.aws.amazon.com/lambda/latest/dg/runtimes-update.html)


def test_a_base_older_than_90_days_warns_loudly_naming_its_date_and_the_build_goes_on(
    checkout: Path, tmp_path: Path
) -> None:
    result, docker = build(checkout, tmp_path, BASE_IMAGE_TODAY="2023-12-29")  # 91 days after 2023-09-29
    assert result.returncode == 0, result.stderr
    assert "WARNING" in result.stderr
    assert "dates from 2023-09-29: 91 days old, more than 90" in result.stderr
    assert "make base-image-pin" in result.stderr
    _build_call(docker)  # built all the same


def test_a_base_of_90_days_or_less_builds_without_a_warning(checkout: Path, tmp_path: Path) -> None:
    result, _ = build(checkout, tmp_path, BASE_IMAGE_TODAY="2023-12-28")  # 90 days
    assert result.returncode == 0, result.stderr
    assert "WARNING" not in result.stderr


def test_the_committed_pin_warns_today(checkout: Path, tmp_path: Path) -> None:
    """The pin in ./base-image (3.11.2023.09.29.09, the newest this repository's machines could verify) is
    years old: every build says so until someone runs make base-image-pin."""
    pinned = (SOURCES / "base-image").read_text().strip()
    result, _ = build(checkout, tmp_path, base=pinned, BASE_IMAGE_TODAY="2026-01-01")
    assert result.returncode == 0, result.stderr
    assert "dates from 2023-09-29" in result.stderr


def test_an_undated_tag_is_judged_by_the_images_creation_date(checkout: Path, tmp_path: Path) -> None:
    """make base-image-pin pins the floating tag (3.11@sha256:...), which names no date: the base's creation
    date, as Docker reports it after the build pulled it, is used instead."""
    old = {"BASE_IMAGE_TODAY": "2024-06-01", "FAKE_CREATED": "2024-01-02T03:04:05.123456789Z"}
    result, docker = build(checkout, tmp_path, base=UNDATED, **old)
    assert result.returncode == 0, result.stderr
    assert "dates from 2024-01-02" in result.stderr
    assert f"image inspect --format {{{{.Created}}}} {UNDATED}" in docker
    fresh = {"BASE_IMAGE_TODAY": "2024-01-03", "FAKE_CREATED": "2024-01-02T03:04:05Z"}
    result, _ = build(checkout, tmp_path, base=UNDATED, **fresh)
    assert result.returncode == 0, result.stderr
    assert "WARNING" not in result.stderr
