variable "create" {
  description = "Whether to create the domain (false creates nothing, outputs are null)."
  type        = bool
  default     = true
}

variable "domain_name" {
  description = "Name of the OpenSearch domain."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{2,27}$", var.domain_name))
    error_message = "domain_name must be 3-28 characters: a lowercase letter, then lowercase letters, digits or '-'."
  }
}

variable "engine_version" {
  description = "Engine version, e.g. OpenSearch_2.19."
  type        = string
  default     = "OpenSearch_2.19"

  validation {
    condition     = can(regex("^(OpenSearch|Elasticsearch)_[0-9]+\\.[0-9]+$", var.engine_version))
    error_message = "engine_version must look like OpenSearch_2.19 (or Elasticsearch_7.10)."
  }
}

variable "instance_type" {
  description = "Instance type of the data nodes, e.g. t3.small.search or r7g.large.search."
  type        = string
  default     = "t3.small.search"

  # Instance types are <family>.<size>.search ("Supported instance types in Amazon OpenSearch Service",
  # https://docs.aws.amazon.com/opensearch-service/latest/developerguide/supported-instance-types.html).
  validation {
    condition     = can(regex("^[a-z][a-z0-9]*\\.(nano|micro|small|medium|large|xlarge|[0-9]+xlarge)\\.search$", var.instance_type))
    error_message = "instance_type must be an OpenSearch instance type such as t3.small.search or r7g.large.search."
  }
}

variable "instance_count" {
  description = "Number of data nodes (a multiple of availability_zone_count when zone awareness is on)."
  type        = number
  default     = 1

  validation {
    condition     = var.instance_count >= 1 && floor(var.instance_count) == var.instance_count
    error_message = "instance_count must be a whole number of at least 1."
  }

  # CreateDomain rejects data nodes that cannot be spread evenly over the zones, e.g. 3 nodes over 2 zones
  # ("Configuring a multi-AZ domain in Amazon OpenSearch Service",
  # https://docs.aws.amazon.com/opensearch-service/latest/developerguide/managedomains-multiaz.html).
  validation {
    condition     = !var.zone_awareness_enabled || var.instance_count % var.availability_zone_count == 0
    error_message = "instance_count must be a multiple of availability_zone_count when zone awareness is on (CreateDomain rejects e.g. 3 data nodes over 2 zones)."
  }
}

variable "zone_awareness_enabled" {
  description = "Whether to spread nodes and replicas over availability zones (on in production)."
  type        = bool
  default     = false
}

variable "availability_zone_count" {
  description = "Number of availability zones when zone awareness is on: 2 or 3 (3, as AWS recommends for production domains)."
  type        = number
  default     = 3

  validation {
    condition     = contains([2, 3], var.availability_zone_count)
    error_message = "availability_zone_count must be 2 or 3."
  }
}

variable "dedicated_master" {
  description = "Dedicated master nodes: enabled (null: on exactly when zone awareness is on), instance_type and count (3 or 5)."
  type = object({
    enabled       = optional(bool)
    instance_type = optional(string, "m7g.large.search")
    count         = optional(number, 3)
  })
  default  = {}
  nullable = false

  validation {
    condition     = contains([3, 5], var.dedicated_master.count)
    error_message = "dedicated_master.count must be 3 or 5 (an odd number that keeps a quorum when one node fails)."
  }

  validation {
    condition     = can(regex("^[a-z][a-z0-9]*\\.(nano|micro|small|medium|large|xlarge|[0-9]+xlarge)\\.search$", var.dedicated_master.instance_type))
    error_message = "dedicated_master.instance_type must be an OpenSearch instance type such as m7g.large.search."
  }

  # AWS recommends three dedicated master nodes for each production domain ("Dedicated master nodes in Amazon
  # OpenSearch Service",
  # https://docs.aws.amazon.com/opensearch-service/latest/developerguide/managedomains-dedicatedmasternodes.html).
  # A zone-aware domain is a production domain here.
  validation {
    condition     = !var.zone_awareness_enabled || var.dedicated_master.enabled != false
    error_message = "dedicated_master.enabled must not be false on a zone-aware (production) domain: AWS recommends three dedicated master nodes for every production domain."
  }
}

variable "ebs_volume_size" {
  description = "Size in GiB of each data node's gp3 volume."
  type        = number
  default     = 10

  validation {
    condition     = var.ebs_volume_size >= 10
    error_message = "ebs_volume_size must be at least 10 GiB."
  }
}

variable "ebs_iops" {
  description = "Provisioned IOPS of each gp3 volume (3000 is the gp3 baseline)."
  type        = number
  default     = 3000

  validation {
    condition     = var.ebs_iops >= 3000 && var.ebs_iops <= 16000
    error_message = "ebs_iops must be between 3000 and 16000 for gp3."
  }
}

variable "ebs_throughput" {
  description = "Throughput in MiB/s of each gp3 volume (125 is the gp3 baseline)."
  type        = number
  default     = 125

  validation {
    condition     = var.ebs_throughput >= 125 && var.ebs_throughput <= 1000
    error_message = "ebs_throughput must be between 125 and 1000 MiB/s for gp3."
  }
}

variable "kms_key_arn" {
  description = "ARN of a customer managed KMS key for encryption at rest; null uses the AWS managed key."
  type        = string
  default     = null
}

variable "tls_security_policy" {
  description = "TLS policy of the HTTPS endpoint; only TLS 1.2+ policies are accepted."
  type        = string
  default     = "Policy-Min-TLS-1-2-2019-07"

  validation {
    condition     = contains(["Policy-Min-TLS-1-2-2019-07", "Policy-Min-TLS-1-2-PFS-2023-10"], var.tls_security_policy)
    error_message = "tls_security_policy must be Policy-Min-TLS-1-2-2019-07 or Policy-Min-TLS-1-2-PFS-2023-10."
  }
}

variable "access_principal_arns" {
  description = "List of IAM principal ARNs (the indexer's role, the API's role; \"*\" allowed after the account for name prefixes) allowed to call the domain's HTTP API."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for arn in var.access_principal_arns : can(regex("^arn:aws[a-z-]*:(iam|sts)::[0-9]{12}:", arn))])
    error_message = "access_principal_arns must hold IAM ARNs like arn:aws:iam::123456789012:role/name."
  }
}

variable "access_actions" {
  description = "List of es:ESHttp* actions granted to access_principal_arns."
  type        = list(string)
  default     = ["es:ESHttpGet", "es:ESHttpHead", "es:ESHttpPost", "es:ESHttpPut", "es:ESHttpDelete"]

  validation {
    condition     = length(var.access_actions) > 0 && alltrue([for action in var.access_actions : can(regex("^es:ESHttp", action))])
    error_message = "access_actions must be a non-empty list of es:ESHttp* actions."
  }
}

variable "fine_grained_access_control" {
  description = "Fine-grained access control: a master user ARN, or an internal user database with a master user; null disables it."
  type = object({
    master_user_arn                = optional(string)
    internal_user_database_enabled = optional(bool, false)
    master_user_name               = optional(string)
  })
  default = null
}

variable "master_user_password" {
  description = "Password of the internal master user when fine_grained_access_control uses the internal user database."
  type        = string
  default     = null
  sensitive   = true
}

variable "vpc_options" {
  description = "Subnets and security groups to place the domain in a VPC, or null for a public (policy-guarded) endpoint."
  type = object({
    subnet_ids         = list(string)
    security_group_ids = list(string)
  })
  default = null
}

variable "log_types" {
  description = "Set of log types to publish to CloudWatch Logs (AUDIT_LOGS needs fine-grained access control)."
  type        = set(string)
  default     = ["ES_APPLICATION_LOGS", "INDEX_SLOW_LOGS", "SEARCH_SLOW_LOGS"]

  validation {
    condition     = alltrue([for t in var.log_types : contains(["ES_APPLICATION_LOGS", "INDEX_SLOW_LOGS", "SEARCH_SLOW_LOGS", "AUDIT_LOGS"], t)])
    error_message = "log_types may hold ES_APPLICATION_LOGS, INDEX_SLOW_LOGS, SEARCH_SLOW_LOGS and AUDIT_LOGS."
  }
}

variable "log_retention_in_days" {
  description = "Days to keep the domain's logs."
  type        = number
  default     = 30

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_in_days)
    error_message = "log_retention_in_days must be a CloudWatch Logs retention value (1, 3, 5, 7, 14, 30, 60, 90, ... 3653)."
  }
}

variable "log_kms_key_arn" {
  description = "ARN of a KMS key to encrypt the log groups, or null for CloudWatch's default encryption."
  type        = string
  default     = null
}

variable "tags" {
  description = "Map of tags to add to every resource."
  type        = map(string)
  default     = {}
}

variable "create_alarms" {
  description = "Whether to create AWS's recommended alarms for the domain (cluster red/yellow, free storage, writes blocked, snapshot failure, CPU, JVM memory pressure, 5xx share)."
  type        = bool
  default     = true
}

variable "alarm_actions" {
  description = "List of ARNs (the alarm-topic module's alarm_actions) every alarm notifies on ALARM and OK."
  type        = list(string)
  default     = []

  # An alarm without actions only changes state in the console: nobody is told.
  validation {
    condition     = !(var.create && var.create_alarms) || length(var.alarm_actions) > 0
    error_message = "alarm_actions must name at least one SNS topic when alarms are created (the environment's alarm topic: modules/alarm-topic's alarm_actions output), or set create_alarms = false."
  }
}

################################################################################
# Dashboards access for people (dashboards.tf)
################################################################################

variable "dashboards_access" {
  description = "Sign-in to OpenSearch Dashboards for people: Amazon Cognito authentication plus fine-grained access control with an admin and a read-only analyst role, and role mappings for index_access's writers and readers. Null (the default) turns it off; {} turns it on with everything created here."
  type = object({
    # The fine-grained access control master user; null: the IAM identity applying Terraform (the role behind
    # an assumed-role session), which then also applies the role mappings.
    master_user_arn = optional(string)
    # Prefix of the Cognito hosted sign-in domain (<prefix>.auth.<region>.amazoncognito.com); null:
    # "<domain_name>-<account id>".
    cognito_domain_prefix = optional(string)
    # MFA of the user pool made here: ON (TOTP, enrolled at the first sign-in) or OPTIONAL.
    mfa_configuration = optional(string, "ON")
    # Bring your own Cognito resources instead of making them here; the identity pool's role selection
    # (admins by their group's token) is then yours to configure.
    cognito = optional(object({
      user_pool_id     = string
      identity_pool_id = string
      role_arn         = string # the role OpenSearch Service assumes to configure the pools
      admin_role_arn   = string # mapped to all_access and security_manager
      analyst_role_arn = string # mapped to the read-only analyst role and kibana_user
    }))
  })
  default = null

  validation {
    condition     = var.dashboards_access == null || try(contains(["ON", "OPTIONAL"], var.dashboards_access.mfa_configuration), false)
    error_message = "dashboards_access.mfa_configuration must be ON or OPTIONAL."
  }

  validation {
    condition     = var.dashboards_access == null || try(var.dashboards_access.master_user_arn == null || can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:(role|user)/.+$", var.dashboards_access.master_user_arn)), false)
    error_message = "dashboards_access.master_user_arn must be an IAM role or user ARN (arn:aws:iam::123456789012:role/name), or null for the identity applying Terraform."
  }

  # "The domain can't contain reserved words such as aws, amazon, or cognito" and is 1-63 lowercase letters,
  # digits and hyphens ("Using the Amazon Cognito prefix domain",
  # https://docs.aws.amazon.com/cognito/latest/developerguide/cognito-user-pools-assign-domain-prefix.html).
  validation {
    condition     = var.dashboards_access == null || try(var.dashboards_access.cognito_domain_prefix == null || (can(regex("^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$", var.dashboards_access.cognito_domain_prefix)) && !can(regex("aws|amazon|cognito", var.dashboards_access.cognito_domain_prefix))), false)
    error_message = "dashboards_access.cognito_domain_prefix must be 1-63 lowercase letters, digits or '-', and must not contain aws, amazon or cognito."
  }

  validation {
    condition     = var.dashboards_access == null || var.fine_grained_access_control == null
    error_message = "Set dashboards_access or fine_grained_access_control, not both: dashboards_access turns fine-grained access control on with an IAM master user."
  }
}

variable "index_access" {
  description = "With fine-grained access control: the alias the security roles cover (the alias itself and \"<alias>-*\"), and the IAM role ARNs (\"*\" allowed, e.g. for a name_prefix) mapped to write it (the indexer) and to search it (the API)."
  type = object({
    alias            = optional(string, "books")
    writer_role_arns = optional(list(string), [])
    reader_role_arns = optional(list(string), [])
  })
  default  = {}
  nullable = false

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9_-]{0,200}$", var.index_access.alias))
    error_message = "index_access.alias must be a lowercase index name (letters, digits, '_', '-')."
  }

  validation {
    condition     = alltrue([for arn in concat(var.index_access.writer_role_arns, var.index_access.reader_role_arns) : can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:role/.+$", arn))])
    error_message = "index_access.writer_role_arns and reader_role_arns must hold IAM role ARNs like arn:aws:iam::123456789012:role/name."
  }
}
