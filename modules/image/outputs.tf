output "repository_url" {
  description = "URL of the ECR repository the image is pushed to."
  value       = local.repository_url
}

output "repository_arn" {
  description = "ARN of the ECR repository, when created here."
  value       = try(aws_ecr_repository.this[0].arn, null)
}

output "image_tag" {
  description = "Tag of the image: a digest of the sources and the platform, or promoted-<digest> when promoted."
  value       = local.create ? local.image_tag : null
}

output "image_digest" {
  description = "Digest (sha256:...) of the pushed image manifest, or null when build_image is false."
  value       = try(data.aws_ecr_image.this[0].image_digest, null)
}

output "image_uri" {
  description = "The image by digest (<repository url>@sha256:...) for the function; by tag when build_image is false."
  value       = local.create ? (local.build_image ? "${local.repository_url}@${data.aws_ecr_image.this[0].image_digest}" : "${local.repository_url}:${local.image_tag}") : null
}

output "architecture" {
  description = "Instruction set the image is built for (pass it to the function)."
  value       = var.architecture
}
