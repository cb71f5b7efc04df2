#!/usr/bin/env bash
# Builds the indexer image: build-image.sh TAG [BASE_IMAGE]
# The build context is a copy of this folder plus, when CA_BUNDLE names a file (default: the host's system
# bundle), that bundle as ca-bundle.crt, so pip trusts an intercepting HTTPS proxy. Without BASE_IMAGE the
# Dockerfile's default (the AWS Lambda Python base image) is used.
set -euo pipefail
tag=${1:?usage: build-image.sh TAG [BASE_IMAGE]}
base=${2:-}
here=$(cd "$(dirname "$0")" && pwd)
docker=${DOCKER:-docker}
ca_bundle=${CA_BUNDLE:-/etc/ssl/certs/ca-certificates.crt}

context=$(mktemp -d)
trap 'rm -rf "$context"' EXIT
cp -r "$here/Dockerfile" "$here/.dockerignore" "$here/requirements.txt" "$here/lambda" "$context/"
if [ -f "$ca_bundle" ]; then cp "$ca_bundle" "$context/ca-bundle.crt"; fi
"$docker" build --quiet ${base:+--build-arg "BASE_IMAGE=$base"} -t "$tag" "$context" >/dev/null
echo "$tag"
