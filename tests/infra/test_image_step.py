"""The image step of live/local against a real registry: `apply` builds the indexer's image, pushes it to the
CNCF distribution registry (Debian's docker-registry, ECR's stand-in on a free loopback port), records it in
moto's ECR API and pins the function to its digest; a re-apply plans nothing; a source change gives a new
image and a function update. All on a copy of the repository, so the source change touches no checkout.

Rules from AWS's documentation these tests hold the pushed image to:
- "Lambda does not support multi-architecture images": one image manifest, built for the function's
  architecture (https://docs.aws.amazon.com/lambda/latest/dg/images-create.html; the Docker image manifest
  V2 schema 2 and OCI image manifest formats, never a manifest list or image index).
- A function references its image by repository URI and tag or digest; a digest pins the exact image
  (Lambda API reference, CreateFunction: FunctionCode.ImageUri).
moto runs with MOTO_LAMBDA_STUB_ECR=false, so it refuses a function whose image its ECR API does not hold.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from books_local.terragrunt import Environment, Stack
from support import fill_in_moto

ROOT = Path(__file__).resolve().parents[2]
DOCKER = shutil.which("docker", path="/usr/bin") or "docker"
SINGLE_PLATFORM = (
    "application/vnd.docker.distribution.manifest.v2+json",
    "application/vnd.oci.image.manifest.v1+json",
)
ACCEPT = ", ".join(
    (
        *SINGLE_PLATFORM,
        "application/vnd.docker.distribution.manifest.list.v2+json",
        "application/vnd.oci.image.index.v1+json",
    )
)
REPOSITORY = "books-local-indexer"
pytestmark = pytest.mark.timeout(1800)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The CNCF distribution registry on a free loopback port (plain HTTP: Docker allows it on loopback)."""
    binary = subprocess.run(
        [str(ROOT / "tests" / "images" / "registry.sh")], check=True, capture_output=True, text=True
    ).stdout.strip()
    workdir = tmp_path_factory.mktemp("registry")
    host = f"127.0.0.1:{_free_port()}"
    (workdir / "config.yml").write_text(
        "version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n"
        f"    rootdirectory: {workdir / 'data'}\n  delete:\n    enabled: true\nhttp:\n  addr: {host}\n"
    )
    with (workdir / "registry.log").open("wb") as log:
        process = subprocess.Popen([binary, "serve", str(workdir / "config.yml")], stdout=log, stderr=log)
    try:
        wait_for(f"http://{host}/v2/", process, workdir / "registry.log")
        yield host
    finally:
        process.terminate()
        process.wait(timeout=10)
        images = subprocess.run(
            [DOCKER, "images", "--format", "{{.Repository}}:{{.Tag}}", f"{host}/{REPOSITORY}"],
            capture_output=True,
            text=True,
        ).stdout.split()
        if images:
            subprocess.run([DOCKER, "rmi", "--force", *images], capture_output=True)


def wait_for(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 30
    while True:
        try:
            urllib.request.urlopen(url, timeout=1).close()
            return
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                raise RuntimeError(f"{url} did not come up (log: {log})") from None
            time.sleep(0.1)


@pytest.fixture(scope="module")
def moto(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A moto of this module's own, the local stack's (with its fill-ins: live/local's bulk-load unit needs
    Step Functions' ValidateStateMachineDefinition, which plain moto answers with 500 and the provider
    retries for many minutes), strict about images: it refuses a function whose image its ECR API does not
    hold (MOTO_LAMBDA_STUB_ECR=false)."""
    log = tmp_path_factory.mktemp("image-moto") / "moto.log"
    with fill_in_moto.running(log, environ={"MOTO_LAMBDA_STUB_ECR": "false"}) as running:
        yield running.endpoint


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """What live/local reads, copied: the root config, live/, modules/ and the indexer's sources."""
    copy = tmp_path_factory.mktemp("repository")
    shutil.copy2(ROOT / "terragrunt.hcl", copy / "terragrunt.hcl")
    ignore = shutil.ignore_patterns(".terraform", ".terragrunt-cache", "__pycache__", "*.tfstate*")
    for folder in ("live", "modules", "artifacts/update_indices"):
        shutil.copytree(ROOT / folder, copy / folder, ignore=ignore)
    # the image is built from git's tracked files: the copy is a checkout of its own
    git = ["git", "-C", str(copy), "-c", "user.name=test", "-c", "user.email=test@example.com"]
    for command in (["init", "-q"], ["add", "-A"], ["commit", "-q", "-m", "sources"]):
        subprocess.run([*git, *command], check=True, capture_output=True)
    return copy


@pytest.fixture(scope="module")
def stack(workspace: Path, registry: str, moto: str, tmp_path_factory: pytest.TempPathFactory) -> Stack:
    environ = {
        "BOOKS_IMAGE_STEP": "on",
        "BOOKS_IMAGE_REGISTRY": registry,
        "BOOKS_AWS_ENDPOINT": moto,
        "DOCKER": DOCKER,
    }
    environment = Environment.load(workspace / "live" / "local", environ=environ)
    return Stack(environment, moto, tmp_path_factory.mktemp("image-state"))  # no destroy: the moto is ours


def manifest(registry: str, reference: str) -> tuple[str, str, dict[str, Any]]:
    """(content type, digest, manifest) of REPOSITORY:reference, read from the registry's HTTP API."""
    request = urllib.request.Request(
        f"http://{registry}/v2/{REPOSITORY}/manifests/{reference}", headers={"Accept": ACCEPT}
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        body = response.read()
        return response.headers["Content-Type"], response.headers["Docker-Content-Digest"], json.loads(body)


def assert_single_platform_for_the_function(registry: str, reference: str, architecture: str) -> str:
    """Fails unless REPOSITORY:reference is one image manifest for ``architecture``; returns its digest."""
    content_type, digest, body = manifest(registry, reference)
    assert content_type in SINGLE_PLATFORM, f"{reference} is a {content_type}: Lambda runs one image manifest"
    assert body.get("mediaType", content_type) == content_type
    assert "manifests" not in body
    url = f"http://{registry}/v2/{REPOSITORY}/blobs/{body['config']['digest']}"
    with urllib.request.urlopen(url, timeout=10) as response:
        config = json.load(response)
    assert (config["os"], config["architecture"]) == ("linux", {"x86_64": "amd64"}.get(architecture))
    return digest


def image_labels(registry: str, reference: str) -> dict[str, str]:
    """The labels in the image config of REPOSITORY:reference, read from the registry."""
    _, _, body = manifest(registry, reference)
    url = f"http://{registry}/v2/{REPOSITORY}/blobs/{body['config']['digest']}"
    with urllib.request.urlopen(url, timeout=10) as response:
        return json.load(response)["config"].get("Labels") or {}


def head_commit(workspace: Path) -> str:
    return subprocess.run(
        ["git", "-C", str(workspace), "rev-parse", "HEAD"], check=True, capture_output=True, text=True
    ).stdout.strip()


def function_image(moto: str) -> str:
    client = boto3.client(
        "lambda",
        endpoint_url=moto,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    return client.get_function(FunctionName="books-local-indexer")["Code"]["ImageUri"]


def pull_by_digest(registry: str, digest: str) -> None:
    reference = f"{registry}/{REPOSITORY}@{digest}"
    subprocess.run([DOCKER, "pull", "--quiet", reference], check=True, capture_output=True)
    inspected = subprocess.run(
        [DOCKER, "image", "inspect", "--format", "{{json .RepoDigests}}", reference],
        check=True,
        capture_output=True,
        text=True,
    )
    assert reference in json.loads(inspected.stdout)


@pytest.fixture(scope="module")
def first_apply(stack: Stack) -> dict[str, dict[str, Any]]:
    return stack.apply()


def test_first_apply_pushes_one_single_platform_image_and_pins_the_function_to_its_digest(
    first_apply: dict[str, dict[str, Any]], registry: str, moto: str
) -> None:
    image = first_apply["image"]
    assert image["image_tag"].startswith("src-")
    digest = assert_single_platform_for_the_function(registry, image["image_tag"], image["architecture"])
    assert image["image_digest"] == digest
    assert image["image_uri"] == f"{image['repository_url']}@{digest}"
    assert function_image(moto) == image["image_uri"]
    pull_by_digest(registry, digest)


def test_the_image_names_the_commit_it_was_built_from(
    first_apply: dict[str, dict[str, Any]], registry: str, workspace: Path
) -> None:
    """The first apply builds from a clean checkout: the image's OCI revision label is that commit, and its
    base is named (traceable without the build's logs)."""
    labels = image_labels(registry, first_apply["image"]["image_tag"])
    assert labels["org.opencontainers.image.revision"] == head_commit(workspace)
    assert labels["org.opencontainers.image.base.name"] == "local/lambda-python:3.11"
    assert labels["books.source-tag"] == first_apply["image"]["image_tag"]


def test_the_repository_lets_lambda_pull_its_image(first_apply: dict[str, dict[str, Any]], moto: str) -> None:
    """ "Amazon ECR permissions" (https://docs.aws.amazon.com/lambda/latest/dg/configuration-images.html): the
    statement Lambda would add itself is in the policy Terraform writes, so the re-apply below has nothing to
    take away (terraform-aws-lambda#377)."""
    ecr = boto3.client(
        "ecr", endpoint_url=moto, region_name="us-east-1", aws_access_key_id="t", aws_secret_access_key="t"
    )
    policy = json.loads(ecr.get_repository_policy(repositoryName=REPOSITORY)["policyText"])
    (statement,) = [s for s in policy["Statement"] if s["Principal"] == {"Service": "lambda.amazonaws.com"}]
    assert sorted(statement["Action"]) == ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"]


def test_a_reapply_without_source_changes_plans_nothing(
    first_apply: dict[str, dict[str, Any]], stack: Stack
) -> None:
    assert stack.plan() == dict.fromkeys(stack.environment.units, False)


def test_a_source_change_builds_a_new_image_and_updates_the_function(
    first_apply: dict[str, dict[str, Any]], stack: Stack, workspace: Path, registry: str, moto: str
) -> None:
    before = first_apply["image"]
    source = workspace / "artifacts" / "update_indices" / "lambda" / "function.py"
    source.write_text(source.read_text() + "\n# a release\n")
    assert stack.plan()["image"] is True
    after = stack.apply()["image"]
    assert after["image_tag"] != before["image_tag"]
    assert after["image_digest"] != before["image_digest"]
    digest = assert_single_platform_for_the_function(registry, after["image_tag"], after["architecture"])
    assert after["image_uri"] == f"{after['repository_url']}@{digest}"
    assert function_image(moto) == after["image_uri"]
    pull_by_digest(registry, digest)
    assert stack.plan() == dict.fromkeys(stack.environment.units, False)
    # built from uncommitted sources, which only a local build may do (live/local's build_environment)
    revision = image_labels(registry, after["image_tag"])["org.opencontainers.image.revision"]
    assert revision == f"{head_commit(workspace)}-dirty"


def test_a_manifest_list_is_refused_by_the_publish_step_and_by_the_check(
    first_apply: dict[str, dict[str, Any]], registry: str, moto: str
) -> None:
    """What buildx without --provenance=false pushes (an index over the image and its attestation), made by
    hand from the pushed image: both the publish step's check and this module's check reject it."""
    content_type, digest, _ = manifest(registry, first_apply["image"]["image_tag"])
    with urllib.request.urlopen(
        urllib.request.Request(
            f"http://{registry}/v2/{REPOSITORY}/manifests/{digest}", headers={"Accept": content_type}
        ),
        timeout=10,
    ) as response:
        size = len(response.read())
    index = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.docker.distribution.manifest.list.v2+json",
        "manifests": [
            {
                "mediaType": content_type,
                "digest": digest,
                "size": size,
                "platform": {"architecture": "amd64", "os": "linux"},
            }
        ],
    }
    put = urllib.request.Request(
        f"http://{registry}/v2/{REPOSITORY}/manifests/multi",
        data=json.dumps(index).encode(),
        method="PUT",
        headers={"Content-Type": index["mediaType"]},
    )
    urllib.request.urlopen(put, timeout=10).close()
    with pytest.raises(AssertionError, match="Lambda runs one image manifest"):
        assert_single_platform_for_the_function(registry, "multi", "x86_64")
    script = ROOT / "modules" / "image" / "scripts" / "record_stand_in.py"
    refused = subprocess.run(
        [sys.executable, str(script), "record", f"{registry}/{REPOSITORY}:multi", moto, "us-east-1"],
        capture_output=True,
        text=True,
    )
    assert refused.returncode == 1
    assert "not a single-platform image manifest" in refused.stderr


def test_an_untracked_file_changes_neither_the_tag_nor_the_image(
    first_apply: dict[str, dict[str, Any]], stack: Stack, workspace: Path
) -> None:
    """The tag hashes git's tracked files only (issue 19: a stray .DS_Store changed it and reached the
    image)."""
    stray = workspace / "artifacts" / "update_indices" / "lambda" / ".DS_Store"
    stray.write_bytes(b"\0\1finder")
    try:
        assert stack.plan()["image"] is False
    finally:
        stray.unlink()


def _publish(
    stack: Stack, registry: str, moto: str, tag: str, **extra: str
) -> subprocess.CompletedProcess[str]:
    """modules/image's publish step, run as its terraform_data runs it."""
    sources = stack.environment.path.parents[1] / "artifacts" / "update_indices"
    environ = {
        **os.environ,
        "IMAGE": f"{registry}/{REPOSITORY}:{tag}",
        "REPOSITORY_NAME": REPOSITORY,
        "IMAGE_TAG": tag,
        "PLATFORM": "linux/amd64",
        "BUILD_SCRIPT": str(sources / "build-image.sh"),
        "DOCKER": DOCKER,
        "ECR_LOGIN": "off",
        "AWS_REGION": "us-east-1",
        "ECR_API_ENDPOINT": moto,
        "SOURCE_IMAGE": "",
        "BASE_IMAGE": "local/lambda-python:3.11",
        "BASE_IMAGE_UNPINNED": "local stand-in",
        "ALLOW_UNCOMMITTED_SOURCES": "1",  # as live/local's build_environment
        **extra,
    }
    return subprocess.run(
        [str(ROOT / "modules" / "image" / "scripts" / "publish.sh")],
        env=environ,
        capture_output=True,
        text=True,
        timeout=900,
    )


def test_a_poisoned_tag_is_replaced_without_a_manual_step(
    first_apply: dict[str, dict[str, Any]], stack: Stack, registry: str, moto: str
) -> None:
    """Issue 19: one bad push (a manifest list) under a tag made every later apply fail until someone deleted
    it. Now the publish step checks what the tag names (one image manifest for the platform, labelled with
    this source's tag), deletes a tag that names anything else (from the registry and from ECR's API) and
    publishes again; the tag then names a good image, and the next run trusts it."""
    tag = "src-poisoned0000000000"
    content_type, digest, _ = manifest(registry, first_apply["image"]["image_tag"])
    with urllib.request.urlopen(
        urllib.request.Request(
            f"http://{registry}/v2/{REPOSITORY}/manifests/{digest}", headers={"Accept": content_type}
        ),
        timeout=10,
    ) as response:
        size = len(response.read())
    index = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.docker.distribution.manifest.list.v2+json",
        "manifests": [
            {
                "mediaType": content_type,
                "digest": digest,
                "size": size,
                "platform": {"architecture": "amd64", "os": "linux"},
            }
        ],
    }
    put = urllib.request.Request(
        f"http://{registry}/v2/{REPOSITORY}/manifests/{tag}",
        data=json.dumps(index).encode(),
        method="PUT",
        headers={"Content-Type": index["mediaType"]},
    )
    urllib.request.urlopen(put, timeout=10).close()
    ecr = boto3.client(
        "ecr", endpoint_url=moto, region_name="us-east-1", aws_access_key_id="t", aws_secret_access_key="t"
    )
    ecr.put_image(repositoryName=REPOSITORY, imageManifest=json.dumps(index), imageTag=tag)
    with pytest.raises(AssertionError, match="Lambda runs one image manifest"):
        assert_single_platform_for_the_function(registry, tag, "x86_64")

    result = _publish(stack, registry, moto, tag)
    assert result.returncode == 0, result.stderr + result.stdout
    assert "deleting the tag and publishing again" in result.stderr
    good = assert_single_platform_for_the_function(registry, tag, "x86_64")
    (image,) = ecr.describe_images(repositoryName=REPOSITORY, imageIds=[{"imageTag": tag}])["imageDetails"]
    assert image["imageDigest"] == good  # ECR's API names the replacement, as the apply reads it
    again = _publish(stack, registry, moto, tag)
    assert again.returncode == 0, again.stderr
    assert "exists already and is this apply's image" in again.stdout
    assert manifest(registry, tag)[1] == good


def test_prod_promotes_the_digest_dev_runs_without_building(
    first_apply: dict[str, dict[str, Any]],
    workspace: Path,
    registry: str,
    moto: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    """Build once, promote by digest: a second environment's image unit, given dev's image by digest
    (promote_from), copies that manifest into its own repository with skopeo (--preserve-digests), records
    it, and outputs the same digest; nothing is built. On AWS the copy reads dev's repository through its
    repository policy (pull_account_ids, "Private repository policy examples in Amazon ECR",
    https://docs.aws.amazon.com/AmazonECR/latest/userguide/repository-policy-examples.html); here both
    repositories live in one stand-in registry and one moto account, so that policy is not exercised."""
    dev = first_apply["image"]
    environ = {
        "BOOKS_IMAGE_STEP": "on",
        "BOOKS_IMAGE_REGISTRY": registry,
        "BOOKS_AWS_ENDPOINT": moto,
        "DOCKER": "/nonexistent/docker",  # promotion never builds: a build would fail here
    }
    environment = Environment.load(workspace / "live" / "local", environ=environ)
    prod = Stack(
        environment,
        moto,
        tmp_path_factory.mktemp("promoted-state"),
        overrides={
            "image": {
                "repository_name": "books-promoted-indexer",
                "promote_from": {"image_uri": dev["image_uri"]},
            }
        },
    )
    try:
        promoted = prod.apply(units=["alarms", "image"])["image"]  # scan findings page the alarm topic
        assert promoted["image_digest"] == dev["image_digest"]
        assert promoted["image_uri"] == f"{promoted['repository_url']}@{dev['image_digest']}"
        assert promoted["image_tag"] == f"promoted-{dev['image_digest'][7:27]}"
        request = urllib.request.Request(
            f"http://{registry}/v2/books-promoted-indexer/manifests/{promoted['image_tag']}",
            headers={"Accept": ACCEPT},
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            assert response.headers["Docker-Content-Digest"] == dev["image_digest"]
        assert prod.plan(units=["image"]) == {"image": False}
    finally:
        prod.destroy(units=["image", "alarms"])
