variable "create" {
  description = "Whether to create anything (false creates nothing, outputs are null)."
  type        = bool
  default     = true
}

################################################################################
# Repository
################################################################################

variable "repository_name" {
  description = "Name of the ECR repository."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9]+(?:[._-][a-z0-9]+)*(?:/[a-z0-9]+(?:[._-][a-z0-9]+)*)*$", var.repository_name)) && length(var.repository_name) >= 2 && length(var.repository_name) <= 256
    error_message = "repository_name must be 2-256 lowercase letters, digits and . _ - / separators (ECR's repository name rule)."
  }
}

variable "create_repository" {
  description = "Whether to create the ECR repository (false pushes to repository_url)."
  type        = bool
  default     = true
}

variable "repository_url" {
  description = "URL of an existing repository when create_repository is false."
  type        = string
  default     = null
}

variable "max_image_count" {
  description = "Number of newest images the lifecycle policy keeps (rollback targets)."
  type        = number
  default     = 30

  validation {
    condition     = var.max_image_count >= 1
    error_message = "max_image_count must be at least 1."
  }
}

variable "kms_key_arn" {
  description = "ARN of a KMS key to encrypt the repository, or null for AES256."
  type        = string
  default     = null
}

variable "force_delete" {
  description = "Whether destroying the repository also deletes its images (for throwaway environments)."
  type        = bool
  default     = false
}

################################################################################
# Image
################################################################################

variable "build_image" {
  description = "Whether to build and push the image (needs Docker where Terraform runs); false outputs the tag-based URI without building."
  type        = bool
  default     = true
}

variable "source_dir" {
  description = "Folder whose files make up the image (their names and contents make the tag)."
  type        = string
}

variable "source_files" {
  description = "List of the files under source_dir (relative paths) that make up the image, e.g. git's tracked files; null uses every file under it."
  type        = list(string)
  default     = null
}

variable "promote_from" {
  description = "Another environment's image to publish here instead of building one: image_uri is <repository url>@sha256:<digest>, copied with its digest unchanged (null builds)."
  type = object({
    image_uri = string
  })
  default = null

  validation {
    condition     = var.promote_from == null || can(regex("^[^@]+@sha256:[0-9a-f]{64}$", var.promote_from.image_uri))
    error_message = "promote_from.image_uri must name an image by digest: <repository url>@sha256:<64 hex digits> (the image unit's image_uri output in the environment that built it)."
  }
}

variable "pull_account_ids" {
  description = "List of AWS account ids allowed to pull this repository's images (the environments that promote them)."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for account in var.pull_account_ids : can(regex("^[0-9]{12}$", account))])
    error_message = "pull_account_ids must hold 12-digit AWS account ids."
  }
}

variable "source_excludes" {
  description = "List of regular expressions: files under source_dir whose relative path matches one are not part of the content tag."
  type        = list(string)
  default     = ["(^|/)__pycache__/", "\\.pyc$"]

  validation {
    condition     = alltrue([for pattern in var.source_excludes : can(regexall(pattern, ""))])
    error_message = "source_excludes must hold valid regular expressions."
  }
}

variable "build_script" {
  description = "Executable that builds the image: called with the image reference as its argument and PLATFORM (linux/amd64 or linux/arm64) plus build_environment in its environment."
  type        = string
}

variable "build_environment" {
  description = "Map of environment variables for the build script (e.g. BASE_IMAGE); part of the content tag."
  type        = map(string)
  default     = {}
}

variable "architecture" {
  description = "Instruction set to build for: x86_64 or arm64 (the function's architecture)."
  type        = string
  default     = "x86_64"

  validation {
    condition     = contains(["x86_64", "arm64"], var.architecture)
    error_message = "architecture must be x86_64 or arm64."
  }
}

variable "image_tag_prefix" {
  description = "Prefix of the content tag."
  type        = string
  default     = "src-"

  validation {
    condition     = can(regex("^[A-Za-z0-9_][A-Za-z0-9_.-]{0,100}$", var.image_tag_prefix))
    error_message = "image_tag_prefix must start a valid image tag (letters, digits, _ . -; at most 101 characters)."
  }
}

variable "docker_command" {
  description = "Docker client to build and push with."
  type        = string
  default     = "docker"
}

variable "stand_in" {
  description = "Local emulators only: a registry (host:port, plain HTTP on loopback) that stands in for ECR's, and the ECR API endpoint the pushed manifest is recorded in; null on AWS."
  type = object({
    registry         = string
    ecr_api_endpoint = string
  })
  default = null
}

variable "tags" {
  description = "Map of tags to add to every resource."
  type        = map(string)
  default     = {}
}
