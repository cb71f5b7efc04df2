variable "title" {
  description = "Title of the API in the OpenAPI document (the REST API's name)."
  type        = string
}

variable "description" {
  description = "Description of the API in the OpenAPI document."
  type        = string
  default     = "Books REST API: DynamoDB through direct integrations, search through OpenSearch."
}

variable "partition" {
  description = "AWS partition of the integrations' ARNs (aws, aws-cn, aws-us-gov)."
  type        = string
  default     = "aws"

  validation {
    condition     = can(regex("^aws(-[a-z]+)*$", var.partition))
    error_message = "partition must be an AWS partition such as aws, aws-cn or aws-us-gov."
  }
}

variable "region" {
  description = "AWS region of the table and the OpenSearch domain, used in the integration URIs."
  type        = string

  validation {
    condition     = can(regex("^[a-z]{2}(-[a-z]+)+-[0-9]$", var.region))
    error_message = "region must be an AWS region name such as \"eu-west-1\"."
  }
}

variable "table_name" {
  description = "Name of the DynamoDB table that holds the books (partition key \"id\", a string)."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9_.-]{3,255}$", var.table_name))
    error_message = "table_name must be 3-255 characters of letters, digits, \"_\", \".\" or \"-\"."
  }
}

variable "idempotency_table_name" {
  description = "Name of the DynamoDB table of Idempotency-Key records (partition key \"scope\", sort key \"entry\", both strings; TTL on \"expiresAt\")."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9_.-]{3,255}$", var.idempotency_table_name))
    error_message = "idempotency_table_name must be 3-255 characters of letters, digits, \"_\", \".\" or \"-\"."
  }
}

variable "idempotency_key_ttl_hours" {
  description = "Hours an Idempotency-Key is remembered after its first use: a retry within them returns the first result."
  type        = number
  default     = 24

  validation {
    condition     = var.idempotency_key_ttl_hours >= 1 && var.idempotency_key_ttl_hours <= 720 && floor(var.idempotency_key_ttl_hours) == var.idempotency_key_ttl_hours
    error_message = "idempotency_key_ttl_hours must be a whole number of hours from 1 to 720 (30 days)."
  }
}

variable "execution_role_arn" {
  description = "ARN of the role API Gateway assumes to call DynamoDB and OpenSearch."
  type        = string

  validation {
    condition     = can(regex("^arn:[a-z-]+:iam::[0-9]{12}:role/", var.execution_role_arn))
    error_message = "execution_role_arn must be an IAM role ARN (arn:aws:iam::<account>:role/<name>)."
  }
}

variable "opensearch_domain_endpoint" {
  description = "Host name of the OpenSearch domain endpoint, without scheme (the opensearch module's domain_endpoint)."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9.-]+$", var.opensearch_domain_endpoint))
    error_message = "opensearch_domain_endpoint must be a host name such as \"search-books-abc.eu-west-1.es.amazonaws.com\", without https://."
  }
}

variable "opensearch_index" {
  description = "Index or alias that GET /search queries (the indexer's OPENSEARCH_INDEX)."
  type        = string
  default     = "books"

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9_.-]{0,254}$", var.opensearch_index))
    error_message = "opensearch_index must be a lowercase index or alias name."
  }
}

variable "authorization" {
  description = "How callers authenticate: AWS_IAM (SigV4), API_KEY (x-api-key header with a usage plan) or NONE."
  type        = string
  default     = "AWS_IAM"

  validation {
    condition     = contains(["AWS_IAM", "API_KEY", "NONE"], var.authorization)
    error_message = "authorization must be one of AWS_IAM, API_KEY or NONE."
  }
}

variable "limits" {
  description = "Bounds enforced by request validation and templates: field lengths, page sizes and search size."
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

  validation {
    condition = alltrue([
      var.limits.title_max_length >= 1,
      var.limits.author_max_length >= 1,
      var.limits.description_max_length >= 1,
      var.limits.max_page_size >= 1 && var.limits.max_page_size <= 999,
      var.limits.default_page_size >= 1 && var.limits.default_page_size <= var.limits.max_page_size,
      var.limits.search_max_size >= 1 && var.limits.search_max_size <= 999,
      var.limits.search_size >= 1 && var.limits.search_size <= var.limits.search_max_size,
      # OpenSearch refuses from + size beyond the index's max_result_window (10000 unless the index changes it).
      var.limits.max_result_window >= var.limits.search_max_size && var.limits.max_result_window <= 99999,
      var.limits.q_max_length >= 1 && var.limits.q_max_length <= 1024,
      var.limits.fuzzy_max_length >= 0 && var.limits.fuzzy_max_length <= var.limits.q_max_length,
    ])
    error_message = "limits: lengths >= 1; max_page_size 1-999; default_page_size 1-max_page_size; search_max_size 1-999; search_size 1-search_max_size; max_result_window search_max_size-99999; q_max_length 1-1024; fuzzy_max_length 0-q_max_length."
  }
}

variable "cors" {
  description = "Cross-origin access for browsers, off (null) by default; the api module's cors input describes it."
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
}
