data "aws_region" "current" {}
data "aws_partition" "current" {}

locals {
  create            = var.create
  create_repository = local.create && var.create_repository
  build_image       = local.create && var.build_image

  repository_name = var.repository_name
  repository_url  = local.create_repository ? aws_ecr_repository.this[0].repository_url : var.repository_url

  # Lambda runs an image built for exactly one architecture (docs.aws.amazon.com/lambda/latest/dg/images-create.html:
  # "Lambda does not support multi-architecture images"), so the build names its platform.
  platform = { x86_64 = "linux/amd64", arm64 = "linux/arm64" }[var.architecture]

  # The tag is a digest of the sources (names and contents) and the platform: the same sources give the same
  # tag (no build, empty plan), any change gives a new one. source_excludes (interpreter caches, docs) are
  # not sources.
  # The files that make the image: git's tracked files when the caller lists them (live/ does, from
  # `git ls-files`, the same list build-image.sh builds from), else every file; source_excludes apply to both.
  source_files = sort([
    for file in(var.source_files != null ? var.source_files : tolist(fileset(var.source_dir, "**"))) : file
    if alltrue([for pattern in var.source_excludes : length(regexall(pattern, file)) == 0])
  ])
  source_hash = sha256(join("\n", concat(
    [local.platform, jsonencode(var.build_environment)],
    [for file in local.source_files : "${file}:${filesha256("${var.source_dir}/${file}")}"],
  )))
  # Promotion publishes another environment's manifest by its digest, under a tag naming that digest.
  promote         = var.promote_from != null
  promoted_digest = local.promote ? split("@", var.promote_from.image_uri)[1] : null
  image_tag       = local.promote ? "promoted-${substr(local.promoted_digest, 7, 20)}" : "${var.image_tag_prefix}${substr(local.source_hash, 0, 20)}"

  # Where the image is pushed: the repository itself, or (local emulator only) a stand-in registry.
  push_repository = var.stand_in == null ? local.repository_url : "${var.stand_in.registry}/${local.repository_name}"
  # Where a promoted image is copied from: its repository, or the same repository name in the stand-in.
  promoted_repository = local.promote ? split("@", var.promote_from.image_uri)[0] : null
  copy_source = !local.promote ? null : (var.stand_in == null ? var.promote_from.image_uri : join("", [
    var.stand_in.registry, "/", join("/", slice(split("/", local.promoted_repository), 1, length(split("/", local.promoted_repository)))), "@", local.promoted_digest,
  ]))
}

################################################################################
# Repository
################################################################################

resource "aws_ecr_repository" "this" {
  count = local.create_repository ? 1 : 0

  name = local.repository_name
  # Immutable tags: a tag is a digest of the sources, so it always names the same image.
  image_tag_mutability = "IMMUTABLE"
  force_delete         = var.force_delete

  image_scanning_configuration {
    scan_on_push = true
  }

  encryption_configuration {
    encryption_type = var.kms_key_arn == null ? "AES256" : "KMS"
    kms_key         = var.kms_key_arn
  }

  tags = var.tags
}

resource "aws_ecr_lifecycle_policy" "this" {
  count = local.create_repository ? 1 : 0

  repository = aws_ecr_repository.this[0].name
  policy = jsonencode({
    rules = [
      {
        rulePriority = 1
        description  = "Expire untagged images after a day (failed or superseded pushes)"
        selection    = { tagStatus = "untagged", countType = "sinceImagePushed", countUnit = "days", countNumber = 1 }
        action       = { type = "expire" }
      },
      {
        rulePriority = 2
        description  = "Keep the newest ${var.max_image_count} images for rollbacks"
        selection    = { tagStatus = "any", countType = "imageCountMoreThan", countNumber = var.max_image_count }
        action       = { type = "expire" }
      },
    ]
  })
}

################################################################################
# Build and push
################################################################################

# terraform_data (built into Terraform >= 1.4) with a local-exec build: no extra provider to install, trust
# and lock (only hashicorp/aws is used), and the build runs only when its trigger, the content tag, changes.
resource "terraform_data" "image" {
  count = local.build_image ? 1 : 0

  triggers_replace = {
    image  = "${local.push_repository}:${local.image_tag}"
    source = local.promote ? var.promote_from.image_uri : ""
  }

  provisioner "local-exec" {
    command = "${path.module}/scripts/publish.sh"
    environment = merge(var.build_environment, {
      IMAGE           = "${local.push_repository}:${local.image_tag}"
      REPOSITORY_NAME = local.repository_name
      IMAGE_TAG       = local.image_tag
      SOURCE_IMAGE    = local.promote ? local.copy_source : ""
      PLATFORM        = local.platform
      BUILD_SCRIPT    = var.build_script
      DOCKER          = var.docker_command
      ECR_LOGIN       = var.stand_in == null ? "on" : "off"
      AWS_REGION      = data.aws_region.current.name
      # local emulator only: record the pushed manifest in the ECR API (moto), as ECR does on push
      ECR_API_ENDPOINT = try(var.stand_in.ecr_api_endpoint, "")
    })
  }

  depends_on = [aws_ecr_repository.this]
}

# The pushed image's digest, read back from the repository after the push (deferred to apply whenever the
# image is rebuilt; read at plan time otherwise, so an unchanged source gives an empty plan).
data "aws_ecr_image" "this" {
  count = local.build_image ? 1 : 0

  repository_name = local.repository_name
  image_tag       = local.image_tag

  depends_on = [terraform_data.image]

  lifecycle {
    postcondition {
      condition     = !local.promote || self.image_digest == local.promoted_digest
      error_message = "The promoted tag names another digest than promote_from.image_uri: the promotion did not keep the manifest."
    }
  }
}

################################################################################
# Cross-account pull for promotion: the accounts in pull_account_ids may read this repository's images (and
# nothing else), which is what their image unit's skopeo copy needs ("Private repository policy examples in
# Amazon ECR": allow another account to pull,
# https://docs.aws.amazon.com/AmazonECR/latest/userguide/repository-policy-examples.html).
################################################################################

data "aws_iam_policy_document" "pull" {
  count = local.create_repository && length(var.pull_account_ids) > 0 ? 1 : 0

  statement {
    sid     = "PromotionPull"
    actions = ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchCheckLayerAvailability", "ecr:DescribeImages"]

    principals {
      type        = "AWS"
      identifiers = [for account in var.pull_account_ids : "arn:${data.aws_partition.current.partition}:iam::${account}:root"]
    }
  }
}

resource "aws_ecr_repository_policy" "this" {
  count = local.create_repository && length(var.pull_account_ids) > 0 ? 1 : 0

  repository = aws_ecr_repository.this[0].name
  policy     = data.aws_iam_policy_document.pull[0].json
}
