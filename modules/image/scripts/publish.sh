#!/bin/sh
# Publishes IMAGE (<repository>:<tag>) and checks that what the tag names is the image this apply means: a
# single-platform image manifest for PLATFORM ("Lambda does not support multi-architecture images",
# https://docs.aws.amazon.com/lambda/latest/dg/images-create.html) that is either the build of these sources
# (its books.source-tag label is the tag) or, when SOURCE_IMAGE (<repository>@sha256:...) is set, exactly
# that promoted manifest (the same digest). Called by modules/image's terraform_data with IMAGE,
# REPOSITORY_NAME, IMAGE_TAG, PLATFORM, BUILD_SCRIPT, DOCKER, AWS_REGION, SOURCE_IMAGE, ECR_LOGIN (on: log in
# with the AWS CLI) and ECR_API_ENDPOINT (local emulator only, see record_stand_in.py).
#
# A tag that names anything else (a manifest list pushed by hand, another platform, another build) is
# "poisoned": it is deleted and the image published again, so the next apply recovers by itself instead of
# failing until someone deletes the tag. Promotion copies the manifest and its blobs registry to registry
# with skopeo, which keeps the digest (--preserve-digests), so prod runs the very digest dev ran.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
registry=${IMAGE%%/*}
source_image=${SOURCE_IMAGE:-}

if [ "$ECR_LOGIN" = on ]; then
  # The token of GetAuthorizationToken works for every registry the caller may read, so the same one pulls
  # from dev's repository (granted by its repository policy) and pushes to this one.
  password=$(aws ecr get-login-password --region "$AWS_REGION")
  set -- --creds "AWS:$password"
  copy_auth="--src-creds AWS:$password --dest-creds AWS:$password"
  printf '%s' "$password" | "$DOCKER" login --username AWS --password-stdin "$registry" >/dev/null
else
  set -- --tls-verify=false   # the stand-in registry speaks plain HTTP on loopback
  copy_auth="--src-tls-verify=false --dest-tls-verify=false"
fi

# ok | poisoned | none: what IMAGE holds now, judged by check_image.py from its manifest and config.
state() {
  raw=$(skopeo inspect --raw "$@" "docker://$IMAGE" 2>/dev/null) || { echo none; return 0; }
  config=$(skopeo inspect --config "$@" "docker://$IMAGE" 2>/dev/null || echo '{}')
  python3 "$here/check_image.py" "$raw" "$config" "$PLATFORM" "$IMAGE_TAG" "${source_image##*@}"
}

forget() {
  echo "publish.sh: $IMAGE names another image than this apply's; deleting the tag and publishing again" >&2
  if [ "$ECR_LOGIN" = on ]; then
    aws ecr batch-delete-image --region "$AWS_REGION" --repository-name "$REPOSITORY_NAME" \
      --image-ids "imageTag=$IMAGE_TAG" >/dev/null
  else
    skopeo delete "$@" "docker://$IMAGE"
    python3 "$here/record_stand_in.py" forget "$IMAGE" "$ECR_API_ENDPOINT" "$AWS_REGION"
  fi
}

publish() {
  if [ -n "$source_image" ]; then
    # shellcheck disable=SC2086 # copy_auth is a list of flags
    skopeo copy --quiet --preserve-digests $copy_auth "docker://$source_image" "docker://$IMAGE"
  else
    PLATFORM=$PLATFORM DOCKER=$DOCKER "$BUILD_SCRIPT" "$IMAGE"
    "$DOCKER" push --quiet "$IMAGE" >/dev/null 2>&1 || "$DOCKER" push "$IMAGE"
  fi
}

case $(state "$@") in
  ok) echo "publish.sh: $IMAGE exists already and is this apply's image" ;;
  poisoned) forget "$@"; publish ;;
  *) publish ;;
esac
if [ "$(state "$@")" != ok ]; then
  echo "publish.sh: $IMAGE is not a single-platform $PLATFORM image of this source after publishing" >&2
  exit 1
fi
if [ -n "${ECR_API_ENDPOINT:-}" ]; then
  python3 "$here/record_stand_in.py" record "$IMAGE" "$ECR_API_ENDPOINT" "$AWS_REGION"
fi
echo "published $IMAGE"
