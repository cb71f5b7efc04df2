variable "create" {
  description = "Whether to create the dashboard (false creates nothing, outputs are null)."
  type        = bool
  default     = true
}

variable "dashboard_name" {
  description = "Name of the dashboard, e.g. books-dev."
  type        = string

  # "The name of the dashboard ... can contain only alphanumerics, dash (-), and underscore (_)", up to 255
  # characters (PutDashboard, https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_PutDashboard.html).
  validation {
    condition     = can(regex("^[A-Za-z0-9_-]{1,255}$", var.dashboard_name))
    error_message = "dashboard_name must be 1-255 letters, digits, \"-\" or \"_\"."
  }
}

variable "api" {
  description = "The REST API's name and stage (the ApiName and Stage dimensions of AWS/ApiGateway): the api module's rest_api_name and stage_name."
  type = object({
    name  = string
    stage = string
  })
}

variable "indexer" {
  description = "The indexer: its function name, the namespace of its own metrics and its on-failure queue (the lambda module's function_name, metrics_namespace, dead_letter_queue_name)."
  type = object({
    function_name          = string
    metrics_namespace      = string
    dead_letter_queue_name = string
  })
}

variable "opensearch_domain_name" {
  description = "Name of the OpenSearch domain (the DomainName dimension of AWS/ES): the opensearch module's domain_name."
  type        = string
}

variable "alarm_arns" {
  description = "List of alarm ARNs whose states the dashboard shows (every module's cloudwatch_metric_alarm_arns); at most 100."
  type        = list(string)
  default     = []

  validation {
    condition     = length(var.alarm_arns) <= 100 && alltrue([for arn in var.alarm_arns : can(regex("^arn:aws[a-z-]*:cloudwatch:[a-z0-9-]+:[0-9]{12}:alarm:.+$", arn))])
    error_message = "alarm_arns must hold at most 100 CloudWatch alarm ARNs (arn:aws:cloudwatch:<region>:<account>:alarm:<name>)."
  }
}

variable "index_lag_alarm_threshold_ms" {
  description = "The index lag alarm's threshold in milliseconds, drawn on the lag graph; null draws none."
  type        = number
  default     = null
}

variable "tags" {
  description = "Map of tags; unused, as CloudWatch dashboards take no tags (accepted like every module's tags input)."
  type        = map(string)
  default     = {}
}
