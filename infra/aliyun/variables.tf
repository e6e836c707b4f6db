# ---------------------------------------------------------------------------------------------
# Placement and naming
# ---------------------------------------------------------------------------------------------

variable "region" {
  description = "Region of every resource, e.g. cn-hangzhou."
  type        = string
  default     = "cn-hangzhou"
}

variable "name_prefix" {
  description = "Prefix of resource names (functions are <prefix>-<catalog name>)."
  type        = string
  default     = "taskmesh"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,30}$", var.name_prefix))
    error_message = "name_prefix: 2-31 lowercase letters, digits and hyphens, starting with a letter."
  }
}

variable "tags" {
  description = "Tags of the resources that take tags."
  type        = map(string)
  default = {
    application = "taskmesh"
  }
}

# ---------------------------------------------------------------------------------------------
# Code
# ---------------------------------------------------------------------------------------------

variable "code_package_path" {
  description = "Zip of the built app (dist/ with node_modules and package.json at its root); see docs/deploy.md."
  type        = string
  default     = "../../dist/taskmesh-fc.zip"
}

variable "handlers" {
  description = "Handler (file.export inside the package) of each function of the catalog."
  type        = map(string)
  default = {
    "mns-puller"      = "dist/functions/aliyun/index.puller"
    processor         = "dist/functions/aliyun/index.processor"
    "processor-sweep" = "dist/functions/aliyun/index.sweep"
    reclaimer         = "dist/functions/aliyun/index.reclaimer"
    admin             = "dist/functions/aliyun/index.admin"
  }
}

variable "timers_enabled" {
  description = "Whether the timer triggers (mns-puller, processor-sweep, reclaimer) fire."
  type        = bool
  default     = true
}

variable "extra_environment" {
  description = "Environment variables merged over the settings in main.tf (Section__Key = string). Keep secrets in the sensitive variables."
  type        = map(string)
  default     = {}
}

# ---------------------------------------------------------------------------------------------
# Secrets
# ---------------------------------------------------------------------------------------------

variable "mongodb_uri" {
  description = "MongoDB connection string (MongoDB__ConnectionString)."
  type        = string
  sensitive   = true

  validation {
    condition     = can(regex("^mongodb(\\+srv)?://", var.mongodb_uri))
    error_message = "mongodb_uri must start with mongodb:// or mongodb+srv://."
  }
}

variable "mongodb_database_name" {
  description = "Database holding the tasks (MongoDB__DatabaseName)."
  type        = string
  default     = "taskmesh"
}

variable "admin_api_key" {
  description = "Key the admin API and dashboard require (Admin__ApiKey). Empty: every admin request is refused."
  type        = string
  sensitive   = true
  default     = ""
}

variable "access_key_id" {
  description = "AccessKey id for MNS (Aliyun__AccessKeyId). Leave empty to use the function role's STS credentials."
  type        = string
  default     = ""
}

variable "access_key_secret" {
  description = "AccessKey secret for MNS (Aliyun__AccessKeySecret). Leave empty to use the function role's STS credentials."
  type        = string
  sensitive   = true
  default     = ""
}

# ---------------------------------------------------------------------------------------------
# MNS
# ---------------------------------------------------------------------------------------------

variable "mns_queue_name" {
  description = "MNS ingest queue (Aliyun__QueueName; code default \"tasks\")."
  type        = string
  default     = "tasks"
}

variable "mns_dead_letter_queue_name" {
  description = "MNS dead-letter queue (Aliyun__DeadLetterQueueName; code default \"tasks-dlq\")."
  type        = string
  default     = "tasks-dlq"
}

variable "mns_max_receive_count" {
  description = "Receives of a message before it moves to the dead-letter queue (Aliyun__MaxReceiveCount; code default 5)."
  type        = number
  default     = 5

  validation {
    condition     = var.mns_max_receive_count >= 1 && var.mns_max_receive_count <= 1000
    error_message = "mns_max_receive_count: 1-1000."
  }
}

variable "mns_visibility_timeout_seconds" {
  description = "How long a received message stays hidden (queue attribute and Ingest__VisibilityTimeout; code: MessageTimeout + 30 s = 330)."
  type        = number
  default     = 330
}

variable "mns_endpoint" {
  description = "MNS endpoint (Aliyun__MNSEndpoint). Empty: https://<account>.mns.<region>.aliyuncs.com."
  type        = string
  default     = ""
}

variable "mns_allow_create_queue" {
  description = "Grant mns:CreateQueue on the two queues (the code's ensureQueues creates them when missing)."
  type        = bool
  default     = true
}

# ---------------------------------------------------------------------------------------------
# Logs
# ---------------------------------------------------------------------------------------------

variable "log_project_name" {
  description = "Simple Log Service project (globally unique). Empty: <prefix>-logs-<account id>."
  type        = string
  default     = ""
}

variable "log_store_name" {
  description = "Logstore of the function logs."
  type        = string
  default     = "functions"
}

variable "log_retention_days" {
  description = "Days the logstore keeps logs."
  type        = number
  default     = 30
}

# ---------------------------------------------------------------------------------------------
# Alerts and dashboard (monitoring.tf; thresholds explained in docs/deploy.md)
# ---------------------------------------------------------------------------------------------

variable "monitoring_enabled" {
  description = "Create the SLS alerts, the SLS dashboard and the CloudMonitor dead-letter alarm."
  type        = bool
  default     = true
}

variable "sls_alert_action_policy_id" {
  description = "SLS action policy the alerts notify through (who is told, and how). sls.builtin is the built-in one; create your own in the SLS console and put its id here."
  type        = string
  default     = "sls.builtin"
}

variable "alarm_contacts" {
  description = "CloudMonitor alarm contacts (existing contact names) put in the contact group of the dead-letter alarm."
  type        = list(string)
  default     = []
}

variable "alert_window_minutes" {
  description = "Minutes of logs each SLS alert evaluates."
  type        = number
  default     = 15
}

variable "alert_interval_minutes" {
  description = "Minutes between two evaluations of an SLS alert."
  type        = number
  default     = 5
}

variable "alert_dead_letter_threshold" {
  description = "Messages dead-lettered in the window (SLS) or waiting in the dead-letter queue (CloudMonitor) above which the dead-letter alerts fire."
  type        = number
  default     = 0
}

variable "alert_oldest_task_age_minutes" {
  description = "Minutes the oldest runnable task may wait before the backlog alert fires."
  type        = number
  default     = 15
}

variable "alert_failure_rate_percent" {
  description = "Percentage of failed task attempts in the window above which the failure-rate alert fires."
  type        = number
  default     = 10

  validation {
    condition     = var.alert_failure_rate_percent >= 0 && var.alert_failure_rate_percent <= 100
    error_message = "alert_failure_rate_percent: 0-100."
  }
}

variable "alert_failure_rate_min_attempts" {
  description = "Finished attempts in the window below which the failure rate is not judged."
  type        = number
  default     = 20
}

variable "alert_reclaimed_threshold" {
  description = "Stalled tasks reclaimed in the window above which the reclaim alert fires."
  type        = number
  default     = 0
}

variable "alert_function_failures_threshold" {
  description = "Failed function invocations in the window above which the function-failure alert fires."
  type        = number
  default     = 0
}

variable "mns_metric_namespace" {
  description = "CloudMonitor namespace of MNS queue metrics (dimensions userId, region, queue)."
  type        = string
  default     = "acs_mns_new"
}

variable "mns_visible_messages_metric" {
  description = "CloudMonitor metric of the messages waiting in a queue (formerly the queue attribute ActiveMessages)."
  type        = string
  default     = "NumberOfMessagesVisible"
}
