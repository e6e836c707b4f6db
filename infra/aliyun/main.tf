# taskmesh on Alibaba Cloud Function Compute 3.0: the functions of `aliyunFunctions` in
# lib/app/catalog.ts, their triggers, the MNS queue and its dead-letter queue, a RAM role for the
# functions and a Simple Log Service project. docs/deploy.md describes the steps; test/infra checks
# these files against the code (settings, function set, schedules, queue names).

data "alicloud_account" "current" {}

locals {
  account_id   = data.alicloud_account.current.id
  mns_endpoint = var.mns_endpoint != "" ? var.mns_endpoint : "https://${local.account_id}.mns.${var.region}.aliyuncs.com"

  # Invocation timeout of the processor functions. Worker:TaskTimeout stays below it: the processors
  # only claim tasks whose timeout fits before their deadline (like host.json functionTimeout on Azure).
  function_timeout_seconds = 600

  # The queue providers these functions run (registered in lib/config/sections/queue-providers.ts):
  # mns-puller ingests from MNS; processors are woken through the Function Compute API, not a queue.
  # The settings of these providers are set below, those of other providers are not (test/infra
  # checks both).
  queue_providers = ["mns"]

  # Every setting lib/config reads (`settingNames()`) but those of queue providers these functions do
  # not run, as `Section__Key` environment variables.
  # Values are strings. An empty value only means "not set" for optional text settings; numbers,
  # durations and booleans must be given a valid value.
  environment = {
    # MongoDB
    MongoDB__ConnectionString = var.mongodb_uri
    MongoDB__DatabaseName     = var.mongodb_database_name

    # Worker (processBatch in processor / processor-sweep)
    Worker__BatchSize         = "10"
    Worker__PollingInterval   = "00:00:10"
    Worker__HeartbeatInterval = "00:00:30"
    Worker__MaxRetries        = "3"
    Worker__HeartbeatTimeout  = "00:05:00"
    Worker__Concurrency       = "10" # no code default (falls back to BatchSize); an empty value would be rejected
    Worker__RetryBaseDelay    = "00:00:05"
    Worker__RetryMaxDelay     = "01:00:00"
    Worker__TaskTimeout       = "00:05:00"
    Worker__ShutdownTimeout   = "00:00:25"
    Worker__StateDirectory    = "" # serverless: the worker id comes from FC_INSTANCE_ID

    # DeadLetter: an MNS queue (create it in mns.tf) for tasks that fail for good; empty: off.
    DeadLetter__Queue        = ""
    DeadLetter__ClaimTimeout = "00:05:00"
    DeadLetter__SweepWindow  = "1.00:00:00"
    # Retention (reclaimer)
    Retention__ArchiveAfter    = "7.00:00:00"
    Retention__DeleteAfter     = "30.00:00:00"
    Retention__PurgeAfter      = "7.00:00:00"
    Retention__ForgetKeysAfter = "30.00:00:00"

    # Ordering: what a failed task of an ordering key does to its key (continue or block).
    Ordering__OnFailure = "continue"

    # Aliyun (MNS). Without an AccessKey the functions use their role's STS credentials.
    Aliyun__AccessKeyId         = var.access_key_id
    Aliyun__AccessKeySecret     = var.access_key_secret
    Aliyun__SecurityToken       = ""
    Aliyun__AccountId           = local.account_id
    Aliyun__MNSEndpoint         = local.mns_endpoint
    Aliyun__QueueName           = alicloud_message_service_queue.tasks.queue_name
    Aliyun__DeadLetterQueueName = alicloud_message_service_queue.dead_letter.queue_name
    Aliyun__MaxReceiveCount     = tostring(var.mns_max_receive_count)

    # Admin: the HTTP trigger is anonymous; the admin function checks this key itself.
    Admin__ApiKey = var.admin_api_key

    # Ingest: pulled from MNS by mns-puller.
    Ingest__Provider          = "mns"
    Ingest__BatchSize         = "16"
    Ingest__Concurrency       = "8"
    Ingest__MessageTimeout    = "00:05:00"
    Ingest__VisibilityTimeout = "${var.mns_visibility_timeout_seconds}s"
    Ingest__ReceiveWaitTime   = "10000"
    Ingest__MaxBodyBytes      = "65536"
    Ingest__MaxDeliveryCount  = "5"
    Ingest__RetryAttempts     = "3"
    Ingest__RetryBaseDelay    = "00:00:01"
    Ingest__RetryMaxDelay     = "00:05:00"
    Ingest__DefaultTaskType   = ""
    Ingest__TaskTypeProperty  = "taskType"

    # Handlers: the code package carries dist/handlers (the application's handler module); the code's defaults.
    Handlers__Module            = ""
    Handlers__BuiltIns          = "true"
    Handlers__Isolation         = "inline"
    Handlers__PoolSize          = ""
    Handlers__MemoryLimit       = ""
    Handlers__AllowUnknownTypes = "false"
    Handlers__ExtraTypes        = ""

    # FunctionCompute: how mns-puller wakes the processor. The endpoint is left to the code's default
    # (the region's internal FC endpoint, from the runtime environment).
    FunctionCompute__ProcessorFunctionName = local.function_names["processor"]
    FunctionCompute__Endpoint              = ""
    FunctionCompute__FanOut                = "4"
  }

  # What the functions get: the settings above, then var.extra_environment.
  function_environment = merge(local.environment, var.extra_environment)
}
