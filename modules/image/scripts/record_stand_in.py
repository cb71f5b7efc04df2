"""Local emulators only: records an image pushed to a stand-in registry in the ECR API of an emulator.

ECR is one service: a push to its registry shows up in its API (DescribeImages, the aws_ecr_image data
source). Locally the registry (CNCF distribution) and the API (moto) are two programs, so after the push this
reads the manifest back from the registry's HTTP API and records it with ECR's PutImage, under the registry's
digest. It refuses a manifest list or image index, which Lambda does not run
(https://docs.aws.amazon.com/lambda/latest/dg/images-create.html).

``forget`` removes a tag from the emulator's ECR API (BatchDeleteImage), as deleting it from ECR does, when
publish.sh replaces a poisoned tag.

Usage: record_stand_in.py record|forget HOST:PORT/REPOSITORY:TAG ECR_API_ENDPOINT REGION (standard library
only).
"""

from __future__ import annotations

import json
import sys
import urllib.error
import urllib.request

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


def _ecr(endpoint: str, region: str, operation: str, body: dict[str, object]) -> dict[str, object]:
    request = urllib.request.Request(
        endpoint,
        data=json.dumps(body).encode(),
        method="POST",
        headers={
            "Content-Type": "application/x-amz-json-1.1",
            "X-Amz-Target": f"AmazonEC2ContainerRegistry_V20150921.{operation}",
            # the emulator reads the region from the credential scope; it checks no signature
            "Authorization": f"AWS4-HMAC-SHA256 Credential=testing/20240101/{region}/ecr/aws4_request, "
            "SignedHeaders=host, Signature=0",
        },
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.load(response)


def forget(image: str, endpoint: str, region: str) -> int:
    _, _, reference = image.partition("/")
    repository, _, tag = reference.rpartition(":")
    body = {"repositoryName": repository, "imageIds": [{"imageTag": tag}]}
    _ecr(endpoint, region, "BatchDeleteImage", body)
    print(f"forgot {repository}:{tag}")
    return 0


def main(image: str, endpoint: str, region: str) -> int:
    registry, _, reference = image.partition("/")
    repository, _, tag = reference.rpartition(":")
    request = urllib.request.Request(
        f"http://{registry}/v2/{repository}/manifests/{tag}", headers={"Accept": ACCEPT}
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        manifest = response.read().decode()
        digest = response.headers["Docker-Content-Digest"]
        media_type = response.headers["Content-Type"]
    if media_type not in SINGLE_PLATFORM:
        print(f"{image} is a {media_type}: not a single-platform image manifest", file=sys.stderr)
        return 1
    body = {
        "repositoryName": repository,
        "imageManifest": manifest,
        "imageManifestMediaType": media_type,
        "imageTag": tag,
        "imageDigest": digest,
    }
    try:
        answer = _ecr(endpoint, region, "PutImage", body)
    except urllib.error.HTTPError as error:  # recorded by an earlier apply (publish.sh checked the tag)
        if b"ImageAlreadyExists" not in error.read():
            raise
        print(f"{repository}:{tag} is recorded already")
        return 0
    recorded = answer["image"]["imageId"]["imageDigest"]  # type: ignore[index]
    if recorded != digest:
        print(f"the ECR API recorded {recorded}, the registry holds {digest}", file=sys.stderr)
        return 1
    print(f"recorded {repository}:{tag} as {digest}")
    return 0


if __name__ == "__main__":
    command, *arguments = sys.argv[1:5]
    raise SystemExit({"record": main, "forget": forget}[command](*arguments))
