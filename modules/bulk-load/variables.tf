variable "create" {
  description = "Whether to create anything (false creates nothing, outputs are null)."
  type        = bool
  default     = true
}

variable "name" {
  description = "Name of the state machine; also names the export function (<name>-export), the roles, log groups, alarm and (by default) the bucket."
  type        = string

  # Leaves room for "-state-machine" (role names: 64) and for "-<account>-<region>" in the bucket's name (63).
  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9-]{0,28}[a-z0-9]$", var.name))
    error_message = "name must be 2-30 lowercase letters, digits or '-', starting and ending with a letter or digit (it also names the bucket)."
  }
}

variable "tags" {
  description = "Map of tags to add to every resource."
  type        = map(string)
  default     = {}
}

################################################################################
# Table and index
################################################################################

variable "table_arn" {
  description = "ARN of the table to export (the table module's table_arn); point-in-time recovery must be on."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:dynamodb:[a-z0-9-]+:[0-9]{12}:table/[A-Za-z0-9_.-]{3,255}$", var.table_arn))
    error_message = "table_arn must be a DynamoDB table ARN (arn:aws:dynamodb:<region>:<account>:table/<name>), not a stream or index ARN."
  }
}

variable "opensearch_domain_arn" {
  description = "ARN of the OpenSearch domain; scopes the export function's es:ESHttp* permissions."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:es:[a-z0-9-]+:[0-9]{12}:domain/[a-z][a-z0-9-]+$", var.opensearch_domain_arn))
    error_message = "opensearch_domain_arn must be an OpenSearch domain ARN (arn:aws:es:<region>:<account>:domain/<name>)."
  }
}

variable "opensearch_index_aliases" {
  description = "List of the aliases the stream indexer writes (the lambda module's index_aliases output: OPENSEARCH_INDEX, or every entity's index); the function may write each alias and the indices <alias>-*."
  type        = list(string)
  default     = ["books"]

  validation {
    condition     = length(var.opensearch_index_aliases) > 0 && alltrue([for alias in var.opensearch_index_aliases : can(regex("^[a-z0-9][a-z0-9_-]{0,200}$", alias))])
    error_message = "opensearch_index_aliases must list at least one lowercase index name (letters, digits, '_', '-')."
  }
}

variable "opensearch_data_node_count" {
  description = "Number of the domain's data nodes (the opensearch module's instance_count); MaxConcurrency is this times concurrency_per_data_node."
  type        = number

  validation {
    condition     = var.opensearch_data_node_count >= 1 && floor(var.opensearch_data_node_count) == var.opensearch_data_node_count
    error_message = "opensearch_data_node_count must be a whole number of at least 1."
  }
}

variable "concurrency_per_data_node" {
  description = "Children (each one writer sending one _bulk at a time) per data node; README, Concurrency, says how to choose it."
  type        = number
  default     = 2

  validation {
    condition     = var.concurrency_per_data_node >= 1 && var.concurrency_per_data_node <= 16 && floor(var.concurrency_per_data_node) == var.concurrency_per_data_node
    error_message = "concurrency_per_data_node must be a whole number from 1 to 16: more concurrent bulk writers than a node's write threads only queue and answer 429."
  }
}

################################################################################
# Export function
################################################################################

variable "image_uri" {
  description = "URI of the indexer's container image, by digest or immutable tag: the stream indexer's own image."
  type        = string

  validation {
    condition     = can(regex("^[0-9]{12}\\.dkr\\.ecr\\.[a-z0-9-]+\\.amazonaws\\.com(\\.cn)?/[^:@]+[:@].+$", var.image_uri))
    error_message = "image_uri must be an ECR image URI with a tag or digest, e.g. 123456789012.dkr.ecr.eu-west-1.amazonaws.com/books-indexer@sha256:<digest>."
  }
}

variable "architecture" {
  description = "Instruction set of the image: x86_64 or arm64."
  type        = string
  default     = "x86_64"

  validation {
    condition     = contains(["x86_64", "arm64"], var.architecture)
    error_message = "architecture must be x86_64 or arm64."
  }
}

variable "indexer_environment" {
  description = "Map of the stream indexer's environment (the lambda module's environment output); TABLE_NAME and BULK_LOAD_BUCKET are added here."
  type        = map(string)

  validation {
    condition     = alltrue([for name in ["OPENSEARCH_ENDPOINT", "OPENSEARCH_INDEX", "TABLE_PARTITION_KEY"] : contains(keys(var.indexer_environment), name)])
    error_message = "indexer_environment must be the stream indexer's environment (the lambda module's environment output): OPENSEARCH_ENDPOINT, OPENSEARCH_INDEX and TABLE_PARTITION_KEY are missing from it."
  }

  # The lambda module sets TABLE_NAME itself when entities fold (it reads the table then): it must be this
  # module's table, which sets it from table_arn either way.
  validation {
    condition     = !contains(keys(var.indexer_environment), "BULK_LOAD_BUCKET") && lookup(var.indexer_environment, "TABLE_NAME", split("/", var.table_arn)[1]) == split("/", var.table_arn)[1]
    error_message = "indexer_environment must not set BULK_LOAD_BUCKET (this module sets it to its bucket), nor a TABLE_NAME other than table_arn's table."
  }
}

variable "memory_size" {
  description = "Memory of the export function in MiB (CPU grows with it: decompression and JSON are CPU-bound)."
  type        = number
  default     = 1024

  validation {
    condition     = var.memory_size >= 128 && var.memory_size <= 10240
    error_message = "memory_size must be between 128 and 10240 MiB."
  }
}

variable "timeout" {
  description = "Seconds one invocation may run; the handler stops its work minutes earlier and answers partial, the state machine invokes it again."
  type        = number
  default     = 900

  # Lambda's maximum is 900 s; below 60 s an invocation spends more of itself on a cold start than on work.
  validation {
    condition     = var.timeout >= 60 && var.timeout <= 900
    error_message = "timeout must be between 60 and 900 seconds (Lambda's maximum)."
  }
}

variable "reserved_concurrent_executions" {
  description = "Concurrency reserved for the export function, or null for the unreserved pool (MaxConcurrency already bounds it)."
  type        = number
  default     = null

  validation {
    condition     = var.reserved_concurrent_executions == null || try(var.reserved_concurrent_executions >= 1, false)
    error_message = "reserved_concurrent_executions must be null or at least 1 (0 would stop every child)."
  }
}

variable "function_kms_key_arn" {
  description = "ARN of a KMS key to encrypt the function's environment, or null for the AWS managed key."
  type        = string
  default     = null
}

variable "vpc_config" {
  description = "Subnets and security groups when the domain lives in a VPC (the stream indexer's), or null to run outside one."
  type = object({
    subnet_ids         = list(string)
    security_group_ids = list(string)
  })
  default = null
}

variable "role_permissions_boundary_arn" {
  description = "ARN of a permissions boundary for both roles, or null."
  type        = string
  default     = null
}

################################################################################
# Bucket
################################################################################

variable "bucket_name" {
  description = "Name of the bucket for exports, checkpoints and Map Run results; null uses <name>-<account>-<region>."
  type        = string
  default     = null

  validation {
    condition     = var.bucket_name == null || can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.bucket_name))
    error_message = "bucket_name must be a valid S3 bucket name (3-63 lowercase letters, digits, '.' or '-')."
  }
}

variable "object_expiration_days" {
  description = "Days after which objects under runs/ (exports, checkpoints) and results/ (Map Run results) expire."
  type        = number
  default     = 14

  # A run must finish, or be redriven, before its export and checkpoints expire: a redrive after that
  # starts over. Step Functions keeps a Standard execution for redrive for 14 days.
  validation {
    condition     = var.object_expiration_days >= 7 && floor(var.object_expiration_days) == var.object_expiration_days
    error_message = "object_expiration_days must be a whole number of at least 7: a run's export and checkpoints must outlive the time to redrive it."
  }
}

variable "kms_key_arn" {
  description = "ARN of a customer managed KMS key for the bucket (both roles get kms:Decrypt and kms:GenerateDataKey on it), or null for SSE-S3."
  type        = string
  default     = null

  validation {
    condition     = var.kms_key_arn == null || can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/.+$", var.kms_key_arn))
    error_message = "kms_key_arn must be a KMS key ARN (arn:aws:kms:<region>:<account>:key/<id>), not an alias: the roles' grants name the key."
  }
}

variable "deny_insecure_transport" {
  description = "Whether the bucket policy denies every request made without TLS (aws:SecureTransport false); only an emulator serving plain HTTP needs false."
  type        = bool
  default     = true
}

variable "force_destroy" {
  description = "Whether destroying the bucket also deletes its objects (for throwaway environments)."
  type        = bool
  default     = false
}

################################################################################
# Logs, tracing, alarm
################################################################################

variable "log_level" {
  description = "What the state machine logs to its log group: ALL, ERROR, FATAL or OFF."
  type        = string
  default     = "ERROR"

  validation {
    condition     = contains(["ALL", "ERROR", "FATAL", "OFF"], var.log_level)
    error_message = "log_level must be ALL, ERROR, FATAL or OFF."
  }
}

variable "log_retention_in_days" {
  description = "Days to keep the function's and the state machine's logs."
  type        = number
  default     = 30

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_in_days)
    error_message = "log_retention_in_days must be a CloudWatch Logs retention value (1, 3, 5, 7, 14, 30, 60, 90, ... 3653)."
  }
}

variable "log_kms_key_arn" {
  description = "ARN of a KMS key for both log groups, or null for CloudWatch Logs' own encryption at rest."
  type        = string
  default     = null
}

variable "tracing_enabled" {
  description = "Whether to trace the state machine and the export function with X-Ray (grants both roles X-Ray writes)."
  type        = bool
  default     = false
}

variable "create_alarms" {
  description = "Whether to create the alarm on failed executions."
  type        = bool
  default     = true
}

variable "alarm_actions" {
  description = "List of ARNs (SNS topics) the failed-executions alarm notifies on ALARM and OK."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for arn in var.alarm_actions : can(regex("^arn:aws[a-z-]*:", arn))])
    error_message = "alarm_actions must hold ARNs, e.g. of SNS topics (arn:aws:sns:<region>:<account>:<topic>)."
  }

  # An alarm without actions only changes colour in the console.
  validation {
    condition     = !var.create || !var.create_alarms || length(var.alarm_actions) > 0
    error_message = "alarm_actions must name at least one topic while create_alarms is true (e.g. the stream indexer's: the lambda module's alarm_actions output)."
  }
}
