#!/usr/bin/env bash
# Builds the indexer image: build-image.sh TAG [BASE_IMAGE]   (modules/image calls it on every source change)
# - PLATFORM (default linux/amd64; linux/arm64 for arm64 functions): Lambda runs an image built for exactly
#   one architecture, and a single-platform image manifest, never a list or index ("Lambda does not support
#   multi-architecture images": https://docs.aws.amazon.com/lambda/latest/dg/images-create.html). So the
#   platform is named, and where the builder adds attestations (BuildKit with buildx, which turns the push
#   into an image index) they are turned off with --provenance=false --sbom=false.
# - BASE_IMAGE (argument or environment): without it the Dockerfile's default, the AWS Lambda Python base
#   image, is used (local/lambda-python:3.11 where nothing can be pulled).
# - The build context is a copy of this folder plus, when CA_BUNDLE names a file (default: the host's system
#   bundle), that bundle as ca-bundle.crt, so pip trusts an intercepting HTTPS proxy.
set -euo pipefail
tag=${1:?usage: build-image.sh TAG [BASE_IMAGE]}
base=${2:-${BASE_IMAGE:-}}
platform=${PLATFORM:-linux/amd64}
here=$(cd "$(dirname "$0")" && pwd)
docker=${DOCKER:-docker}
ca_bundle=${CA_BUNDLE:-/etc/ssl/certs/ca-certificates.crt}

attestations=()
if "$docker" build --help 2>/dev/null | grep -q -- '--provenance'; then
  attestations=(--provenance=false --sbom=false)
fi

context=$(mktemp -d)
trap 'rm -rf "$context"' EXIT
cp -r "$here/Dockerfile" "$here/.dockerignore" "$here/requirements.txt" "$here/lambda" "$context/"
if [ -f "$ca_bundle" ]; then cp "$ca_bundle" "$context/ca-bundle.crt"; fi
"$docker" build --quiet --platform "$platform" "${attestations[@]}" ${base:+--build-arg "BASE_IMAGE=$base"} \
  -t "$tag" "$context" >/dev/null
echo "$tag"
