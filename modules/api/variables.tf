variable "name" {
  description = "Name of the REST API; also prefixes the execution role, log group, API key and usage plan."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9][A-Za-z0-9_-]{0,47}$", var.name))
    error_message = "name must be 1-48 letters, digits, \"_\" or \"-\", starting with a letter or digit."
  }
}

variable "description" {
  description = "Description of the REST API."
  type        = string
  default     = "Books REST API: DynamoDB through direct integrations, search through OpenSearch."
}

variable "table_name" {
  description = "Name of the DynamoDB table that holds the books (the table module's table_name; partition key \"id\", a string)."
  type        = string
}

variable "table_arn" {
  description = "ARN of that table (the table module's table_arn); the execution role may use only this table."
  type        = string

  validation {
    condition     = can(regex("^arn:[a-z-]+:dynamodb:[a-z0-9-]+:[0-9]{12}:table/.+$", var.table_arn))
    error_message = "table_arn must be a DynamoDB table ARN (arn:aws:dynamodb:<region>:<account>:table/<name>)."
  }
}

variable "opensearch_domain_endpoint" {
  description = "Host name of the OpenSearch domain endpoint without scheme (the opensearch module's domain_endpoint)."
  type        = string
}

variable "opensearch_domain_arn" {
  description = "ARN of the OpenSearch domain (the opensearch module's domain_arn); the execution role may search only its index."
  type        = string

  validation {
    condition     = can(regex("^arn:[a-z-]+:es:[a-z0-9-]+:[0-9]{12}:domain/.+$", var.opensearch_domain_arn))
    error_message = "opensearch_domain_arn must be an OpenSearch domain ARN (arn:aws:es:<region>:<account>:domain/<name>)."
  }
}

variable "opensearch_index" {
  description = "Index or alias that GET /search queries; the indexer's OPENSEARCH_INDEX."
  type        = string
  default     = "books"
}

variable "authorization" {
  description = "How callers authenticate: AWS_IAM (SigV4-signed requests), API_KEY (x-api-key header, usage plan) or NONE."
  type        = string
  default     = "AWS_IAM"

  validation {
    condition     = contains(["AWS_IAM", "API_KEY", "NONE"], var.authorization)
    error_message = "authorization must be one of AWS_IAM, API_KEY or NONE."
  }
}

variable "limits" {
  description = "Bounds enforced by request validation and the templates: field lengths, page sizes and search size."
  type = object({
    title_max_length       = optional(number, 512)
    author_max_length      = optional(number, 256)
    description_max_length = optional(number, 20000)
    default_page_size      = optional(number, 20)
    max_page_size          = optional(number, 100)
    search_size            = optional(number, 20)
    search_max_size        = optional(number, 100)
    max_result_window      = optional(number, 10000)
    q_max_length           = optional(number, 256)
    fuzzy_max_length       = optional(number, 64)
  })
  default = {}
}

variable "idempotency_key_ttl_hours" {
  description = "Hours an Idempotency-Key of POST /books is remembered after its first use: a retry within them returns the first result."
  type        = number
  default     = 24

  validation {
    condition     = var.idempotency_key_ttl_hours >= 1 && var.idempotency_key_ttl_hours <= 720 && floor(var.idempotency_key_ttl_hours) == var.idempotency_key_ttl_hours
    error_message = "idempotency_key_ttl_hours must be a whole number of hours from 1 to 720 (30 days)."
  }
}

variable "idempotency_table_kms_key_arn" {
  description = "ARN of a customer managed KMS key for the idempotency table; null uses the AWS owned key."
  type        = string
  default     = null

  validation {
    condition     = var.idempotency_table_kms_key_arn == null || can(regex("^arn:aws[a-z-]*:kms:", var.idempotency_table_kms_key_arn))
    error_message = "idempotency_table_kms_key_arn must be a KMS key ARN (arn:aws:kms:...) or null."
  }
}

variable "endpoint_type" {
  description = "Endpoint type of the REST API: REGIONAL, EDGE or PRIVATE."
  type        = string
  default     = "REGIONAL"

  validation {
    condition     = contains(["REGIONAL", "EDGE", "PRIVATE"], var.endpoint_type)
    error_message = "endpoint_type must be one of REGIONAL, EDGE or PRIVATE."
  }
}

variable "stage_name" {
  description = "Name of the stage the API is deployed to; part of the invoke URL."
  type        = string
  default     = "v1"

  validation {
    condition     = can(regex("^[A-Za-z0-9_-]{1,128}$", var.stage_name))
    error_message = "stage_name must be 1-128 letters, digits, \"_\" or \"-\"."
  }
}

variable "throttling" {
  description = "Throttling of each method of the stage (the */* method settings: API Gateway applies it per method, not to the stage's sum): steady requests per second and burst."
  type = object({
    rate_limit  = optional(number, 100)
    burst_limit = optional(number, 50)
  })
  default = {}

  validation {
    condition     = var.throttling.rate_limit > 0 && var.throttling.burst_limit > 0
    error_message = "throttling.rate_limit and throttling.burst_limit must be greater than 0."
  }
}

variable "search_throttling" {
  description = "Throttling of GET /search, lower than the other methods': every search is an OpenSearch query, fuzzy up to limits.fuzzy_max_length. Steady requests per second and burst; at most throttling's."
  type = object({
    rate_limit  = optional(number, 20)
    burst_limit = optional(number, 40)
  })
  default = {}

  validation {
    condition     = var.search_throttling.rate_limit > 0 && var.search_throttling.burst_limit > 0 && var.search_throttling.rate_limit <= var.throttling.rate_limit && var.search_throttling.burst_limit <= var.throttling.burst_limit
    error_message = "search_throttling.rate_limit and burst_limit must be greater than 0 and at most throttling's (GET /search is the method to protect the domain from, never the loosest)."
  }
}

variable "usage_plan_quota" {
  description = "Requests allowed per period for the API key when authorization is API_KEY; null for no quota."
  type = object({
    limit  = number
    period = optional(string, "DAY")
  })
  default = null

  validation {
    condition     = var.usage_plan_quota == null || try(contains(["DAY", "WEEK", "MONTH"], var.usage_plan_quota.period) && var.usage_plan_quota.limit > 0, false)
    error_message = "usage_plan_quota.period must be DAY, WEEK or MONTH and usage_plan_quota.limit greater than 0."
  }
}

variable "logging_level" {
  description = "Execution logging level of every method: OFF, ERROR or INFO (needs the account's API Gateway CloudWatch role)."
  type        = string
  default     = "ERROR"

  validation {
    condition     = contains(["OFF", "ERROR", "INFO"], var.logging_level)
    error_message = "logging_level must be one of OFF, ERROR or INFO."
  }
}

variable "create_account_cloudwatch_role" {
  description = "Whether to create the account-wide role API Gateway uses to write logs: one per account and region, so leave false where it exists (destroying it leaves the account pointing at a deleted role)."
  type        = bool
  default     = false
}

variable "access_log_retention_in_days" {
  description = "Days to keep the stage's access logs."
  type        = number
  default     = 365

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653, 0], var.access_log_retention_in_days)
    error_message = "access_log_retention_in_days must be a CloudWatch Logs retention value (1, 3, 5, 7, 14, 30, ..., 3653, or 0 for never)."
  }
}

variable "execution_log_retention_in_days" {
  description = "Days to keep the stage's execution logs (API-Gateway-Execution-Logs_<rest_api_id>/<stage>, made here before the stage writes to it)."
  type        = number
  default     = 365

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653, 0], var.execution_log_retention_in_days)
    error_message = "execution_log_retention_in_days must be a CloudWatch Logs retention value (1, 3, 5, 7, 14, 30, ..., 3653, or 0 for never)."
  }
}

variable "access_log_kms_key_arn" {
  description = "ARN of a KMS key to encrypt the access log group with; null for CloudWatch's own encryption."
  type        = string
  default     = null
}

variable "cors" {
  description = "Cross-origin access for browsers, off (null) by default: allow_origins are the only origins answered (OPTIONS preflights and Access-Control-Allow-Origin on every response), with allow_headers and max_age_seconds for the preflight."
  type = object({
    allow_origins   = list(string)
    allow_headers   = optional(list(string), ["Authorization", "Content-Type", "Idempotency-Key", "If-Match", "X-Amz-Content-Sha256", "X-Amz-Date", "X-Amz-Security-Token"])
    expose_headers  = optional(list(string), ["ETag", "Location", "x-amzn-RequestId"])
    max_age_seconds = optional(number, 600)
  })
  default = null

  validation {
    condition     = var.cors == null || try(length(var.cors.allow_origins) > 0 && alltrue([for origin in var.cors.allow_origins : can(regex("^https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?$", origin))]), false)
    error_message = "cors.allow_origins must list at least one origin, each scheme://host[:port] (for example https://books.example.com), without a path or a wildcard."
  }

  validation {
    condition     = var.cors == null || try(var.cors.max_age_seconds >= 0 && var.cors.max_age_seconds <= 86400, false)
    error_message = "cors.max_age_seconds must be from 0 to 86400."
  }
}

variable "xray_tracing_enabled" {
  description = "Whether the stage traces requests with AWS X-Ray."
  type        = bool
  default     = true
}

variable "tags" {
  description = "Map of tags added to every resource."
  type        = map(string)
  default     = {}
}

################################################################################
# Alarms (alarms.tf)
################################################################################

variable "create_alarms" {
  description = "Whether to create the 5XX-rate and latency alarms of the stage."
  type        = bool
  default     = true
}

variable "alarm_actions" {
  description = "List of ARNs (the alarm-topic module's alarm_actions) every alarm notifies on ALARM and OK."
  type        = list(string)
  default     = []

  # An alarm without actions only changes state in the console: nobody is told.
  validation {
    condition     = !var.create_alarms || length(var.alarm_actions) > 0
    error_message = "alarm_actions must name at least one SNS topic when alarms are created (the environment's alarm topic: modules/alarm-topic's alarm_actions output), or set create_alarms = false."
  }
}

variable "server_error_alarm_rate" {
  description = "Share of requests answered 5XX (0-1) above which the server-errors alarm fires."
  type        = number
  default     = 0.01

  validation {
    condition     = var.server_error_alarm_rate > 0 && var.server_error_alarm_rate < 1
    error_message = "server_error_alarm_rate must be between 0 and 1 (exclusive)."
  }
}

variable "latency_alarm_threshold_ms" {
  description = "99th-percentile latency in milliseconds above which the latency alarm fires."
  type        = number
  default     = 2000

  validation {
    condition     = var.latency_alarm_threshold_ms > 0 && var.latency_alarm_threshold_ms <= 29000
    error_message = "latency_alarm_threshold_ms must be between 1 and 29000 (API Gateway's integration timeout)."
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
