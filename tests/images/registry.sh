#!/usr/bin/env bash
# Makes sure the CNCF distribution registry (Debian's docker-registry) is installed: the image step's tests
# push to it as ECR's stand-in. Prints the binary's path. Installs from Debian when missing and we are root.
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
echo "$registry"
