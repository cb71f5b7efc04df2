#!/bin/sh
# Builds IMAGE for PLATFORM with BUILD_SCRIPT, pushes it and checks that the pushed manifest is one Lambda
# runs: a single-platform image manifest, never a list or index ("Lambda does not support multi-architecture
# images", https://docs.aws.amazon.com/lambda/latest/dg/images-create.html). Called by modules/image's
# terraform_data with IMAGE, REPOSITORY_NAME, IMAGE_TAG, PLATFORM, BUILD_SCRIPT, DOCKER, AWS_REGION,
# ECR_LOGIN (on: log in with the AWS CLI) and ECR_API_ENDPOINT (local emulator only, see record_stand_in.py).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
registry=${IMAGE%%/*}

# ECR's type of the pushed manifest, as stored (DescribeImages' imageManifestMediaType; BatchGetImage may
# convert a manifest to the media types a caller accepts).
ecr_media_type() {
  aws ecr describe-images --region "$AWS_REGION" --repository-name "$REPOSITORY_NAME" \
    --image-ids "imageTag=$IMAGE_TAG" --query 'imageDetails[0].imageManifestMediaType' --output text
}

# Tags are immutable and content-derived: a tag that exists already holds this source's image (an earlier
# apply pushed it, then failed after the push). A rebuild is not byte-identical and ECR would refuse its push
# (ImageTagAlreadyExistsException), so a retried apply only checks the stored image.
if [ "$ECR_LOGIN" = on ] && ecr_media_type >/dev/null 2>&1; then
  echo "publish.sh: $IMAGE exists already; checking it instead of rebuilding"
else
  PLATFORM=$PLATFORM DOCKER=$DOCKER "$BUILD_SCRIPT" "$IMAGE"
  if [ "$ECR_LOGIN" = on ]; then
    aws ecr get-login-password --region "$AWS_REGION" \
      | "$DOCKER" login --username AWS --password-stdin "$registry" >/dev/null
  fi
  "$DOCKER" push --quiet "$IMAGE" >/dev/null 2>&1 || "$DOCKER" push "$IMAGE"
fi

if [ -n "${ECR_API_ENDPOINT:-}" ]; then
  python3 "$here/record_stand_in.py" "$IMAGE" "$ECR_API_ENDPOINT" "$AWS_REGION"
else
  media_type=$(ecr_media_type)
  case "$media_type" in
    application/vnd.docker.distribution.manifest.v2+json | application/vnd.oci.image.manifest.v1+json) ;;
    *) echo "publish.sh: $IMAGE is a $media_type, not a single-platform image manifest Lambda accepts" >&2
       exit 1 ;;
  esac
fi
echo "published $IMAGE"
