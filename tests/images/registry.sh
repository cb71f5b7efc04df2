#!/usr/bin/env bash
# Makes sure the CNCF distribution registry (Debian's docker-registry) and skopeo are installed: the image
# step's tests push to the registry as ECR's stand-in and promote with skopeo. Prints the registry binary's
# path. Installs both from Debian when missing and we are root.
set -euo pipefail
registry=${DOCKER_REGISTRY_BIN:-/usr/bin/docker-registry}
if [ ! -x "$registry" ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "docker-registry is missing and we are not root: apt-get install docker-registry" >&2; exit 1
  fi
  echo "installing docker-registry (CNCF distribution) from Debian" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -qq --no-install-recommends docker-registry >/dev/null 2>&1 \
    || { apt-get update -qq >/dev/null && apt-get install -y -qq --no-install-recommends docker-registry >/dev/null; }
fi
# skopeo (Debian's) copies images registry to registry keeping their digests: modules/image's promotion.
if ! command -v skopeo >/dev/null 2>&1; then
  if [ "$(id -u)" != 0 ]; then echo "skopeo is missing and we are not root: apt-get install skopeo" >&2; exit 1; fi
  echo "installing skopeo from Debian" >&2
  apt-get install -y -qq --no-install-recommends skopeo >/dev/null 2>&1 \
    || { apt-get update -qq >/dev/null && apt-get install -y -qq --no-install-recommends skopeo >/dev/null; }
fi
echo "$registry"
