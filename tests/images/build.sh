#!/usr/bin/env bash
# Builds the images the tests and the local stack need, from Debian packages and PyPI only
# (no container registry is needed). Each image is built once; a second run is a no-op.
#   local/debian-python:bookworm   minimal Debian with python3 (mmdebstrap | docker import)
#   local/osmem:<version>          the osmem-server binary from PyPI in a scratch image (OpenSearch stand-in)
#   local/moto:<version>           moto[server] from PyPI (DynamoDB, Streams and AWS control planes)
#   local/lambda-python:3.11       stand-in for public.ecr.aws/lambda/python (awslambdaric and the SDK for
#                                  Python in /var/runtime from PyPI); rebuilt when its Dockerfile changes
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
docker=${DOCKER:-/usr/bin/docker}
osmem_version=$(sed -n 's/^osmem-server==//p' "$here/../../requirements-dev.txt")
moto_version=$(sed -n 's/^moto\[server\]==//p' "$here/../../requirements-dev.txt")
ca_bundle=${CA_BUNDLE:-/etc/ssl/certs/ca-certificates.crt}

have() { "$docker" image inspect "$1" >/dev/null 2>&1; }
ctx() { # a throwaway build context holding the host CA bundle (HTTPS may pass an intercepting proxy)
  local d; d=$(mktemp -d); cp "$here/$1/Dockerfile" "$d/"; cp "$ca_bundle" "$d/ca-bundle.crt"; echo "$d"
}

if ! have local/debian-python:bookworm; then
  echo "building local/debian-python:bookworm (mmdebstrap, about a minute)"
  command -v mmdebstrap >/dev/null || { echo "mmdebstrap is missing: apt-get install mmdebstrap" >&2; exit 1; }
  mmdebstrap --quiet --variant=minbase --include=python3,python3-venv,ca-certificates \
    --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-exclude=/usr/share/man/*' \
    --dpkgopt='path-exclude=/usr/share/locale/*' bookworm - \
    | "$docker" import -c 'ENV LANG=C.UTF-8' -c 'CMD ["python3"]' - local/debian-python:bookworm >/dev/null
fi

if ! have "local/osmem:$osmem_version"; then
  echo "building local/osmem:$osmem_version"
  d=$(ctx osmem)
  python3 -m pip download --quiet --no-deps --only-binary=:all: -d "$d/wheel" "osmem-server==$osmem_version"
  (cd "$d" && python3 -m zipfile -e wheel/*.whl unpacked && cp unpacked/osmem_server/bin/osmem-server . && chmod +x osmem-server)
  "$docker" build --quiet -t "local/osmem:$osmem_version" "$d" >/dev/null
  rm -rf "$d"
fi

if ! have "local/moto:$moto_version"; then
  echo "building local/moto:$moto_version"
  d=$(ctx moto)
  "$docker" build --quiet --build-arg "MOTO_VERSION=$moto_version" -t "local/moto:$moto_version" "$d" >/dev/null
  rm -rf "$d"
fi

# The indexer image relies on what this base carries (boto3/botocore in /var/runtime, as AWS's), so an image
# built from an older Dockerfile is rebuilt: the label records the Dockerfile it came from.
lambda_base_sum=$(sha256sum "$here/lambda-base/Dockerfile" | cut -c1-16)
built_from=$("$docker" image inspect --format '{{index .Config.Labels "books.dockerfile-sha256"}}' \
  local/lambda-python:3.11 2>/dev/null || true)
if [ "$built_from" != "$lambda_base_sum" ]; then
  echo "building local/lambda-python:3.11"
  d=$(ctx lambda-base)
  "$docker" build --quiet --label "books.dockerfile-sha256=$lambda_base_sum" -t local/lambda-python:3.11 "$d" >/dev/null
  rm -rf "$d"
fi
