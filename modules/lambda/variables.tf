variable "create" {
  description = "Whether to create anything (false creates nothing, outputs are null)."
  type        = bool
  default     = true
}

variable "function_name" {
  description = "Name of the function; also names its role, log group, queue, alarms and (by default) ECR repository."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9_-]{1,60}$", var.function_name))
    error_message = "function_name must be 1-60 letters, digits, '-' or '_' (60 leaves room for the '-dlq' suffix)."
  }
}

variable "description" {
  description = "Description of the function."
  type        = string
  default     = "Keeps an OpenSearch index in sync with a DynamoDB table's stream"
}

################################################################################
# Image
################################################################################

variable "create_ecr_repository" {
  description = "Whether to create the ECR repository the image is pushed to."
  type        = bool
  default     = true
}

variable "ecr_repository_name" {
  description = "Name of the ECR repository; null uses function_name."
  type        = string
  default     = null
}

variable "ecr_max_image_count" {
  description = "Number of newest images the lifecycle policy keeps."
  type        = number
  default     = 30

  validation {
    condition     = var.ecr_max_image_count >= 1
    error_message = "ecr_max_image_count must be at least 1."
  }
}

variable "ecr_kms_key_arn" {
  description = "ARN of a KMS key to encrypt the repository, or null for AES256."
  type        = string
  default     = null
}

variable "ecr_force_delete" {
  description = "Whether destroying the repository also deletes its images (for throwaway environments)."
  type        = bool
  default     = false
}

variable "image_uri" {
  description = "URI of the function's container image, by digest or immutable tag (<repository url>:<tag>)."
  type        = string

  validation {
    condition     = can(regex("^[0-9]{12}\\.dkr\\.ecr\\.[a-z0-9-]+\\.amazonaws\\.com(\\.cn)?/[^:@]+[:@].+$", var.image_uri))
    error_message = "image_uri must be an ECR image URI with a tag or digest, e.g. 123456789012.dkr.ecr.eu-west-1.amazonaws.com/books-indexer:1.0.0."
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

################################################################################
# Function
################################################################################

variable "memory_size" {
  description = "Memory in MiB (CPU grows with it)."
  type        = number
  default     = 512

  validation {
    condition     = var.memory_size >= 128 && var.memory_size <= 10240
    error_message = "memory_size must be between 128 and 10240 MiB."
  }
}

variable "timeout" {
  description = "Seconds one invocation may run; the indexer's retry budget lives within it."
  type        = number
  default     = 60

  validation {
    condition     = var.timeout >= 1 && var.timeout <= 900
    error_message = "timeout must be between 1 and 900 seconds."
  }
}

variable "reserved_concurrent_executions" {
  description = "Concurrency reserved for the function (caps load on the domain), or null for the unreserved pool."
  type        = number
  default     = null

  validation {
    condition     = var.reserved_concurrent_executions == null || try(var.reserved_concurrent_executions >= 0, false)
    error_message = "reserved_concurrent_executions must be null or at least 0."
  }
}

variable "kms_key_arn" {
  description = "ARN of a KMS key to encrypt the function's environment, or null for the AWS managed key."
  type        = string
  default     = null
}

variable "tracing_mode" {
  description = "X-Ray tracing mode: PassThrough or Active (Active grants the role X-Ray writes)."
  type        = string
  default     = "PassThrough"

  validation {
    condition     = contains(["PassThrough", "Active"], var.tracing_mode)
    error_message = "tracing_mode must be PassThrough or Active."
  }
}

variable "vpc_config" {
  description = "Subnets and security groups when the domain lives in a VPC, or null to run outside one."
  type = object({
    subnet_ids         = list(string)
    security_group_ids = list(string)
  })
  default = null
}

variable "log_retention_in_days" {
  description = "Days to keep the function's logs."
  type        = number
  default     = 30

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_in_days)
    error_message = "log_retention_in_days must be a CloudWatch Logs retention value (1, 3, 5, 7, 14, 30, 60, 90, ... 3653)."
  }
}

variable "log_kms_key_arn" {
  description = "ARN of a KMS key to encrypt the log group, or null for CloudWatch's default encryption."
  type        = string
  default     = null
}

variable "role_name" {
  description = "Name of the execution role; null uses function_name."
  type        = string
  default     = null
}

variable "role_permissions_boundary_arn" {
  description = "ARN of a permissions boundary for the execution role, or null."
  type        = string
  default     = null
}

################################################################################
# Indexer settings (passed as the environment indexer/settings.py reads)
################################################################################

variable "table_stream_arn" {
  description = "ARN of the DynamoDB stream to index (the table module's table_stream_arn)."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:dynamodb:[a-z0-9-]+:[0-9]{12}:table/[^/]+/stream/.+$", var.table_stream_arn))
    error_message = "table_stream_arn must be a DynamoDB stream ARN (arn:aws:dynamodb:<region>:<account>:table/<name>/stream/<label>)."
  }
}

variable "table_partition_key" {
  description = "Name of the table's partition key attribute (TABLE_PARTITION_KEY)."
  type        = string
  default     = "id"
}

variable "table_sort_key" {
  description = "Name of the table's sort key attribute, or null (TABLE_SORT_KEY)."
  type        = string
  default     = null
}

variable "opensearch_endpoint" {
  description = "Domain endpoint, a host name or http(s) URL; a bare host gets https:// (OPENSEARCH_ENDPOINT)."
  type        = string

  validation {
    condition     = length(var.opensearch_endpoint) > 0
    error_message = "opensearch_endpoint must not be empty."
  }
}

variable "opensearch_domain_arn" {
  description = "ARN of the OpenSearch domain; scopes the role's es:ESHttp* permissions."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:es:[a-z0-9-]+:[0-9]{12}:domain/[a-z][a-z0-9-]+$", var.opensearch_domain_arn))
    error_message = "opensearch_domain_arn must be an OpenSearch domain ARN (arn:aws:es:<region>:<account>:domain/<name>)."
  }
}

variable "opensearch_index" {
  description = "Alias the indexer writes to (OPENSEARCH_INDEX); with entities, each entity's index is used instead."
  type        = string
  default     = "books"

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9_-]{0,200}$", var.opensearch_index))
    error_message = "opensearch_index must be a lowercase index name (letters, digits, '_', '-')."
  }
}

variable "opensearch_auth" {
  description = "How the indexer authenticates to the domain: sigv4, basic or none (OPENSEARCH_AUTH)."
  type        = string
  default     = "sigv4"

  validation {
    condition     = contains(["sigv4", "basic", "none"], var.opensearch_auth)
    error_message = "opensearch_auth must be sigv4, basic or none."
  }
}

variable "index_include_attributes" {
  description = "List of item attributes to index; empty indexes all (INDEX_INCLUDE_ATTRIBUTES)."
  type        = list(string)
  default     = []
}

variable "index_exclude_attributes" {
  description = "List of item attributes never to index (INDEX_EXCLUDE_ATTRIBUTES)."
  type        = list(string)
  default     = []
}

################################################################################
# Single-table designs (ENTITY_CONFIG, artifacts/update_indices/lambda/indexer/entities.py)
################################################################################

variable "entities" {
  description = "List of the table's entity types (a single-table design), each to its own index alias, children folded into their parent's document (ENTITY_CONFIG); null indexes every item flat into opensearch_index. Unset optional fields take the indexer's defaults (document_id key, fold array, max_children 1000, 1 for a section)."
  type = list(object({
    name = string
    match = object({
      partition_key_prefix = optional(string)
      sort_key_prefix      = optional(string)
      attribute            = optional(string)
      equals               = optional(string)
      equals_number        = optional(number)
      equals_bool          = optional(bool)
    })
    index       = string
    document_id = optional(string)
    include     = optional(list(string))
    exclude     = optional(list(string))
    # Fields this entity's index maps its own way, as JSON (jsonencode({ orderItems = { type = "nested" } })),
    # over the shipped index.json's when the index is made: ENTITY_CONFIG's mappings.properties.
    mappings = optional(string)
    children = optional(list(object({
      name = string
      match = object({
        partition_key_prefix = optional(string)
        sort_key_prefix      = optional(string)
        attribute            = optional(string)
        equals               = optional(string)
        equals_number        = optional(number)
        equals_bool          = optional(bool)
      })
      field        = string
      fold         = optional(string)
      order_by     = optional(string)
      descending   = optional(bool)
      max_children = optional(number)
      include      = optional(list(string))
      exclude      = optional(list(string))
    })))
  }))
  default = null

  # The rules of ENTITY_CONFIG (indexer/entities.py, which checks them again at cold start), at plan time.
  validation {
    condition     = var.entities == null || alltrue([for e in coalesce(var.entities, []) : e.mappings == null || can(keys(jsondecode(e.mappings)))])
    error_message = "entities[*].mappings must be a JSON object of field mappings, e.g. jsonencode({ orderItems = { type = \"nested\" } })."
  }

  validation {
    condition     = var.entities == null || try(length(var.entities) > 0, false)
    error_message = "entities must be null (flat indexing) or a non-empty list."
  }

  validation {
    condition = alltrue(flatten([for e in(var.entities == null ? [] : var.entities) : concat(
      [can(regex("^[A-Za-z_][A-Za-z0-9_-]{0,63}$", e.name))],
      [for c in(e.children == null ? [] : e.children) : can(regex("^[A-Za-z_][A-Za-z0-9_-]{0,63}$", c.name))],
    )]))
    error_message = "entities[*].name and entities[*].children[*].name must be 1-64 letters, digits, '_' or '-', starting with a letter or '_'."
  }

  validation {
    condition     = alltrue([for e in(var.entities == null ? [] : var.entities) : can(regex("^[a-z0-9][a-z0-9_.+-]{0,254}$", e.index)) && !contains([".", ".."], e.index)])
    error_message = "entities[*].index must be a valid alias name: 1-255 lowercase letters, digits, '-', '_', '.' or '+', not starting with '-', '_' or '+'."
  }

  validation {
    condition     = alltrue([for e in(var.entities == null ? [] : var.entities) : contains(["key", "partition_key"], coalesce(e.document_id, "key"))])
    error_message = "entities[*].document_id must be key (one document per item) or partition_key (one document per item collection, rebuilt from the table)."
  }

  validation {
    condition     = alltrue([for e in(var.entities == null ? [] : var.entities) : length(e.children == null ? [] : e.children) == 0 || e.document_id == "partition_key"])
    error_message = "entities[*].children need document_id = \"partition_key\": children are the rows of their parent's partition, folded into its one document."
  }

  validation {
    condition     = var.entities == null || try(length(distinct([for e in var.entities : e.name])) == length(var.entities), true)
    error_message = "entities[*].name must be unique."
  }

  validation {
    condition     = var.entities == null || try(length(distinct([for e in var.entities : e.index])) == length(var.entities), true)
    error_message = "entities[*].index must be unique: each entity has an index alias of its own."
  }

  validation {
    condition = alltrue([for e in(var.entities == null ? [] : var.entities) : (
      length(distinct([for c in(e.children == null ? [] : e.children) : c.name])) == length(e.children == null ? [] : e.children) &&
      length(distinct([for c in(e.children == null ? [] : e.children) : c.field])) == length(e.children == null ? [] : e.children)
    )])
    error_message = "entities[*].children[*].name and .field must be unique within their entity."
  }

  validation {
    condition = alltrue(flatten([for e in(var.entities == null ? [] : var.entities) : [
      for m in concat([e.match], [for c in(e.children == null ? [] : e.children) : c.match]) :
      anytrue([m.partition_key_prefix != null, m.sort_key_prefix != null, m.attribute != null])
    ]]))
    error_message = "every match (entities[*].match, entities[*].children[*].match) needs a condition: partition_key_prefix, sort_key_prefix, or attribute with equals (or equals_number / equals_bool)."
  }

  validation {
    condition = alltrue(flatten([for e in(var.entities == null ? [] : var.entities) : [
      for m in concat([e.match], [for c in(e.children == null ? [] : e.children) : c.match]) :
      m.partition_key_prefix != "" && m.sort_key_prefix != "" && m.attribute != ""
    ]]))
    error_message = "match.partition_key_prefix, match.sort_key_prefix and match.attribute must not be empty strings (leave them unset instead)."
  }

  validation {
    condition = alltrue(flatten([for e in(var.entities == null ? [] : var.entities) : [
      for m in concat([e.match], [for c in(e.children == null ? [] : e.children) : c.match]) :
      length(compact([m.equals == null ? "" : "s", m.equals_number == null ? "" : "n", m.equals_bool == null ? "" : "b"])) == (m.attribute == null ? 0 : 1)
    ]]))
    error_message = "match.attribute goes with exactly one of equals (a string), equals_number (a whole number) or equals_bool, and none of them goes without attribute."
  }

  validation {
    condition = alltrue(flatten([for e in(var.entities == null ? [] : var.entities) : [
      for m in concat([e.match], [for c in(e.children == null ? [] : e.children) : c.match]) :
      m.equals_number == null || try(floor(m.equals_number) == m.equals_number, false)
    ]]))
    error_message = "match.equals_number must be a whole number (the indexer compares it with the attribute exactly)."
  }

  validation {
    condition = alltrue(flatten([for e in(var.entities == null ? [] : var.entities) : [
      for m in concat([e.match], [for c in(e.children == null ? [] : e.children) : c.match]) :
      m.sort_key_prefix == null || try(length(var.table_sort_key) > 0, false)
    ]]))
    error_message = "match.sort_key_prefix needs table_sort_key (the table's sort key, TABLE_SORT_KEY)."
  }

  # Two rules with the same conditions could not be told apart: every row of one would match both.
  validation {
    condition = var.entities == null || try(length(distinct(flatten([for e in var.entities : concat(
      [jsonencode(e.match)], [for c in(e.children == null ? [] : e.children) : jsonencode(c.match)],
    )]))) == length(flatten([for e in var.entities : concat([e.match], e.children == null ? [] : e.children)])), true)
    error_message = "every match must differ from every other one (entities and children): two rules with the same conditions cannot be told apart."
  }

  validation {
    condition = alltrue(flatten([for e in(var.entities == null ? [] : var.entities) : [
      for c in(e.children == null ? [] : e.children) : contains(["array", "section"], coalesce(c.fold, "array"))
    ]]))
    error_message = "entities[*].children[*].fold must be array (a list of the child rows) or section (one object)."
  }

  validation {
    condition = alltrue(flatten([for e in(var.entities == null ? [] : var.entities) : [
      for c in(e.children == null ? [] : e.children) : c.max_children == null || try(c.max_children >= 1 && c.max_children <= 100000 && floor(c.max_children) == c.max_children, false)
    ]]))
    error_message = "entities[*].children[*].max_children must be a whole number from 1 to 100000 (more rows fail the document's records; nothing is dropped silently)."
  }

  validation {
    condition = alltrue(flatten([for e in(var.entities == null ? [] : var.entities) : [
      for c in(e.children == null ? [] : e.children) : c.fold != "section" || c.max_children == null || c.max_children == 1
    ]]))
    error_message = "entities[*].children[*].max_children must be 1 (or unset) for fold = \"section\": a section holds one row (use fold = \"array\" for more)."
  }

  validation {
    condition = alltrue(flatten([for e in(var.entities == null ? [] : var.entities) : [
      for c in(e.children == null ? [] : e.children) : c.order_by == null ? try(length(var.table_sort_key) > 0, false) : c.order_by != ""
    ]]))
    error_message = "entities[*].children[*].order_by must be an attribute name, and is required when the table has no sort key (table_sort_key) to order children by."
  }

  validation {
    condition = alltrue(flatten([for e in(var.entities == null ? [] : var.entities) : [
      for c in(e.children == null ? [] : e.children) : can(regex("^[^.\\s][^.]{0,254}$", c.field)) && !contains(e.include == null ? [] : e.include, c.field)
    ]]))
    error_message = "entities[*].children[*].field must be a top-level field name (1-255 characters, no dots, not starting with a space) that the entity's include does not also list."
  }

  validation {
    condition = alltrue(flatten([for e in(var.entities == null ? [] : var.entities) : [
      for level in concat([e], e.children == null ? [] : e.children) : [
        for names in [level.include, level.exclude] : names == null || try(length(names) > 0 && alltrue([for n in names : n != ""]), false)
      ]
    ]]))
    error_message = "include and exclude (of entities and children) must be null or non-empty lists of attribute names."
  }
}

variable "document_hook" {
  description = "Optional \"module:function\" that reshapes each document before indexing (DOCUMENT_HOOK)."
  type        = string
  default     = null

  validation {
    condition     = var.document_hook == null || can(regex("^[A-Za-z_][A-Za-z0-9_.]*:[A-Za-z_][A-Za-z0-9_]*$", var.document_hook))
    error_message = "document_hook must look like package.module:function."
  }
}

variable "bulk_max_bytes" {
  description = "Largest _bulk request body in bytes (BULK_MAX_BYTES)."
  type        = number
  default     = 5242880

  validation {
    condition     = var.bulk_max_bytes >= 1024 && var.bulk_max_bytes <= 104857600
    error_message = "bulk_max_bytes must be between 1 KiB and 100 MiB (the smallest domain's HTTP limit)."
  }
}

variable "bulk_max_actions" {
  description = "Most actions in one _bulk request (BULK_MAX_ACTIONS)."
  type        = number
  default     = 500

  validation {
    condition     = var.bulk_max_actions >= 1 && var.bulk_max_actions <= 10000
    error_message = "bulk_max_actions must be between 1 and 10000."
  }
}

variable "log_level" {
  description = "Log level of the indexer (LOG_LEVEL)."
  type        = string
  default     = "INFO"

  validation {
    condition     = contains(["DEBUG", "INFO", "WARNING", "ERROR"], var.log_level)
    error_message = "log_level must be DEBUG, INFO, WARNING or ERROR."
  }
}

variable "environment_variables" {
  description = "Map of extra environment variables (e.g. RETRY_*, REQUEST_TIMEOUT_SECONDS); they win over the ones above."
  type        = map(string)
  default     = {}
}

################################################################################
# Event source mapping
################################################################################

variable "create_event_source_mapping" {
  description = "Whether to connect the function to the stream (the event_source_mapping output is set either way)."
  type        = bool
  default     = true
}

variable "event_source_mapping" {
  description = "Settings of the stream's event source mapping; retries and record age are bounded so a poison record cannot stall a shard."
  type = object({
    starting_position                  = optional(string, "TRIM_HORIZON")
    batch_size                         = optional(number, 100)
    maximum_batching_window_in_seconds = optional(number, 0)
    parallelization_factor             = optional(number, 1)
    bisect_batch_on_function_error     = optional(bool, true)
    maximum_retry_attempts             = optional(number, 10)
    maximum_record_age_in_seconds      = optional(number, 43200)
  })
  default = {}

  validation {
    condition     = contains(["TRIM_HORIZON", "LATEST"], var.event_source_mapping.starting_position)
    error_message = "event_source_mapping.starting_position must be TRIM_HORIZON or LATEST."
  }

  validation {
    condition     = var.event_source_mapping.batch_size >= 1 && var.event_source_mapping.batch_size <= 10000
    error_message = "event_source_mapping.batch_size must be between 1 and 10000."
  }

  # "any value from 0 seconds to 300 seconds in increments of seconds"; 0, Lambda's default for streams, invokes
  # as soon as a poll (4 a second per shard) finds records ("Using AWS Lambda with Amazon DynamoDB",
  # https://docs.aws.amazon.com/lambda/latest/dg/with-ddb.html; services-ddb-params.html). A window trades
  # fewer invocations at low write rates for up to that many seconds of write->searchable latency.
  validation {
    condition     = var.event_source_mapping.maximum_batching_window_in_seconds >= 0 && var.event_source_mapping.maximum_batching_window_in_seconds <= 300 && floor(var.event_source_mapping.maximum_batching_window_in_seconds) == var.event_source_mapping.maximum_batching_window_in_seconds
    error_message = "event_source_mapping.maximum_batching_window_in_seconds must be a whole number of seconds between 0 and 300."
  }

  validation {
    condition     = var.event_source_mapping.parallelization_factor >= 1 && var.event_source_mapping.parallelization_factor <= 10
    error_message = "event_source_mapping.parallelization_factor must be between 1 and 10."
  }

  validation {
    condition     = var.event_source_mapping.maximum_retry_attempts >= 0 && var.event_source_mapping.maximum_retry_attempts <= 10000
    error_message = "event_source_mapping.maximum_retry_attempts must be between 0 and 10000 (-1, infinite, is not allowed)."
  }

  # Strictly below the stream's 24-hour retention ("Lambda parameters for Amazon DynamoDB event source mappings",
  # https://docs.aws.amazon.com/lambda/latest/dg/services-ddb-params.html): the on-failure destination receives
  # only metadata about a discarded batch, not its records ("Retaining discarded records for a DynamoDB event
  # source in Lambda", https://docs.aws.amazon.com/lambda/latest/dg/services-dynamodb-errors.html), so they must
  # still be in the stream when the message arrives for anyone to read and replay them.
  validation {
    condition     = var.event_source_mapping.maximum_record_age_in_seconds >= 60 && var.event_source_mapping.maximum_record_age_in_seconds < 86400
    error_message = "event_source_mapping.maximum_record_age_in_seconds must be at least 60 and below 86400, the stream's 24-hour retention: the on-failure queue gets only metadata, so dead-lettered records must still be readable from the stream (-1, infinite, is not allowed)."
  }
}

variable "dead_letter_kms_key_arn" {
  description = "ARN of a KMS key for the on-failure queue, or null for SQS managed encryption."
  type        = string
  default     = null
}

variable "create_operator_policy" {
  description = "Whether to create the managed policy the operations tools need (attach it to the operators' role or group)."
  type        = bool
  default     = true
}

################################################################################
# Alarms
################################################################################

variable "create_alarms" {
  description = "Whether to create the iterator age, index lag, errors and dead-letter alarms."
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

variable "iterator_age_alarm_threshold_ms" {
  description = "Iterator age in milliseconds above which the lag alarm fires."
  type        = number
  default     = 60000

  validation {
    condition     = var.iterator_age_alarm_threshold_ms > 0
    error_message = "iterator_age_alarm_threshold_ms must be positive."
  }
}

variable "index_lag_alarm_threshold_ms" {
  description = "Index lag in milliseconds (a record's table write to its acknowledgement, the indexer's IndexLagMax) above which the lag alarm fires."
  type        = number
  default     = 60000

  validation {
    condition     = var.index_lag_alarm_threshold_ms > 0
    error_message = "index_lag_alarm_threshold_ms must be positive."
  }
}

variable "alarm_evaluation_periods" {
  description = "Number of consecutive one-minute periods over the threshold before an alarm fires."
  type        = number
  default     = 5

  validation {
    condition     = var.alarm_evaluation_periods >= 1
    error_message = "alarm_evaluation_periods must be at least 1."
  }
}

variable "tags" {
  description = "Map of tags to add to every resource."
  type        = map(string)
  default     = {}
}
