locals {
  # One entry per function of `aliyunFunctions` in lib/app/catalog.ts (test/infra checks it).
  # cpu (vCPU) to memory (GB) must stay between 1:1 and 1:4; memory in multiples of 64 MB.
  functions = {
    "mns-puller" = {
      description          = "Pulls MNS until the queue is empty or its time is spent; fans out processors."
      memory_size          = 1024
      cpu                  = 0.5
      timeout              = 600
      instance_concurrency = 1
    }
    processor = {
      description          = "processBatch, invoked asynchronously by mns-puller."
      memory_size          = 2048
      cpu                  = 1
      timeout              = local.function_timeout_seconds
      instance_concurrency = 1
    }
    "processor-sweep" = {
      description          = "processBatch for retries that came due (timer)."
      memory_size          = 2048
      cpu                  = 1
      timeout              = local.function_timeout_seconds
      instance_concurrency = 1
    }
    reclaimer = {
      description          = "Reclaims stalled tasks, marks dead workers, applies retention (timer)."
      memory_size          = 1024
      cpu                  = 0.5
      timeout              = 300
      instance_concurrency = 1
    }
    admin = {
      description          = "Operations API and dashboard (HTTP)."
      memory_size          = 1024
      cpu                  = 0.5
      timeout              = 60
      instance_concurrency = 20
    }
  }

  # Timer schedules: NCRONTAB with seconds ("s m h dom mon dow", UTC), exactly as `schedules` in
  # lib/app/catalog.ts declares them. Function Compute 3.0 timer triggers take this form.
  schedules = {
    "mns-puller"      = "0 */1 * * * *"
    "processor-sweep" = "0 */1 * * * *"
    reclaimer         = "30 */1 * * * *"
  }

  # Names are computed here (not read back from the resources) so the RAM policy can name the
  # processor without a dependency cycle (functions -> role policy -> functions).
  function_names = { for key in keys(local.functions) : key => "${var.name_prefix}-${key}" }
}

resource "alicloud_fcv3_function" "fn" {
  for_each = local.functions

  function_name        = local.function_names[each.key]
  description          = each.value.description
  runtime              = "nodejs20"
  handler              = var.handlers[each.key]
  memory_size          = each.value.memory_size
  cpu                  = each.value.cpu
  disk_size            = 512
  timeout              = each.value.timeout
  instance_concurrency = each.value.instance_concurrency
  internet_access      = true # MNS public endpoint, MongoDB
  role                 = alicloud_ram_role.functions.arn

  environment_variables = local.function_environment

  # The same package for every function; the handler picks the entry point. For packages above the
  # direct-upload limit, upload the zip to OSS and use oss_bucket_name / oss_object_name instead.
  code {
    zip_file = filebase64(var.code_package_path)
  }

  log_config {
    project                 = alicloud_log_project.functions.project_name
    logstore                = alicloud_log_store.functions.logstore_name
    enable_request_metrics  = true
    enable_instance_metrics = true
    # One entry per line: the code writes one JSON object per line, which does not start with a date
    # (DefaultRegex would glue every such line to the last dated line before it).
    log_begin_rule = "None"
  }

  tags = var.tags

  # The role must carry its policy before a timer fires.
  depends_on = [alicloud_ram_role_policy_attachment.functions]
}

resource "alicloud_fcv3_trigger" "timer" {
  for_each = local.schedules

  function_name = alicloud_fcv3_function.fn[each.key].function_name
  trigger_name  = "timer"
  trigger_type  = "timer"
  qualifier     = "LATEST"
  description   = "Catalog schedule of ${each.key}"
  trigger_config = jsonencode({
    cronExpression = each.value
    enable         = var.timers_enabled
  })
}

# The admin function checks Admin__ApiKey itself (x-functions-key header or ?code=), so the trigger
# is anonymous; with no key set every admin request is refused.
resource "alicloud_fcv3_trigger" "admin_http" {
  function_name = alicloud_fcv3_function.fn["admin"].function_name
  trigger_name  = "http"
  trigger_type  = "http"
  qualifier     = "LATEST"
  description   = "Operations API and dashboard"
  trigger_config = jsonencode({
    authType           = "anonymous"
    methods            = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]
    disableURLInternet = false
  })
}

# The puller invokes the processor asynchronously to wake it. A lost or failed wake-up costs nothing
# (processor-sweep claims the tasks a minute later), so stale events are dropped and not retried.
resource "alicloud_fcv3_async_invoke_config" "processor" {
  function_name                  = alicloud_fcv3_function.fn["processor"].function_name
  qualifier                      = "LATEST"
  max_async_event_age_in_seconds = 300
  max_async_retry_attempts       = 0
}
