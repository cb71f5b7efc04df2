#!/usr/bin/env bash
# Makes sure a Docker engine answers: installs Debian's docker.io (and mmdebstrap, for the base image)
# when missing and we are root, and starts dockerd when it is not running. Idempotent and quick.
set -euo pipefail
docker=${DOCKER:-/usr/bin/docker}
if "$docker" info >/dev/null 2>&1 && command -v mmdebstrap >/dev/null; then exit 0; fi
if [ "$(id -u)" != 0 ]; then
  "$docker" info >/dev/null 2>&1 || { echo "no Docker engine answers and we are not root: start one (DOCKER=$docker)" >&2; exit 1; }
  exit 0
fi
if [ ! -x /usr/bin/dockerd ] || ! command -v mmdebstrap >/dev/null; then
  echo "installing docker.io and mmdebstrap from Debian"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq --no-install-recommends docker.io mmdebstrap >/dev/null
fi
if ! "$docker" info >/dev/null 2>&1; then
  echo "starting dockerd (log: /var/log/dockerd.log)"
  nohup dockerd >/var/log/dockerd.log 2>&1 &
  for _ in $(seq 1 150); do "$docker" info >/dev/null 2>&1 && exit 0; sleep 0.2; done
  echo "dockerd did not come up; see /var/log/dockerd.log" >&2; exit 1
fi
