#!/usr/bin/env bash
# Builds the indexer image: build-image.sh TAG [BASE_IMAGE]   (modules/image calls it when its tag changes)
# - The build context is exactly git's tracked files of this folder (`git ls-files`), the same list the image
#   unit hashes into the tag (live/_envcommon/image.hcl), less what .dockerignore names: a stray untracked
#   file neither changes the tag nor reaches the image. Run it from a git checkout.
# - The base image is ./base-image, pinned by digest (<repository>:<tag>@sha256:...) and so part of the tag;
#   `make base-image-pin` resolves the tag's newest digest and rewrites it. BASE_IMAGE (argument or
#   environment) overrides it. A base without a digest is refused, unless it is an image built on this machine
#   (no registry digest exists to pin: the local stand-in, local/lambda-python:3.11) or BASE_IMAGE_UNPINNED
#   names why.
# - PLATFORM (default linux/amd64; linux/arm64 for arm64 functions): Lambda runs an image built for exactly
#   one architecture, and a single-platform image manifest, never a list or index ("Lambda does not support
#   multi-architecture images": https://docs.aws.amazon.com/lambda/latest/dg/images-create.html). So the
#   platform is named, and where the builder adds attestations (BuildKit with buildx, which turns the push
#   into an image index) they are turned off with --provenance=false --sbom=false.
# - The image carries LABEL books.source-tag=TAG's tag part, which publish.sh checks before trusting a tag
#   that already exists.
# - When CA_BUNDLE names a file (default: the host's system bundle) it goes into the context as
#   ca-bundle.crt, so pip trusts an intercepting HTTPS proxy.
set -euo pipefail
tag=${1:?usage: build-image.sh TAG [BASE_IMAGE]}
platform=${PLATFORM:-linux/amd64}
here=$(cd "$(dirname "$0")" && pwd)
docker=${DOCKER:-docker}
ca_bundle=${CA_BUNDLE:-/etc/ssl/certs/ca-certificates.crt}
base=${2:-${BASE_IMAGE:-$(tr -d '[:space:]' < "$here/base-image")}}
case "$base" in
  *@sha256:*) ;;
  *) local_only=$("$docker" image inspect --format '{{len .RepoDigests}}' "$base" 2>/dev/null || echo absent)
     if [ "$local_only" != 0 ] && [ -z "${BASE_IMAGE_UNPINNED:-}" ]; then
       echo "build-image.sh: base image $base is not pinned by digest; run \`make base-image-pin\` where its" \
            "registry is reachable (or set BASE_IMAGE to <image>@sha256:...)" >&2
       exit 2
     fi ;;
esac

attestations=()
if "$docker" build --help 2>/dev/null | grep -q -- '--provenance'; then
  attestations=(--provenance=false --sbom=false)
fi

if ! files=$(git -C "$here" ls-files) || [ -z "$files" ]; then
  echo "build-image.sh: $here is not in a git checkout (the image is built from git's tracked files)" >&2
  exit 2
fi
context=$(mktemp -d)
trap 'rm -rf "$context"' EXIT
(cd "$here" && git ls-files -z | xargs -0 cp --parents -t "$context")
if [ -f "$ca_bundle" ]; then cp "$ca_bundle" "$context/ca-bundle.crt"; fi
"$docker" build --quiet --platform "$platform" "${attestations[@]}" --build-arg "BASE_IMAGE=$base" \
  --label "books.source-tag=${tag##*:}" -t "$tag" "$context" >/dev/null
echo "$tag"
