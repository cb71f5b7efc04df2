variable "create" {
  description = "Whether to create the table (false creates nothing, outputs are null)."
  type        = bool
  default     = true
}

variable "name" {
  description = "Name of the DynamoDB table."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9_.-]{3,255}$", var.name))
    error_message = "name must be 3-255 characters of letters, digits, '_', '-' or '.'."
  }
}

variable "billing_mode" {
  description = "Billing mode: PAY_PER_REQUEST (on demand) or PROVISIONED (then set read_capacity and write_capacity)."
  type        = string
  default     = "PAY_PER_REQUEST"

  validation {
    condition     = contains(["PAY_PER_REQUEST", "PROVISIONED"], var.billing_mode)
    error_message = "billing_mode must be PAY_PER_REQUEST or PROVISIONED."
  }
}

variable "read_capacity" {
  description = "Read capacity units when billing_mode is PROVISIONED."
  type        = number
  default     = 5

  validation {
    condition     = var.read_capacity >= 1 && floor(var.read_capacity) == var.read_capacity
    error_message = "read_capacity must be a whole number of at least 1."
  }
}

variable "write_capacity" {
  description = "Write capacity units when billing_mode is PROVISIONED."
  type        = number
  default     = 5

  validation {
    condition     = var.write_capacity >= 1 && floor(var.write_capacity) == var.write_capacity
    error_message = "write_capacity must be a whole number of at least 1."
  }
}

variable "hash_key" {
  description = "Name of the partition (hash) key attribute."
  type        = string
  default     = "id"

  validation {
    condition     = length(var.hash_key) >= 1 && length(var.hash_key) <= 255
    error_message = "hash_key must be 1-255 characters long."
  }
}

variable "hash_key_type" {
  description = "Type of the partition key attribute: S (string), N (number) or B (binary)."
  type        = string
  default     = "S"

  validation {
    condition     = contains(["S", "N", "B"], var.hash_key_type)
    error_message = "hash_key_type must be S, N or B."
  }
}

variable "range_key" {
  description = "Name of the sort (range) key attribute, or null for a table without one."
  type        = string
  default     = null
}

variable "range_key_type" {
  description = "Type of the sort key attribute: S (string), N (number) or B (binary)."
  type        = string
  default     = "S"

  validation {
    condition     = contains(["S", "N", "B"], var.range_key_type)
    error_message = "range_key_type must be S, N or B."
  }
}

variable "stream_view_type" {
  description = "What the table's stream carries; the indexer needs NEW_AND_OLD_IMAGES (or at least NEW_IMAGE)."
  type        = string
  default     = "NEW_AND_OLD_IMAGES"

  validation {
    condition     = contains(["NEW_AND_OLD_IMAGES", "NEW_IMAGE", "OLD_IMAGE", "KEYS_ONLY"], var.stream_view_type)
    error_message = "stream_view_type must be NEW_AND_OLD_IMAGES, NEW_IMAGE, OLD_IMAGE or KEYS_ONLY."
  }
}

variable "point_in_time_recovery_enabled" {
  description = "Whether to enable point-in-time recovery (continuous backups for 35 days)."
  type        = bool
  default     = true
}

variable "kms_key_arn" {
  description = "ARN of a customer managed KMS key for server-side encryption; null uses the AWS owned key."
  type        = string
  default     = null

  validation {
    condition     = var.kms_key_arn == null || can(regex("^arn:aws[a-z-]*:kms:", var.kms_key_arn))
    error_message = "kms_key_arn must be a KMS key ARN (arn:aws:kms:...) or null."
  }
}

variable "ttl_attribute_name" {
  description = "Name of the attribute holding an expiry time (epoch seconds), or null to disable TTL."
  type        = string
  default     = null
}

variable "deletion_protection_enabled" {
  description = "Whether the table refuses deletion until this is turned off (keep it on in production)."
  type        = bool
  default     = true
}

variable "tags" {
  description = "Map of tags to add to every resource."
  type        = map(string)
  default     = {}
}
