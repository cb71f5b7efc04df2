variable "create" {
  description = "Whether to create anything (false creates nothing, outputs are null)."
  type        = bool
  default     = true
}

variable "name" {
  description = "Name of the alarm topic (and prefix of its key's description)."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9_-]{1,256}$", var.name))
    error_message = "name must be 1-256 letters, digits, '-' or '_' (an SNS topic name)."
  }
}

variable "destinations" {
  description = "Who is told when an alarm changes state: email_addresses, https_endpoints (each must confirm its subscription) and/or topic_arn, an existing topic to publish to instead of one made here."
  type = object({
    email_addresses = optional(list(string), [])
    https_endpoints = optional(list(string), [])
    topic_arn       = optional(string)
  })
  default  = {}
  nullable = false

  validation {
    condition     = alltrue([for address in var.destinations.email_addresses : can(regex("^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$", address))])
    error_message = "destinations.email_addresses must hold email addresses such as oncall@example.com."
  }

  validation {
    condition     = alltrue([for url in var.destinations.https_endpoints : startswith(url, "https://")])
    error_message = "destinations.https_endpoints must be https:// URLs (SNS delivers alarms to them by HTTPS POST)."
  }

  validation {
    condition     = var.destinations.topic_arn == null || can(regex("^arn:aws[a-z-]*:sns:[a-z0-9-]+:[0-9]{12}:[A-Za-z0-9_-]+$", var.destinations.topic_arn))
    error_message = "destinations.topic_arn must be an SNS topic ARN (arn:aws:sns:<region>:<account>:<name>) or null."
  }

  # An environment that pages someone must name who (prod). Without it every alarm changes state unseen.
  validation {
    condition     = !var.require_destination || length(var.destinations.email_addresses) + length(var.destinations.https_endpoints) > 0 || var.destinations.topic_arn != null
    error_message = "No on-call destination: this environment requires one, or its alarms notify nobody. Set alarms.destinations in live/<env>/env.hcl, e.g. destinations = { email_addresses = [\"oncall@example.com\"] }, or https_endpoints = [\"https://...\"], or topic_arn = \"arn:aws:sns:<region>:<account>:<topic>\" (an existing topic), then plan again; email and HTTPS subscriptions must then be confirmed."
  }
}

variable "require_destination" {
  description = "Whether to refuse a plan without any destination (on for environments that page someone)."
  type        = bool
  default     = false
}

variable "kms_key_arn" {
  description = "ARN of a customer managed KMS key for the topic whose policy lets cloudwatch.amazonaws.com use it; null creates such a key (alias/aws/sns cannot work: CloudWatch may not use it)."
  type        = string
  default     = null

  validation {
    condition     = var.kms_key_arn == null || try(length(var.kms_key_arn) > 0 && !strcontains(var.kms_key_arn, "alias/aws/"), false)
    error_message = "kms_key_arn must name a customer managed KMS key (or be null for one made here): the alarm topic is always encrypted, and CloudWatch alarms cannot publish to a topic under an AWS managed key such as alias/aws/sns."
  }
}

variable "tags" {
  description = "Map of tags to add to every resource."
  type        = map(string)
  default     = {}
}
