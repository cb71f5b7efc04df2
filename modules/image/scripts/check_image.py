"""Judges what an image tag names, for publish.sh: ``ok`` when it is one single-platform image manifest for
the platform that is this apply's image, ``poisoned`` otherwise.

"This apply's image" is the build of these sources (its config carries the label ``books.source-tag`` equal to
the tag) or, when a promoted digest is given, exactly that manifest (the sha256 of the manifest's bytes is the
digest, OCI image spec "Digests"). Lambda runs single-platform image manifests only, never a list or index
(https://docs.aws.amazon.com/lambda/latest/dg/images-create.html).

Usage: check_image.py RAW_MANIFEST CONFIG_JSON PLATFORM TAG [DIGEST]   (standard library only)
"""

from __future__ import annotations

import hashlib
import json
import sys

SINGLE_PLATFORM = (
    "application/vnd.docker.distribution.manifest.v2+json",
    "application/vnd.oci.image.manifest.v1+json",
)


def judge(raw: str, config: str, platform: str, tag: str, digest: str = "") -> str:
    manifest = json.loads(raw)
    if manifest.get("mediaType", SINGLE_PLATFORM[1]) not in SINGLE_PLATFORM or "manifests" in manifest:
        return "poisoned"
    image = json.loads(config or "{}")
    if f"{image.get('os')}/{image.get('architecture')}" != platform:
        return "poisoned"
    if digest:
        return "ok" if "sha256:" + hashlib.sha256(raw.encode()).hexdigest() == digest else "poisoned"
    labels = (image.get("config") or {}).get("Labels") or {}
    return "ok" if labels.get("books.source-tag") == tag else "poisoned"


if __name__ == "__main__":
    print(judge(*sys.argv[1:6]))
